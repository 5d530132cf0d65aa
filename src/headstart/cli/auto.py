"""``headstart auto DATA -o RUN``: rank, fit with the default recipe, compare, audit, export, report."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console, err
from headstart.errors import HeadstartError

UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str | None) -> float | None:
    """``"10m"`` -> 600.0, ``"90s"``, ``"1h"``, ``"300"`` (seconds); ``None``/``"none"`` -> no limit."""
    if text is None or text.strip().lower() in ("", "none", "0"):
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if m is None:
        raise HeadstartError(f"--time-limit takes a duration like 90s, 10m or 1h, got '{text}'")
    return float(m[1]) * UNITS[m[2] or "s"]


@command()
def auto(
    data: Path = typer.Argument(..., help="Labelled data: image folder, or a CSV/TSV/Parquet/JSONL table."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder: the model, every step's files, report.html."),
    eval_path: Path = typer.Option(
        None, "--eval", help="Held-out data to report on (default: the val/ split, else a hold-out)."
    ),
    test_size: float = c.TestSize,
    sample: int = c.Sample,
    seed: int = c.Seed,
    time_limit: str = typer.Option(
        "30m",
        "--time-limit",
        help="Bound on the whole run (90s, 10m, 1h; none): optional steps that no longer fit are skipped.",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run in --out (the same data and options)."),
    candidates: str = typer.Option(
        None, "--candidates", "-c", help="Backbones to rank (default: the offline ones for the modality and 2 layers)."
    ),
    compare_seeds: int = typer.Option(3, "--compare-seeds", min=2, help="Draws of the training rows per budget."),
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    group_col: str = c.GroupCol,
    strict: bool = c.Strict,
) -> None:
    """From DATA to a chosen, proven, exported model: rank the offline backbones and their layers
    (LogME), fit the best with the default recipe, compare it with the same network from scratch and
    a classic baseline, audit per group (--group-col), export to ONNX + int8, and write one report."""
    from rich.markup import escape

    from headstart.backbones.registry import check_spec
    from headstart.cli.fit import check_held_out_classes, check_held_out_groups, describe_target, load_splits
    from headstart.pipeline import Auto

    limit = parse_duration(time_limit)
    names = c.split_list(candidates) or None
    for spec in names or []:
        check_spec(spec)
    c.check_out(out)
    cols = c.columns(label_col, text_col, image_col, feature_cols, group_col, None, strict)
    dataset, train, test, how = load_splits(data, eval_path, cols, test_size, seed, sample)
    if train.task == "classification":
        check_held_out_classes(train, test)
    check_held_out_groups(train, test)
    console.print(
        f"[bold]data[/bold] {escape(dataset.source)}: {len(train)} training rows ({dataset.modality}), "
        f"{describe_target(train)}; {how}",
        highlight=False,
    )
    options = {
        "seed": seed,
        "sample": sample,
        "test_size": test_size,
        "candidates": names,
        "compare_seeds": compare_seeds,
    }
    run = Auto(
        train, test, how, out, options=options, time_limit=limit, resume=resume,
        say=lambda msg: err.print(msg, highlight=False, markup=False),
    )  # fmt: skip
    with c.resumable(out):
        record = run.run()
    total = record["seconds"]
    within = "" if limit is None else (" (within its limit)" if total <= limit else f" (OVER its {limit:.0f} s limit)")
    console.print(f"[bold]verdict[/bold] {escape(record['verdict'])}", highlight=False)
    console.print(f"[green]done[/green] in {total:.0f} s{within}: {escape(str(out / 'report.html'))}", highlight=False)
