"""``headstart predict RUN DATA`` and ``headstart evaluate RUN DATA``."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.errors import HeadstartError


def load_for_run(run: Path, data: Path, require_labels: bool, strict: bool, label_col: str | None) -> tuple[Any, Any]:
    """The run's classifier, and DATA read with the columns the run was trained on."""
    from headstart.classifier import load_run
    from headstart.data import from_dataframe, load, read_table
    from headstart.runfolder import read_config

    config = read_config(run)
    cols = config.get("columns", {})
    if data.is_dir() or config["modality"] in ("timeseries", "audio") or data.suffix.lower() == ".ts":
        # Folders, .ts files, long tables and tables of WAV paths: the loader finds the layout.
        label = (label_col or cols.get("label")) if require_labels else None
        dataset = load(data, strict=strict) if data.is_dir() else load(data, strict=strict, label_col=label)
    else:
        df = read_table(data)
        present = [str(col) for col in df.columns]
        needed = [cols[k] for k in ("text", "image") if k in cols] + list(cols.get("features", []))
        missing = [col for col in needed if col not in present]
        if missing:
            raise HeadstartError(
                f"{data} lacks column '{missing[0]}' that run {run} was trained on (columns: {', '.join(present)})"
            )
        dataset = from_dataframe(
            df,
            text_col=cols.get("text"),
            image_col=cols.get("image"),
            feature_cols=cols.get("features"),
            label_col=(label_col or cols.get("label")) if require_labels else None,
            require_labels=require_labels,
            strict=strict,
            source=str(data),
            base_dir=data.parent,
        )
    if dataset.modality != config["modality"]:
        raise HeadstartError(
            f"run {run} takes {config['modality']} inputs, but {data} holds {dataset.modality} data; "
            f"give it data like the run's training data"
        )
    return load_run(run), dataset


ATTENTION = "attention.json"


def check_explainable(clf: Any, run: Path) -> None:
    """``--explain`` needs attention weights: a run fitted with ``--strategy attentive-probe``."""
    from headstart.backbones.attentive import AttentiveBackbone

    if not isinstance(clf.backbone_, AttentiveBackbone):
        raise HeadstartError(
            f"run {run} has no attention weights to explain (backbone {clf.backbone_.spec}): "
            f"fit it with --strategy attentive-probe, or leave out --explain"
        )


def write_attention(clf: Any, dataset: Any, table: Any, path: Path, rows: int, batch_size: int) -> None:
    """The first ``rows`` predictions with the attention weights behind them, to ``path`` (JSON)."""
    from headstart.backbones.attentive import attention_maps
    from headstart.io import write_json

    n = min(rows, len(dataset))
    maps = attention_maps(clf.backbone_.cpu(), list(dataset.inputs[:n]), batch_size)
    records = [
        {"id": str(table["id"].iloc[i]), "prediction": str(table["prediction"].iloc[i]), **m}
        for i, m in enumerate(maps)
    ]
    write_json(path, {"kind": "attention", "modality": dataset.modality, "rows": records})
    console.print(f"[green]wrote[/green] {path}: attention weights of {n} predictions")


@command()
def predict(
    run: Path = typer.Argument(..., help="A run folder written by `headstart fit`."),
    data: Path = typer.Argument(..., help="Data with the same input column(s) as the run's training data."),
    out: Path = typer.Option(Path("predictions.csv"), "--out", "-o", help="CSV to write."),
    strict: bool = c.Strict,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Also save the attention weights of an attentive-probe run (RUN/attention.json; the report "
        "shows them: tokens highlighted for text, a heat map over the image).",
    ),
    explain_rows: int = typer.Option(20, "--explain-rows", help="How many rows (the first) --explain saves."),
) -> None:
    """Predict labels and class probabilities for DATA; write a CSV."""
    import pandas as pd

    from headstart.io import atomic_write_text

    c.check_out(out, "file")
    if explain:
        from headstart.runfolder import read_config

        read_config(run)  # not a run folder: that line first
        c.check_out(run / ATTENTION, "file", "--explain")
        if explain_rows < 1:
            raise HeadstartError(f"--explain-rows must be at least 1, got {explain_rows}")
    clf, dataset = load_for_run(run, data, require_labels=False, strict=strict, label_col=None)
    clf.set_params(batch_size=batch_size, device=device)
    if explain:
        check_explainable(clf, run)
    table = pd.DataFrame({"id": dataset.ids})
    if dataset.modality not in ("tabular", "timeseries", "audio"):  # sequences: the ids name them
        table["input"] = [str(x) for x in dataset.inputs]
    summary = prediction_columns(clf, dataset, table)
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    atomic_write_text(out, buf.getvalue())
    if explain:
        write_attention(clf, dataset, table, run / ATTENTION, explain_rows, batch_size)
    console.print(f"[green]wrote[/green] {out}: {len(table)} predictions ({summary})", highlight=False)


def prediction_columns(clf: Any, dataset: Any, table: Any) -> str:
    """Add the predictions to ``table``: the class and ``p_<class>`` columns; regression: the number;
    multi-label: the labels predicted (joined by ``|``) and each label's ``p_<label>``. Returns a summary."""
    if clf.task_ == "regression":
        values = clf.predict(dataset)
        table["prediction"] = np.round(values, 6)
        return f"mean {values.mean():.4g}, range {values.min():.4g} .. {values.max():.4g}"
    proba = clf.predict_proba(dataset)
    if clf.task_ == "multilabel":
        on = proba >= np.asarray(clf.targets_["thresholds"])
        table["prediction"] = ["|".join(str(n) for n, v in zip(clf.classes_, row, strict=True) if v) for row in on]
        shown = ", ".join(f"{n}: {int(k)}" for n, k in zip(clf.classes_, on.sum(0), strict=True))
    else:
        table["prediction"] = clf.classes_[proba.argmax(1)]
        shown = ", ".join(f"{k}: {v}" for k, v in table["prediction"].value_counts().to_dict().items())
    for k, name in enumerate(clf.classes_):
        table[f"p_{name}"] = np.round(proba[:, k], 6)
    return shown


@command()
def evaluate(
    run: Path = typer.Argument(..., help="A run folder written by `headstart fit`."),
    data: Path = typer.Argument(..., help="Labelled data with the run's input column(s)."),
    out: Path = typer.Option(None, "--out", "-o", help="JSON to write (default RUN/eval-<data>.json)."),
    label_col: str = c.LabelCol,
    strict: bool = c.Strict,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
) -> None:
    """Evaluate a run on labelled DATA: accuracy, balanced accuracy, macro-F1, per class (regression:
    MAE, RMSE, R^2, Spearman; multi-label: micro/macro-F1, subset accuracy, mAP, per label)."""
    from headstart.io import write_json
    from headstart.metrics import render_metrics
    from headstart.runfolder import read_config

    read_config(run)  # not a run folder: one clear line before any work
    target = out or run / f"eval-{data.stem}.json"
    c.check_out(target, "file")
    clf, dataset = load_for_run(run, data, require_labels=True, strict=strict, label_col=label_col)
    clf.set_params(batch_size=batch_size, device=device)
    metrics = clf.evaluate(dataset)
    metrics["data"] = str(data)
    write_json(target, metrics)
    console.print(render_metrics(metrics, title=f"{run.name} on {data}"))
    console.print(f"[green]wrote[/green] {target}")
