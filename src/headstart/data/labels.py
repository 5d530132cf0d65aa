"""Labels and groups as the models see them: a Dataset from arrays, class keys and codes,
group labels with missing values marked.

    >>> import numpy as np
    >>> encode_labels(np.array(["b", "a", "b"]), ["a", "b"], "x.csv").tolist()
    [1, 0, 1]
    >>> group_labels(["f", None, "m"])[1].tolist()
    [True, False, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from headstart.data.dataset import Dataset
from headstart.errors import HeadstartError

MISSING = ("", "nan")  # a blank cell (read as NaN; "nan" once turned into text)


def as_dataset(X: Any, y: Any = None) -> Dataset:
    """``X`` itself when it is a Dataset, else ``from_arrays(X, y)``."""
    if isinstance(X, Dataset):
        if y is not None:
            raise HeadstartError("pass labels inside the Dataset or as y, not both")
        return X
    from headstart.data.loaders import from_arrays

    return from_arrays(X, y)


def label_key(v: Any) -> str:
    """A label as the string it is compared by (numpy scalars unwrapped: ``np.int64(3)`` -> ``"3"``)."""
    return str(v.item() if hasattr(v, "item") else v)


def encode_labels(labels: Any, classes: Sequence[Any], source: str) -> np.ndarray:
    """Class codes ``(N,)`` of ``labels`` for ``classes`` (compared by :func:`label_key`); a label
    that is not a class is one clear line naming its row."""
    index = {label_key(c): i for i, c in enumerate(classes)}
    codes = np.empty(len(labels), dtype=np.int64)
    for i, v in enumerate(labels):
        k = index.get(label_key(v))
        if k is None:
            known = ", ".join(map(str, list(classes)[:10]))
            raise HeadstartError(f"row {i + 1} of {source}: label '{v}' was not seen in training (classes: {known})")
        codes[i] = k
    return codes


def group_labels(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Group labels as strings, and the mask of rows that have one (blank / NaN: missing)."""
    raw = np.asarray(values, dtype=object)
    labels = np.asarray(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in raw])
    present = np.asarray([s.strip().lower() not in MISSING for s in labels], dtype=bool)
    return labels, present
