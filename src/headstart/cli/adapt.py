"""``headstart adapt SOURCE TARGET --method dann``: domain adaptation without target labels."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import app, console
from headstart.cli.report import ReportFlag, write_report

ADAPT_FILE = "adapt.json"
PROJECTION_FILE = "projection.png"


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


@app.command()
def adapt(
    source: Path = typer.Argument(..., help="Labelled source data (table, image folder, MNIST IDX folder, .mat)."),
    target: Path = typer.Argument(
        ..., help="Unlabelled target data, same classes. A label column, if any, is only used to report accuracy."
    ),
    method: str = typer.Option(
        "dann", "--method", "-m", help="source-only, dann, dan, coral, cdan or cdan-e (headstart.adapt.METHODS)."
    ),
    option: list[str] = typer.Option(
        None, "--option", help="Method option KEY=VALUE, repeatable (weight=1, coeff=0.5, layers=features,logits)."
    ),
    backbone: str = typer.Option(
        "auto", "--backbone", "-b", help="auto, an embedded name, SOURCE:NAME (scratch:lenet, scratch:seqconv ...)."
    ),
    backbone_option: list[str] = typer.Option(
        None, "--backbone-option", help="Backbone option KEY=VALUE, repeatable (size=16 for scratch:lenet)."
    ),
    strategy: str = typer.Option("full", "--strategy", "-s", help="Fine-tuning strategy (full, partial, head ...)."),
    epochs: int = typer.Option(10, "--epochs", min=1, help="Passes over the source rows."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate (AdamW, warm-up then cosine)."),
    train_batch_size: int = typer.Option(
        64, "--train-batch-size", min=2, help="Rows per step: half source, half target."
    ),
    val_size: float = typer.Option(0.1, "--val-size", help="Fraction of SOURCE rows held out to choose the epoch."),
    select: str = typer.Option(
        "source-val", "--select", help="Model selection without target labels: source-val (best source val) or last."
    ),
    baseline: bool = typer.Option(
        True, "--baseline/--no-baseline", help="Also train source-only (the 'before' of the plot and the comparison)."
    ),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder (default runs/adapt-TARGET-METHOD-TIME)."),
    resume: bool = c.Resume,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    make_report: bool = ReportFlag,
) -> None:
    """Adapt a model from labelled SOURCE rows to unlabelled TARGET rows (DANN, DAN, CORAL, CDAN ...).

    Writes RUN/adapt.json (figures, options, the selection rule), RUN/projection.png (2-D PCA of source and
    target features before and after adaptation) and the adapted model as a run folder (config.json,
    model.safetensors, backbone/) that `headstart predict` and `headstart export` read. Each training run
    checkpoints to RUN/training/METHOD/; after a kill, the same command with --resume continues it, and a
    run that had finished is reloaded, not retrained."""
    import numpy as np
    from rich.markup import escape

    from headstart.adapt import make_method
    from headstart.adapt.projection import projection_figures
    from headstart.adapt.run import SELECTIONS, embed
    from headstart.adapt.run import adapt as run_adapt
    from headstart.backbones.registry import check_spec
    from headstart.classifier import TransferClassifier
    from headstart.cli.fit import parse_options
    from headstart.errors import HeadstartError
    from headstart.io import write_json
    from headstart.report.projection import plot_projection

    options = parse_options(option)
    make_method(method, **options)  # a misspelt method or option fails before any data is read
    check_spec(backbone)
    if select not in SELECTIONS:
        raise HeadstartError(f"--select must be one of {', '.join(SELECTIONS)}, got '{select}'")
    if not 0.0 <= val_size < 1.0:
        raise HeadstartError(f"--val-size must be in [0, 1), got {val_size}")
    cols: dict[str, Any] = dict(text_col=text_col, image_col=image_col, feature_cols=feature_cols)
    src = c.load_data(source, label_col=label_col, **cols)
    # The target may have no label column; if it has one, adapt() strips it before training.
    tgt = c.load_data(target, label_col=label_col, require_labels=False, **cols)
    labelled = tgt.labels is not None
    console.print(
        f"[bold]source[/bold] {escape(src.source)}: {len(src)} labelled {src.modality} rows; "
        f"[bold]target[/bold] {escape(tgt.source)}: {len(tgt)} rows"
        + (" (its labels are used for the final report only)" if labelled else " (no labels)"),
        highlight=False,
    )
    if resume and out is None:
        raise HeadstartError("--resume needs --out: the run folder to continue")
    run_dir = Path(out) if out is not None else _default_out(target, method)
    common: dict[str, Any] = dict(
        backbone=backbone,
        strategy=strategy,
        epochs=epochs,
        lr=lr,
        batch_size=train_batch_size,
        val_size=val_size,
        select=select,
        seed=seed,
        backbone_options=parse_options(backbone_option),
    )
    results = []
    if baseline and method != "source-only":
        console.print("[bold]baseline[/bold] source-only, identical training otherwise", highlight=False)
        results.append(run_adapt(src, tgt, method="source-only", **common, **_training(run_dir, "source-only", resume)))
    console.print(f"[bold]adapt[/bold] {method}", highlight=False)
    results.append(run_adapt(src, tgt, method=method, options=options, **common, **_training(run_dir, method, resume)))
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
    # The adapted backbone + head as a run folder that `headstart predict` / `export` load.
    model = main.model.cpu().eval()
    clf = TransferClassifier.from_trained(
        model.backbone,
        model.head,
        main.classes,
        src,
        history=main.history,
        best_epoch=main.best_epoch,
        seconds=main.seconds,
        strategy=strategy,
        epochs=epochs,
        lr=lr,
        train_batch_size=train_batch_size,
        val_size=val_size,
        seed=seed,
    )
    metrics = None
    if main.target_metrics is not None:
        metrics = {**main.target_metrics, "evaluated_on": f"the target {tgt.source} (its labels read for this only)"}
    clf.save(run_dir, metrics=metrics, data={"source": src.source, "target": tgt.source, "train_rows": len(src)})
    payload = {
        "source": src.source,
        "target": tgt.source,
        "target_labelled": labelled,
        "selection_rule": (
            "best epoch by SOURCE validation accuracy (held-out source rows); no target label is read"
            if select == "source-val"
            else "the last epoch; no target label is read"
        ),
        "result": main.to_dict(),
        "baseline": before.to_dict() if before is not None else None,
        "projection": {"file": PROJECTION_FILE, "method": "PCA (2 components)", "panels": figures},
    }
    write_json(run_dir / ADAPT_FILE, payload)
    for r in results:
        acc = f"target accuracy {r.target_accuracy:.4f}" if r.target_accuracy is not None else "target unlabelled"
        sv = f"source val accuracy {r.source_val_accuracy:.4f}; " if r.source_val_accuracy is not None else ""
        console.print(f"[bold]{r.method}[/bold]: {sv}{acc} (epoch {r.best_epoch})", highlight=False)
    console.print(f"[green]saved[/green] {escape(str(run_dir))}", highlight=False)
    if make_report:
        write_report(run_dir)
