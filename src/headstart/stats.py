"""The statistics every part of headstart reports with: one implementation each.

- :func:`mean_ci`: a mean and the half-width of its confidence interval,
  Student t (``method="t"``, the default: right for a handful of seeds) or
  normal (``method="normal"``: the ``1.96 * std / sqrt(n)`` of the few-shot
  literature, kept for the episode figures; at 600 episodes the two differ
  by 0.2% of the half-width);
- :func:`paired_t`: the paired t-test of ``a - b`` (or the one-sample test
  of ``a`` against 0), with a defined answer for constant differences;
- :func:`welch_t`: Welch's unpaired t-test (unequal variances);
- :func:`bootstrap_counts`, :func:`bootstrap_statistic`,
  :func:`percentile_ci`: the bootstrap of a metric computed from count data
  (a confusion matrix, or one per stratum). A resample of ``n`` rows
  summarised by the counts of their cells is one multinomial draw
  ``Multinomial(n, counts / n)``: ``B`` resamples cost ``O(B * cells)``,
  not ``O(B * n)``. Stratified: each stratum (e.g. a group) keeps its size.

This module depends on numpy and scipy only (nothing of headstart's above it).
The t-tests are scipy's (:func:`scipy.stats.ttest_1samp`,
:func:`scipy.stats.ttest_ind`); ``tests/test_stats.py`` checks every function
against a scipy reference.

Example:
    >>> m = mean_ci([0.80, 0.90, 1.00])
    >>> round(m.mean, 3), round(m.half_width, 3)
    (0.9, 0.248)
    >>> paired_t([0.9, 0.8, 0.85], [0.5, 0.45, 0.52]).p_value < 0.05
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

LEVEL = 0.95
Z95 = 1.96  # the normal 97.5% quantile as the literature writes it (scipy: 1.959964)
METHODS = ("t", "normal")


class MeanCI(NamedTuple):
    """A mean and the half-width of its confidence interval: ``mean ± half_width``.

    Unpacks as ``mean, half = mean_ci(...)``. With ``axis`` given to
    :func:`mean_ci` both fields are arrays.
    """

    mean: Any
    half_width: Any

    @property
    def low(self) -> Any:
        return self.mean - self.half_width

    @property
    def high(self) -> Any:
        return self.mean + self.half_width


class TTest(NamedTuple):
    """A t-test's statistic and its two-sided p-value; unpacks as ``t, p = ...``."""

    statistic: float
    p_value: float


