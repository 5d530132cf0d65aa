"""The confusion matrix (metrics.json): a heatmap up to 20 classes, the top confusions beyond."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from headstart.report.html import esc, md_table, table
from headstart.report.plots import figure, img, label
from headstart.report.section import Section, read_run_json, register

# A heatmap stays readable up to this many classes; counts are written in the cells up to ANNOTATE.
MAX_HEATMAP = 20
ANNOTATE = 12
TOP = 20


def heatmap(cm: np.ndarray, classes: list[str]) -> str:
    k = len(classes)
    rows = cm.sum(1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    side = min(7.0, 2.6 + 0.32 * k)
    with figure(side + 1.2, side) as (fig, ax):
        im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        ticks = [label(c, 16) for c in classes]
        ax.set_xticks(range(k), ticks, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
        ax.set_yticks(range(k), ticks)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_title(f"confusion matrix ({int(cm.sum())} held-out rows)")
        ax.grid(False)
        if k <= ANNOTATE:
            for i in range(k):
                for j in range(k):
                    colour = "white" if share[i, j] > 0.6 else "#1d2330"
                    ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=8.5, color=colour)
        bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        bar.set_label("share of the true class's rows")
        return img(fig, "confusion matrix heatmap", "Rows: true class; columns: predicted. Colour: row share.")


def top_confusions(cm: np.ndarray, classes: list[str], top: int = TOP) -> list[tuple[str, str, int, float]]:
    """The most frequent (true, predicted) mistakes: counts and share of the true class's rows."""
    off = cm.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:top]
    out = []
    rows = cm.sum(1)
    for flat in order:
        i, j = divmod(int(flat), cm.shape[1])
        if off[i, j] == 0:
            break
        out.append((classes[i], classes[j], int(off[i, j]), float(off[i, j] / rows[i]) if rows[i] else 0.0))
    return out


@register("confusion", order=50)
def build(run_dir: Path) -> Section | None:
    """Section "Confusion matrix" of the held-out rows, from RUN/metrics.json. None when the run has no such file."""
    metrics = read_run_json(run_dir, "metrics.json")
    if not isinstance(metrics, dict) or not metrics.get("confusion_matrix"):
        return None
    cm = np.asarray(metrics["confusion_matrix"], dtype=np.int64)
    classes = [str(c) for c in metrics.get("classes") or range(len(cm))]
    if cm.ndim != 2 or cm.shape != (len(classes), len(classes)):
        return None
    errors = int(cm.sum() - np.trace(cm))
    pairs = top_confusions(cm, classes)
    rows = [(t, p, n, f"{s:.1%}") for t, p, n, s in pairs]
    header = ["true class", "predicted as", "rows", "share of true class"]
    numeric = [False, False, True, True]
    if len(classes) <= MAX_HEATMAP:
        body = heatmap(cm, classes)
        if pairs:
            body += "<h3>most frequent mistakes</h3>" + table(header, rows[:5], numeric)
    else:
        shown = sum(n for _, _, n, _ in pairs)
        body = (
            f'<p class="muted">{len(classes)} classes: too many for a readable matrix. The {len(pairs)} most '
            f"frequent mistakes below cover {shown} of the {errors} misclassified rows; the full matrix is in "
            "metrics.json.</p>" + table(header, rows, numeric)
        )
    if not pairs:
        body += f"<p>No mistakes on the {esc(int(cm.sum()))} held-out rows.</p>"
    md = f"{errors} of {int(cm.sum())} held-out rows misclassified."
    if pairs:
        md += "\n\n" + md_table(header, rows[:5])
    return Section("Confusion matrix", body, md)
