"""Training curves of a fine-tuned run (history.json, train_config.json)."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import kv_table, md_table, num
from headstart.report.plots import figure, img
from headstart.report.section import Section, finite, read_run_json, register


def curves(history: list[dict], best: int | None) -> str:
    epochs = [int(r.get("epoch", i + 1)) for i, r in enumerate(history)]
    has_val = any("val_accuracy" in r for r in history)
    with figure(9.0 if has_val else 5.0, 3.2, ncols=2 if has_val else 1) as (fig, axes):
        ax_loss = axes[0] if has_val else axes
        for key, name in (("train_loss", "training loss"), ("val_loss", "validation loss")):
            ys = [finite(r.get(key)) for r in history]
            if any(y is not None for y in ys):
                ax_loss.plot(epochs, [float("nan") if y is None else y for y in ys], marker="o", label=name)
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("cross-entropy (nats)")
        ax_loss.set_title("loss per epoch")
        if has_val:
            ax = axes[1]
            for key, name in (("val_accuracy", "accuracy"), ("val_balanced_accuracy", "balanced accuracy")):
                ys = [finite(r.get(key)) for r in history]
                if any(y is not None for y in ys):
                    ax.plot(epochs, [float("nan") if y is None else y for y in ys], marker="o", label=name)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("epoch")
            ax.set_ylabel("score on validation rows")
            ax.set_title("validation scores per epoch")
        for ax in axes if has_val else [axes]:
            if best and best > 0:
                ax.axvline(best, color="#3a9b5b", linestyle="--", linewidth=1, label=f"kept: epoch {best}")
            ax.set_xticks(epochs)
            ax.legend()
        return img(fig, "training curves: loss and validation scores per epoch")


@register("training", order=70)
def build(run_dir: Path) -> Section | None:
    """Section "Training curves" per epoch, from RUN/history.json. None when the run has no such file."""
    history = read_run_json(run_dir, "history.json")
    config = read_run_json(run_dir, "config.json") or {}
    training = config.get("training", {}) if isinstance(config, dict) else {}
    if not history:
        history = training.get("history") or []
    if not isinstance(history, list) or not history:
        return None
    best = training.get("best_epoch")
    stamp = read_run_json(run_dir, "train_config.json") or {}
    settings = stamp.get("config", {})
    items = [(k.replace("_", " "), v) for k, v in settings.items() if v is not None]
    body = curves(history, best)
    last = history[-1]
    md_rows = [[r.get("epoch")] + [num(r.get(k)) for k in ("train_loss", "val_loss", "val_accuracy")] for r in history]
    header = ["epoch", "train loss", "val loss", "val accuracy"]
    if best and best > 0:
        body += f'<p class="muted">Weights of epoch {best} were kept (best validation accuracy).</p>'
    if items:
        body += "<details><summary>training settings (train_config.json)</summary>" + kv_table(items) + "</details>"
    md = f"{len(history)} epochs; last training loss {num(last.get('train_loss'))}"
    if best and best > 0:
        md += f"; kept epoch {best}"
    md += "\n\n" + md_table(header, md_rows[-10:])
    return Section("Training curves", body, md)
