"""What a row is trained towards: the task type, detected from the label column or forced.

Three task types (``TASKS``):

- ``classification``: one class per row (the default; ``Dataset.labels`` are class labels);
- ``regression``: one number per row (``labels``: float64 ``(N,)``);
- ``multilabel``: any number of labels per row (``labels``: a 0/1 matrix ``(N, L)``,
  ``Dataset.label_names`` its column names).

The detection rule (:func:`detect_task`), applied to the label column as loaded:

1. several label columns (``--label-col a,b,c``: each 0/1), a column of lists (JSON /
   Parquet), or text where some row holds tags separated by ``|`` or ``;`` -> ``multilabel``;
2. numbers that are not all whole with more than 2 distinct values -> ``regression``;
3. whole numbers with more than ``MAX_CODES`` (20) distinct values that are not the
   class codes ``0..K-1`` or ``1..K`` -> ``regression`` (ages, prices, counts);
4. anything else -> ``classification`` (names, a few numbers, or codes ``0..K-1``).

``--task`` (``task=`` in Python) overrides it; a forced ``multilabel`` also splits text on ``,``.

    >>> detect_task(np.array([0.5, 1.25, 3.0, 2.75]))[0]
    'regression'
    >>> detect_task(np.array(["joy|female", "anger|male"]))[0]
    'multilabel'
    >>> detect_task(np.arange(100))[0]  # class codes 0..99
    'classification'
    >>> d = as_task(Dataset(inputs=["a", "b"], labels=np.array(["x|y", "y"]), modality="text"))
    >>> d.task, d.label_names, d.labels.tolist()
    ('multilabel', ['x', 'y'], [[1, 1], [0, 1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from headstart.data.dataset import TASKS, Dataset
from headstart.errors import HeadstartError

MAX_CODES = 20  # whole numbers with more distinct values than this (and not 0..K-1 / 1..K) are a quantity
DELIMITERS = ("|", ";")  # tag separators the detection recognises
FORCED_DELIMITERS = ("|", ";", ",")  # and those a forced --task multilabel splits on

__all__ = ["DELIMITERS", "MAX_CODES", "TASKS", "as_task", "check_task", "detect_task", "label_matrix"]


def check_task(task: str | None) -> str:
    """``task`` (``None`` -> ``"auto"``) when it is ``auto`` or one of ``TASKS``, else one line."""
    task = task or "auto"
    if task != "auto" and task not in TASKS:
        raise HeadstartError(f"--task must be auto, {', '.join(TASKS)}; got '{task}'")
    return task


def _is_list(v: Any) -> bool:
    return isinstance(v, (list, tuple, set, frozenset, np.ndarray))


def _delimiter(values: Sequence[Any], delimiters: Sequence[str]) -> str | None:
    """The first of ``delimiters`` found in some text value."""
    texts = [v for v in values if isinstance(v, str)]
    return next((d for d in delimiters if any(d in v for v in texts)), None)


def detect_task(labels: Any) -> tuple[str, str]:
    """(task type, why in words) of a label column (the rule is the module's docstring)."""
    arr = labels if isinstance(labels, np.ndarray) else np.asarray(labels, dtype=object)
    if arr.ndim == 2:
        return "multilabel", f"{arr.shape[1]} label columns"
    values = list(arr)
    if values and any(_is_list(v) for v in values):
        return "multilabel", "a column of lists"
    sep = _delimiter(values, DELIMITERS)
    if sep is not None:
        return "multilabel", f"tags separated by '{sep}'"
    if arr.dtype.kind not in "iuf" or arr.dtype.kind == "b":
        if not values or not all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
            return "classification", "class names"
    numbers = np.asarray(values, dtype=np.float64)
    distinct = np.unique(numbers[np.isfinite(numbers)])
    if not np.all(distinct == np.round(distinct)):
        if len(distinct) > 2:
            return "regression", f"numbers with fractions ({len(distinct)} distinct values)"
        return "classification", f"{len(distinct)} distinct numbers"
    k = len(distinct)
    codes = k > 0 and distinct[0] in (0, 1) and distinct[-1] == distinct[0] + k - 1
    if k > MAX_CODES and not codes:
        return "regression", f"whole numbers with {k} distinct values"
    return "classification", f"{k} distinct {'class codes' if codes else 'numbers'}"


def _tags(value: Any, sep: str | None) -> list[str]:
    if _is_list(value):
        return [str(t).strip() for t in value if str(t).strip()]
    text = str(value)
    parts = text.split(sep) if sep is not None else [text]
    return [p.strip() for p in parts if p.strip()]


def label_matrix(
    labels: Any, source: str, column: str, names: Sequence[str] | None = None, forced: bool = False
) -> tuple[np.ndarray, list[str]]:
    """A multi-label column as a 0/1 matrix ``(N, L)`` and its label names: from a 0/1 matrix (the
    columns named ``names`` in that order), lists of tags, or text tags. With ``names`` (the training
    labels) a tag outside them is one line naming its row."""
    arr = labels if isinstance(labels, np.ndarray) else np.asarray(labels, dtype=object)
    if arr.ndim == 2:
        bad = ~np.isin(arr, (0, 1))
        if bad.any():
            r, col = np.argwhere(bad)[0]
            raise HeadstartError(
                f"row {r + 1} of {source}: label column {col + 1} of '{column}' holds {arr[r, col]!r}; "
                f"several label columns are a multi-label target, each 0 or 1"
            )
        return arr.astype(np.int64), list(names or [f"label{k}" for k in range(arr.shape[1])])
    values = list(arr)
    sep = _delimiter(values, FORCED_DELIMITERS if forced else DELIMITERS)
    rows = [_tags(v, sep) for v in values]
    vocab = list(names) if names is not None else sorted({t for r in rows for t in r})
    index = {t: k for k, t in enumerate(vocab)}
    out = np.zeros((len(rows), len(vocab)), dtype=np.int64)
    for i, tags in enumerate(rows):
        for t in tags:
            k = index.get(t)
            if k is None:
                known = ", ".join(vocab[:10])
                raise HeadstartError(f"row {i + 1} of {source}: label '{t}' was not seen in training (labels: {known})")
            out[i, k] = 1
    return out, vocab


def _numbers(labels: Any, source: str, column: str) -> np.ndarray:
    arr = np.asarray(labels, dtype=object)
    out = np.empty(len(arr), dtype=np.float64)
    for i, v in enumerate(arr):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise HeadstartError(
                f"row {i + 1} of {source}: label '{v}' in column '{column}' is not a number; a regression "
                f"target is numeric (leave out --task regression to classify)"
            ) from None
        if not np.isfinite(out[i]):
            raise HeadstartError(f"row {i + 1} of {source}: label '{v}' in column '{column}' is not a finite number")
    return out


def as_task(data: Dataset, task: str | None = "auto", names: Sequence[str] | None = None) -> Dataset:
    """``data`` with its labels in the form of ``task`` (``auto``: :func:`detect_task`): class labels,
    numbers ``(N,)`` or a 0/1 matrix ``(N, L)`` (``names``: the training labels, in their order).
    Unlabelled data comes back as it is, with the task set."""
    task = check_task(task)
    column = str(data.columns.get("label", "label"))
    if data.labels is None:
        return data if task == "auto" else replace(data, task=task)
    if task == "auto":
        task = data.task if data.task != "classification" else detect_task(data.labels)[0]
    if task == "classification":
        if data.labels.ndim == 2 or any(_is_list(v) for v in data.labels):
            raise HeadstartError(
                f"label column '{column}' of {data.source} holds several labels per row: "
                f"that is a multi-label target (--task multilabel), not classification"
            )
        return replace(data, task="classification", label_names=None)
    if task == "regression":
        if data.labels.ndim == 2:
            raise HeadstartError(
                f"{data.source}: several label columns ('{column}') are a multi-label target; "
                f"regression predicts one number (name one --label-col)"
            )
        return replace(data, labels=_numbers(data.labels, data.source, column), task=task, label_names=[column])
    given = names if names is not None else data.label_names
    if data.labels.ndim == 2 and data.label_names is not None and names is not None:
        missing = [n for n in names if n not in data.label_names]
        if missing:
            raise HeadstartError(f"{data.source} lacks label column '{missing[0]}' that the model was trained on")
        order = [data.label_names.index(n) for n in names]
        matrix, vocab = label_matrix(data.labels[:, order], data.source, column, names)
    else:
        matrix, vocab = label_matrix(data.labels, data.source, column, given, forced=True)
    return replace(data, labels=matrix, task="multilabel", label_names=vocab)
