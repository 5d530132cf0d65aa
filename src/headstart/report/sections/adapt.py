"""Domain adaptation (adapt.json, projection.png): target accuracy against the
source-only baseline, the label-free selection rule, and the 2-D projection."""

from __future__ import annotations

import base64
from pathlib import Path

from headstart.report.html import Raw, esc, kv_table, md_table, num, table
from headstart.report.section import Section, read_run_json, register


def _row(r: dict) -> list[str]:
    return [
        r.get("method", "?"),
        num(r.get("target_accuracy"), 4) if r.get("target_accuracy") is not None else "— (unlabelled)",
        num(r.get("source_val_accuracy"), 4),
        str(r.get("best_epoch", "?")),
        num(r.get("seconds"), 1),
    ]


@register("adapt", order=96)
def build(run_dir: Path) -> Section | None:
    """Section "Domain adaptation": the adapted model against source-only, from RUN/adapt.json.

    None when the run has no such file.
    """
    a = read_run_json(run_dir, "adapt.json")
    if not isinstance(a, dict) or "result" not in a:
        return None
    main, base = a["result"], a.get("baseline")
    runs = ([base] if base else []) + [main]
    header = ["method", "target accuracy", "source val accuracy", "chosen epoch", "seconds"]
    rows = [_row(r) for r in runs]
    items = [
        ("source", Raw(f"<code>{esc(a.get('source'))}</code> ({main.get('n_source_train')} training rows)")),
        ("target", Raw(f"<code>{esc(a.get('target'))}</code> ({main.get('n_target')} rows, labels never trained on)")),
        ("method", main.get("describe", main.get("method"))),
        ("backbone", Raw(f"<code>{esc(main.get('backbone'))}</code>")),
        ("model selection", a.get("selection_rule", "")),
    ]
    figs = (a.get("projection") or {}).get("panels") or {}
    proj_rows = [[name, num(f.get("mmd2"), 4), num(f.get("pad"))] for name, f in figs.items()]
    body = kv_table(items) + table(header, rows)
    if proj_rows:
        body += table(["features of", "MMD² source-target", "proxy A-distance"], proj_rows)
    png = Path(run_dir) / (a.get("projection") or {}).get("file", "projection.png")
    if png.is_file():
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        body += (
            f'<figure><img src="data:image/png;base64,{data}" alt="source and target features, 2-D PCA" '
            f'width="840"><figcaption>source (blue) and target (orange) features, PCA to 2-D, '
            f"before and after adaptation</figcaption></figure>"
        )
    md = md_table(header, rows)
    return Section("Domain adaptation", body, md)
