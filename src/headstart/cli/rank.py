"""``headstart rank DATA --candidates a,b,c``: which backbone (or layer) to transfer from, before training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, require_out, write_report


def render_ranking(rows: list[Any], scores: list[str]) -> Any:
    """Scores per candidate, best first, and the time each score took (ms)."""
    from rich.console import Group
    from rich.table import Table

    table = Table(title=f"transferability (higher = better; sorted by {scores[0]})")
    table.add_column("#", justify="right")
    table.add_column("candidate", overflow="fold")
    table.add_column("dim", justify="right")
    for name in scores:
        table.add_column(name, justify="right", min_width=max(7, len(name)), no_wrap=True)
    times = Table(title="seconds: features, then each score in ms", title_style="dim", box=None)
    times.add_column("candidate", overflow="fold", style="dim")
    times.add_column("features", justify="right", style="dim")
    for name in scores:
        times.add_column(name, justify="right", style="dim")
    for i, r in enumerate(rows, 1):
        values = ["n/a" if r.scores.get(n) is None else f"{r.scores[n]:.3f}" for n in scores]
        table.add_row(str(i), r.candidate, str(r.feature_dim), *values)
        ms = ["-" if n not in r.seconds else f"{r.seconds[n] * 1000:.0f}" for n in scores]
        feats = "cached" if r.features_cached else f"{r.features_seconds:.1f} s"
        times.add_row(r.candidate, feats, *ms)
    return Group(table, times)


@command()
def rank(
    data: Path = typer.Argument(..., help="Labelled data: image folder, or a CSV/TSV/Parquet/JSONL table."),
    candidates: str = typer.Option(
        ...,
        "--candidates",
        "-c",
        help="Comma-separated backbones: names, SPEC@blockK layers, random:SPEC for random weights.",
    ),
    scores: str = typer.Option(
        None, "--scores", help="Comma-separated scores, of {choices:score} (default: all; the first sorts)."
    ),
    sample: int = c.o.SAMPLE.typer(help="Score a stratified sample of N rows."),
    seed: int = c.o.SEED.typer(help="Seed of the sample and of random initialisations."),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder to write rank.json into."),
    task: str = c.Task,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    strict: bool = c.Strict,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    no_cache: bool = c.NoCache,
    cache_dir: str = c.CacheDir,
    make_report: bool = ReportFlag,
) -> None:
    """Rank candidate backbones for DATA by transferability scores, with timings.

    Scores: {choices:score}. They use the training rows only (the 'train' split when DATA has one).
    """
    from rich.markup import escape

    from headstart.io import write_json
    from headstart.select.rank import parse_candidate
    from headstart.select.rank import rank as run_rank
    from headstart.select.scores import list_scores, needs_source_probs

    require_out(make_report, out)
    c.check_out(out)
    names = c.split_list(scores) or list_scores()
    for name in names:
        needs_source_probs(name)  # unknown score names fail before any data is read
    specs = c.split_list(candidates) or []
    for spec in specs:
        parse_candidate(spec)
    cols: dict[str, Any] = dict(
        label_col=label_col, text_col=text_col, image_col=image_col, feature_cols=feature_cols, strict=strict
    )
    from headstart.cli.fit import describe_target
    from headstart.data.targets import as_task

    dataset = as_task(c.load_data(data, **cols), task)
    if dataset.task != "classification" and not c.split_list(scores):
        names = ["logme"]  # the score with a regression (and multi-label) form
    train = dataset.where_split("train") if "train" in dataset.splits() else dataset
    if sample is not None:
        c.check_sample(sample, train)
        train = train.sample(sample, seed)
    train.require_labels()
    console.print(
        f"[bold]data[/bold] {escape(dataset.source)}: {len(train)} {dataset.modality} rows, "
        f"{describe_target(train)}; {len(specs)} candidates",
        highlight=False,
    )
    rows = run_rank(
        train,
        specs,
        names,
        seed=seed,
        batch_size=batch_size,
        device=device,
        cache=not no_cache,
        cache_dir=cache_dir,
    )
    console.print(render_ranking(rows, names))
    if out is not None:
        meta = {"data": dataset.source, "rows": len(train), "scores": names, "seed": seed, "sample": sample}
        path = write_json(Path(out) / "rank.json", {**meta, "ranking": [r.to_dict() for r in rows]})
        console.print(f"[green]saved[/green] {escape(str(path))}")
        if make_report:
            write_report(Path(out))
