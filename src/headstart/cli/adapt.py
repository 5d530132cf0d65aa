"""``headstart adapt SOURCE TARGET --method dann``: domain adaptation without target labels."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, write_report
from headstart.data import Dataset

ADAPT_FILE = "adapt.json"
PROJECTION_FILE = "projection.png"

Source = typer.Argument(..., help="Labelled source data (table, image folder, MNIST IDX folder, .mat).")
Target = typer.Argument(
    ..., help="Unlabelled target data, same classes. A label column, if any, is only used to report accuracy."
)
Method = typer.Option("dann", "--method", "-m", help="Adaptation method: {choices:adapt}.")
MethodOption = typer.Option(
    None, "--option", help="Method option KEY=VALUE, repeatable (weight=1, coeff=0.5, layers=features,logits)."
)
Backbone = typer.Option(
    "auto", "--backbone", "-b", help="auto, an embedded name, SOURCE:NAME (scratch:lenet, scratch:seqconv ...)."
)
BackboneOption = typer.Option(
    None, "--backbone-option", help="Backbone option KEY=VALUE, repeatable (size=16 for scratch:lenet)."
)
Strategy = typer.Option("full", "--strategy", "-s", help="Fine-tuning strategy: {choices:strategy}.")
Epochs = c.o.EPOCHS.typer(10, help="Passes over the source rows.")
Lr = c.o.LR.typer(1e-3, help="Peak learning rate (AdamW, warm-up then cosine).")
TrainBatchSize = c.o.TRAIN_BATCH_SIZE.typer(64, min=2, help="Rows per step: half source, half target.")
# adapt() takes any fraction in [0, 1) (checked below), not only the others' [0, 0.5].
ValSize = c.o.VAL_SIZE.typer(help="Fraction of SOURCE rows held out to choose the epoch.", min=None, max=None)
Select = typer.Option(
    "source-val",
    "--select",
    help="Model selection without target labels: {choices:selection} (source-val: best source val; last).",
)
Baseline = typer.Option(
    True, "--baseline/--no-baseline", help="Also train source-only (the 'before' of the plot and the comparison)."
)
Out = typer.Option(None, "--out", "-o", help="Run folder (default runs/adapt-TARGET-METHOD-TIME).")


def _default_out(target: Path, method: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"adapt-{target.stem}-{method}").strip("-")
    return Path("runs") / f"{name}-{stamp}"


def _training(run_dir: Path, method: str, resume: bool) -> dict[str, Any]:
    """Where one method's training checkpoints, and whether to continue it (only where a checkpoint exists:
    a run killed before its first checkpoint, or never started, starts afresh)."""
    from headstart.train import checkpoint

    folder = run_dir / "training" / method
    return {"run_dir": folder, "resume": resume and checkpoint.latest(folder) is not None}


def check_adapt(method: str, option: list[str] | None, backbone: str, select: str, val_size: float) -> dict[str, Any]:
    """The method's options; a misspelt method, option or backbone fails before any data is read."""
    from headstart.adapt import make_method
    from headstart.adapt.run import SELECTIONS
    from headstart.backbones.registry import check_spec
    from headstart.errors import HeadstartError

    options = c.parse_options(option)
    make_method(method, **options)
    check_spec(backbone)
    if select not in SELECTIONS:
        raise HeadstartError(f"--select must be one of {', '.join(SELECTIONS)}, got '{select}'")
    if not 0.0 <= val_size < 1.0:
        raise HeadstartError(f"--val-size must be in [0, 1), got {val_size}")
    return options


def load_domains(source: Path, target: Path, label_col: str | None, cols: dict[str, Any]) -> tuple[Dataset, Dataset]:
    """The labelled SOURCE rows and the TARGET rows (whose labels, if any, adapt() strips before training)."""
    from rich.markup import escape

    src = c.classification_only(c.load_data(source, label_col=label_col, **cols), "adapt")
    tgt = c.load_data(target, label_col=label_col, require_labels=False, **cols)
    console.print(
        f"[bold]source[/bold] {escape(src.source)}: {len(src)} labelled {src.modality} rows; "
        f"[bold]target[/bold] {escape(tgt.source)}: {len(tgt)} rows"
        + (" (its labels are used for the final report only)" if tgt.labels is not None else " (no labels)"),
        highlight=False,
    )
    return src, tgt


