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
