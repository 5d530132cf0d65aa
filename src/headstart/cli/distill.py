"""``headstart distill TEACHER_RUN DATA --student ...``: teacher -> student in one command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import app, console
from headstart.cli.report import ReportFlag, write_report
from headstart.errors import HeadstartError


@app.command()
def distill(
    teacher: Path = typer.Argument(..., help="The teacher: a run folder written by `headstart fit`."),
    data: Path = typer.Argument(..., help="Labelled training data with the teacher's input column(s)."),
    ensemble: list[Path] = typer.Option(
        None,
        "--ensemble",
        help="Another teacher run, repeatable: the teachers' mean class probabilities become the targets "
        "(same classes and preprocessing as TEACHER_RUN; the student is made from TEACHER_RUN).",
    ),
    student: str = typer.Option(
        None,
        "--student",
        help="layers:K (K of the teacher's blocks, from its weights), layers:0,2,4, self (the teacher's "
        "architecture, from its pretrained weights), or a backbone spec (hf:/timm:/... a smaller model).",
    ),
    method: str = typer.Option(
        "logits", "--method", "-m", help="logits (Hinton KD), features (FitNets), self (born-again), none (labels)."
    ),
    option: list[str] = typer.Option(
        None, "--option", help="Method option KEY=VALUE, repeatable (temperature=4, alpha=0.5, beta=1)."
    ),
    transfer: Path = typer.Option(
        None, "--transfer", help="Unlabelled inputs (a transfer set): the teacher's predictions are their targets."
    ),
    cache_teacher: bool = typer.Option(
        False,
        "--cache-teacher",
        help="Run each teacher once over DATA and the transfer set (kept in the feature cache, reused by later "
        "runs) and look its outputs up, instead of running it on every batch. Text, or images the teacher "
        "preprocesses apart from the student.",
    ),
    head_init: str = typer.Option(
        "probe", "--head-init", help="The student's head starts as: probe (LP-FT), teacher (layers:K), random."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The student's run folder."),
    eval_path: Path = typer.Option(
        None, "--eval", help="Held-out data to report on (default: the val/ split, else a hold-out)."
    ),
    test_size: float = c.TestSize,
    sample: int = c.Sample,
    seed: int = c.Seed,
    strategy: str = typer.Option("full", "--strategy", "-s", help="How the student fine-tunes (full, lora, ...)."),
    epochs: int = typer.Option(3, "--epochs", min=1, help="Training epochs."),
    lr: float = typer.Option(5e-5, "--lr", help="Learning rate of the student's top backbone group."),
    train_batch_size: int = c.TrainBatchSize,
    max_length: int = c.MaxLength,
    patience: int = c.Patience,
    val_size: float = c.ValSize,
    precision: str = c.Precision,
    resume: bool = c.Resume,
    num_workers: int = typer.Option(None, "--num-workers", min=0, help="Data-loading processes."),
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
    import numpy as np

    from headstart.classifier import load_run
    from headstart.cli.fit import check_held_out_classes, choose_splits, parse_options
    from headstart.distill import distill as run_distill
    from headstart.distill import make_method
    from headstart.io import write_json
    from headstart.metrics import render_metrics
    from headstart.runfolder import read_config
    from headstart.strategies import make_strategy

    options = parse_options(option)
    make_method(method, **options)  # fail before reading any data
    make_strategy(strategy)
    if head_init not in ("probe", "teacher", "random"):
        raise HeadstartError(f"--head-init must be probe, teacher or random, got '{head_init}'")
    config = read_config(teacher)
    cols: dict[str, Any] = dict(label_col=label_col, text_col=text_col, image_col=image_col, strict=strict)
    taught = config.get("columns", {})
    if config["modality"] == "text" and text_col is None and "text" in taught:
        cols["text_col"] = taught["text"]  # the teacher's column, unless told otherwise
    dataset = c.load_data(data, **cols)
    held = c.load_data(eval_path, **cols) if eval_path is not None else None
    train, test, how = choose_splits(dataset, held, test_size, seed)
    if sample is not None:
        train = train.sample(sample, seed)
    train.require_labels()
    check_held_out_classes(train, test)
    extra = None
    if transfer is not None:
        extra = c.load_data(
            transfer, text_col=cols["text_col"], image_col=image_col, strict=strict, require_labels=False
        )
        extra = extra if extra.split is None or "train" not in extra.splits() else extra.where_split("train")
    console.print(
        f"[bold]data[/bold] {dataset.source}: {len(train)} training rows ({dataset.modality})"
        + (f" + {len(extra)} unlabelled transfer rows" if extra is not None else "")
        + f"; {how}"
    )
    teachers = [load_run(t) for t in [teacher, *(ensemble or [])]]
    for t in teachers:
        t.set_params(batch_size=batch_size, device=device, cache=not no_cache, cache_dir=cache_dir)
    teacher_clf = teachers[0]
    clf = run_distill(
        teachers if len(teachers) > 1 else teacher_clf,
        train,
        student=student,
        method=method,
        method_options=options,
        transfer=extra,
        strategy=strategy,
        epochs=epochs,
        lr=lr,
        train_batch_size=train_batch_size,
        max_length=max_length,
        val_size=val_size,
        patience=patience,
        precision=precision,
        seed=seed,
        num_workers=num_workers,
        run_dir=out,
        resume=resume,
        batch_size=batch_size,
        device=device,
        cache=not no_cache,
        cache_dir=cache_dir,
        teacher_name=", ".join(map(str, [teacher, *(ensemble or [])])),
        head_init=head_init,
        cache_teacher=cache_teacher,
    )
    if int(os.environ.get("RANK", "0")) != 0:
        return  # under `accelerate launch`, the main process evaluates and writes the run
    info = clf.distilled_
    console.print(
        f"[bold]student[/bold] {info['student_description']}; {info['loss']}; "
        f"{info['student_parameters'] / 1e6:.1f} M parameters (teacher {info['teacher_parameters'] / 1e6:.1f} M); "
        f"{len(clf.history_)} epochs in {info['train_seconds']:.1f} s, best epoch {clf.best_epoch_}",
        highlight=False,
    )
    metrics = clf.evaluate(test)
    metrics["evaluated_on"] = how
    if len(teachers) == 1:
        teacher_metrics = teacher_clf.evaluate(test)
    else:  # the ensemble's prediction: the class of highest mean probability
        mean = np.mean([t.predict_proba(test) for t in teachers], axis=0)
        codes = teacher_clf._encode(test.labels, test.source)
        teacher_metrics = {"accuracy": float((mean.argmax(1) == codes).mean())}
    info["teacher_accuracy"] = teacher_metrics["accuracy"]
    info["student_accuracy"] = metrics["accuracy"]
    info["retained"] = metrics["accuracy"] / teacher_metrics["accuracy"] if teacher_metrics["accuracy"] else None
    summary = {
        "source": str(data),
        "train_rows": len(train),
        "eval_rows": len(test),
        "class_counts": {str(k): v for k, v in train.class_counts().items()},
        "sample": sample,
        "seed": seed,
        "evaluated_on": how,
        "transfer": str(transfer) if transfer is not None else None,
    }
    clf.save(out, metrics=metrics, data=summary)
    write_json(Path(out) / "distill.json", info)
    console.print(render_metrics(metrics, title="student, held-out metrics"))
    retained = f" ({info['retained']:.1%} of the teacher's)" if info["retained"] is not None else ""
    console.print(
        f"[bold]accuracy[/bold] student {metrics['accuracy']:.4f}, teacher {teacher_metrics['accuracy']:.4f}{retained}"
    )
    console.print(f"[green]run saved[/green] {out}")
    if make_report:
        write_report(Path(out))
