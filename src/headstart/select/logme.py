"""LogME: the log maximum evidence of a Bayesian linear model on frozen features.

Paper: K. You, Y. Liu, J. Wang, M. Long, "LogME: Practical Assessment of
Pre-trained Models for Transfer Learning", ICML 2021.

For each class k, regress the one-hot column y = Y[:, k] on the features F
(N, D) with prior w ~ N(0, alpha^-1 I) and noise N(0, beta^-1). The log
evidence, maximised over (alpha, beta), is

    L(alpha, beta) = N/2 log beta + D/2 log alpha - N/2 log 2pi
                     - beta/2 ||F m - y||^2 - alpha/2 m^T m - 1/2 log|A|,
    A = alpha I + beta F^T F,  m = beta A^-1 F^T y,

and the maximum is found by MacKay's fixed point (Algorithm 1 of the paper):

    gamma = sum_i beta sigma_i / (alpha + beta sigma_i),
    alpha <- gamma / m^T m,   beta <- (N - gamma) / ||F m - y||^2,

where sigma_i are the eigenvalues of F^T F. LogME = mean over classes of L / N.

The speed trick: one eigendecomposition of the smaller Gram matrix (F^T F,
D x D, when N >= D; F F^T, N x N, when D > N) serves every class. With
F = U S V^T, sigma = s^2 and x = U^T y, everything the iteration needs is a
sum over the k = min(N, D) spectral components (t = alpha / beta):

    m^T m       = sum_i sigma_i x_i^2 / (t + sigma_i)^2
    ||F m - y||^2 = sum_i x_i^2 t^2 / (t + sigma_i)^2 + (||y||^2 - ||x||^2)
    log|A|      = sum_i log(alpha + beta sigma_i) + (D - k) log alpha

so one iteration costs O(k C) for all C classes at once (they iterate in
parallel as (k, C) arrays). The (D - k) log alpha term is the D - N zero
eigenvalues of F^T F when D > N (the public fixed-point code omits it; the
paper's D x D formula has it).

Regression and multi-label targets (:func:`logme_targets`): the paper's regression form regresses
the target itself (here standardised) instead of one-hot columns; a multi-label target's 0/1
columns are regressed as the one-hot columns are, and averaged the same way.

Shapes: features (N, D) float, labels (N,) any hashable values; returns a
float, higher = features more linearly predictive of the labels. Values are
typically in [-2, 2]; compare them across backbones on the same data set only.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> informative = np.eye(3)[y] @ rng.normal(size=(3, 16)) + 0.3 * rng.normal(size=(300, 16))
    >>> noise = rng.normal(size=(300, 16))
    >>> bool(logme(informative, y) > logme(noise, y))
    True
"""

from __future__ import annotations

import numpy as np

from headstart.select.registry import SCORES

TOL = 1e-5  # stop when both alpha and beta change by less than this, relatively
# Stop too when gamma (the effective number of fitted parameters) or N - gamma falls
# below BOUNDARY * N: the maximum is then at alpha -> inf (the features explain
# nothing) or beta -> inf (they interpolate the labels, possible when D >= N), the
# fixed point runs off geometrically and never meets TOL, while the evidence
# approaches a finite limit, which it is then close to.
BOUNDARY = 1e-6
# Informative features: 5-40 iterations; pure noise nears alpha -> inf slowly (100s).
MAX_ITER = 1000


