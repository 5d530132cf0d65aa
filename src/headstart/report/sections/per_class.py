"""Per-class precision, recall, F1 and support (metrics.json), worst F1 first when there are many."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import Raw, esc, md_table, num, table
from headstart.report.section import Section, finite, read_run_json, register

# Beyond this many classes the table is sorted by F1 (worst first) and scrolls.
SORT_ABOVE = 20


def f1_cell(value: float | None) -> Raw:
    width = 0 if value is None else round(60 * max(0.0, min(1.0, value)))
    return Raw(f'<span class="bar" style="width:{width}px"></span>{esc(num(value))}')


@register("per_class", order=60)
def build(run_dir: Path) -> Section | None:
    """Section "Per-class results" of the held-out rows, from RUN/metrics.json. None when the run has no such file."""
    metrics = read_run_json(run_dir, "metrics.json")
    if not isinstance(metrics, dict) or not isinstance(metrics.get("per_class"), dict) or not metrics["per_class"]:
        return None
    items = list(metrics["per_class"].items())
    many = len(items) > SORT_ABOVE
    if many:
        items.sort(key=lambda kv: (finite(kv[1].get("f1")) or 0.0, kv[0]))
    rows = [
        (name, num(r.get("precision")), num(r.get("recall")), f1_cell(finite(r.get("f1"))), num(r.get("support")))
        for name, r in items
    ]
    header = ["class", "precision", "recall", "F1", "support"]
    numeric = [False, True, True, True, True]
    body = table(header, rows, numeric)
    if many:
        body = f'<p class="muted">{len(items)} classes, lowest F1 first.</p><div class="scroll">{body}</div>'
    worst = sorted(items, key=lambda kv: finite(kv[1].get("f1")) or 0.0)[:5]
    md_rows = [(n, num(r.get("precision")), num(r.get("recall")), num(r.get("f1")), r.get("support")) for n, r in worst]
    md = ("Lowest F1:\n\n" if len(items) > 5 else "") + md_table(header, md_rows)
    return Section("Per-class results", body, md)
