"""Self-supervised pre-training (pretrain.json from ``headstart pretrain``): the objective, the
series, and the validation reconstruction R^2 per epoch."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import esc, md_table, num, table
from headstart.report.section import Section, read_run_json, register


@register("pretrain", order=65)
def build(run_dir: Path) -> Section | None:
    """Section "Self-supervised pre-training": objective, rows, R^2 per epoch, from RUN/pretrain.json.

    None when the run has no such file.
    """
    data = read_run_json(run_dir, "pretrain.json")
    if not isinstance(data, dict) or data.get("kind") != "pretrain":
        return None
    history = [h for h in data.get("history") or [] if isinstance(h, dict)]
    header = ["epoch", "training loss (MSE, hidden steps)", "validation MSE", "validation R^2"]
    cells = [
        (h.get("epoch", ""), num(h.get("train_loss")), num(h.get("val_loss")), num(h.get("val_r2"))) for h in history
    ]
    intro = (
        f"<p>{esc(str(data.get('backbone_spec', '')))} pre-trained with {esc(str(data.get('method', '')))} on "
        f"{esc(str(data.get('rows', '?')))} series ({esc(str(data.get('val_rows', '?')))} validation), labels unread. "
        f"Kept: epoch {esc(str(data.get('best_epoch', '?')))}, reconstruction R^2 {num(data.get('best_val_r2'))} "
        f"(0: as good as the series' own mean; 1: exact). Use it as <code>local:{esc(str(run_dir))}</code>.</p>"
    )
    body = intro + table(header, cells, [True, True, True, True])
    md = f"{data.get('method', '')}: best epoch {data.get('best_epoch', '?')}, R^2 {num(data.get('best_val_r2'))}"
    return Section("Self-supervised pre-training", body, md + "\n\n" + md_table(header, cells[-10:]))
