"""Transferability scores by name, with input checks that give one clear line.

Every score rates how well a frozen backbone's output suits a labelled target
data set before any training; higher = better, and scores are comparable
across backbones on the same data set only (not across data sets or scores).

- ``logme``  (features): log maximum evidence of a linear model (You et al. 2021).
- ``hscore`` (features): shrinkage H-score (Bao et al. 2019, Ibrahim et al. 2022).
- ``knn``    (features): leave-one-out 1-NN accuracy, cosine.
- ``leep``   (source probabilities): Nguyen et al. 2020.
- ``nce``    (source probabilities): Tran et al. 2019.

The last two need the source model's class probabilities on the target
inputs, (N, Z): only backbones that kept their source-task head give them.
Each score registers itself in :data:`SCORES` (``headstart/select/registry.py``)
from its own file, saying which of the two it reads.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(["cat", "dog"], 50)
    >>> X = rng.normal(size=(100, 8)) + (y == "dog")[:, None]
    >>> list_scores()
    ['logme', 'hscore', 'knn', 'leep', 'nce']
    >>> round(transferability("knn", X, y), 2)
    0.81
"""

from __future__ import annotations

import numpy as np

from headstart.errors import HeadstartError
from headstart.select.registry import SCORES

_WHO_HAS_PROBS = (
    "backbones that kept their source-task head provide them, e.g. ImageNet-headed vision "
    "backbones such as efficientnet-lite0 (softmax of Backbone.source_logits)"
)


def list_scores() -> list[str]:
    """The registered score names, feature scores first."""
    return SCORES.names()


def needs_source_probs(name: str) -> bool:
    """Whether score ``name`` reads the source model's class probabilities instead of features."""
    return SCORES.entry(name).meta.get("inputs") == "source_probs"


def _check_matrix(what: str, x: object, n: int) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise HeadstartError(f"{what} must be a numeric (N, D) array") from None
    if a.ndim != 2 or a.shape[1] == 0:
        raise HeadstartError(f"{what} must be a 2-d (N, D) array with D >= 1, got shape {a.shape}")
    if a.shape[0] != n:
        raise HeadstartError(f"{what} has {a.shape[0]} rows but there are {n} labels")
    bad = ~np.isfinite(a)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise HeadstartError(f"{what} has a NaN or infinite value (row {row}, column {col})")
    return a


def transferability(
    name: str, features: np.ndarray | None, labels: np.ndarray, source_probs: np.ndarray | None = None
) -> float:
    """Score ``name`` of a backbone's ``features`` (N, D) (or ``source_probs`` (N, Z)) for ``labels`` (N,).

    Labels may be any hashable values (strings, ints). ``features`` may be None
    for the source-probability scores (``leep``, ``nce``). Raises
    :class:`HeadstartError` with one line for bad input.
    """
    probs_score = needs_source_probs(name)  # an unknown name: one line
    y = np.asarray(labels)
    if y.ndim != 1:
        raise HeadstartError(f"labels must be a 1-d array, got shape {y.shape}")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise HeadstartError(f"labels have a NaN (row {int(np.flatnonzero(np.isnan(y))[0])})")
    if y.dtype.kind == "O" and any(v is None for v in y):
        raise HeadstartError(f"labels have a missing value (row {[v is None for v in y].index(True)})")
    try:
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        raise HeadstartError("labels mix types that cannot be compared (e.g. strings and numbers)") from None
    if classes.size < 2:
        raise HeadstartError(f"transferability needs at least 2 classes, got {classes.size} ({y.size} labels)")
    codes = codes.ravel()

    if probs_score:
        if source_probs is None:
            raise HeadstartError(
                f"score '{name}' needs source_probs, the source model's class probabilities (N, Z); "
                f"{_WHO_HAS_PROBS}; or use a feature score: "
                + ", ".join(s for s in SCORES if not needs_source_probs(s))
            )
        probs = _check_matrix("source_probs", source_probs, y.size)
        if name == "leep" and ((probs < 0).any() or not np.allclose(probs.sum(1), 1.0, atol=1e-3)):
            raise HeadstartError(
                "source_probs for 'leep' must be probabilities (non-negative, rows summing to 1); "
                "these look like logits: apply a softmax first"
            )
        if features is not None:
            _check_matrix("features", features, y.size)
        return float(SCORES.get(name)(probs, codes))

    if features is None:
        raise HeadstartError(f"score '{name}' needs features (N, D), got None")
    X = _check_matrix("features", features, y.size)
    return float(SCORES.get(name)(X, codes))
