"""Few-shot evaluation (fewshot.json from ``headstart fewshot-eval --out``):
accuracy ± 95% CI per method and setting, best first."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import esc, md_table, num, table
from headstart.report.section import Section, finite, read_run_json, register


@register("fewshot", order=85)
def build(run_dir: Path) -> Section | None:
    """Section "Few-shot evaluation": accuracy ± 95% CI per method, from RUN/fewshot.json.

    None when the run has no such file.
    """
    data = read_run_json(run_dir, "fewshot.json")
    if not isinstance(data, dict) or not isinstance(data.get("results"), list) or not data["results"]:
        return None
    rows = [r for r in data["results"] if isinstance(r, dict)]
    rows.sort(key=lambda r: (r.get("ways", 0), r.get("shots", 0), -(finite(r.get("accuracy")) or 0.0)))
    header = ["method", "setting", "accuracy", "± 95% CI", "episodes"]
    cells = [
        (
            str(r.get("method", "?")),
            f"{r.get('ways', '?')}-way {r.get('shots', '?')}-shot",
            num(r.get("accuracy"), 4),
            num(r.get("ci95"), 4),
            r.get("episodes", ""),
        )
        for r in rows
    ]
    intro = (
        f"<p>{esc(str(data.get('backbone', '')))} embeddings of {esc(str(data.get('data', '')))} "
        f"({esc(str(data.get('classes', '?')))} classes); mean accuracy over episodes, "
        f"95% CI = 1.96 · std / √episodes; episodes seed {esc(str(data.get('seed', 0)))}.</p>"
    )
    body = intro + table(header, cells, [False, False, True, True, True])
    return Section("Few-shot evaluation", body, md_table(header, cells))
