"""Deployment (RUN/export/export.json, written by ``headstart export``): size,
latency and accuracy of PyTorch eager, ONNX fp32 and ONNX int8, and their parity."""

from __future__ import annotations

from pathlib import Path

from headstart.report.html import kv_table, md_table, num, table
from headstart.report.plots import figure, img
from headstart.report.section import Section, finite, read_run_json, register

BATCHES = ("batch 1", "batch 32")


def latency_bars(rows: list[dict]) -> str:
    names = [r["model"] for r in rows]
    with figure(8.0, 2.6, ncols=2) as (fig, axes):
        for ax, batch in zip(axes, BATCHES, strict=True):
            p50 = [finite((r.get("latency_ms") or {}).get(batch, {}).get("p50_ms")) or 0.0 for r in rows]
            ax.barh(range(len(rows)), p50, color="#2f5fb3")
            ax.set_yticks(range(len(rows)), names if batch == BATCHES[0] else [""] * len(rows))
            ax.invert_yaxis()
            ax.set_xlabel("p50 latency (ms, lower = faster)")
            ax.set_title(f"{batch}")
            ax.grid(axis="y", visible=False)
        fig.suptitle("CPU latency per model (same threads, interleaved repeats)")
        return img(fig, "p50 latency of each exported model at batch 1 and batch 32")


@register("export", order=110)
def build(run_dir: Path) -> Section | None:
    """Section "Export: size, latency, parity" of the exported models, from RUN/export/export.json.

    None when the run has no such file.
    """
    result = read_run_json(run_dir, "export/export.json")
    if not isinstance(result, dict) or not result.get("table"):
        return None
    rows = result["table"]
    header = ["model", "size MB", *(f"{b} p50 / p95 ms" for b in BATCHES), "accuracy", "top-1 agreement"]
    parity = result.get("parity") or {}
    cells = []
    for r in rows:
        lat = [r.get("latency_ms", {}).get(b, {}) for b in BATCHES]
        agree = parity.get(r["model"], {}).get("top1_agreement")
        cells.append(
            [
                r["model"],
                num(r.get("size_mb"), 2),
                *(f"{num(x.get('p50_ms'), 1)} / {num(x.get('p95_ms'), 1)}" for x in lat),
                num(r.get("accuracy")),
                "reference" if r["model"].startswith("pytorch") else num(agree, 4),
            ]
        )
    facts = [("threads", result.get("threads", "?")), ("timed repeats", result.get("repeats", "?"))]
    if result.get("eval"):
        facts.append(("accuracy on", f"{result['eval'].get('rows', '?')} rows of {result['eval'].get('data', '?')}"))
    for name, p in parity.items():
        facts.append(
            (
                f"parity {name}",
                f"max |diff| {num(p.get('max_abs_diff'))}, top-1 agreement {num(p.get('top1_agreement'))}",
            )
        )
    quant = result.get("quantization")
    if quant:
        facts.append(("int8", ", ".join(f"{k} {v}" for k, v in quant.items() if k != "pre_processed")))
    versus = result.get("int8_vs_fp32")
    if versus:
        facts.append(
            (
                "int8 vs fp32",
                f"size {num(100 * versus['size_ratio'], 1)}%, top-1 agreement {num(versus['top1_agreement'])}, "
                f"accuracy drop {num(versus.get('accuracy_drop_points'), 2)} points",
            )
        )
    body = latency_bars(rows) + table(header, cells, [False, True, True, True, True, True]) + kv_table(facts)
    md = md_table(header, cells)
    return Section("Export: size, latency, parity", body, md)
