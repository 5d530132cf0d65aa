"""``headstart compare DATA --backbone B``: did transfer beat training from scratch, at which label budgets?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console, err
from headstart.cli.report import ReportFlag, require_out, write_report
from headstart.data import Dataset
from headstart.errors import HeadstartError


def parse_numbers(text: str, what: str) -> list[float]:
    try:
        values = [float(v) for v in c.split_list(text) or []]
    except ValueError:
        raise HeadstartError(f"{what} takes comma-separated numbers, got '{text}'") from None
    if not values:
        raise HeadstartError(f"{what} needs at least one value")
    return sorted(set(values))


SHORT = {"transfer helps": "helps", "negative transfer": "hurts", "no significant difference": "n.s."}


def render_comparison(result: Any) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=f"held-out {result.metric.replace('_', ' ')} ({result.n_test} rows), "
        f"mean±95% CI over {len(result.seeds)} seeds" + (f"; imbalance {result.imbalance}" if result.imbalance else ""),
        caption="Δ = transfer - scratch; p: paired t-test; helps / hurts at 5%, else n.s.",
    )
    table.add_column("budget", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    for arm in result.arms:
        table.add_column(arm, justify="right", min_width=11, no_wrap=True)
    table.add_column("Δ", justify="right", min_width=6, no_wrap=True)
    table.add_column("p", no_wrap=True)
    for b in result.budgets:
        cells = ["{:.3f}±{:.3f}".format(*b.summary(arm)) for arm in result.arms]
        diff = b.summary("transfer")[0] - b.summary("scratch")[0]
        colour = {"transfer helps": "green", "negative transfer": "red"}.get(b.verdict, "yellow")
        word = SHORT.get(b.verdict, b.verdict)
        pval = "<0.001" if b.p < 0.001 else f"{b.p:.3f}"
        table.add_row(b.label, str(b.n_rows), *cells, f"{diff:+.3f}", f"{pval} [{colour}]{word}[/{colour}]")
    return table


def check_compare(
    backbone: str,
    strategy: str,
    make_report: bool,
    out: Path | None,
    imbalance: str | None,
    imbalance_option: list[str] | None,
    metric: str,
) -> dict[str, Any]:
    """The imbalance method's options; the backbone, strategy, method and metric checked before any data is read."""
    from headstart.backbones.registry import check_spec
    from headstart.select.compare import METRICS
    from headstart.strategies import make_strategy

    check_spec(backbone)
    make_strategy(strategy)
    require_out(make_report, out)
    c.check_out(out)
    imbalance_options = c.parse_options(imbalance_option, "--imbalance-option")
    if imbalance is not None:
        from headstart.imbalance import make_method

        make_method(imbalance, **imbalance_options)
    elif imbalance_options:
        raise HeadstartError("--imbalance-option needs --imbalance METHOD")
    if metric not in METRICS:
        raise HeadstartError(f"--metric must be {' or '.join(METRICS)}, got '{metric}'")
    return imbalance_options


def load_compare_data(
    data: Path, eval_path: Path | None, cols: dict[str, Any], test_size: float, seed: int
) -> tuple[Dataset, Dataset, Dataset, str]:
    """DATA, its training and held-out rows, and which rows those are (said on the console)."""
    from rich.markup import escape

    from headstart.cli.fit import choose_splits, describe_target
    from headstart.data.targets import as_task

    dataset = as_task(c.load_data(data, **cols))
    names = dataset.label_names if dataset.task == "multilabel" else None  # the held-out rows in its labels
    held = as_task(c.load_data(eval_path, **cols), dataset.task, names) if eval_path is not None else None
    train, test, how = choose_splits(dataset, held, test_size, seed)
    train.require_labels()
    console.print(
        f"[bold]data[/bold] {escape(dataset.source)}: {len(train)} training rows ({dataset.modality}), "
        f"{describe_target(train)}; {how}",
        highlight=False,
    )
    return dataset, train, test, how


def print_comparison(result: Any, remedies: list[str]) -> None:
    """The table, notes, time to target, the verdict and what to try after negative transfer."""
    console.print(render_comparison(result))
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    reached = []
    for arm, hit in result.time_to_target.items():
        reached.append(f"{arm}: " + ("never" if hit is None else f"{hit['rows']} rows ({hit['seconds']:.1f} s)"))
    console.print(f"to reach {result.target:.3f}: " + "; ".join(reached), highlight=False)
    colour = "green" if result.verdict == "transfer helps" else "red" if "negative" in result.verdict else "yellow"
    console.print(f"[bold {colour}]verdict: {result.verdict}[/bold {colour}]", highlight=False)
    console.print(result.reading, highlight=False, style="dim")
    if "negative" in result.verdict and not remedies:
        console.print(
            "remedies to test: --mitigate layers (transfer only the lower blocks), --mitigate l2sp with a "
            "fine-tuning --strategy, or train from scratch (headstart fit --scratch)",
            highlight=False,
        )


