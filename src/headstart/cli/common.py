"""Options and data loading shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.data import Dataset, load

# Typer options reused by every command that reads data.
LabelCol = typer.Option(None, "--label-col", help="Label column (default: label/target/class/...).")
TextCol = typer.Option(None, "--text-col", help="Text input column.")
ImageCol = typer.Option(None, "--image-col", help="Image path column (relative to the table's folder).")
FeatureCols = typer.Option(None, "--feature-cols", help="Comma-separated numeric feature columns.")
GroupCol = typer.Option(None, "--group-col", help="Group column (for per-group metrics).")
DomainCol = typer.Option(None, "--domain-col", help="Domain column.")
Strict = typer.Option(False, "--strict", help="Fail on empty texts instead of skipping them.")
BatchSize = typer.Option(64, "--batch-size", min=1, help="Feature-extraction batch size.")
Device = typer.Option(None, "--device", help="cpu, cuda, cuda:1 ... (default: cuda when available).")
NoCache = typer.Option(False, "--no-cache", help="Do not read or write the feature cache.")
CacheDir = typer.Option(
    None, "--cache-dir", help="Feature cache folder (default $HEADSTART_CACHE or ~/.cache/headstart)."
)
# Training options shared by the commands that fine-tune (fit, distill).
TestSize = typer.Option(
    0.2, "--test-size", min=0.01, max=0.9, help="Hold-out fraction when there is no --eval or val split."
)
Sample = typer.Option(None, "--sample", min=2, help="Train on a stratified sample of N training rows.")
Seed = typer.Option(0, "--seed", help="Seed for splits, sampling and initialisation.")
TrainBatchSize = typer.Option(32, "--train-batch-size", min=1, help="Training batch size.")
MaxLength = typer.Option(None, "--max-length", min=1, help="Token limit for text (default: the backbone's).")
Patience = typer.Option(0, "--patience", min=0, help="Early stopping: epochs without a better val score.")
ValSize = typer.Option(0.1, "--val-size", min=0.0, max=0.5, help="Training rows held out to pick the best epoch.")
Precision = typer.Option("auto", "--precision", help="auto (bf16 on a capable GPU), no, bf16, fp16.")
Resume = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint.")
Imbalance = typer.Option(
    None,
    "--imbalance",
    help="Imbalanced classes: auto, weighted, effective, focal, la-loss, balanced-sampling, sqrt-sampling, "
    "oversample, undersample, smote, borderline-smote, adasyn, logit-adjust, threshold, two-stage, none.",
)
ImbalanceOption = typer.Option(
    None, "--imbalance-option", help="Imbalance method option KEY=VALUE, repeatable (gamma=1, tau=1.5)."
)


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def load_data(path: Path, *, feature_cols: str | None = None, **kwargs: Any) -> Dataset:
    """Load DATA with the command's column options (None = guess)."""
    return load(path, feature_cols=split_list(feature_cols), **kwargs)


def write_predictions(path: Path, ids: Any, predictions: Any) -> None:
    """Write an ``id,prediction`` CSV atomically (the few-shot and zero-shot commands' output)."""
    import csv
    import io

    from headstart.io import atomic_write_text

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "prediction"])
    writer.writerows(zip(ids, predictions, strict=True))
    atomic_write_text(path, buf.getvalue())
