"""Reinforcement learning: an agent's learning curve (RUN/rl_config.json + curve.json, from
``headstart rl-train``) or a transfer comparison (OUT/rl_transfer.json, from ``headstart
rl-transfer``): both arms' mean curves with 95% CI bands, the Taylor & Stone metrics, the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from headstart.report.html import Raw, badge, esc, kv_table, md_table, num, table
from headstart.report.plots import figure, img
from headstart.report.section import Section, finite, read_run_json, register
from headstart.report.sections.compare import tone


def _agent(run_dir: Path) -> Section | None:
    config = read_run_json(run_dir, "rl_config.json")
    if not isinstance(config, dict) or config.get("kind") != "rl-agent":
        return None
    saved = read_run_json(run_dir, "curve.json") or {}
    curve = [p for p in saved.get("curve", []) if isinstance(p, dict)]
    html = (
        f"<p>{esc(str(config.get('algo', '?')).upper())} on <code>{esc(config.get('env', '?'))}</code>, seed "
        f"{esc(config.get('seed'))}: {esc(saved.get('num_timesteps', '?'))} env steps, "
        f"{num(config.get('cpu_seconds'), 1)} CPU-s{'' if config.get('finished') else ' (unfinished: --resume)'}.</p>"
    )
    if curve:
        with figure(7.0, 3.6) as (fig, ax):
            xs = [p["steps"] for p in curve]
            ys = np.array([finite(p.get("return")) or np.nan for p in curve])
            sd = np.array([finite(p.get("std")) or 0.0 for p in curve])
            (line,) = ax.plot(xs, ys, marker=".", label="greedy return")
            ax.fill_between(xs, ys - sd, ys + sd, alpha=0.15, color=line.get_color())
            ax.set_xlabel("environment steps")
            ax.set_ylabel("return")
            ax.set_title(f"learning curve: {config.get('env', '')}")
            html += img(
                fig, "learning curve: return against env steps", "Band: ± one standard deviation over episodes."
            )
    rows = [(p.get("steps"), num(p.get("return"), 1), num(p.get("std"), 1)) for p in curve]
    html += table(["env steps", "return", "std"], rows, [True, True, True])
    hyper = ", ".join(f"{k}={v}" for k, v in (config.get("hyperparameters") or {}).items())
    spaces = f"{config.get('observation_space')} -> {config.get('action_space')}"
    html += "<h3>setting</h3>" + kv_table([("hyper-parameters", hyper), ("spaces", spaces)])
    return Section("RL agent", html, md_table(["env steps", "return", "std"], rows))


def _bands(result: dict[str, Any]) -> str:
    with figure(7.0, 4.0) as (fig, ax):
        for arm in ("transfer", "scratch"):
            a = result["arms"][arm]
            xs = np.asarray(a["steps"], dtype=float)
            mean = np.asarray(a["mean_curve"], dtype=float)
            half = np.asarray([h if h is not None else 0.0 for h in a["ci95_curve"]], dtype=float)
            label = result.get("method", "transfer") if arm == "transfer" else "scratch"
            (line,) = ax.plot(xs, mean, label=label, linewidth=2)
            ax.fill_between(xs, mean - half, mean + half, alpha=0.15, color=line.get_color())
        threshold = finite(result.get("threshold"))
        if threshold is not None:
            ax.axhline(threshold, color="grey", linestyle=":", linewidth=1, label=f"threshold {threshold:g}")
        ax.set_xlabel("environment steps on the target")
        ax.set_ylabel("greedy return")
        ax.set_title(f"{result.get('source_env')} -> {result.get('target_env')}")
        ax.legend(loc="lower right")
        return img(fig, "learning curves of transfer and scratch on the target",
                   f"Mean over {len(result.get('seeds', []))} seeds per arm; bands: 95% CI (Student t). A run stopped "
                   "early carries its last evaluation forward.")  # fmt: skip


def _transfer(run_dir: Path) -> Section | None:
    result = read_run_json(run_dir, "rl_transfer.json")
    if not isinstance(result, dict) or result.get("kind") != "rl-transfer":
        return None
    verdict = str(result.get("verdict", ""))

    def cell(x: dict[str, Any]) -> str:
        return f"{num(x['mean'], 1)} ± {num(x['ci95'], 1)}" if x.get("ci95") is not None else num(x["mean"], 1)

    rows = []
    metrics = (
        ("jumpstart", "jumpstart (return at step 0)"),
        ("asymptotic", "asymptotic return"),
        ("area", "area (mean return over training)"),
        ("time_to_threshold", "env steps to threshold"),
    )
    for key, what in metrics:
        if key in result:
            m = result[key]
            rows.append([what, cell(m["transfer"]), cell(m["scratch"]), f"{m['difference']:+.1f}", num(m["p"])])
    ratio = result.get("transfer_ratio", {})
    lo, hi = (ratio.get("ci95") or [None, None])[:2]
    rows.append(["transfer ratio (area)", num(ratio.get("value")), "", f"[{num(lo)}, {num(hi)}]", num(ratio.get("p"))])
    header = ["metric", "transfer", "scratch", "difference / CI", "p (Welch)"]
    arms = result.get("arms", {})
    med = [(arm, f"{num(a.get('median_time'), 0)} steps (never reached in {a.get('never_reached')} runs)")
           for arm, a in arms.items()]  # fmt: skip
    body = (
        f'<p class="verdict">verdict: {badge(verdict, tone(verdict))}</p>'
        f'<p class="muted">{esc(result.get("reading", ""))}</p>'
        + _bands(result)
        + "<h3>Taylor &amp; Stone metrics, mean ± 95% CI over seeds</h3>"
        + table(header, rows, [False] + [True] * 4)
        + "<h3>median env steps to the threshold</h3>"
        + kv_table(med)
    )
    zs = result.get("zero_shot") or {}
    settings = [
        ("source", Raw(f"<code>{esc(result.get('source_env'))}</code> ({esc(result.get('source'))})")),
        ("target", Raw(f"<code>{esc(result.get('target_env'))}</code>")),
        ("method", f"{result.get('method')} {result.get('options') or ''}"),
        (
            "zero-shot",
            f"{num(zs.get('mean'), 1)} ± {num(zs.get('std'), 1)} (source agent unchanged, "
            f"{zs.get('episodes')} episodes)",
        ),  # fmt: skip
        ("settings", ", ".join(f"{k}={v}" for k, v in (result.get("settings") or {}).items())),
        ("CPU seconds", ", ".join(f"{k} {num(v, 1)}" for k, v in (result.get("cpu_seconds") or {}).items())),
    ]
    body += "<h3>setting</h3>" + kv_table(settings)
    md = f"**verdict: {verdict}**\n\n" + md_table(header, rows)
    return Section("RL transfer", body, md)


@register("rl", order=87)
def build(run_dir: Path) -> Section | None:
    """Section "RL agent" or "RL transfer": learning curves (with CI bands), metrics, verdict.

    None when the folder holds neither an rl-train run nor an rl-transfer comparison.
    """
    return _transfer(run_dir) or _agent(run_dir)
