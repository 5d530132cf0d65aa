"""``headstart shift SOURCE TARGET``: domain shift between two data sets in a backbone's feature space."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, require_out, write_report


def render_shift(report: Any) -> Any:
    """A small rich table of the figures of a :class:`~headstart.select.shift.ShiftReport`."""
    from rich.table import Table

    r = report
    table = Table(title=f"domain shift ({r.backbone}, {r.feature_dim}-d)", show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_column(style="dim")
    used = f"{r.n_source_used} / {r.n_target_used}"
    note = f"random rows, seed {r.seed}" if r.subsampled else "all rows"
    table.add_row("rows (source / target)", f"{r.n_source} / {r.n_target}", f"used {used}: {note}")
    table.add_row("MMD^2 (RBF, unbiased)", f"{r.mmd2:.4g}", f"bandwidth {r.mmd_bandwidth:.4g} (median distance)")
    table.add_row("MMD p-value", f"{r.mmd_p_value:.3g}", f"{r.permutations} permutations")
    table.add_row(
        "proxy A-distance",
        f"{r.pad:.3f}",
        f"domain classifier CV error {r.pad_error:.3f} ({r.pad_folds} folds, {r.pad_rows_per_domain} rows/domain)",
    )
    table.add_row("CORAL distance", f"{r.coral:.4g}", "||C_s - C_t||_F^2 / (4 d^2)")
    return table


@command()
def shift(
    source: Path = typer.Argument(..., help="Source data: image folder, table, MNIST IDX folder or digits .mat."),
    target: Path = typer.Argument(..., help="Target data, of the same modality."),
    backbone: str = typer.Option(
        "auto", "--backbone", "-b", help="auto (the modality's default), an embedded name, or SOURCE:NAME."
    ),
    permutations: int = typer.Option(200, "--permutations", min=1, help="Shuffles of the MMD permutation test."),
    alpha: float = typer.Option(0.01, "--alpha", min=0.0, max=1.0, help="Significance level of the verdict."),
    seed: int = c.o.SEED.typer(help="Seed of the row samples, the permutations and the CV folds."),
    max_rows: int = typer.Option(
        2000, "--max-rows", min=0, help="At most this many random rows of each data set (0: all rows)."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder to write shift.json into."),
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    no_cache: bool = c.NoCache,
    cache_dir: str = c.CacheDir,
    make_report: bool = ReportFlag,
) -> None:
    """Is TARGET shifted from SOURCE? MMD test, proxy A-distance and CORAL distance on backbone features."""
    from rich.markup import escape

    from headstart.backbones.registry import check_spec
    from headstart.errors import HeadstartError
    from headstart.io import write_json
    from headstart.select.shift import shift_between

    check_spec(backbone)  # a misspelt backbone fails before any data is read
    require_out(make_report, out)
    c.check_out(out)
    if not 0.0 < alpha < 1.0:
        raise HeadstartError(f"--alpha must be between 0 and 1, got {alpha}")
    if 0 < max_rows < 5:
        raise HeadstartError(
            f"--max-rows must be 0 (all rows) or at least 5 (the domain classifier's folds), got {max_rows}"
        )
    cols: dict[str, Any] = dict(text_col=text_col, image_col=image_col, feature_cols=feature_cols)
    src = c.load_data(source, require_labels=False, **cols)
    tgt = c.load_data(target, require_labels=False, **cols)
    console.print(
        f"[bold]source[/bold] {escape(src.source)}: {len(src)} {src.modality} rows; "
        f"[bold]target[/bold] {escape(tgt.source)}: {len(tgt)} {tgt.modality} rows",
        highlight=False,
    )
    report = shift_between(
        src,
        tgt,
        backbone,
        seed=seed,
        permutations=permutations,
        alpha=alpha,
        max_rows=max_rows or None,
        batch_size=batch_size,
        device=device,
        cache=not no_cache,
        cache_dir=cache_dir,
    )
    console.print(render_shift(report))
    colour = "red" if report.shifted else "green"
    console.print(f"[{colour}]{report.reading}[/{colour}]", highlight=False)
    if out is not None:
        path = write_json(Path(out) / "shift.json", report.to_dict())
        console.print(f"[green]saved[/green] {escape(str(path))}")
        if make_report:
            write_report(Path(out))
