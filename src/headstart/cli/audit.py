"""``headstart audit RUN DATA --group COL``: per-group metrics and gaps with bootstrap CIs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.errors import HeadstartError


def load_audit_data(
    run: Path,
    data: Path,
    groups: list[str],
    pair_on: list[str] | None,
    label_col: str | None,
    text_col: str | None,
    image_col: str | None,
    feature_cols: str | None,
    strict: bool,
) -> tuple[Any, dict[str, Any], Any]:
    """DATA read with the run's input columns (or the ones given), its group columns
    (one per ``--group``) and, with ``--pair-on``, each row's sentence-set key."""
    from headstart.data import from_dataframe, read_table
    from headstart.fairness import groups_from_table, set_keys
    from headstart.runfolder import read_config

    config = read_config(run)
    cols = config.get("columns", {})
    if data.is_dir():
        raise HeadstartError(
            f"{data} is a folder: group columns come from a table (CSV/TSV/Parquet/JSONL with an image-path column)"
        )
    df = read_table(data)
    present = [str(col) for col in df.columns]
    given = [x for x in (text_col, image_col, feature_cols) if x is not None]
    inputs: dict[str, Any] = (
        {"text_col": text_col, "image_col": image_col, "feature_cols": c.split_list(feature_cols)}
        if given
        else {"text_col": cols.get("text"), "image_col": cols.get("image"), "feature_cols": cols.get("features")}
    )
    needed = [v for k, v in inputs.items() if k != "feature_cols" and v is not None] + list(
        inputs["feature_cols"] or []
    )
    for col in needed:
        if col not in present:
            hint = " (pass --text-col / --image-col / --feature-cols to name the input column)" if not given else ""
            raise HeadstartError(f"{data} lacks input column '{col}'{hint} (columns: {', '.join(present)})")
    group_values = groups_from_table(df, groups, str(data))  # a missing group column: one clear line, early
    label = label_col or (cols.get("label") if cols.get("label") in present else None)
    dataset = from_dataframe(
        df,
        label_col=label,
        require_labels=False,
        strict=strict,
        source=str(data),
        base_dir=data.parent,
        **inputs,
    )
    if label is None and dataset.labels is not None and dataset.columns.get("label") in groups:
        dataset.labels = None  # a guessed label column that is a group column
    if dataset.modality != config["modality"]:
        raise HeadstartError(
            f"run {run} takes {config['modality']} inputs, but {data} holds {dataset.modality} data; "
            f"give it data like the run's training data"
        )
    kept = dataset.ids.astype(int) - 1  # rows with empty text are skipped: keep the group columns in step
    group_values = {col: values[kept] for col, values in group_values.items()}
    keys = set_keys(df, pair_on, str(data))[kept] if pair_on else None
    return dataset, group_values, keys


@command()
def audit(
    run: Path = typer.Argument(..., help="A run folder written by `headstart fit` (linear probe or fine-tuned)."),
    data: Path = typer.Argument(..., help="A table with the run's input column and the group column(s)."),
    group: list[str] = typer.Option(..., "--group", "-g", help="Group column, repeatable (also audits intersections)."),
    before: Path = typer.Option(
        None, "--before", help="A second run (e.g. the pretrained backbone's linear probe) audited side by side."
    ),
    pair_on: list[str] = typer.Option(
        None,
        "--pair-on",
        help="Counterfactual audit of template text: columns whose equal values make a sentence set "
        "(EEC: --pair-on Template --pair-on 'Emotion word'); repeatable.",
    ),
    positive: str = typer.Option(
        None, "--positive", help="The positive class of a two-class model (default: the second)."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="JSON to write (default RUN/audit.json)."),
    resamples: int = typer.Option(1000, "--resamples", min=100, help="Bootstrap resamples for the CIs."),
    min_rows: int = typer.Option(30, "--min-rows", min=1, help="Groups with fewer rows are flagged unreliable."),
    seed: int = c.o.SEED.typer(help="Bootstrap seed."),
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
    feature_cols: str = c.FeatureCols,
    strict: bool = c.Strict,
    batch_size: int = c.BatchSize,
    device: str = c.Device,
) -> None:
    """Audit RUN on DATA by group: accuracy, selection rate, TPR/FPR per group; demographic-parity and
    equalized-odds gaps, worst-group accuracy, each with a bootstrap 95% CI (a gap whose CI includes 0 is
    within the noise). Writes RUN/audit.json (shown by `headstart report`)."""
    from rich.markup import escape

    from headstart.classifier import load_run
    from headstart.fairness.render import render_audit
    from headstart.fairness.run import AUDIT_FILE, audit_model
    from headstart.io import write_json

    if len(set(group)) != len(group):
        raise HeadstartError("each --group column once, please")
    c.classification_run(run, "audit")  # not a run folder, or not classification: one line before any work
    c.check_out(out or run / AUDIT_FILE, "file")
    if before is not None:
        c.classification_run(before, "audit")
    dataset, groups, keys = load_audit_data(
        run, data, group, pair_on, label_col, text_col, image_col, feature_cols, strict
    )
    clf = load_run(run).set_params(batch_size=batch_size, device=device)
    base = load_run(before).set_params(batch_size=batch_size, device=device) if before is not None else None
    result = audit_model(
        clf,
        dataset,
        groups,
        before=base,
        pair_keys=keys,
        positive=positive,
        run=run,
        before_run=before,
        resamples=resamples,
        seed=seed,
        min_rows=min_rows,
    )
    target = out or run / AUDIT_FILE
    write_json(target, result)
    console.print(render_audit(result))
    console.print(f"[green]wrote[/green] {escape(str(target))}", highlight=False)
