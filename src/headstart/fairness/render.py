"""The audit as text for the terminal (rich tables), shared by ``headstart audit`` and ``headstart fit``."""

from __future__ import annotations

from typing import Any

GAP_NAMES = {
    "selection_rate_difference": "selection-rate difference (signed)",
    "demographic_parity_difference": "demographic-parity difference",
    "demographic_parity_ratio": "demographic-parity ratio",
    "equalized_odds_difference": "equalized-odds difference",
    "accuracy_difference": "accuracy difference",
    "worst_group_accuracy": "worst-group accuracy",
}


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v, digits)}" for k, v in value.items())
    return f"{float(value):.{digits}f}"


def ci_text(ci: Any, digits: int = 3) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "-"
    return f"[{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def group_table(name: str, grouping: dict[str, Any]) -> Any:
    """Per-group rates; a group under the row threshold shows '?' after each figure, and the caption says why."""
    from rich.table import Table

    missing = f"; {grouping['missing_rows']} rows without a group left out" if grouping.get("missing_rows") else ""
    rows = grouping["by_group"]
    notes = [f"? unreliable: '{row['group']}' has {row['unreliable']}" for row in rows if row.get("unreliable")]
    table = Table(
        title=f"groups by {name} ({grouping['rows']} rows{missing})",
        title_justify="left",
        caption="\n".join(notes) or None,
        caption_justify="left",
    )
    columns = [c for c in ("accuracy", "selection_rate", "tpr", "fpr") if rows and c in rows[0]]
    table.add_column("group")
    table.add_column("rows", justify="right")
    for col in columns:
        table.add_column(col.replace("_", " ").replace("tpr", "TPR").replace("fpr", "FPR"), justify="right")
    for row in rows:
        mark = "?" if row.get("unreliable") else ""
        table.add_row(row["group"], str(row["rows"]), *[fmt(row.get(col)) + mark for col in columns])
    return table


def gap_table(grouping: dict[str, Any], level: float) -> Any:
    """Each gap with its CI and what that says; '?' marks a gap that involves an unreliable group."""
    from rich.table import Table

    gaps = grouping["gaps"]
    notes = [f"? {GAP_NAMES.get(k, k)}: {g['unreliable']}" for k, g in gaps.items() if g.get("unreliable")]
    table = Table(caption="\n".join(notes) or None, caption_justify="left")
    for col in ("gap", "value", f"{level:.0%} CI", "reading", "between"):
        table.add_column(col, justify="right" if col in ("value", f"{level:.0%} CI") else "left", overflow="fold")
    for key, gap in gaps.items():
        if key == "worst_group_accuracy":
            reading, between = "", f"'{gap['group']}'"
        else:
            bound = "1" if key == "demographic_parity_ratio" else "0"
            sig = gap.get("significant")
            reading = "-" if sig is None else f"real gap (CI excludes {bound})" if sig else "within noise"
            between = f"{gap['between'][0]} vs {gap['between'][1]} ({gap['on']})"
        mark = "?" if gap.get("unreliable") else ""
        table.add_row(GAP_NAMES.get(key, key), fmt(gap.get("value")) + mark, ci_text(gap.get("ci")), reading, between)
    return table


def change_table(name: str, change: dict[str, Any], level: float) -> Any:
    from rich.table import Table

    table = Table(title=f"before -> after, by {name}", title_justify="left")
    for col in ("gap", "before", "after", "change", f"{level:.0%} CI", "verdict"):
        table.add_column(col, justify="left" if col in ("gap", "verdict") else "right")
    for key, c in change.items():
        delta = "-" if c.get("delta") is None else f"{c['delta']:+.3f}"
        name = GAP_NAMES.get(key, key) + (f": {c['difference']}" if "difference" in c else "")
        verdict = c["verdict"] + ("; changed sides" if c.get("reversed") else "")
        table.add_row(name, fmt(c["before"]), fmt(c["after"]), delta, ci_text(c["ci"]), verdict)
    return table


def counterfactual_table(score: str, name: str, result: dict[str, Any]) -> Any:
    from rich.table import Table

    missing = f"; {result['missing_rows']} rows without a group left out" if result.get("missing_rows") else ""
    title = f"counterfactual pairs by {name}, score {score} ({result['sets']} sentence sets{missing})"
    table = Table(title=title, title_justify="left")
    for col in ("pair", "sets", "mean difference", "95% CI", "std", "t-test p", "Wilcoxon p", "reading"):
        table.add_column(col, justify="left" if col in ("pair", "reading") else "right")
    for p in result["pairs"]:
        if not p.get("sets"):
            table.add_row(f"{p['a']} - {p['b']}", "0", "-", "-", "-", "-", "-", p["reading"])
            continue
        reading = ("significant" if p.get("significant") else "not significant") + (
            f"; {p['unreliable']}" if p.get("unreliable") else ""
        )
        table.add_row(
            f"{p['a']} - {p['b']}",
            str(p["sets"]),
            f"{p['mean']:+.4f}",
            ci_text(p.get("ci"), 4),
            f"{p['std']:.4f}",
            f"{p['t_test']['p_value']:.3g}",
            f"{p['wilcoxon']['p_value']:.3g}",
            reading,
        )
    return table


def render_audit(result: dict[str, Any]) -> Any:
    """Every table of an audit result (``audit.json``) as one rich renderable."""
    from rich.console import Group
    from rich.text import Text

    level = result.get("bootstrap", {}).get("level", 0.95)
    parts: list[Any] = []
    if not result.get("labelled", True):
        parts.append(Text("no labels in the data: selection rates and demographic parity only", style="yellow"))
    for name, grouping in result.get("groups", {}).items():
        parts.append(group_table(name, grouping))
        parts.append(gap_table(grouping, level) if grouping["gaps"] else Text(grouping.get("note", "no gaps")))
    for name, change in result.get("change", {}).items():
        parts.append(change_table(name, change, level))
    cf = result.get("counterfactual") or {}
    for score, columns in cf.get("by_class", {}).items():
        for name, r in columns.items():
            parts.append(counterfactual_table(f"P({score})", name, r))
    return Group(*parts)