Backbone = typer.Option("auto", "--backbone", "-b", help="The pretrained backbone to test.")
Strategy = typer.Option("linear-probe", "--strategy", "-s", help="How both arms train: {choices:strategy}.")
Budgets = typer.Option("0.05,0.1,0.25,0.5,1", "--budgets", help="Fractions of the training rows to train on.")
Shots = typer.Option(None, "--shots", help="Rows per class instead of fractions, e.g. 1,5,10.")
Seeds = typer.Option(3, "--seeds", min=2, help="Draws of the training rows per budget.")
Mitigate = typer.Option(
    None, "--mitigate", help="Remedy arms for negative transfer: {choices:remedy} (layers: lower blocks only)."
)
NoClassic = typer.Option(False, "--no-classic", help="Leave out the classic baseline.")
Target = typer.Option(None, "--target", help="Accuracy for time-to-target (default: 95% of the best).")
Eval = typer.Option(None, "--eval", help="Held-out data (default: the val/ split, else a hold-out).")
TestSize = c.o.TEST_SIZE.typer(0.3, help="Hold-out fraction, if needed.")
Seed = c.o.SEED.typer(help="Seed of the hold-out split.")
Epochs = c.o.EPOCHS.typer(None, help="Fine-tuning arms: epochs (default: the recipe's).")
Lr = c.o.LR.typer(None, help="Fine-tuning arms: learning rate (default: the recipe's).")
TrainBatchSize = c.o.TRAIN_BATCH_SIZE.typer(None, help="Fine-tuning arms: batch size (default: the recipe's).")
Out = typer.Option(None, "--out", "-o", help="Run folder: compare.json and learning_curve.png.")
Metric = typer.Option(
    "accuracy",
    "--metric",
    help="What every arm is scored by: {choices:metric} (balanced accuracy for imbalanced classes; r2 for a "
    "regression and micro_f1 for a multi-label target, which the default means there).",
)


@command()
def compare(
    data: Path = typer.Argument(..., help="Labelled data: image folder, or a CSV/TSV/Parquet/JSONL table."),
    backbone: str = Backbone,
    strategy: str = Strategy,
    budgets: str = Budgets,
    shots: str = Shots,
    seeds: int = Seeds,
    mitigate: str = Mitigate,
    no_classic: bool = NoClassic,
    target: float = Target,
    eval_path: Path = Eval,
    test_size: float = TestSize,
    seed: int = Seed,
    epochs: int = Epochs,
    lr: float = Lr,
    train_batch_size: int = TrainBatchSize,
    out: Path = Out,
    imbalance: str = c.Imbalance,
    imbalance_option: list[str] = c.ImbalanceOption,
    metric: str = Metric,
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
    """Transfer vs the same network from scratch (and a classic baseline), at several label budgets.

    Reports mean ± 95% CI per budget, a paired t-test per budget, time to reach
    a target accuracy, a learning-curve plot, and a verdict: transfer helps /
    no significant difference / negative transfer.
    """
    from rich.markup import escape

    from headstart.io import write_json
    from headstart.select.compare import compare as run_compare
    from headstart.select.compare import plot_learning_curves

    imbalance_options = check_compare(backbone, strategy, make_report, out, imbalance, imbalance_option, metric)
    per_class = shots is not None
    values = parse_numbers(shots, "--shots") if per_class else parse_numbers(budgets, "--budgets")
    remedies = c.split_list(mitigate) or []
    cols = c.columns(label_col, text_col, image_col, feature_cols, strict=strict)
    dataset, train, test, how = load_compare_data(data, eval_path, cols, test_size, seed)
    result = run_compare(
        train,
        test,
        backbone,
        budgets=values,
        per_class=per_class,
        seeds=seeds,
        strategy=strategy,
        classic=not no_classic,
        mitigations=remedies,
        target=target,
        fit_options={"epochs": epochs, "lr": lr, "train_batch_size": train_batch_size},
        progress=lambda msg: err.print(msg, highlight=False),
        imbalance=imbalance,
        imbalance_options=imbalance_options or None,
        metric=metric,
        batch_size=batch_size,
        device=device,
        cache=not no_cache,
        cache_dir=cache_dir,
    )
    print_comparison(result, remedies)
    if out is not None:
        write_json(Path(out) / "compare.json", {"data": dataset.source, "split": how, **result.to_dict()})
        plot = plot_learning_curves(result, Path(out) / "learning_curve.png")
        console.print(f"[green]saved[/green] {escape(str(Path(out) / 'compare.json'))}, {escape(str(plot))}")
        if make_report:
            write_report(Path(out))
