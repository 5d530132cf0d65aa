"""Meta-learning (a ``headstart meta-train`` run, RUN/meta_config.json): the meta-training curve
and, from RUN/meta.json, test-episode accuracy before adaptation and after each inner step."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import esc, md_table, num, table
from headstart.report.section import Section, read_run_json, register


@register("meta", order=86)
def build(run_dir: Path) -> Section | None:
    """Section "Meta-learning": the outer loss by epoch, accuracy by inner step on held-out classes.

    None when the run is not a meta-learning run.
    """
    config = read_run_json(run_dir, "meta_config.json")
    if not isinstance(config, dict) or config.get("kind") != "meta-learning":
        return None
    history = read_run_json(run_dir, "history.json") or config.get("history") or []
    curve = [(h.get("epoch", i + 1), num(h.get("train_loss"), 4)) for i, h in enumerate(history) if isinstance(h, dict)]
    intro = (
        f"<p>{esc(str(config.get('method', '?')))} on {esc(str(config.get('backbone', '?')))}: "
        f"{esc(str(config.get('ways', '?')))}-way {esc(str(config.get('shots', '?')))}-shot tasks, "
        f"{esc(str(config.get('tasks', '?')))} per meta-batch, {esc(str(config.get('batches', '?')))} meta-batches "
        f"per epoch; options {esc(str(config.get('options', {})))}.</p>"
    )
    html = intro + "<h3>Meta-training curve (query loss after adaptation)</h3>"
    html += table(["epoch", "outer loss"], curve, [True, True])
    markdown = md_table(["epoch", "outer loss"], curve)
    results = read_run_json(run_dir, "meta.json")
    if isinstance(results, dict):
        for r in results.get("results", []):
            rows = [(s.get("step"), num(s.get("accuracy"), 4), num(s.get("ci95"), 4)) for s in r.get("steps", [])]
            title = (
                f"{r.get('ways')}-way {r.get('shots')}-shot on {results.get('data', '?')} "
                f"({r.get('episodes')} episodes): accuracy by inner step (0: before adaptation)"
            )
            html += f"<h3>{esc(title)}</h3>" + table(["inner step", "accuracy", "± 95% CI"], rows, [True, True, True])
            markdown += "\n\n" + md_table(["inner step", "accuracy", "± 95% CI"], rows)
    return Section("Meta-learning", html, markdown)
