"""``headstart export RUN --format onnx --quantize int8 --eval DATA``: deployable files and their figures."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, write_report
from headstart.errors import HeadstartError


@command()
def export(
    run: Path = typer.Argument(..., help="A run folder written by `headstart fit` or `headstart distill`."),
    fmt: str = typer.Option("onnx", "--format", help="Export format (onnx)."),
    quantize: str = typer.Option(None, "--quantize", help="Also write an int8 model (int8)."),
    mode: str = typer.Option(
        "auto", "--quant-mode", help="int8 mode: auto (static for images, dynamic for text), dynamic, static."
    ),
    eval_path: Path = typer.Option(
        None, "--eval", help="Labelled data: accuracy, parity and latency inputs for each model."
    ),
    calibrate: Path = typer.Option(
        None, "--calibrate", help="Rows for static calibration (default: the run's training data, if on disk)."
    ),
    calibration_rows: int = typer.Option(128, "--calibration-rows", min=1, help="Calibration rows (sampled)."),
    threads: int = typer.Option(None, "--threads", min=1, help="CPU threads for every model (default: torch's)."),
    repeats: int = typer.Option(20, "--repeats", min=1, help="Timed repeats per model and batch size."),
    label_col: str = c.LabelCol,
    strict: bool = c.Strict,
    make_report: bool = ReportFlag,
) -> None:
    """Export RUN to ONNX (+ int8) in RUN/export/, with parity, size, latency and accuracy (export.json)."""
    from headstart.cli.predict import load_for_run
    from headstart.export import export_run
    from headstart.runfolder import read_config

    if fmt != "onnx":
        raise HeadstartError(f"--format must be onnx, got '{fmt}'")
    if quantize not in (None, "int8"):
        raise HeadstartError(f"--quantize takes int8, got '{quantize}'")
    read_config(run)
    c.check_out(run / "export")
    eval_data = calib = None
    if eval_path is not None:
        _, eval_data = load_for_run(run, eval_path, require_labels=True, strict=strict, label_col=label_col)
        if eval_data.split is not None and "val" in eval_data.splits() and "train" in eval_data.splits():
            eval_data = eval_data.where_split("val")
    if calibrate is not None:
        _, calib = load_for_run(run, calibrate, require_labels=False, strict=strict, label_col=None)
        if calib.split is not None and "train" in calib.splits():
            calib = calib.where_split("train")
    report = export_run(
        run,
        quantize_to=quantize,
        mode=mode,
        eval_data=eval_data,
        calibrate=calib,
        calibration_rows=calibration_rows,
        threads=threads,
        repeats=repeats,
    )
    console.print(render(report))
    for name, p in report["parity"].items():
        console.print(
            f"[bold]parity[/bold] {name}: max |diff| {p['max_abs_diff']:.3g}, top-1 agreement "
            f"{p['top1_agreement']:.2%} on {p['rows']} rows",
            highlight=False,
        )
    console.print(f"[green]wrote[/green] {run / 'export'} (export.json, preprocess.json, model files)")
    if make_report:
        write_report(run)


def render(report: dict) -> Table:
    """The export table: size, latency p50 / p95 per batch size, accuracy."""
    sizes = list(report["table"][0]["latency_ms"])
    table = Table(title=f"{report['backbone']}: {report['threads']} CPU threads, {report['repeats']} repeats")
    table.add_column("model")
    table.add_column("size MB", justify="right")
    for s in sizes:
        table.add_column(f"{s} p50 / p95 ms", justify="right")
    table.add_column(str(report.get("metric", "accuracy")).replace("_", " "), justify="right")
    for row in report["table"]:
        lat = [f"{row['latency_ms'][s]['p50_ms']:.1f} / {row['latency_ms'][s]['p95_ms']:.1f}" for s in sizes]
        acc = f"{row['accuracy']:.4f}" if row["accuracy"] is not None else "-"
        table.add_row(row["model"], f"{row['size_mb']:.2f}", *lat, acc)
    return table
