"""A literal, per-class LogME straight from Algorithm 1 of You et al. (ICML 2021).

Kept deliberately naive, as the yardstick for ``headstart.select.logme``: every
class gets its own F^T F and its own SVD, the fixed point uses the "improved"
m = beta V Lambda^-1 V^T F^T y of the paper, and the evidence is Eq. 2 with the
full D x D log-determinant. Same stopping rule as ours (relative change of both
alpha and beta <= 1e-5, or gamma or N - gamma <= 1e-6 N: the optimum is on a
boundary, alpha or beta -> inf; at most 1000 iterations) so that timings are fair.
F^T y, loop-invariant, is computed once per class.
Used by tests/test_select_scores.py and benchmarks/logme_speed.py.
"""

from __future__ import annotations

import math

import numpy as np

TOL = 1e-5
BOUNDARY = 1e-6
MAX_ITER = 1000


def evidence(F: np.ndarray, y: np.ndarray, alpha: float, beta: float, V: np.ndarray, sigma: np.ndarray) -> float:
    """Eq. 2: log p(y | F, alpha, beta), with m and A at this (alpha, beta)."""
    N, D = F.shape
    m = beta * (V @ ((V.T @ (F.T @ y)) / (alpha + beta * sigma)))
    logdet_A = float(np.sum(np.log(alpha + beta * sigma)))
    return (
        N / 2 * math.log(beta)
        + D / 2 * math.log(alpha)
        - N / 2 * math.log(2 * math.pi)
        - beta / 2 * float(np.sum((F @ m - y) ** 2))
        - alpha / 2 * float(m @ m)
        - logdet_A / 2
    )


def logme_literal(features: np.ndarray, labels: np.ndarray) -> float:
    F = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    N, D = F.shape
    scores = []
    for k in np.unique(labels):
        y = (labels == k).astype(np.float64)
        # SVD of F^T F = V diag(sigma) V^T (D x D), per class.
        V, sigma, _ = np.linalg.svd(F.T @ F)
        Fty = F.T @ y
        alpha, beta = 1.0, 1.0
        for _ in range(MAX_ITER):
            gamma = float(np.sum(beta * sigma / (alpha + beta * sigma)))
            m = beta * (V @ ((V.T @ Fty) / (alpha + beta * sigma)))
            new_alpha = gamma / float(m @ m)
            new_beta = (N - gamma) / float(np.sum((F @ m - y) ** 2))
            converged = abs(new_alpha - alpha) <= TOL * alpha and abs(new_beta - beta) <= TOL * beta
            converged = converged or min(gamma, N - gamma) <= BOUNDARY * N
            alpha, beta = new_alpha, new_beta
            if converged:
                break
        scores.append(evidence(F, y, alpha, beta, V, sigma) / N)
    return float(np.mean(scores))
