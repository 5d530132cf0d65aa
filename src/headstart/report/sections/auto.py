"""``headstart auto`` (RUN/auto.json): the verdict paragraph, then every step with its time."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import badge, esc, md_table, num, table
from headstart.report.section import Section, read_run_json, register

TONE = {"done": "good", "skipped": "warn"}


@register("auto", order=5)
def build(run_dir: Path) -> Section | None:
    """Section "Verdict": what ``auto`` found, in one paragraph, and its steps. None without RUN/auto.json."""
    record = read_run_json(run_dir, "auto.json")
    if not isinstance(record, dict) or "steps" not in record:
        return None
    rows, md_rows = [], []
    for name, step in record["steps"].items():
        note = step.get("why") or ""
        rows.append([name, badge(step["status"], TONE.get(step["status"], "neutral")), num(step["seconds"], 1), note])
        md_rows.append([name, step["status"], f"{step['seconds']:.1f}", note])
    limit = record.get("time_limit")
    total = record.get("seconds")
    timing = f"{num(total, 0)} s in all" if total is not None else "unfinished"
    if limit is not None and total is not None:
        timing += f" of a {num(limit, 0)} s limit" + ("" if total <= limit else " (over it)")
    fit = (record["steps"].get("fit") or {}).get("result") or {}
    recipe = "; ".join(fit.get("reasons") or [])
    html = (
        f'<p class="verdict"><b>{esc(record.get("verdict", ""))}</b></p>'
        + (f"<p>The default recipe chose: {esc(recipe)}.</p>" if recipe else "")
        + table(["step", "status", "seconds", "note"], rows)
        + f"<p>{esc(timing)}. Every choice was made on the training rows; the held-out rows were only scored.</p>"
    )
    md = record.get("verdict", "") + "\n\n" + md_table(["step", "status", "s", "note"], md_rows)
    return Section("Verdict", html, md)
