"""Headline held-out metrics with their 95% bootstrap CI (:func:`headstart.metrics.bootstrap_ci`)
and the baselines (metrics.json)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from headstart.metrics import bootstrap_ci
from headstart.report.html import esc, md_table, num
from headstart.report.plots import figure, img
from headstart.report.section import Section, finite, read_run_json, register

HEADLINE = (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"), ("macro_f1", "macro-F1"))


def headline_chart(values: dict, cis: dict, majority: float | None, chance: float | None, n: int) -> str:
    keys = [k for k, _ in HEADLINE if finite(values.get(k)) is not None]
    names = [dict(HEADLINE)[k] for k in keys]
    with figure(8.2, 1.1 + 0.45 * len(keys)) as (fig, ax):
        ys = np.arange(len(keys))
        vals = [values[k] for k in keys]
        err = np.array([[vals[i] - cis[k][0], cis[k][1] - vals[i]] for i, k in enumerate(keys)]).T if cis else None
        ax.barh(ys, vals, xerr=err, color="#2f5fb3", height=0.55, capsize=4, error_kw={"elinewidth": 1.2})
        for y, v in zip(ys, vals, strict=True):
            ax.text(0.01, y, f"{v:.3f}", va="center", ha="left", color="white", fontsize=9, fontweight="bold")
        if majority is not None:
            ax.axvline(majority, color="#d1603d", linestyle="--", linewidth=1.2, label=f"majority class {majority:.3f}")
        if chance is not None:
            ax.axvline(chance, color="#6b6b6b", linestyle=":", linewidth=1.2, label=f"chance 1/K = {chance:.3f}")
        ax.set_yticks(ys, names)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"score on {n} held-out rows (bars: 95% bootstrap CI)")
        ax.set_title("held-out metrics vs baselines")
        ax.grid(axis="y", visible=False)
        if majority is not None or chance is not None:
            ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
        return img(fig, "held-out metrics with confidence intervals and baselines")


@register("metrics", order=40)
def build(run_dir: Path) -> Section | None:
    """Section "Held-out metrics" with CIs and baselines, from RUN/metrics.json. None when the run has no such file."""
    metrics = read_run_json(run_dir, "metrics.json")
    if not isinstance(metrics, dict) or "accuracy" not in metrics:
        return None
    cm = np.asarray(metrics.get("confusion_matrix") or [[0]])
    n = int(metrics.get("n") or cm.sum())
    cis = bootstrap_ci(cm) if cm.sum() > 0 and cm.ndim == 2 and cm.shape[0] == cm.shape[1] else {}
    majority = finite(metrics.get("majority_baseline"))
    n_classes = len(metrics.get("classes") or metrics.get("per_class") or [])
    chance = 1.0 / n_classes if n_classes else None
    cards, md_rows = [], []
    for key, name in HEADLINE:
        v = finite(metrics.get(key))
        ci = cis.get(key)
        ci_text = f"95% CI {ci[0]:.3f}–{ci[1]:.3f}" if ci else "no CI"
        cards.append(
            f'<div class="stat"><div class="v">{num(v)}</div><div class="l">{esc(name)}<br>{esc(ci_text)}</div></div>'
        )
        md_rows.append([name, num(v), f"{ci[0]:.3f}–{ci[1]:.3f}" if ci else "n/a"])
    pr_auc = finite(metrics.get("pr_auc"))
    if pr_auc is not None:  # two classes scored: threshold-free, not flattered by a rare class
        positive = metrics.get("positive_class", "positive")
        cards.append(
            f'<div class="stat"><div class="v">{num(pr_auc)}</div><div class="l">PR-AUC of {esc(positive)}'
            "<br>average precision</div></div>"
        )
        md_rows.append([f"PR-AUC ({positive})", num(pr_auc), ""])
    if majority is not None:
        gain = finite(metrics.get("accuracy"))
        delta = f"accuracy {gain - majority:+.3f} over it" if gain is not None else ""
        cards.append(
            f'<div class="stat"><div class="v">{num(majority)}</div><div class="l">majority-class baseline'
            f"<br>{esc(delta)}</div></div>"
        )
        md_rows.append(["majority-class baseline", num(majority), ""])
    where = metrics.get("evaluated_on") or "held-out rows"
    body = (
        f'<p class="muted">{esc(n)} rows, {esc(where)}. Intervals: 95% percentile bootstrap over the '
        "held-out rows (1,000 resamples). Chance for balanced accuracy is 1/K.</p>"
        f'<div class="headline">{"".join(cards)}</div>'
    )
    body += headline_chart(metrics, cis, majority, chance, n)
    md = md_table(["metric", "value", "95% CI"], md_rows) + f"\n\n{n} held-out rows; {where}."
    return Section("Held-out metrics", body, md)
