"""The class x attribute matrix that attribute-based zero-shot methods read.

Users give it as a table (one row per class, the first column the class name,
the others numeric attributes), a ``{class: [values]}`` mapping, or a pandas
DataFrame indexed by class. :func:`attribute_matrix` returns the rows of the
classes asked for, in that order, with one clear error for a class that has
no row or a value that is not a finite number.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from headstart.errors import HeadstartError


def read_attributes(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A class x attribute table (CSV / TSV, first column = class) as ``{class: vector}``."""
    from headstart.data.loaders import read_table

    df = read_table(Path(path))
    if df.shape[1] < 2:
        raise HeadstartError(f"{path}: an attribute table needs a class column and at least one attribute column")
    values = df.iloc[:, 1:]
    bad = [c for c in values.columns if not np.issubdtype(values[c].dtype, np.number)]
    if bad:
        raise HeadstartError(f"{path}: attribute column '{bad[0]}' is not numeric")
    return {str(k): v for k, v in zip(df.iloc[:, 0].astype(str), values.to_numpy(np.float64), strict=True)}


def attribute_matrix(attributes: Any, classes: Sequence[Any]) -> np.ndarray:
    """``(K, A)`` float matrix: the attribute rows of ``classes``, in order."""
    if hasattr(attributes, "loc") and hasattr(attributes, "index"):  # a DataFrame indexed by class
        attributes = {
            k: np.asarray(v, dtype=np.float64) for k, v in zip(attributes.index, attributes.to_numpy(), strict=True)
        }
    if not isinstance(attributes, Mapping):
        raise HeadstartError("attributes must be a {class: vector} mapping, a DataFrame indexed by class, or a table")
    lookup = {str(k): v for k, v in attributes.items()}
    rows = []
    for c in classes:
        if c in attributes:
            rows.append(attributes[c])
        elif str(c) in lookup:
            rows.append(lookup[str(c)])
        else:
            raise HeadstartError(f"class {c!r} has no row in the attribute matrix")
    try:
        S = np.asarray(rows, dtype=np.float64)
    except ValueError:
        raise HeadstartError("attribute rows must all have the same number of numeric values") from None
    if S.ndim != 2 or S.shape[1] < 1:
        raise HeadstartError(f"the attribute matrix must be classes x attributes, got shape {S.shape}")
    if not np.isfinite(S).all():
        raise HeadstartError("the attribute matrix has NaN or infinite values")
    return S
