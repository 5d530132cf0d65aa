"""Per-group rates from confusion counts, and their stratified bootstrap.

A group's rows are summarised by a confusion matrix ``C[t, p]`` (true class
``t``, predicted class ``p``; ``n = sum C``). Every figure of the audit is a
ratio of its cells, for class ``k`` (one-vs-rest):

    accuracy         = trace(C) / n
    selection rate_k = sum_t C[t, k] / n                      P(pred = k)
    TPR_k            = C[k, k] / sum_p C[k, p]                 P(pred = k | y = k)
    FPR_k            = (sum_t C[t, k] - C[k, k]) / (n - sum_p C[k, p])

(undefined, NaN, when the denominator is 0: a group without positives has no
TPR). Bootstrap (Efron 1979), stratified by group: each resample draws every
group's ``n_g`` rows with replacement from that group's rows, so group sizes
stay fixed and a small group cannot vanish. Since the figures depend on the
rows only through the counts of joint cells (true class, prediction of model
1, prediction of model 2 ...), a resample of group ``g`` is one multinomial
draw ``Multinomial(n_g, counts_g / n_g)`` over those cells: ``B`` resamples
cost ``O(B * cells)``, not ``O(B * n)``, and two models scored on the same
rows are resampled *paired* (what a before / after comparison needs). The
draws and the percentile interval are :mod:`headstart.stats`'s
(``bootstrap_counts(..., stratified=True)``, ``percentile_ci``).

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1, 1, 0]); pred = np.array([0, 1, 0, 0]); g = np.array([0, 0, 1, 1])
    >>> conf = confusions(y, [pred], g, n_groups=2, n_classes=2)[0]
    >>> rates(conf)["accuracy"].tolist()
    [1.0, 0.5]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from headstart.stats import bootstrap_counts, percentile_ci

__all__ = ["bootstrap_confusions", "confusions", "percentile_ci", "rates"]


def confusions(
    y: np.ndarray, preds: Sequence[np.ndarray], groups: np.ndarray, n_groups: int, n_classes: int
) -> list[np.ndarray]:
    """One confusion array ``(G, K, K)`` per model in ``preds``."""
    out = []
    for pred in preds:
        conf = np.zeros((n_groups, n_classes, n_classes), dtype=np.int64)
        np.add.at(conf, (groups, y, pred), 1)
        out.append(conf)
    return out


def bootstrap_confusions(
    y: np.ndarray,
    preds: Sequence[np.ndarray],
    groups: np.ndarray,
    n_groups: int,
    n_classes: int,
    resamples: int,
    seed: int,
) -> list[np.ndarray]:
    """``resamples`` stratified bootstrap replicates: one ``(B, G, K, K)`` array
    per model, all drawn from the same resampled rows (paired)."""
    m, k = len(preds), n_classes
    dims = (k,) * (m + 1)
    cells = np.ravel_multi_index((y, *preds), dims)
    counts = np.zeros((n_groups, k ** (m + 1)), dtype=np.int64)
    for g in range(n_groups):
        counts[g] = np.bincount(cells[groups == g], minlength=k ** (m + 1))
    joint = bootstrap_counts(counts, resamples, seed, stratified=True).reshape(resamples, n_groups, *dims)
    out = []
    for i in range(m):
        # Keep the true class (axis 2) and model i's prediction (axis 3 + i).
        drop = tuple(3 + j for j in range(m) if j != i)
        out.append(joint.sum(axis=drop) if drop else joint)
    return out


def rates(conf: np.ndarray) -> dict[str, np.ndarray]:
    """Rows, accuracy ``(..., G)`` and per-class selection rate, TPR, FPR ``(..., G, K)``
    from confusion counts ``(..., G, K, K)``; NaN where undefined."""
    conf = conf.astype(np.float64)
    n = conf.sum(axis=(-1, -2))
    diag = np.diagonal(conf, axis1=-2, axis2=-1)
    predicted = conf.sum(axis=-2)  # (..., G, K): rows predicted k
    actual = conf.sum(axis=-1)  # (..., G, K): rows of true class k
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "rows": n,
            "accuracy": np.where(n > 0, diag.sum(-1) / n, np.nan),
            "selection_rate": np.where(n[..., None] > 0, predicted / n[..., None], np.nan),
            "tpr": np.where(actual > 0, diag / actual, np.nan),
            "fpr": np.where(n[..., None] - actual > 0, (predicted - diag) / (n[..., None] - actual), np.nan),
        }
