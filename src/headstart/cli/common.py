"""Options and data loading shared by the commands.

The shared options are built from their declarations in :mod:`headstart.options`
(the same defaults, help and ranges as the Python API); the registered choices
of ``--imbalance`` and the like are named in the help by ``{choices:FAMILY}``
(see :mod:`headstart.cli.app`).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from headstart import options as o
from headstart.data import Dataset, load
from headstart.errors import HeadstartError

# Typer options reused by every command that reads data.
LabelCol = o.LABEL_COL.typer()
TextCol = o.TEXT_COL.typer()
ImageCol = o.IMAGE_COL.typer()
FeatureCols = o.FEATURE_COLS.typer()
GroupCol = o.GROUP_COL.typer()
DomainCol = o.DOMAIN_COL.typer()
Strict = o.STRICT.typer()
BatchSize = o.BATCH_SIZE.typer()
Device = o.DEVICE.typer()
NoCache = o.CACHE.typer()
CacheDir = o.CACHE_DIR.typer()
# Training options shared by the commands that fine-tune (fit, distill).
TestSize = o.TEST_SIZE.typer()
Sample = o.SAMPLE.typer()
Seed = o.SEED.typer()
TrainBatchSize = o.TRAIN_BATCH_SIZE.typer()
MaxLength = o.MAX_LENGTH.typer()
Patience = o.PATIENCE.typer()
ValSize = o.VAL_SIZE.typer()
Precision = o.PRECISION.typer()
Resume = o.RESUME.typer()
NumWorkers = o.NUM_WORKERS.typer()
Tta = o.TTA.typer()
Epochs = o.EPOCHS.typer()
Lr = o.LR.typer()
Imbalance = o.Option("imbalance", None, "Imbalanced classes: {choices:imbalance}.").typer()
ImbalanceOption = o.Option(
    "imbalance_option", None, "Imbalance method option KEY=VALUE, repeatable (gamma=1, tau=1.5)."
).typer()


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """``["k=2", "lr_decay=0.8"]`` -> ``{"k": 2, "lr_decay": 0.8}`` (numbers parsed)."""
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


def columns(
    label_col: str | None = None,
    text_col: str | None = None,
    image_col: str | None = None,
    feature_cols: str | None = None,
    group_col: str | None = None,
    domain_col: str | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """The column options of :func:`load_data` (``None``: guessed)."""
    cols = dict(label_col=label_col, text_col=text_col, image_col=image_col, feature_cols=feature_cols)
    return {**cols, "group_col": group_col, "domain_col": domain_col, "strict": strict}


def api_options(values: Mapping[str, Any], function: Callable[..., Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The command's values whose names are parameters of ``function`` (but ``skip``): the API
    and the command line share option names (:mod:`headstart.options`), so these pass as they are."""
    names = inspect.signature(function).parameters
    return {k: v for k, v in values.items() if k in names and k not in skip}


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
