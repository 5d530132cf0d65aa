"""``headstart distill TEACHER_RUN DATA --student ...``: teacher -> student in one command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, write_report
from headstart.data import Dataset
from headstart.errors import HeadstartError

HEAD_INITS = ("probe", "teacher", "random")

Ensemble = typer.Option(
    None,
    "--ensemble",
    help="Another teacher run, repeatable: the teachers' mean class probabilities become the targets "
    "(same classes and preprocessing as TEACHER_RUN; the student is made from TEACHER_RUN).",
)
Student = typer.Option(
    None,
    "--student",
    help="layers:K (K of the teacher's blocks, from its weights), layers:0,2,4, self (the teacher's "
    "architecture, from its pretrained weights), or a backbone spec (hf:/timm:/... a smaller model).",
)
Method = typer.Option(
    "logits", "--method", "-m", help="Distillation method: {choices:distill} (none: the labels alone)."
)
MethodOption = typer.Option(
    None, "--option", help="Method option KEY=VALUE, repeatable (temperature=4, alpha=0.5, beta=1)."
)
Transfer = typer.Option(
    None, "--transfer", help="Unlabelled inputs (a transfer set): the teacher's predictions are their targets."
)
CacheTeacher = typer.Option(
    False,
    "--cache-teacher",
    help="Run each teacher once over DATA and the transfer set (kept in the feature cache, reused by later "
    "runs) and look its outputs up, instead of running it on every batch. Text, or images the teacher "
    "preprocesses apart from the student.",
)
HeadInit = typer.Option(
    "probe", "--head-init", help="The student's head starts as: probe (LP-FT), teacher (layers:K), random."
)
Out = typer.Option(..., "--out", "-o", help="The student's run folder.")
Eval = typer.Option(None, "--eval", help="Held-out data to report on (default: the val/ split, else a hold-out).")
Strategy = typer.Option("full", "--strategy", "-s", help="How the student fine-tunes: {choices:strategy}.")
Epochs = c.o.EPOCHS.typer(3, help="Training epochs.")
Lr = c.o.LR.typer(5e-5, help="Learning rate of the student's top backbone group.")
NumWorkers = c.o.NUM_WORKERS.typer(help="Data-loading processes.")


def check_distill(method: str, option: list[str] | None, strategy: str, head_init: str) -> dict[str, Any]:
    """The method's options, with the method, strategy and head start checked before any data is read."""
    from headstart.distill import make_method
    from headstart.strategies import make_strategy

    options = c.parse_options(option)
    make_method(method, **options)
    make_strategy(strategy)
    if head_init not in HEAD_INITS:
        raise HeadstartError(f"--head-init must be {', '.join(HEAD_INITS[:-1])} or {HEAD_INITS[-1]}, got '{head_init}'")
    return options


def load_distill_data(
    teacher: Path,
    data: Path,
    eval_path: Path | None,
    transfer: Path | None,
    cols: dict[str, Any],
    split: tuple[float, int, int | None],
) -> tuple[Dataset, Dataset, str, Dataset | None]:
    """DATA's training and held-out rows (in the teacher's text column unless told otherwise; the labels
    in the form of the teacher's task), which rows those are, and the transfer set. ``split``: (test
    size, seed, sample)."""
    from headstart.cli.fit import load_splits
    from headstart.runfolder import read_config

    config = read_config(teacher)
    taught = config.get("columns", {})
    if config["modality"] == "text" and cols["text_col"] is None and "text" in taught:
        cols = {**cols, "text_col": taught["text"]}  # the teacher's column, unless told otherwise
    task = config.get("task") or "classification"  # the student does the teacher's task
    dataset, train, test, how = load_splits(data, eval_path, cols, *split, task=task)
    extra = None
    if transfer is not None:
        extra = c.load_data(
            transfer,
            text_col=cols["text_col"],
            image_col=cols["image_col"],
            strict=cols["strict"],
            require_labels=False,
        )
        extra = extra if extra.split is None or "train" not in extra.splits() else extra.where_split("train")
    console.print(
        f"[bold]data[/bold] {dataset.source}: {len(train)} training rows ({dataset.modality})"
        + (f" + {len(extra)} unlabelled transfer rows" if extra is not None else "")
        + f"; {how}"
    )
    return train, test, how, extra


# The held-out figure student and teacher are compared by, per task.
METRIC = {"classification": "accuracy", "regression": "r2", "multilabel": "micro_f1"}


def teacher_accuracy(teachers: list[Any], test: Dataset) -> float:
    """The teacher's held-out figure (:data:`METRIC` of its task); an ensemble's: the class of highest
    mean probability, the mean prediction (regression) or each label's mean probability at the first
    teacher's thresholds (multi-label)."""
    import numpy as np

    task = teachers[0].task_
    if len(teachers) == 1:
        return teachers[0].evaluate(test, resamples=0)[METRIC[task]]
    if task == "regression":
        from sklearn.metrics import r2_score

        return float(r2_score(test.labels, np.mean([t.predict(test) for t in teachers], axis=0)))
    mean = np.mean([t.predict_proba(test) for t in teachers], axis=0)
    if task == "multilabel":
        from sklearn.metrics import f1_score

        pred = (mean >= np.asarray(teachers[0].targets_["thresholds"])).astype(np.int64)
        return float(f1_score(test.labels, pred, average="micro", zero_division=0))
    codes = teachers[0]._encode(test.labels, test.source)
    return float((mean.argmax(1) == codes).mean())


