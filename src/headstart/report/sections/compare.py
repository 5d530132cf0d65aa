"""Scratch vs transfer at several label budgets (compare.json): learning curves, table, verdict."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from headstart.report.html import Raw, badge, esc, kv_table, md_table, num, table
from headstart.report.plots import figure, img
from headstart.report.section import Section, finite, read_run_json, register


def tone(verdict: str) -> str:
    if verdict.startswith("transfer helps"):
        return "good"
    if "negative" in verdict or "hurts" in verdict:
        return "bad"
    return "warn"


def learning_curves(result: dict) -> str:
    metric = str(result.get("metric", "accuracy")).replace("_", " ")
    budgets = sorted(result["budgets"], key=lambda b: b["rows"])
    xs = [b["rows"] for b in budgets]
    with figure(7.0, 4.0) as (fig, ax):
        for arm in result.get("arms", []):
            means = np.array([finite(b["arms"][arm]["mean"]) or np.nan for b in budgets], dtype=float)
            cis = np.array([finite(b["arms"][arm]["ci95"]) or 0.0 for b in budgets], dtype=float)
            style = {"linewidth": 2.2} if arm in ("transfer", "scratch") else {"linewidth": 1.3, "linestyle": "--"}
            (line,) = ax.plot(xs, means, marker="o", label=arm, **style)
            if arm in ("transfer", "scratch"):  # the bands of the two arms under test; more would be a blur
                low, high = np.clip(means - cis, 0, 1), np.clip(means + cis, 0, 1)  # accuracy lives in [0, 1]
                ax.fill_between(xs, low, high, alpha=0.12, color=line.get_color())
        target = finite(result.get("target"))
        if target is not None:
            ax.axhline(target, color="grey", linestyle=":", linewidth=1, label=f"target {target:.3f}")
        if len(set(xs)) > 1:
            ax.set_xscale("log")
        ax.set_xticks(xs, [f"{b['rows']}\n{b['label']}" for b in budgets])
        ax.minorticks_off()
        ax.set_xlabel("labelled training rows (log scale)")
        ax.set_ylabel(f"held-out {metric} ({result.get('n_test', '?')} rows)")
        ax.set_title(f"learning curves: scratch vs transfer ({result.get('strategy', '')})")
        ax.legend(loc="lower right")
        return img(
            fig,
            f"learning curves of every arm: held-out {metric} against labelled training rows",
            f"Mean over {len(result.get('seeds', []))} seeds; bands: 95% CI of transfer and scratch (Student t).",
        )


@register("compare", order=80)
def build(run_dir: Path) -> Section | None:
    """Section "Scratch vs transfer": the learning curves and verdict, from RUN/compare.json.

    None when the run has no such file.
    """
    result = read_run_json(run_dir, "compare.json")
    if not isinstance(result, dict) or not result.get("budgets"):
        return None
    arms = result.get("arms", [])
    verdict = result.get("verdict", "")
    metric = str(result.get("metric", "accuracy")).replace("_", " ")
    header = ["budget", "rows"] + arms + ["transfer − scratch", "p", "verdict"]
    rows, md_rows = [], []
    for b in result["budgets"]:
        cells = [f"{num(b['arms'][a]['mean'])} ± {num(b['arms'][a]['ci95'])}" for a in arms]
        diff = (finite(b["arms"]["transfer"]["mean"]) or 0.0) - (finite(b["arms"]["scratch"]["mean"]) or 0.0)
        rows.append(
            [b["label"], b["rows"], *cells, f"{diff:+.3f}", num(b.get("p")), badge(b["verdict"], tone(b["verdict"]))]
        )
        md_rows.append([b["label"], b["rows"], *cells, f"{diff:+.3f}", b["verdict"]])
    reached = []
    for arm, hit in (result.get("time_to_target") or {}).items():
        text = "never" if hit is None else f"{hit['rows']} rows ({hit['budget']}), {hit['seconds']:.1f} s to train"
        reached.append((arm, text))
    settings = [
        ("data", Raw(f"<code>{esc(result.get('data', '?'))}</code>")),
        ("held-out rows", f"{result.get('n_test', '?')}; {result.get('split', '')}"),
        ("backbone", Raw(f"<code>{esc(result.get('backbone', '?'))}</code>")),
        ("strategy", result.get("strategy", "?")),
        ("seeds", ", ".join(str(s) for s in result.get("seeds", []))),
    ]
    if result.get("imbalance"):
        settings.append(("imbalance", f"every arm trained with {result['imbalance']}"))
    if result.get("backbone") == "auto":
        settings.append(("auto", "backbone auto: the embedded default for the data's modality"))
    body = (
        f'<p class="verdict">verdict: {badge(verdict, tone(verdict))}</p>'
        f'<p class="muted">{esc(result.get("reading", ""))}</p>'
        + learning_curves(result)
        + f"<h3>held-out {metric}, mean ± 95% CI</h3>"
        + table(header, rows, [False, True] + [True] * len(arms) + [True, True, False])
    )
    if reached:
        target = finite(result.get("target"))
        body += f"<h3>rows needed to reach {metric} {num(target)}</h3>" + kv_table(reached)
    for note in result.get("notes", []):
        body += f'<p class="muted">note: {esc(note)}</p>'
    body += "<h3>setting</h3>" + kv_table(settings)
    md = f"**verdict: {verdict}**\n\n" + md_table(header[:-2] + ["verdict"], md_rows)
    return Section("Scratch vs transfer", body, md)
