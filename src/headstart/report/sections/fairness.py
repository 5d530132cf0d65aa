"""The bias audit (audit.json, from ``headstart audit`` or ``fit --group-col``): per-group rates, the gaps
with their bootstrap CIs, before vs after transfer, and the counterfactual pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headstart.fairness.render import GAP_NAMES
from headstart.report.html import Raw, badge, esc, md_table, num, table
from headstart.report.section import Section, read_run_json, register


def ci(value: Any, digits: int = 3) -> str:
    if not isinstance(value, list) or len(value) != 2 or None in value:
        return "n/a"
    return f"[{num(value[0], digits)}, {num(value[1], digits)}]"


def rate(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {num(v)}" for k, v in value.items())
    return num(value)


def group_rows(grouping: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    rows = grouping.get("by_group") or []
    columns = [c for c in ("accuracy", "selection_rate", "tpr", "fpr") if rows and c in rows[0]]
    header = ["group", "rows", *[c.replace("_", " ").replace("tpr", "TPR").replace("fpr", "FPR") for c in columns]]
    out = []
    for r in rows:
        flag = r.get("unreliable")
        # An unreliable group's figures are never shown bare: each carries the warning.
        cells = [
            Raw(f"{esc(rate(r.get(c)))} {badge('unreliable', 'warn')}") if flag else rate(r.get(c)) for c in columns
        ]
        out.append([r.get("group", "?"), num(r.get("rows")), *cells])
    return header, out


def gap_rows(grouping: dict[str, Any]) -> list[list[Any]]:
    out = []
    for key, g in (grouping.get("gaps") or {}).items():
        if key == "worst_group_accuracy":
            verdict: Any = f"group '{g.get('group')}'"
        else:
            sig = g.get("significant")
            verdict = Raw(
                f"{badge('real gap' if sig else 'within noise', 'bad' if sig else 'good')} "
                f"{esc(g.get('between', ['?', '?'])[0])} vs {esc(g.get('between', ['?', '?'])[1])}, "
                f"{esc(g.get('on', ''))}"
            )
        if g.get("unreliable"):
            verdict = Raw(f"{verdict if isinstance(verdict, Raw) else esc(verdict)} {badge('unreliable', 'warn')}")
        out.append([GAP_NAMES.get(key, key), num(g.get("value")), ci(g.get("ci")), verdict])
    return out


def grouping_html(name: str, grouping: dict[str, Any]) -> str:
    header, rows = group_rows(grouping)
    missing = grouping.get("missing_rows")
    note = f" ({missing} rows without a group left out)" if missing else ""
    small = grouping.get("unreliable_groups") or []
    warn = (
        f'<p class="muted">{badge("unreliable", "warn")} fewer than the minimum rows: '
        f"{esc(', '.join(small))}; their estimates are too noisy to act on.</p>"
        if small
        else ""
    )
    gaps = (
        table(["gap", "value", "95% CI", "reading"], gap_rows(grouping), [False, True, True, False])
        if grouping.get("gaps")
        else f'<p class="muted">{esc(grouping.get("note", "no gaps"))}</p>'
    )
    return (
        f"<h3>by {esc(name)}{esc(note)}</h3>" + table(header, rows, [False] + [True] * (len(header) - 1)) + warn + gaps
    )


def change_html(change: dict[str, Any]) -> str:
    parts = []
    for name, gaps in change.items():
        rows = []
        for key, c in gaps.items():
            verdict = c.get("verdict", "") + ("; changed sides" if c.get("reversed") else "")
            tone = {"amplified": "bad", "worsened": "bad", "reduced": "good", "improved": "good"}.get(
                verdict, "neutral"
            )
            delta = c.get("delta")
            rows.append(
                [
                    GAP_NAMES.get(key, key) + (f": {c['difference']}" if "difference" in c else ""),
                    num(c.get("before")),
                    num(c.get("after")),
                    "n/a" if delta is None else f"{delta:+.3f}",
                    ci(c.get("ci")),
                    badge(verdict, tone),
                ]
            )
        header = ["gap", "before", "after", "change", "95% CI", "verdict"]
        parts.append(
            f"<h3>before → after, by {esc(name)}</h3>" + table(header, rows, [False, True, True, True, True, False])
        )
    return "".join(parts)


def counterfactual_html(cf: dict[str, Any]) -> tuple[str, list[list[Any]]]:
    parts, md_rows = [], []
    for cls, columns in (cf.get("by_class") or {}).items():
        for name, r in columns.items():
            rows = []
            for p in r.get("pairs", []):
                if not p.get("sets"):
                    continue
                sig = p.get("significant")
                reading = Raw(badge("significant" if sig else "not significant", "bad" if sig else "good"))
                if p.get("unreliable"):
                    reading = Raw(f"{reading} {badge('unreliable', 'warn')}")
                pair = f"{p['a']} − {p['b']}"
                mean = f"{p['mean']:+.4f}"
                t_p, w_p = p["t_test"]["p_value"], p["wilcoxon"]["p_value"]
                rows.append(
                    [pair, num(p["sets"]), mean, ci(p.get("ci"), 4), num(p.get("std"), 4), num(t_p), num(w_p), reading]
                )
                md_rows.append([f"P({cls}) by {name}", pair, p["sets"], mean, ci(p.get("ci"), 4), num(t_p), num(w_p)])
            header = ["pair", "sets", "mean difference", "95% CI", "std", "t-test p", "Wilcoxon p", "reading"]
            parts.append(
                f"<h3>counterfactual pairs by {esc(name)}: score P({esc(cls)})</h3>"
                + table(header, rows, [False, True, True, True, True, True, True, False])
            )
    return "".join(parts), md_rows


@register("fairness", order=65)
def build(run_dir: Path) -> Section | None:
    """Section "Bias audit": per-group metrics and gaps, from RUN/audit.json. None when the run has no such file."""
    r = read_run_json(run_dir, "audit.json")
    if not isinstance(r, dict) or not isinstance(r.get("groups"), dict) or not r["groups"]:
        return None
    boot = r.get("bootstrap") or {}
    intro = (
        f'<p class="muted">Audited on <code>{esc(r.get("data", "?"))}</code>; gaps with '
        f"{esc(boot.get('resamples', '?'))}-resample stratified bootstrap CIs: a gap whose CI includes 0 "
        f"(1 for the ratio) is within the noise. Groups under {esc(r.get('min_rows', 30))} rows are unreliable.</p>"
    )
    if not r.get("labelled", True):
        intro += '<p class="muted">The data has no labels: selection rates and demographic parity only.</p>'
    body = intro + "".join(grouping_html(name, g) for name, g in r["groups"].items())
    if isinstance(r.get("change"), dict):
        before = (r.get("before") or {}).get("model") or {}
        body += (
            f'<p class="muted">Compared with <code>{esc(before.get("run") or "?")}</code> '
            f"({esc(before.get('strategy', '?'))}) on the same rows; paired bootstrap.</p>" + change_html(r["change"])
        )
    cf_html, cf_md = counterfactual_html(r.get("counterfactual") or {})
    body += cf_html
    md_rows = []
    for name, g in r["groups"].items():
        for key, gap in (g.get("gaps") or {}).items():
            reading = (
                "" if key == "worst_group_accuracy" else ("real gap" if gap.get("significant") else "within noise")
            )
            if gap.get("unreliable"):
                reading += " (unreliable)"
            md_rows.append([name, GAP_NAMES.get(key, key), num(gap.get("value")), ci(gap.get("ci")), reading])
    md = md_table(["groups", "gap", "value", "95% CI", "reading"], md_rows)
    if cf_md:
        md += "\n\n" + md_table(
            ["score by", "pair", "sets", "mean difference", "95% CI", "t-test p", "Wilcoxon p"], cf_md
        )
    return Section("Bias audit", body, md)