def project(results: list[Any], src: Dataset, tgt: Dataset, seed: int, run_dir: Path) -> dict[str, Any]:
    """2-D PCA of up to 500 source and target rows' features before and after adaptation: RUN/projection.png."""
    import numpy as np

    from headstart.adapt.projection import projection_figures
    from headstart.adapt.run import embed
    from headstart.report.projection import plot_projection

    main = results[-1]
    before = results[0] if len(results) == 2 else None
    rng = np.random.default_rng(seed)
    ns, nt = min(len(src), 500), min(len(tgt), 500)
    src_rows = src.subset(rng.choice(len(src), ns, replace=False))
    tgt_rows = tgt.subset(rng.choice(len(tgt), nt, replace=False))
    width = None
    if src.modality == "tabular":
        width = max(np.asarray(d.inputs).shape[1] for d in (src, tgt))
    panels = {}
    for name, r in (("before", before), ("after", main)):
        if r is None:
            continue
        fs, _ = embed(r.model, src_rows, width=width)
        ft, _ = embed(r.model, tgt_rows, width=width)
        panels[f"{name}: {r.method}"] = (fs, ft)
    figures = projection_figures(panels, seed=seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    plot_projection(run_dir / PROJECTION_FILE, panels, figures, seed=seed)
    return figures


def save_adapted(results: list[Any], src: Dataset, tgt: Dataset, common: dict[str, Any], run_dir: Path) -> None:
    """The adapted backbone + head as a run folder that `headstart predict` / `export` load."""
    from headstart.classifier import TransferClassifier

    main = results[-1]
    model = main.model.cpu().eval()
    clf = TransferClassifier.from_trained(
        model.backbone,
        model.head,
        main.classes,
        src,
        history=main.history,
        best_epoch=main.best_epoch,
        seconds=main.seconds,
        strategy=common["strategy"],
        epochs=common["epochs"],
        lr=common["lr"],
        train_batch_size=common["batch_size"],
        val_size=common["val_size"],
        seed=common["seed"],
    )
    metrics = None
    if main.target_metrics is not None:
        metrics = {**main.target_metrics, "evaluated_on": f"the target {tgt.source} (its labels read for this only)"}
    clf.save(run_dir, metrics=metrics, data={"source": src.source, "target": tgt.source, "train_rows": len(src)})


def write_adapt(results: list[Any], src: Dataset, tgt: Dataset, select: str, figures: Any, run_dir: Path) -> None:
    """RUN/adapt.json (figures, the selection rule, the projection), and each method's line."""
    from rich.markup import escape

    from headstart.io import write_json

    before = results[0] if len(results) == 2 else None
    payload = {
        "source": src.source,
        "target": tgt.source,
        "target_labelled": tgt.labels is not None,
        "selection_rule": (
            "best epoch by SOURCE validation accuracy (held-out source rows); no target label is read"
            if select == "source-val"
            else "the last epoch; no target label is read"
        ),
        "result": results[-1].to_dict(),
        "baseline": before.to_dict() if before is not None else None,
        "projection": {"file": PROJECTION_FILE, "method": "PCA (2 components)", "panels": figures},
    }
    write_json(run_dir / ADAPT_FILE, payload)
    for r in results:
        acc = f"target accuracy {r.target_accuracy:.4f}" if r.target_accuracy is not None else "target unlabelled"
        sv = f"source val accuracy {r.source_val_accuracy:.4f}; " if r.source_val_accuracy is not None else ""
        console.print(f"[bold]{r.method}[/bold]: {sv}{acc} (epoch {r.best_epoch})", highlight=False)
    console.print(f"[green]saved[/green] {escape(str(run_dir))}", highlight=False)


@command()
def adapt(
    source: Path = Source,
    target: Path = Target,
    method: str = Method,
    option: list[str] = MethodOption,
    backbone: str = Backbone,
    backbone_option: list[str] = BackboneOption,
    strategy: str = Strategy,
    epochs: int = Epochs,
    lr: float = Lr,
    train_batch_size: int = TrainBatchSize,
    val_size: float = ValSize,
    select: str = Select,
    baseline: bool = Baseline,
    seed: int = c.Seed,
    out: Path = Out,
    resume: bool = c.Resume,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    make_report: bool = ReportFlag,
) -> None:
    """Adapt a model from labelled SOURCE rows to unlabelled TARGET rows (DANN, DAN, CORAL, CDAN ...).

    Methods: {choices:adapt}. Writes RUN/adapt.json (figures, options, the selection rule), RUN/projection.png
    (2-D PCA of source and target features before and after adaptation) and the adapted model as a run folder
    (config.json, model.safetensors, backbone/) that `headstart predict` and `headstart export` read. Each training run
    checkpoints to RUN/training/METHOD/; after a kill, the same command with --resume continues it, and a
    run that had finished is reloaded, not retrained."""
    from headstart.adapt.run import adapt as run_adapt
    from headstart.errors import HeadstartError

    options = check_adapt(method, option, backbone, select, val_size)
    if resume and out is None:
        raise HeadstartError("--resume needs --out: the run folder to continue")
    run_dir = Path(out) if out is not None else _default_out(target, method)
    c.check_out(run_dir)
    cols: dict[str, Any] = dict(text_col=text_col, image_col=image_col, feature_cols=feature_cols)
    src, tgt = load_domains(source, target, label_col, cols)
    common: dict[str, Any] = dict(
        backbone=backbone,
        strategy=strategy,
        epochs=epochs,
        lr=lr,
        batch_size=train_batch_size,
        val_size=val_size,
        select=select,
        seed=seed,
        backbone_options=c.parse_options(backbone_option, "--backbone-option"),
    )
    results = []
    if baseline and method != "source-only":
        console.print("[bold]baseline[/bold] source-only, identical training otherwise", highlight=False)
        with c.resumable(run_dir, run_dir / "training" / "source-only"):
            results.append(
                run_adapt(src, tgt, method="source-only", **common, **_training(run_dir, "source-only", resume))
            )
    console.print(f"[bold]adapt[/bold] {method}", highlight=False)
    with c.resumable(run_dir, run_dir / "training" / method):
        results.append(
            run_adapt(src, tgt, method=method, options=options, **common, **_training(run_dir, method, resume))
        )
    figures = project(results, src, tgt, seed, run_dir)
    save_adapted(results, src, tgt, common, run_dir)
    write_adapt(results, src, tgt, select, figures, run_dir)
    if make_report:
        write_report(run_dir)
