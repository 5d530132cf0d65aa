"""Data summary of a ``fit`` run: rows, class counts, imbalance ratio, groups and domains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from headstart.report.html import Raw, esc, kv_table, num, table
from headstart.report.plots import figure, img, label
from headstart.report.section import Section, read_run_json, register

# Up to this many classes each bar is named; beyond it the bars are sorted and unnamed.
NAMED_BARS = 30


def class_chart(counts: dict[str, int], what: str) -> str:
    names = list(counts)
    values = [counts[n] for n in names]
    if len(names) <= NAMED_BARS:
        height = 1.0 + 0.24 * len(names)
        with figure(6.4, height) as (fig, ax):
            ax.barh(range(len(names)), values, color="#2f5fb3")
            ax.set_yticks(range(len(names)), [label(n) for n in names])
            ax.invert_yaxis()
            for i, v in enumerate(values):
                ax.text(v, i, f" {v}", va="center", fontsize=8)
            ax.set_xlim(0, max(values) * 1.15)
            ax.set_xlabel("rows")
            ax.set_title(f"{what} per class")
            ax.grid(axis="y", visible=False)
            return img(fig, f"bar chart of {what} per class")
    order = sorted(range(len(names)), key=lambda i: -values[i])
    with figure(7.2, 2.8) as (fig, ax):
        ax.bar(range(len(order)), [values[i] for i in order], width=1.0, color="#2f5fb3")
        ax.set_xlabel(f"classes, most to fewest rows ({len(names)} classes)")
        ax.set_ylabel("rows")
        ax.set_title(f"{what} per class (sorted)")
        ax.set_xlim(-0.5, len(order) - 0.5)
        return img(fig, f"sorted bar chart of {what} per class")


def count_table(title: str, counts: dict[str, Any]) -> str:
    rows = sorted(counts.items(), key=lambda kv: -kv[1] if isinstance(kv[1], int | float) else 0)
    return f"<h3>{esc(title)}</h3>" + table(["name", "rows"], rows[:40], [False, True])


@register("data", order=20)
def build(run_dir: Path) -> Section | None:
    """Section "Data": rows, classes and the held-out split, from RUN/config.json and RUN/metrics.json.

    None when the run has no such file.
    """
    config = read_run_json(run_dir, "config.json")
    if not isinstance(config, dict):
        return None
    data = config.get("data") or {}
    counts = {str(k): int(v) for k, v in (data.get("class_counts") or {}).items()}
    what = "training rows"
    if not counts:  # an older run: the held-out support is what we have
        metrics = read_run_json(run_dir, "metrics.json") or {}
        counts = {k: int(v.get("support", 0)) for k, v in metrics.get("per_class", {}).items()}
        what = "held-out rows"
    if not counts and not data:
        return None
    items: list[tuple[str, Any]] = []
    if data.get("source"):
        items.append(("source", Raw(f"<code>{esc(data['source'])}</code>")))
    if "train_rows" in data:
        sample = f" (a stratified sample of {data['sample']})" if data.get("sample") else ""
        items.append(("training rows", num(data["train_rows"]) + sample))
    if "eval_rows" in data:
        items.append(("held-out rows", num(data["eval_rows"])))
    if data.get("evaluated_on"):
        items.append(("evaluation", data["evaluated_on"]))
    md = []
    task = config.get("task") or "classification"
    if task == "regression":  # one target: its rows are the training rows, no classes to count
        items.append(("task", f"regression of '{next(iter(counts), 'target')}'"))
        md.append(f"regression of '{next(iter(counts), 'target')}'")
        counts = {}
    elif task == "multilabel":
        items.append(("task", f"multi-label, {len(counts)} labels (bars: training rows with each label)"))
        md.append(f"multi-label, {len(counts)} labels")
        what = "training rows with the label"
    elif counts:
        big, small = max(counts.values()), min(counts.values())
        ratio = big / small if small else float("inf")
        items.append(("classes", num(len(counts))))
        items.append(("imbalance ratio", f"{num(ratio, 1)} (largest class {big} rows / smallest {small})"))
        md.append(f"{len(counts)} classes, imbalance ratio {num(ratio, 1)}")
    columns = config.get("columns", {})
    for key in ("group", "domain"):
        if key in columns:
            items.append((f"{key} column", columns[key]))
    if "train_rows" in data:
        md.insert(0, f"{num(data['train_rows'])} training rows, {num(data.get('eval_rows'))} held out")
    body = kv_table(items)
    extra = "".join(
        count_table(f"rows per {key[:-1]}", data[key])
        for key in ("groups", "domains")
        if isinstance(data.get(key), dict) and data[key]
    )
    chart = class_chart(counts, what) if counts else ""
    return Section("Data", f'<div class="grid"><div>{body}{extra}</div><div>{chart}</div></div>', "; ".join(md))
