"""``headstart fit DATA``: train a transferred classifier and write a run folder."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import app, console
from headstart.cli.report import ReportFlag, write_report
from headstart.data import Dataset
from headstart.errors import HeadstartError


def choose_splits(
    data: Dataset, eval_data: Dataset | None, test_size: float, seed: int
) -> tuple[Dataset, Dataset, str]:
    """Training rows and the held-out rows to report on, and a sentence saying which."""
    if eval_data is not None:
        train = data.where_split("train") if "train" in data.splits() else data
        return train, eval_data, f"reported on {eval_data.source} ({len(eval_data)} rows)"
    names = data.splits()
    if "train" in names and ("val" in names or "test" in names):
        held = "val" if "val" in names else "test"
        return (
            data.where_split("train"),
            data.where_split(held),
            f"reported on the '{held}' split ({int((data.split == held).sum())} rows)",
        )
    train, test = data.train_test_split(test_size, seed)
    return train, test, f"reported on a stratified {test_size:.0%} hold-out (seed {seed})"


def check_held_out_classes(train: Dataset, test: Dataset) -> None:
    """A class in the held-out rows that training never sees: one clear line, before any training."""
    if test.labels is None:
        return
    seen = {str(c) for c in train.classes}
    unseen = [str(c) for c in test.classes if str(c) not in seen]
    if unseen:
        named = ", ".join(f"'{c}'" for c in unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
        raise HeadstartError(
            f"class {named} of the held-out rows ({test.source}) never appears in the training rows: "
            f"the model could not predict it; add training examples of it or drop those rows"
        )


def check_held_out_groups(train: Dataset, test: Dataset) -> None:
    """A group of the held-out rows that training never sees: one clear line, before any training."""
    if train.group is None or test.group is None:
        return
    from headstart.fairness import check_known_groups
    from headstart.fairness.audit import group_labels

    labels, present = group_labels(train.group)
    column = train.columns.get("group", "group")
    check_known_groups({column: test.group}, {column: sorted(set(labels[present].tolist()))}, test.source)


def audit_held_out(clf: Any, test: Dataset, run_dir: Path) -> None:
    """With a group column: the per-group audit of the held-out rows, in RUN/audit.json (and the report)."""
    from rich.markup import escape

    from headstart.fairness.render import render_audit
    from headstart.fairness.run import AUDIT_FILE, audit_model
    from headstart.io import write_json

    result = audit_model(clf, test, {test.columns.get("group", "group"): test.group}, run=run_dir)
    write_json(run_dir / AUDIT_FILE, result)
    console.print(render_audit(result))
    console.print(f"[green]audit[/green] {escape(str(run_dir / AUDIT_FILE))}", highlight=False)


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """``["k=2", "lr_decay=0.8"]`` -> ``{"k": 2, "lr_decay": 0.8}`` (numbers parsed)."""
    import ast

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise HeadstartError(f"--option takes KEY=VALUE, got '{item}'")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def default_run_dir(data_path: Path, backbone: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{data_path.stem}-{backbone}").strip("-")
    return Path("runs") / f"{name}-{stamp}"


@app.command()
def fit(
    data: Path = typer.Argument(..., help="Image folder, or a CSV/TSV/Parquet/JSONL table."),
    backbone: str = typer.Option(
        "auto", "--backbone", "-b", help="auto, an embedded name, or hf:/timm:/torchvision:/local: NAME."
    ),
    strategy: str = typer.Option("auto", "--strategy", "-s", help="How to transfer (see `headstart models`)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run folder (default runs/<data>-<backbone>-<time>)."),
    eval_path: Path = typer.Option(
        None, "--eval", help="Held-out data to report on (default: the val/ split, else a hold-out)."
    ),
    test_size: float = c.TestSize,
    sample: int = c.Sample,
    seed: int = c.Seed,
    C: float = typer.Option(
        None, "--C", help="Head regularisation (default: chosen by cross-validation on training rows)."
    ),
    class_weight: str = typer.Option(
        None, "--class-weight", help="'balanced' to weight classes inversely to frequency."
    ),
    imbalance: str = c.Imbalance,
    imbalance_option: list[str] = c.ImbalanceOption,
    debias: str = typer.Option(
        None,
        "--debias",
        help="Train against a group gap (needs --group-col and a fine-tuning strategy): adversarial, penalty, "
        "group-sampling.",
    ),
    debias_option: list[str] = typer.Option(
        None, "--debias-option", help="Debiasing option KEY=VALUE, repeatable (coeff=1, weight=2, target=...)."
    ),
    scratch: bool = typer.Option(
        False, "--scratch", help="Random weights instead of pretrained (the from-scratch baseline)."
    ),
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    group_col: str = c.GroupCol,
    domain_col: str = c.DomainCol,
    epochs: int = typer.Option(3, "--epochs", min=1, help="Fine-tuning epochs."),
    lr: float = typer.Option(1e-4, "--lr", help="Fine-tuning learning rate of the top backbone group (head: 10x)."),
    train_batch_size: int = c.TrainBatchSize,
    max_length: int = c.MaxLength,
    patience: int = c.Patience,
    val_size: float = c.ValSize,
    precision: str = c.Precision,
    option: list[str] = typer.Option(
        None, "--option", help="Strategy option KEY=VALUE, repeatable (k=2, lr_decay=0.8, r=8)."
    ),
    resume: bool = c.Resume,
    tta: bool = typer.Option(False, "--tta", help="Images: also score each mirror image and average (TTA)."),
    num_workers: int = typer.Option(
        None, "--num-workers", min=0, help="Fine-tuning data-loading processes (default: up to 4 for images)."
    ),
    strict: bool = c.Strict,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    no_cache: bool = c.NoCache,
    cache_dir: str = c.CacheDir,
    make_report: bool = ReportFlag,
) -> None:
    """Fit a classifier on DATA with a pretrained backbone; report held-out metrics."""
    from headstart.backbones.registry import check_spec
    from headstart.classifier import TransferClassifier
    from headstart.metrics import majority_baseline, render_metrics
    from headstart.strategies import make_strategy

    options = parse_options(option)
    make_strategy(strategy, **(options if strategy != "linear-probe" else {}))  # fail before reading any data
    check_spec(backbone)
    if class_weight not in (None, "balanced"):
        raise HeadstartError(f"--class-weight must be 'balanced', got '{class_weight}'")
    imbalance_options = parse_options(imbalance_option)
    debias_options = parse_options(debias_option)
    if debias is not None:
        from headstart.fairness import make_method as make_debias

        make_debias(debias, **debias_options)  # fail before reading any data
        if group_col is None:
            raise HeadstartError("--debias needs --group-col: the column with each row's group")
    elif debias_options:
        raise HeadstartError("--debias-option needs --debias METHOD")
    if imbalance is not None:
        from headstart.imbalance import make_method

        make_method(imbalance, **imbalance_options)  # fail before reading any data
        if class_weight is not None:
            raise HeadstartError("--class-weight and --imbalance both re-weight the classes: use --imbalance weighted")
    elif imbalance_options:
        raise HeadstartError("--imbalance-option needs --imbalance METHOD")
    cols: dict[str, Any] = dict(
        label_col=label_col,
        text_col=text_col,
        image_col=image_col,
        feature_cols=feature_cols,
        group_col=group_col,
        domain_col=domain_col,
        strict=strict,
    )
    dataset = c.load_data(data, **cols)
    held = c.load_data(eval_path, **cols) if eval_path is not None else None
    train, test, how = choose_splits(dataset, held, test_size, seed)
    if sample is not None:
        train = train.sample(sample, seed)
    train.require_labels()
    check_held_out_classes(train, test)
    check_held_out_groups(train, test)
    counts = train.class_counts()
    console.print(
        f"[bold]data[/bold] {dataset.source}: {len(train)} training rows ({dataset.modality}), "
        f"{len(counts)} classes; {how}"
    )
    if resume and out is None:
        raise HeadstartError("--resume needs --out: the run folder to continue")
    run_dir = out or default_run_dir(data, backbone)
    clf = TransferClassifier(
        backbone=backbone,
        strategy=strategy,
        C=C,
        class_weight=class_weight,
        pretrained=not scratch,
        seed=seed,
        batch_size=batch_size,
        device=device,
        cache=not no_cache,
        cache_dir=cache_dir,
        strategy_options=options,
        epochs=epochs,
        lr=lr,
        train_batch_size=train_batch_size,
        max_length=max_length,
        patience=patience,
        precision=precision,
        val_size=val_size,
        tta=tta,
        num_workers=num_workers,
        imbalance=imbalance,
        imbalance_options=imbalance_options or None,
        debias=debias,
        debias_options=debias_options or None,
    ).fit(train, run_dir=run_dir, resume=resume)
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under `accelerate launch`, the main process evaluates and writes the run
    t = clf.timings_
    if "train_seconds" in t:
        best = f", best epoch {clf.best_epoch_}" if clf.best_epoch_ and clf.best_epoch_ > 0 else ""
        console.print(
            f"[bold]backbone[/bold] {clf.backbone_.spec}; {strategy} fine-tuning, {len(clf.history_)} epochs "
            f"in {t['train_seconds']:.1f} s{best}"
        )
    else:
        state = "from cache" if t["fit_features_cached"] else "computed"
        console.print(
            f"[bold]backbone[/bold] {clf.backbone_.spec} ({clf.backbone_.feature_dim}-d); features {state} "
            f"in {t['fit_features_seconds']:.2f} s; head (linear-probe) in {t['head_seconds']:.2f} s, C={clf.C_:g}"
        )
    if clf.fairness_:
        console.print(f"[bold]debias[/bold] {clf.fairness_['what']}", highlight=False)
    if clf.imbalance_:
        done = clf.imbalance_
        note = f"; {done['note']}" if done["note"] else ""
        console.print(f"[bold]imbalance[/bold] {done['method']}: {done['what']}{note}", highlight=False)
    metrics = clf.evaluate(test)
    metrics["majority_baseline"] = majority_baseline(train.labels, test.labels)
    metrics["evaluated_on"] = how
    summary = {
        "source": str(data),
        "train_rows": len(train),
        "eval_rows": len(test),
        "class_counts": {str(k): v for k, v in counts.items()},
        "sample": sample,
        "seed": seed,
        "evaluated_on": how,
    }
    clf.save(run_dir, metrics=metrics, data=summary)
    console.print(render_metrics(metrics, title="held-out metrics"))
    if test.group is not None:
        audit_held_out(clf, test, run_dir)
    console.print(f"[green]run saved[/green] {run_dir}")
    if make_report:
        write_report(run_dir)
