"""Options and data loading shared by the commands.

The shared options are built from their declarations in :mod:`headstart.options`
(the same defaults, help and ranges as the Python API); the registered choices
of ``--imbalance`` and the like are named in the help by ``{choices:FAMILY}``
(see :mod:`headstart.cli.app`).
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import shlex
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from headstart import options as o
from headstart.data import Dataset, load
from headstart.errors import HeadstartError, Interrupted

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
TrainBatchSize = o.TRAIN_BATCH_SIZE.typer(32, help="Training batch size.")
MaxLength = o.MAX_LENGTH.typer()
RecipeMaxLength = o.MAX_LENGTH.typer(
    help="Token limit for text (default: the recipe's, from the training rows' lengths)."
)
Patience = o.PATIENCE.typer()
ValSize = o.VAL_SIZE.typer()
Precision = o.PRECISION.typer()
Resume = o.RESUME.typer()
NumWorkers = o.NUM_WORKERS.typer()
Tta = o.TTA.typer()
BatchNorm = o.BATCH_NORM.typer()
Task = o.TASK.typer()
TaskOption = o.Option(
    "task_option",
    None,
    "Task option KEY=VALUE, repeatable. Regression: loss=mse or huber, delta=1. Multi-label: "
    "loss={choices:multilabel-loss} and that loss's options (bce: pos_weight=balanced; asymmetric: "
    "gamma_neg=4, gamma_pos=0, clip=0.05; focal: gamma=2, alpha=0.25), threshold=0.5 (fixed, not tuned).",
).typer()
# fit's (and compare's): None lets the recipe choose from the training rows (headstart.recipe).
Epochs = o.EPOCHS.typer(None, help="Fine-tuning epochs (default: the recipe's: 3 for text, 5 for images).")
Lr = o.LR.typer(None, help="Fine-tuning learning rate of the top backbone group (default: the recipe's).")
RecipeBatchSize = o.TRAIN_BATCH_SIZE.typer(None, help="Training batch size (default: the recipe's).")
Imbalance = o.Option("imbalance", None, "Imbalanced classes: {choices:imbalance}.").typer()
ImbalanceOption = o.Option(
    "imbalance_option", None, "Imbalance method option KEY=VALUE, repeatable (gamma=1, tau=1.5)."
).typer()


def split_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def parse_options(items: list[str] | None, flag: str = "--option") -> dict[str, Any]:
    """``["k=2", "lr_decay=0.8"]`` -> ``{"k": 2, "lr_decay": 0.8}`` (Python literals parsed, anything else
    kept as text). ``KEY`` is a Python name; a malformed item, or a key given twice, is one clear line."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise HeadstartError(f"{flag} takes KEY=VALUE, got {item!r} (e.g. {flag} k=2)")
        if not key.isidentifier():
            raise HeadstartError(f"{flag} {item!r}: the key {key!r} is not an option name (letters, digits, _)")
        if key in out:
            raise HeadstartError(f"{flag} {key} is given twice; give it once")
        out[key] = literal(value.strip())
    return out


JSON_WORDS: dict[str, Any] = {"true": True, "false": False, "null": None}


def literal(text: str) -> Any:
    """``text`` as a Python literal (``2``, ``0.5``, ``True``, ``[1, 2]``, ``None``; also ``true`` /
    ``false`` / ``null``, as JSON writes them), else as the text itself."""
    if text.lower() in JSON_WORDS:
        return JSON_WORDS[text.lower()]
    if len(text) > 10_000:
        return text  # nothing a method takes is this long; do not ask the parser to nest through it
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def check_out(path: Path | None, kind: str = "folder", what: str = "--out") -> None:
    """An output that cannot be written (a file where a folder goes, a folder where a file goes,
    a read-only place): one clear line before any work; nothing is created."""
    from headstart.io import check_writable

    if path is not None:
        check_writable(path, kind, what)


def check_sample(sample: int | None, data: Dataset) -> None:
    """``--sample N`` asks for more rows than there are: one clear line (a sample is a subset)."""
    if sample is not None and sample > len(data):
        raise HeadstartError(
            f"--sample {sample} is more than the {len(data)} training rows of {data.source}; "
            f"give at most {len(data)}, or leave --sample out to use every row"
        )


def check_rows_per_class(data: Dataset, what: str) -> None:
    """Every class has at least two rows (one to learn from, one to check on)."""
    counts = data.class_counts()
    thin = [c for c, n in counts.items() if n < 2]
    if thin:
        c = thin[0]
        rows = data.ids[np.asarray([str(v) for v in data.labels]) == str(c)]
        where = f" (row {rows[0]})" if len(rows) else ""
        more = f"; so do {len(thin) - 1} other classes" if len(thin) > 1 else ""
        raise HeadstartError(
            f"class '{c}' has only 1 row in {what}{where}{more}: a class needs at least 2 (one to learn from, one to "
            f"check on); add examples of it or drop it"
        )


def resume_hint(run_dir: Path, checkpoints: Path | None = None, kept: Callable[[], str | None] | None = None) -> str:
    """What an interrupted training run kept, and the command that continues it.

    ``kept()`` names what a run keeps when it is not the loop's checkpoints (an RL run's last evaluation)."""
    from headstart.cli.app import ARGV
    from headstart.train import checkpoint

    folder = checkpoints if checkpoints is not None else run_dir
    if kept is not None:
        name = kept()
    else:
        found = checkpoint.latest(folder) if folder.is_dir() else None
        name = found.name if found is not None else None
    if name is None:
        return f"interrupted before the first checkpoint of {run_dir}: nothing to resume; run the command again"
    argv = list(ARGV) or ["...", "..."]
    if not any(a in ("--out", "-o") or a.startswith("--out=") for a in argv):
        argv += ["--out", str(run_dir)]
    if "--resume" not in argv:
        argv.append("--resume")
    return f"interrupted: {run_dir} keeps its checkpoint {name}; continue with: headstart {shlex.join(argv)}"


@contextlib.contextmanager
def resumable(
    run_dir: Path, checkpoints: Path | None = None, kept: Callable[[], str | None] | None = None
) -> Iterator[None]:
    """Ctrl-C inside: re-raised as :class:`Interrupted` saying how to resume (the CLI exits 130)."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(resume_hint(run_dir, checkpoints, kept)) from None


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


def classification_only(data: Dataset, command: str) -> Dataset:
    """``data`` when its labels are classes (or it has none); a regression or multi-label target
    (:func:`headstart.data.targets.detect_task`) is one line naming the task, before any work."""
    if data.labels is None:
        return data
    from headstart.data.targets import detect_task

    given = {"multilabel": "several labels per row", "regression": "numbers"}
    task, why = (data.task, given[data.task]) if data.task != "classification" else detect_task(data.labels)
    if task != "classification":
        column = data.columns.get("label", "label")
        raise HeadstartError(
            f"`headstart {command}` does classification; label column '{column}' of {data.source} is a {task} "
            f"target ({why}): `headstart fit` (then predict / evaluate) does {task}"
        )
    return data


def classification_run(run: Path, command: str) -> None:
    """``run`` is a classification run folder; a regression or multi-label run is one line naming the task."""
    from headstart.runfolder import read_config

    task = read_config(run).get("task") or "classification"
    if task != "classification":
        raise HeadstartError(
            f"`headstart {command}` does classification runs; {run} is a {task} run "
            f"(`headstart predict` and `evaluate` read it)"
        )
