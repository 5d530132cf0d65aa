"""The one data type that flows through headstart.

A :class:`Dataset` holds the raw inputs (texts, image paths or arrays, or a
numeric matrix), the labels, and optional per-row ``group``, ``domain`` and
``split`` tags. Every loader returns one; every backbone, method and metric takes
one. It is deliberately small: numpy arrays and lists, no lazy magic.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from headstart.data.splits import stratified_sample, stratified_split
from headstart.errors import HeadstartError

Modality = Literal["text", "image", "tabular", "timeseries", "audio"]
MODALITIES: tuple[str, ...] = ("text", "image", "tabular", "timeseries", "audio")
# Inputs that are variable-length sequences of numbers (a list of arrays, one per row).
SEQUENCES: tuple[str, ...] = ("timeseries", "audio")
# What the labels are (headstart.data.targets detects it): a class, a number, or several labels per row.
TASKS: tuple[str, ...] = ("classification", "regression", "multilabel")


def _take(values: Any, idx: np.ndarray) -> Any:
    if values is None:
        return None
    if isinstance(values, np.ndarray):
        return values[idx]
    return [values[i] for i in idx]


@dataclass
class Dataset:
    """Inputs + labels (+ group, domain, split) for one modality.

    Attributes:
        inputs: texts (``list[str]``), images (``list`` of paths, PIL images or
            HxW[xC] arrays), a float matrix ``(N, D)`` for ``tabular``, float
            arrays ``(T_i, C)`` (one per row, any length) for ``timeseries``, or
            mono waveforms ``(T_i,)`` for ``audio``.
        labels: class labels (str or int) ``(N,)``, or ``None`` when unlabelled; for ``task``
            ``"regression"`` numbers ``(N,)``, for ``"multilabel"`` a 0/1 matrix ``(N, L)``
            (:func:`headstart.data.targets.as_task` converts a label column to these).
        modality: ``"text"``, ``"image"``, ``"tabular"``, ``"timeseries"`` or ``"audio"``.
        group, domain, split: optional per-row tags (arrays of str).
        ids: per-row identifiers used in prediction files (row number or path).
        source: where the data came from, for messages.
        columns: how a table was read (``{"text": "sentence", "label": "label"}``),
            so that predict can demand the same columns.
        time: per-row times (a long table's series start times), which
            :meth:`time_split` orders by; ``None``: the rows' order is their time order.
        sample_rate: samples per second of ``audio`` (and of a ``timeseries`` when
            known); backbones resample to their own rate and say so.
        task: ``"classification"``, ``"regression"`` or ``"multilabel"`` (see ``labels``).
        label_names: the names of the label matrix's columns (``multilabel``), or the
            target column's name (``regression``); ``None`` for classification.
    """

    inputs: Any
    labels: np.ndarray | None
    modality: Modality
    group: np.ndarray | None = None
    domain: np.ndarray | None = None
    split: np.ndarray | None = None
    ids: np.ndarray | None = None
    source: str = "<memory>"
    columns: dict[str, Any] = field(default_factory=dict)
    sample_rate: float | None = None
    time: np.ndarray | None = None
    task: str = "classification"
    label_names: list[str] | None = None

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise HeadstartError(f"unknown modality '{self.modality}' (one of {MODALITIES})")
        if self.task not in TASKS:
            raise HeadstartError(f"unknown task '{self.task}' (one of {TASKS})")
        n = len(self.inputs)
        if self.labels is not None:
            self.labels = np.asarray(self.labels)
        for name in ("labels", "group", "domain", "split", "ids", "time"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise HeadstartError(f"{self.source}: {name} has {len(value)} rows but inputs have {n}")
        if self.ids is None:
            self.ids = np.arange(n)

    def __len__(self) -> int:
        return len(self.inputs)

    def __repr__(self) -> str:
        kinds = {"classification": "classes", "regression": "target", "multilabel": "labels"}
        labels = f", {len(self.classes)} {kinds[self.task]}" if self.labels is not None else ", unlabelled"
        return f"Dataset({len(self)} {self.modality} rows{labels}, source={self.source!r})"

    # ---- views -------------------------------------------------------------
    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    @property
    def classes(self) -> list[Any]:
        """Sorted distinct labels, as plain Python values (multi-label: the label names;
        regression: the target's name)."""
        if self.labels is None:
            return []
        if self.task != "classification":
            return list(self.label_names or [])
        return [v.item() if hasattr(v, "item") else v for v in np.unique(self.labels)]

    def class_counts(self) -> dict[Any, int]:
        """Rows per class (multi-label: rows per label; regression: the rows)."""
        if self.labels is None:
            return {}
        if self.task == "multilabel":
            return {n: int(c) for n, c in zip(self.classes, self.labels.sum(0), strict=True)}
        if self.task == "regression":
            return {self.classes[0] if self.classes else "target": len(self)}
        counts = Counter(v.item() if hasattr(v, "item") else v for v in self.labels)
        return dict(sorted(counts.items(), key=lambda kv: str(kv[0])))

    def subset(self, idx: np.ndarray | list[int]) -> Dataset:
        """A new Dataset with the rows ``idx`` (in that order)."""
        idx = np.asarray(idx, dtype=int)
        return replace(
            self,
            inputs=_take(self.inputs, idx),
            labels=_take(self.labels, idx),
            group=_take(self.group, idx),
            domain=_take(self.domain, idx),
            split=_take(self.split, idx),
            ids=_take(self.ids, idx),
            time=_take(self.time, idx),
        )

    def splits(self) -> list[str]:
        return [] if self.split is None else sorted(set(self.split.tolist()))

    def where_split(self, name: str) -> Dataset:
        """Rows tagged with split ``name`` (e.g. the ``val/`` folder of an image set)."""
        if self.split is None:
            raise HeadstartError(f"{self.source} has no split column or train/val layout")
        return self.subset(np.flatnonzero(self.split == name))

    def require_labels(self, min_classes: int = 2) -> None:
        """Raise a clear error unless labelled with at least ``min_classes`` classes."""
        column = self.columns.get("label", "label")
        if self.labels is None:
            raise HeadstartError(f"{self.source} has no labels (expected a '{column}' column)")
        if self.task == "regression":
            if len(np.unique(self.labels)) < 2:
                raise HeadstartError(f"target column '{column}' in {self.source} is constant: nothing to learn")
            return
        classes = self.classes
        if len(classes) < min_classes:
            only = f" ('{classes[0]}')" if classes else ""
            raise HeadstartError(
                f"label column '{column}' in {self.source} has only {len(classes)} class{only}: "
                f"need at least {min_classes}"
            )

    # ---- splitting ---------------------------------------------------------
    def train_test_split(self, test_size: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Stratified split (by class when labelled with classes, else random)."""
        strata = self._strata()
        train, test = stratified_split(strata, test_size, seed)
        return self.subset(train), self.subset(test)

    def _strata(self) -> np.ndarray:
        """What splits keep the proportions of: the classes; one stratum for numbers and label sets."""
        if self.labels is None or self.task != "classification":
            return np.zeros(len(self))
        return self.labels

    def time_split(self, test_size: float = 0.2) -> tuple[Dataset, Dataset]:
        """The earliest rows to train on, the latest ``test_size`` to test on (``--split time``):
        ordered by :attr:`time` when the loader knew each row's time, else by row order.

        >>> d = Dataset(inputs=["a", "b", "c", "d", "e"], labels=[0, 1, 0, 1, 0], modality="text")
        >>> [list(part.inputs) for part in d.time_split(0.4)]
        [['a', 'b', 'c'], ['d', 'e']]
        """
        n = len(self)
        k = min(n - 1, max(1, int(round(n * test_size))))
        order = np.arange(n) if self.time is None else np.argsort(np.asarray(self.time), kind="stable")
        return self.subset(order[: n - k]), self.subset(order[n - k :])

    def sample(self, n: int, seed: int = 0) -> Dataset:
        """A stratified subsample of ``n`` rows (all rows if ``n >= len``)."""
        strata = self._strata()
        return self.subset(stratified_sample(strata, n, seed))

    # ---- identity ----------------------------------------------------------
    def fingerprint(self) -> str:
        """A hash of the inputs (not the labels): same inputs, same features.

        Texts and arrays are hashed by content; image files by path, size and
        modification time (reading every file would cost as much as decoding it).
        """
        h = hashlib.sha256(self.modality.encode())
        if self.sample_rate is not None:  # the same samples at another rate are another sound
            h.update(f"rate={float(self.sample_rate)}".encode())
        if isinstance(self.inputs, np.ndarray) and self.inputs.dtype != object:
            arr = np.ascontiguousarray(self.inputs)
            h.update(str((arr.shape, arr.dtype.str)).encode())
            h.update(arr.tobytes())
            return h.hexdigest()
        for x in self.inputs:
            h.update(b"\x00")
            if isinstance(x, str) and self.modality == "text":
                h.update(x.encode("utf-8", "surrogatepass"))
            elif isinstance(x, (str, os.PathLike)):
                try:
                    st = os.stat(x)
                    h.update(f"{os.path.abspath(x)}|{st.st_size}|{st.st_mtime_ns}".encode())
                except OSError:
                    h.update(str(x).encode())
            else:  # PIL image or array
                arr = np.asarray(x)
                h.update(str((arr.shape, arr.dtype.str)).encode())
                h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()
