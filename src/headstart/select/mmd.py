"""Maximum mean discrepancy (MMD) two-sample test with a permutation p-value.

Paper: Gretton, Borgwardt, Rasch, Schölkopf, Smola, "A Kernel Two-Sample Test",
JMLR 13 (2012).

The unbiased estimate of the squared MMD between samples ``X`` (m rows) and
``Y`` (n rows) under the kernel k::

    MMD_u^2 = 1/(m(m-1)) sum_{i != j} k(x_i, x_j)
            + 1/(n(n-1)) sum_{i != j} k(y_i, y_j)
            - 2/(m n)    sum_{i, j}   k(x_i, y_j)

with the Gaussian (RBF) kernel ``k(a, b) = exp(-||a - b||^2 / (2 sigma^2))`` and
``sigma`` the median distance between distinct rows of the pooled sample (the
median heuristic). It is zero in expectation when both samples come from one
distribution (and may then be slightly negative).

The p-value comes from a permutation test: the domain labels of the pooled rows
are shuffled ``permutations`` times and ``p = (1 + #{MMD_perm >= MMD_obs}) /
(1 + permutations)``. The pooled kernel matrix ``K`` ((m+n) x (m+n)) is computed
once; for a 0/1 indicator ``z`` of the rows called X, with ``r = K 1`` and
``T = 1' K 1``::

    sum_XX = z' K z,  sum_XY = z' r - z' K z,  sum_YY = T - 2 z' r + z' K z

(diagonals, all ones for the RBF kernel, are subtracted), so all permutations
are one matrix product ``K Z`` with ``Z`` of shape ((m+n), permutations).
Samples larger than ``max_rows`` per domain are randomly subsampled (seeded):
``K`` for 2 x 2,000 rows is 128 MB in float64 and 200 permutations take about a
second.

Shapes: ``source`` (N_s, D), ``target`` (N_t, D) -> :class:`MMDResult`.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> r = mmd_test(rng.normal(size=(200, 5)), rng.normal(1.0, size=(200, 5)))
>>> r.p_value < 0.01
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from headstart.errors import HeadstartError


@dataclass
class MMDResult:
    """The test's figures.

    Attributes:
        mmd2: unbiased MMD^2 estimate on the rows used.
        p_value: permutation p-value (smallest possible: 1 / (permutations + 1)).
        bandwidth: the RBF kernel's sigma (median pairwise distance).
        permutations: number of label shuffles.
        n_source, n_target: rows given; n_source_used, n_target_used: rows used.
        subsampled: whether rows were dropped to respect ``max_rows``.
        seed: seed of the subsampling and the shuffles.
    """

    mmd2: float
    p_value: float
    bandwidth: float
    permutations: int
    n_source: int
    n_target: int
    n_source_used: int
    n_target_used: int
    subsampled: bool
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_pair(source: Any, target: Any, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 feature matrices with the same width, finite, each with ``min_rows`` rows."""
    out = []
    for name, x in (("source", source), ("target", target)):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise HeadstartError(f"{name} features must be 2-D (rows, features), got shape {x.shape}")
        if len(x) < min_rows:
            raise HeadstartError(f"{name} features have {len(x)} rows: need at least {min_rows}")
        if not np.isfinite(x).all():
            r = int(np.argwhere(~np.isfinite(x))[0][0])
            raise HeadstartError(f"{name} features have NaN or infinite values (first at row {r + 1})")
        out.append(x)
    if out[0].shape[1] != out[1].shape[1]:
        raise HeadstartError(f"source features are {out[0].shape[1]}-d but target features {out[1].shape[1]}-d")
    return out[0], out[1]


def subsample(x: np.ndarray, max_rows: int | None, rng: np.random.Generator) -> np.ndarray:
    """At most ``max_rows`` random rows of ``x`` (original order kept)."""
    if max_rows is None or len(x) <= max_rows:
        return x
    return x[np.sort(rng.choice(len(x), size=max_rows, replace=False))]


def squared_distances(z: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances ``(N, N)`` of the rows of ``z`` (clipped at 0)."""
    sq = np.einsum("ij,ij->i", z, z)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def mmd_test(
    source: Any,
    target: Any,
    permutations: int = 200,
    seed: int = 0,
    max_rows: int | None = 2000,
) -> MMDResult:
    """Unbiased RBF-kernel MMD^2 between ``source`` (N_s, D) and ``target`` (N_t, D)
    and its permutation p-value (see the module docstring)."""
    x, y = check_pair(source, target)
    if permutations < 1:
        raise HeadstartError(f"permutations must be at least 1, got {permutations}")
    if max_rows is not None and max_rows < 2:
        raise HeadstartError(f"max_rows must be at least 2, got {max_rows}")
    rng = np.random.default_rng(seed)
    xs, ys = subsample(x, max_rows, rng), subsample(y, max_rows, rng)
    m, n = len(xs), len(ys)
    pooled = np.concatenate([xs, ys])
    # Centre for numerical accuracy of ||a||^2 + ||b||^2 - 2 a.b (distances are unchanged).
    pooled -= pooled.mean(axis=0)
    d2 = squared_distances(pooled)
    upper = d2[np.triu(np.ones((m + n, m + n), dtype=bool), k=1)]  # each pair once
    sigma2 = float(np.median(upper))
    if sigma2 <= 0.0:  # over half the pairs coincide: fall back to the mean distance
        sigma2 = float(upper.mean())
    if sigma2 <= 0.0:  # every row identical: no discrepancy to measure
        return MMDResult(0.0, 1.0, 0.0, permutations, len(x), len(y), m, n, m < len(x) or n < len(y), seed)
    kernel = np.exp(d2 / (-2.0 * sigma2), out=d2)  # in place: one (N, N) matrix in memory
    del upper

    row_sums = kernel.sum(axis=1)
    total = float(row_sums.sum())

    def stat(z: np.ndarray) -> np.ndarray:
        """MMD_u^2 for each column of the 0/1 indicator matrix ``z`` (N, P) of the X rows."""
        zkz = np.einsum("ip,ip->p", z, kernel @ z)
        zr = z.T @ row_sums
        xx = (zkz - m) / (m * (m - 1))  # the diagonal k(x, x) = 1 dropped
        yy = (total - 2.0 * zr + zkz - n) / (n * (n - 1))
        xy = (zr - zkz) / (m * n)
        return xx + yy - 2.0 * xy

    observed = float(stat(np.r_[np.ones(m), np.zeros(n)][:, None])[0])
    exceed, done = 0, 0
    while done < permutations:  # chunks of 100 keep Z and K Z small
        p = min(100, permutations - done)
        # Column j marks m random rows as "source": the first m of a random ordering.
        picks = np.argsort(rng.random((p, m + n)), axis=1)[:, :m]
        z = np.zeros((m + n, p))
        z[picks, np.arange(p)[:, None]] = 1.0
        exceed += int(np.sum(stat(z) >= observed - 1e-12))
        done += p
    return MMDResult(
        mmd2=observed,
        p_value=(1 + exceed) / (1 + permutations),
        bandwidth=float(np.sqrt(sigma2)),
        permutations=permutations,
        n_source=len(x),
        n_target=len(y),
        n_source_used=m,
        n_target_used=n,
        subsampled=m < len(x) or n < len(y),
        seed=seed,
    )
