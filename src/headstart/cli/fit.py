"""``headstart fit DATA``: train a transferred classifier and write a run folder."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.common import parse_options
from headstart.cli.report import ReportFlag, write_report
from headstart.data import Dataset
from headstart.data.holdout import choose_splits, has_split_layout
from headstart.errors import HeadstartError


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


def describe_target(data: Dataset) -> str:
    """The labels in words: "2 classes", "regression target 'y'", "multilabel: 6 labels"."""
    if data.task == "regression":
        return f"regression target '{data.classes[0]}'"
    if data.task == "multilabel":
        return f"multilabel, {len(data.classes)} labels"
    return f"{len(data.class_counts())} classes"


def with_pool(backbone: str, pool: str | None) -> str:
    """``--pool P`` as the backbone option ``?pool=P`` (a sequence backbone's pooling over time)."""
    if pool is None:
        return backbone
    from headstart.pooling import check_pool

    check_pool(pool)
    return f"{backbone}{'&' if '?' in backbone else '?'}pool={pool}"


def default_run_dir(data_path: Path, backbone: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{data_path.stem}-{backbone}").strip("-")
    return Path("runs") / f"{name}-{stamp}"


def check_fit(
    strategy: str,
    option: list[str] | None,
    backbone: str,
    class_weight: str | None,
    imbalance: str | None,
    imbalance_option: list[str] | None,
    debias: str | None,
    debias_option: list[str] | None,
    group_col: str | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The strategy's, imbalance method's and debiasing method's options, each checked before any data is read."""
    from headstart.backbones.registry import check_spec
    from headstart.strategies import make_strategy

    options = parse_options(option)
    make_strategy(strategy, **(options if strategy != "linear-probe" else {}))
    check_spec(backbone)
    if class_weight not in (None, "balanced"):
        raise HeadstartError(f"--class-weight must be 'balanced', got '{class_weight}'")
    imbalance_options = parse_options(imbalance_option, "--imbalance-option")
    debias_options = parse_options(debias_option, "--debias-option")
    if debias is not None:
        from headstart.fairness import make_method as make_debias

        make_debias(debias, **debias_options)
        if group_col is None:
            raise HeadstartError("--debias needs --group-col: the column with each row's group")
    elif debias_options:
        raise HeadstartError("--debias-option needs --debias METHOD")
    if imbalance is not None:
        from headstart.imbalance import make_method

        make_method(imbalance, **imbalance_options)
        if class_weight is not None:
            raise HeadstartError("--class-weight and --imbalance both re-weight the classes: use --imbalance weighted")
    elif imbalance_options:
        raise HeadstartError("--imbalance-option needs --imbalance METHOD")
    return options, imbalance_options, debias_options


def load_splits(
    data: Path,
    eval_path: Path | None,
    cols: dict[str, Any],
    test_size: float,
    seed: int,
    sample: int | None,
    split: str = "random",
    task: str | None = "auto",
) -> tuple[Dataset, Dataset, Dataset, str]:
    """DATA, its training rows (``--sample``d) and held-out rows, and which rows those are; the labels
    in the form of ``task`` (``auto``: detected, :mod:`headstart.data.targets`)."""
    from headstart.data.targets import as_task

    dataset = as_task(c.load_data(data, **cols), task)
    held = c.load_data(eval_path, **cols) if eval_path is not None else None
    if held is not None:  # the held-out rows' labels in the training data's form (its label names)
        held = as_task(held, dataset.task, dataset.label_names if dataset.task == "multilabel" else None)
    hold_out = held is None and not has_split_layout(dataset)
    classes = dataset.task == "classification"
    if hold_out:  # the rows to split: each class needs a row on both sides
        dataset.require_labels()
        if classes:
            c.check_rows_per_class(dataset, dataset.source)
    train, test, how = choose_splits(dataset, held, test_size, seed, split)
    train.require_labels()
    if sample is not None:
        c.check_sample(sample, train)
        train = train.sample(sample, seed)
        train.require_labels()
    if classes:
        check_held_out_classes(train, test)
    return dataset, train, test, how


def _chosen(clf: Any) -> str:
    """What the attentive probe chose on its held-out rows."""
    chosen = clf.extras_.get("attentive_probe", {})
    return f"{chosen.get('queries')} queries, best epoch {clf.best_epoch_}, token features {chosen.get('tokens')}"


def _chose_targets(clf: Any) -> str:
    """What a regression or multi-label probe chose."""
    t = clf.targets_
    if clf.task_ == "regression":
        return f"ridge alpha={t['alpha']:g} (leave-one-out CV), target mean {t['mean']:.4g}, SD {t['std']:.4g}"
    return f"per-label C chosen by CV; thresholds {t['thresholds_from']}"


def print_training(clf: Any, strategy: str) -> None:
    """What fitting did: the backbone and its training, and the debiasing / imbalance method."""
    t = clf.timings_
    if clf.task_ != "classification" and "train_seconds" not in t:
        console.print(
            f"[bold]backbone[/bold] {clf.backbone_.spec} ({clf.backbone_.feature_dim}-d); {clf.task_} head "
            f"({strategy}) in {t['head_seconds']:.2f} s; {_chose_targets(clf)}",
            highlight=False,
        )
        return
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
            f"in {t['fit_features_seconds']:.2f} s; head ({strategy}) in {t['head_seconds']:.2f} s"
            + (f", C={clf.C_:g}" if clf.C_ is not None else f", {_chosen(clf)}")
        )
        if clf.extras_.get("attentive_probe", {}).get("kept_probe"):
            from headstart.strategies.attentive_probe import KEPT_PROBE

            console.print(f"[bold]attentive probe[/bold] {KEPT_PROBE}", highlight=False)
    if clf.fairness_:
        console.print(f"[bold]debias[/bold] {clf.fairness_['what']}", highlight=False)
    if clf.imbalance_:
        done = clf.imbalance_
        note = f"; {done['note']}" if done["note"] else ""
        console.print(f"[bold]imbalance[/bold] {done['method']}: {done['what']}{note}", highlight=False)


def save_fit(
    clf: Any, data: Path, train: Dataset, test: Dataset, how: str, sample: int | None, seed: int, run_dir: Path
) -> None:
    """Score the held-out rows (and audit them by group), write the run folder and say so."""
    from headstart.fitting import save_scored
    from headstart.metrics import render_metrics

    metrics = save_scored(clf, str(data), train, test, how, sample, seed, run_dir)
    console.print(render_metrics(metrics, title="held-out metrics"))
    if test.group is not None and clf.task_ == "classification":
        audit_held_out(clf, test, run_dir)
    console.print(f"[green]run saved[/green] {run_dir}")


Backbone = typer.Option(
    "auto",
    "--backbone",
    "-b",
    help="auto, an embedded name ({choices:embedded}), or SOURCE:NAME (SOURCE: {choices:source}).",
)
Strategy = typer.Option(
    "auto", "--strategy", "-s", help="How to transfer: {choices:strategy} (see `headstart models`)."
)
Out = typer.Option(None, "--out", "-o", help="Run folder (default runs/<data>-<backbone>-<time>).")
Eval = typer.Option(None, "--eval", help="Held-out data to report on (default: the val/ split, else a hold-out).")
COption = typer.Option(None, "--C", help="Head regularisation (default: chosen by cross-validation on training rows).")
ClassWeight = typer.Option(None, "--class-weight", help="'balanced' to weight classes inversely to frequency.")
Debias = typer.Option(
    None,
    "--debias",
    help="Train against a group gap (needs --group-col and a fine-tuning strategy): {choices:debias}.",
)
DebiasOption = typer.Option(
    None, "--debias-option", help="Debiasing option KEY=VALUE, repeatable (coeff=1, weight=2, target=...)."
)
Split = typer.Option(
    "random", "--split", help="Hold-out: random (stratified) or time (the earliest rows train, the latest test)."
)
Pool = typer.Option(
    None, "--pool", help="Sequence backbones: pool over time by mean, max, last, attention, meanmax or segments."
)
Scratch = typer.Option(False, "--scratch", help="Random weights instead of pretrained (the from-scratch baseline).")
StrategyOption = typer.Option(None, "--option", help="Strategy option KEY=VALUE, repeatable (k=2, lr_decay=0.8, r=8).")


@command()
def fit(
    data: Path = typer.Argument(..., help="Image folder, or a CSV/TSV/Parquet/JSONL table."),
    backbone: str = Backbone,
    strategy: str = Strategy,
    out: Path = Out,
    eval_path: Path = Eval,
    test_size: float = c.TestSize,
    split: str = Split,
    sample: int = c.Sample,
    seed: int = c.Seed,
    pool: str = Pool,
    C: float = COption,
    class_weight: str = ClassWeight,
    imbalance: str = c.Imbalance,
    imbalance_option: list[str] = c.ImbalanceOption,
    debias: str = Debias,
    debias_option: list[str] = DebiasOption,
    scratch: bool = Scratch,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    group_col: str = c.GroupCol,
    domain_col: str = c.DomainCol,
    epochs: int = c.Epochs,
    lr: float = c.Lr,
    train_batch_size: int = c.RecipeBatchSize,
    max_length: int = c.RecipeMaxLength,
    patience: int = c.Patience,
    val_size: float = c.ValSize,
    precision: str = c.Precision,
    option: list[str] = StrategyOption,
    task: str = c.Task,
    task_option: list[str] = c.TaskOption,
    resume: bool = c.Resume,
    tta: bool = c.Tta,
    batch_norm: str = c.BatchNorm,
    num_workers: int = c.NumWorkers,
    strict: bool = c.Strict,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    no_cache: bool = c.NoCache,
    cache_dir: str = c.CacheDir,
    make_report: bool = ReportFlag,
) -> None:
    """Fit a classifier (or a regressor, or a multi-label model: --task) on DATA with a pretrained backbone;
    report held-out metrics."""
    from headstart.classifier import TransferClassifier

    backbone = with_pool(backbone, pool)
    params = dict(locals())  # the options named as TransferClassifier's parameters go to it as they are

    options, imbalance_options, debias_options = check_fit(
        strategy, option, backbone, class_weight, imbalance, imbalance_option, debias, debias_option, group_col
    )
    if resume and out is None:
        raise HeadstartError("--resume needs --out: the run folder to continue")
    run_dir = out or default_run_dir(data, backbone)
    c.check_out(run_dir)
    cols = c.columns(label_col, text_col, image_col, feature_cols, group_col, domain_col, strict)
    task_options = parse_options(task_option, "--task-option")
    dataset, train, test, how = load_splits(data, eval_path, cols, test_size, seed, sample, split, task)
    check_held_out_groups(train, test)
    console.print(
        f"[bold]data[/bold] {dataset.source}: {len(train)} training rows ({dataset.modality}), "
        f"{describe_target(train)}; {how}",
        highlight=False,
    )
    clf = TransferClassifier(
        **c.api_options(params, TransferClassifier, skip=("task",)),
        pretrained=not scratch,
        cache=not no_cache,
        strategy_options=options,
        imbalance_options=imbalance_options or None,
        debias_options=debias_options or None,
        task=train.task,
        task_options=task_options or None,
    )
    with c.resumable(run_dir):  # Ctrl-C: say how to continue
        clf.fit(train, run_dir=run_dir, resume=resume)
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under `accelerate launch`, the main process evaluates and writes the run
    print_training(clf, strategy)
    save_fit(clf, data, train, test, how, sample, seed, run_dir)
    if make_report:
        write_report(run_dir)