def save_student(
    clf: Any, teachers: list[Any], data: Path, train: Dataset, test: Dataset, meta: dict[str, Any], out: Path
) -> None:
    """Score the student and the teacher(s) on the held-out rows, write the student's run folder and say so.

    ``meta``: the run's sample, seed, held-out rows (``evaluated_on``) and transfer set, for ``config.json``."""
    from headstart.io import write_json
    from headstart.metrics import render_metrics

    info = clf.distilled_
    console.print(
        f"[bold]student[/bold] {info['student_description']}; {info['loss']}; "
        f"{info['student_parameters'] / 1e6:.1f} M parameters (teacher {info['teacher_parameters'] / 1e6:.1f} M); "
        f"{len(clf.history_)} epochs in {info['train_seconds']:.1f} s, best epoch {clf.best_epoch_}",
        highlight=False,
    )
    metrics = clf.evaluate(test)
    metrics["evaluated_on"] = meta["evaluated_on"]
    metric = METRIC[clf.task_]
    teacher = teacher_accuracy(teachers, test)
    info.update(metric=metric, teacher_score=teacher, student_score=metrics[metric])
    if metric == "accuracy":
        info["teacher_accuracy"], info["student_accuracy"] = teacher, metrics["accuracy"]
    info["retained"] = metrics[metric] / teacher if teacher > 0 else None
    summary = {
        "source": str(data),
        "train_rows": len(train),
        "eval_rows": len(test),
        "class_counts": {str(k): v for k, v in train.class_counts().items()},
        **meta,
    }
    clf.save(out, metrics=metrics, data=summary)
    write_json(Path(out) / "distill.json", info)
    console.print(render_metrics(metrics, title="student, held-out metrics"))
    retained = f" ({info['retained']:.1%} of the teacher's)" if info["retained"] is not None else ""
    name = metric.replace("_", "-") if metric != "r2" else "R^2"
    console.print(f"[bold]{name}[/bold] student {metrics[metric]:.4f}, teacher {teacher:.4f}{retained}")
    console.print(f"[green]run saved[/green] {out}")


@command()
def distill(
    teacher: Path = typer.Argument(..., help="The teacher: a run folder written by `headstart fit`."),
    data: Path = typer.Argument(..., help="Labelled training data with the teacher's input column(s)."),
    ensemble: list[Path] = Ensemble,
    student: str = Student,
    method: str = Method,
    option: list[str] = MethodOption,
    transfer: Path = Transfer,
    cache_teacher: bool = CacheTeacher,
    head_init: str = HeadInit,
    out: Path = Out,
    eval_path: Path = Eval,
    test_size: float = c.TestSize,
    sample: int = c.Sample,
    seed: int = c.Seed,
    strategy: str = Strategy,
    epochs: int = Epochs,
    lr: float = Lr,
    train_batch_size: int = c.TrainBatchSize,
    max_length: int = c.MaxLength,
    patience: int = c.Patience,
    val_size: float = c.ValSize,
    precision: str = c.Precision,
    resume: bool = c.Resume,
    num_workers: int = NumWorkers,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    strict: bool = c.Strict,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    no_cache: bool = c.NoCache,
    cache_dir: str = c.CacheDir,
    make_report: bool = ReportFlag,
) -> None:
    """Distil the TEACHER run (with --ensemble: several teacher runs) into a student trained on DATA; the student
    is a normal run folder."""
    params = dict(locals())  # the options named as distill()'s parameters go to it as they are
    from headstart.classifier import load_run
    from headstart.distill import distill as run_distill

    options = check_distill(method, option, strategy, head_init)
    c.check_out(out)
    cols = c.columns(label_col, text_col, image_col, strict=strict)
    train, test, how, extra = load_distill_data(teacher, data, eval_path, transfer, cols, (test_size, seed, sample))
    runs = [teacher, *(ensemble or [])]
    teachers = [load_run(t) for t in runs]
    for t in teachers:
        t.set_params(batch_size=batch_size, device=device, cache=not no_cache, cache_dir=cache_dir)
    with c.resumable(out):  # Ctrl-C: say how to continue
        clf = run_distill(
            teachers if len(teachers) > 1 else teachers[0],
            train,
            **c.api_options(params, run_distill, skip=("teacher", "data", "transfer")),
            method_options=options,
            transfer=extra,
            run_dir=out,
            cache=not no_cache,
            teacher_name=", ".join(map(str, runs)),
        )
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under `accelerate launch`, the main process evaluates and writes the run
    meta = {
        "sample": sample,
        "seed": seed,
        "evaluated_on": how,
        "transfer": str(transfer) if transfer is not None else None,
    }
    save_student(clf, teachers, data, train, test, meta, out)
    if make_report:
        write_report(Path(out))