def critical_value(level: float = LEVEL, df: float | None = None) -> float:
    """Two-sided critical value at confidence ``level``: Student t with ``df``
    degrees of freedom, or (``df=None``) normal.

    The normal value at 95% is the rounded 1.96 that published 95% intervals
    use (``scipy.stats.norm.ppf(0.975)`` is 1.959964); other levels use scipy.
    ``df <= 0`` gives ``inf``: one value bounds nothing.

    >>> round(critical_value(0.95, df=4), 4)
    2.7764
    >>> critical_value(0.95)
    1.96
    >>> critical_value(0.95, df=0)
    inf
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if df is None:
        if level == LEVEL:
            return Z95
        from scipy.stats import norm

        return float(norm.ppf(0.5 + level / 2))
    if df <= 0:
        return math.inf
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, df))


def mean_ci(values: Any, level: float = LEVEL, method: str = "t", axis: int | None = None) -> MeanCI:
    """The mean of ``values`` and the half-width of its ``level`` confidence
    interval, ``critical_value * std / sqrt(n)`` (``std`` with ``ddof=1``).

    Args:
        values: the sample (any array-like of numbers).
        level: confidence level, 0.95 by default.
        method: ``"t"``: Student t with ``n - 1`` degrees of freedom (right
            for small samples: 5 seeds, 10 draws); ``"normal"``: the normal
            critical value (1.96 at 95%), what the few-shot literature
            reports over hundreds of episodes.
        axis: reduce along this axis (the fields are then arrays); ``None``:
            the whole array.

    Fewer than 2 values: the half-width is ``inf`` (no spread to measure).

    >>> mean, half = mean_ci([0.8, 0.9, 1.0])
    >>> round(half, 4)  # t(0.975, 2) = 4.3027; std 0.1
    0.2484
    >>> round(mean_ci([0.8, 0.9, 1.0], method="normal").half_width, 4)  # 1.96 * 0.1 / sqrt(3)
    0.1132
    >>> mean_ci([0.7]).half_width
    inf
    >>> np.round(mean_ci([[0.5, 1.0], [0.7, 1.0]], axis=0).half_width, 3).tolist()  # one CI per column
    [1.271, 0.0]
    """
    if method not in METHODS:
        raise ValueError(f"unknown method '{method}' (valid: {', '.join(METHODS)})")
    x = np.asarray(values, dtype=float)
    n = x.size if axis is None else x.shape[axis]
    if n == 0:
        raise ValueError("the mean of no values")
    mean = x.mean(axis=axis)
    if n < 2:
        half = math.inf if axis is None else np.full(np.shape(mean), math.inf)
    else:
        crit = critical_value(level, n - 1 if method == "t" else None)
        half = crit * x.std(axis=axis, ddof=1) / math.sqrt(n)
    if axis is None:
        return MeanCI(float(mean), float(half))
    return MeanCI(mean, half)


def paired_t(a: Any, b: Any = None) -> TTest:
    """Paired t-test of ``a - b`` (``b=None``: the one-sample test of ``mean a = 0``),
    two-sided; :func:`scipy.stats.ttest_rel`'s figures.

    Where scipy has no answer (the differences do not vary, rounding aside:
    ``std <= 1e-12 * max(1, |mean|)``, or a single pair) it is: all zero ->
    ``t = 0, p = 1`` (no difference); otherwise ``t = ±inf, p = 0`` (the same
    difference every time).

    >>> t, p = paired_t([0.9, 0.8, 0.85, 0.95], [0.5, 0.45, 0.52, 0.49])
    >>> round(t, 2), p < 0.001
    (13.27, True)
    >>> paired_t([0.5, 0.6], [0.5, 0.6])
    TTest(statistic=0.0, p_value=1.0)
    >>> paired_t([0.1, 0.2, 0.3], [0.2, 0.3, 0.4])  # a constant difference: certain
    TTest(statistic=-inf, p_value=0.0)
    """
    d = np.asarray(a, dtype=float)
    if b is not None:
        d = d - np.asarray(b, dtype=float)
    if d.ndim != 1 or len(d) == 0:
        raise ValueError(f"paired_t takes two equal-length 1-d samples, got differences of shape {d.shape}")
    sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
    if sd <= 1e-12 * max(1.0, abs(float(d.mean()))):
        if np.allclose(d, 0):
            return TTest(0.0, 1.0)
        return TTest(math.copysign(math.inf, float(d.mean())), 0.0)
    from scipy import stats

    result = stats.ttest_1samp(d, 0.0)
    return TTest(float(result.statistic), float(result.pvalue))


def welch_t(a: Any, b: Any) -> TTest:
    """Welch's two-sided t-test of ``mean a = mean b`` for unpaired samples of
    any sizes with unequal variances (:func:`scipy.stats.ttest_ind`, ``equal_var=False``).

    >>> t, p = welch_t([0.81, 0.83, 0.82, 0.84], [0.78, 0.80, 0.79])
    >>> round(t, 2), round(p, 4)
    (4.04, 0.0101)
    """
    from scipy import stats

    result = stats.ttest_ind(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_var=False)
    return TTest(float(result.statistic), float(result.pvalue))


def bootstrap_counts(
    counts: Any, resamples: int, seed: int | np.random.Generator = 0, *, stratified: bool = False
) -> np.ndarray:
    """``resamples`` bootstrap replicates of count data, ``(resamples, *counts.shape)``.

    Plain: ``counts`` (any shape, e.g. a ``(K, K)`` confusion matrix) are the
    cells of one sample of ``n = counts.sum()`` rows; a replicate draws ``n``
    rows with replacement, ``Multinomial(n, counts / n)``. Stratified: axis 0
    indexes strata (e.g. groups), each resampled on its own with its own size
    (a stratum without rows stays zero), so a small stratum cannot vanish.

    The draws come from ``seed`` (or the given generator) stratum by stratum,
    all of a stratum's replicates at once. A plain bootstrap drawn in chunks
    from one generator gives the same replicates as one call.

    >>> cm = np.array([[8, 2], [1, 9]])
    >>> reps = bootstrap_counts(cm, 1000, seed=0)
    >>> reps.shape, bool((reps.sum(axis=(1, 2)) == 20).all())
    ((1000, 2, 2), True)
    >>> by_group = np.array([[5, 0, 1], [0, 0, 0]])  # 2 strata, the second empty
    >>> bootstrap_counts(by_group, 3, seed=0, stratified=True).sum(axis=2).tolist()
    [[6, 0], [6, 0], [6, 0]]
    """
    counts = np.asarray(counts)
    if stratified and counts.ndim < 2:
        raise ValueError(f"stratified counts are (strata, cells...), got shape {counts.shape}")
    rng = np.random.default_rng(seed)
    if stratified:  # (strata, cells); math.prod, not -1: no stratum at all is a valid (0, cells)
        strata = counts.reshape(counts.shape[0], math.prod(counts.shape[1:]))
    else:
        strata = counts.reshape(1, counts.size)
    out = np.zeros((resamples, *strata.shape), dtype=np.int64)
    for s, cells in enumerate(strata):
        n = int(cells.sum())
        if n:
            out[:, s] = rng.multinomial(n, cells / n, size=resamples)
    return out.reshape(resamples, *counts.shape)


def bootstrap_statistic(
    counts: Any,
    statistic: Callable[[np.ndarray], np.ndarray],
    resamples: int = 1000,
    seed: int | np.random.Generator = 0,
    *,
    stratified: bool = False,
    max_cells: int | None = None,
) -> np.ndarray:
    """``statistic`` of each bootstrap replicate of ``counts`` (:func:`bootstrap_counts`):
    the replicates of a metric, ``(resamples, ...)``, for :func:`percentile_ci`.

    ``statistic`` maps a ``(m, *counts.shape)`` batch of replicates to ``m``
    values (or ``(m, ...)`` rows). ``max_cells`` bounds memory: replicates are
    drawn ``max_cells // counts.size`` at a time from one generator (plain:
    the same replicates as one batch; stratified: other replicates, since
    the draws go stratum by stratum within each batch).

    >>> cm = np.array([[40, 10], [5, 45]])
    >>> accuracy = lambda c: np.trace(c, axis1=1, axis2=2) / c.sum(axis=(1, 2))
    >>> reps = bootstrap_statistic(cm, accuracy, resamples=2000, seed=0)
    >>> lo, hi = percentile_ci(reps)
    >>> bool(lo < 0.85 < hi), round(hi - lo, 2)
    (True, 0.14)
    """
    counts = np.asarray(counts)
    rng = np.random.default_rng(seed)
    chunk = resamples if max_cells is None else max(1, max_cells // max(1, counts.size))
    parts = [
        np.asarray(statistic(bootstrap_counts(counts, min(chunk, resamples - start), rng, stratified=stratified)))
        for start in range(0, resamples, max(1, chunk))
    ]
    return np.concatenate(parts) if parts else np.empty(0)


def percentile_ci(values: Any, level: float = LEVEL) -> tuple[float | None, float | None]:
    """The percentile interval of bootstrap replicates: the ``(1 - level) / 2``
    and ``(1 + level) / 2`` quantiles (NaN and infinite replicates dropped;
    ``(None, None)`` when none is left).

    >>> percentile_ci([1.0, 2.0, 3.0, 4.0], level=0.5)
    (1.75, 3.25)
    >>> percentile_ci([np.nan])
    (None, None)
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None, None
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)