def _eigh(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigendecomposition of a symmetric Gram matrix on one BLAS thread.

    LAPACK's tridiagonal reduction is a long chain of small parallel BLAS calls,
    each a barrier for OpenBLAS's threads: on a busy machine every barrier waits
    for a descheduled thread. Measured on 2 busy cores, D = 512: 3.8 s with 2
    threads, 0.035 s with 1. The O(N D^2) Gram product keeps all threads.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return np.linalg.eigh(G)


def _spectrum(F: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sigma (k,), x^2 = (U^T Y)^2 (k, C) and the residual ||Y||^2 - ||x||^2 (C,), k = min(N, D)."""
    N, D = F.shape
    y2 = (Y * Y).sum(0)
    if D > N:
        # N x N Gram: its eigenvectors are U directly.
        sigma, U = _eigh(F @ F.T)
        x2 = (U.T @ Y) ** 2
    else:
        # D x D Gram: V^T F^T Y = S U^T Y, so x_i^2 = z_i^2 / sigma_i. Components with a
        # numerically zero sigma are not in F's range: they stay in the residual term.
        sigma, V = _eigh(F.T @ F)
        z2 = (V.T @ (F.T @ Y)) ** 2
        cut = max(sigma.max(), 0.0) * max(N, D) * np.finfo(np.float64).eps
        keep = sigma > cut
        x2 = np.zeros_like(z2)
        x2[keep] = z2[keep] / sigma[keep, None]
    sigma = np.clip(sigma, 0.0, None)
    return sigma, x2, np.clip(y2 - x2.sum(0), 0.0, None)


def _evidence(
    alpha: np.ndarray, beta: np.ndarray, sigma: np.ndarray, x2: np.ndarray, res_out: np.ndarray, N: int, D: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """gamma, N - gamma, m^T m, ||F m - y||^2 and the log evidence L, each (C,), at (alpha, beta)."""
    t = alpha / beta
    s = sigma[:, None]
    denom = (t + s) ** 2
    gamma = (s / (t + s)).sum(0)
    # N - gamma without the cancellation of N - sum(...) when gamma -> N.
    n_gamma = (N - sigma.size) + (t / (t + s)).sum(0)
    m2 = (s * x2 / denom).sum(0)
    res2 = (x2 * t * t / denom).sum(0) + res_out
    logdet = np.log(alpha + beta * s).sum(0) + (D - sigma.size) * np.log(alpha)
    L = (
        D / 2 * np.log(alpha)
        + N / 2 * np.log(beta)
        - N / 2 * np.log(2 * np.pi)
        - beta / 2 * res2
        - alpha / 2 * m2
        - logdet / 2
    )
    return gamma, n_gamma, m2, res2, L


def logme_per_class(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """LogME of each class's one-hot column, (C,) in the order of ``np.unique(labels)``."""
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    Y = np.zeros((len(y), classes.size))
    Y[np.arange(len(y)), y.ravel()] = 1.0
    return logme_columns(features, Y)


def logme_targets(features: np.ndarray, targets: np.ndarray) -> float:
    """LogME for a regression target ``(N,)`` (standardised, the paper's regression form) or a
    multi-label 0/1 matrix ``(N, L)`` (the mean over its columns); higher = better.

    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(size=(200, 8)); y = F[:, 0] * 3 + 0.1 * rng.normal(size=200)
    >>> bool(logme_targets(F, y) > logme_targets(rng.normal(size=(200, 8)), y))
    True
    """
    Y = np.asarray(targets, dtype=np.float64)
    if Y.ndim == 1:
        Y = ((Y - Y.mean()) / (Y.std() or 1.0))[:, None]
    return float(logme_columns(features, Y).mean())


def logme_columns(features: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The maximum log evidence / N of regressing each column of ``Y`` (N, C) on ``features``, (C,)."""
    F = np.asarray(features, dtype=np.float64)
    N, D = F.shape
    sigma, x2, res_out = _spectrum(F, Y)

    tiny = np.finfo(np.float64).tiny
    C = Y.shape[1]
    alpha, beta = np.ones(C), np.ones(C)
    active = np.ones(C, dtype=bool)
    for _ in range(MAX_ITER):
        a, b = alpha[active], beta[active]
        gamma, n_gamma, m2, res2, _ = _evidence(a, b, sigma, x2[:, active], res_out[active], N, D)
        # gamma = 0 only for all-zero features: then alpha does not matter (log|A| = D log alpha).
        new_a = np.where(gamma > 0, gamma / np.maximum(m2, tiny), a)
        new_b = n_gamma / np.maximum(res2, tiny)
        done = (np.abs(new_a - a) <= TOL * a) & (np.abs(new_b - b) <= TOL * b)
        done |= np.minimum(gamma, n_gamma) <= BOUNDARY * N
        alpha[active], beta[active] = new_a, new_b
        active[np.flatnonzero(active)[done]] = False
        if not active.any():
            break
    return _evidence(alpha, beta, sigma, x2, res_out, N, D)[4] / N


@SCORES.register("logme", order=10, inputs="features")
def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME of ``features`` (N, D) for classification ``labels`` (N,); higher = better.

    The mean over classes of each one-hot column's maximum log evidence divided
    by N, as in the paper's reference code. See the module docstring.

    >>> X = np.array([[0.0, 1], [0.1, 1], [1, 0], [1, 0.1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> round(logme(X, y), 3)
    0.077
    """
    return float(logme_per_class(features, labels).mean())
