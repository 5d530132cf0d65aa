"""Held-out metrics of a regression or multi-label run (metrics.json, ``task``): the headline
figures with their 95% bootstrap CIs, the predicted-vs-true plot (regression) or the per-label
F1 and average precision (multi-label)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from headstart.report.html import esc, md_table, num, table
from headstart.report.plots import figure, img, label
from headstart.report.section import Section, finite, read_run_json, register

NAMES = {
    "mae": "MAE", "rmse": "RMSE", "r2": "R²", "spearman": "Spearman ρ", "micro_f1": "micro-F1",
    "macro_f1": "macro-F1", "subset_accuracy": "subset accuracy", "mean_ap": "mAP",
}  # fmt: skip
HEADLINE = {"regression": ("r2", "mae", "rmse", "spearman"), "multilabel": ("micro_f1", "macro_f1",
            "subset_accuracy", "mean_ap")}  # fmt: skip


def scatter(pairs: dict[str, list[float]], name: str) -> str:
    truth, pred = np.asarray(pairs.get("true", []), float), np.asarray(pairs.get("pred", []), float)
    with figure(5.2, 4.6) as (fig, ax):
        ax.scatter(truth, pred, s=8, alpha=0.5, color="#2f5fb3", edgecolors="none")
        lo, hi = float(min(truth.min(), pred.min())), float(max(truth.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color="#d1603d", linewidth=1.2, linestyle="--", label="predicted = true")
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title(f"predicted vs true ({len(truth)} held-out rows)")
        ax.legend(loc="upper left")
        return img(fig, "scatter plot of predicted against true values")


def per_label_chart(per_label: dict[str, Any]) -> str:
    names = list(per_label)
    f1 = [per_label[n]["f1"] for n in names]
    ap = [per_label[n]["ap"] if per_label[n]["ap"] is not None else np.nan for n in names]
    ys = np.arange(len(names))
    with figure(6.4, 1.0 + 0.32 * len(names)) as (fig, ax):
        ax.barh(ys - 0.18, f1, height=0.36, color="#2f5fb3", label="F1 (at its threshold)")
        ax.barh(ys + 0.18, ap, height=0.36, color="#3a9b5b", label="average precision")
        ax.set_yticks(ys, [label(n) for n in names])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_title("per label")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
        return img(fig, "bar chart of F1 and average precision per label")


@register("targets", order=41)
def build(run_dir: Path) -> Section | None:
    """Section "Held-out metrics" of a regression or multi-label run; None for other runs."""
    metrics = read_run_json(run_dir, "metrics.json")
    if not isinstance(metrics, dict) or metrics.get("task") not in HEADLINE:
        return None
    task, cis = metrics["task"], metrics.get("ci") or {}
    cards, md_rows = [], []
    for key in HEADLINE[task]:
        ci = cis.get(key) or [None, None]
        ci_text = f"95% CI {ci[0]:.3f}–{ci[1]:.3f}" if None not in ci else "no CI"
        cards.append(f'<div class="stat"><div class="v">{num(finite(metrics.get(key)))}</div>'
                     f'<div class="l">{esc(NAMES[key])}<br>{esc(ci_text)}</div></div>')  # fmt: skip
        md_rows.append(
            [NAMES[key], num(finite(metrics.get(key))), f"{ci[0]:.3f}–{ci[1]:.3f}" if None not in ci else ""]
        )
    base = metrics.get("mean_baseline")
    if isinstance(base, dict):
        text = f"MAE {num(base.get('mae'))}, R² {num(base.get('r2'))}"
        cards.append(f'<div class="stat"><div class="v">{num(base.get("r2"))}</div>'
                     f'<div class="l">training-mean baseline<br>{esc(text)}</div></div>')  # fmt: skip
        md_rows.append(["training-mean baseline", text, ""])
    where = metrics.get("evaluated_on") or "held-out rows"
    body = (f'<p class="muted">{esc(metrics.get("n"))} rows, {esc(where)}; {esc(task)}. Intervals: 95% percentile '
            "bootstrap over the held-out rows (1,000 resamples).</p>"
            f'<div class="headline">{"".join(cards)}</div>')  # fmt: skip
    if task == "regression" and metrics.get("pairs"):
        body += scatter(metrics["pairs"], (metrics.get("target") or {}).get("name", "target"))
    if task == "multilabel" and metrics.get("per_label"):
        per = metrics["per_label"]
        body += per_label_chart(per)
        rows = [[n, num(r["precision"]), num(r["recall"]), num(r["f1"]), num(r["ap"]), r["support"],
                 num(r.get("threshold"))] for n, r in per.items()]  # fmt: skip
        body += table(["label", "precision", "recall", "F1", "AP", "support", "threshold"], rows,
                      [False, True, True, True, True, True, True])  # fmt: skip
    md = md_table(["metric", "value", "95% CI"], md_rows) + f"\n\n{metrics.get('n')} held-out rows; {where}."
    return Section("Held-out metrics", body, md)
