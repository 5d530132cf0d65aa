"""H-score with a shrunk feature covariance.

Papers: Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir, L. Guibas,
"An Information-Theoretic Approach to Transferability in Task Transfer
Learning", ICIP 2019 (the H-score); S. Ibrahim, N. Ponomareva, R. Mazumder,
"Newer is not always better: Rethinking transferability metrics, their
peculiarities, stability and performance", ECML-PKDD 2022 (the shrinkage).

    H(f) = tr( cov(f)^-1 cov(E[f | y]) )

the between-class covariance measured in the metric of the feature
covariance: how far apart the class means lie relative to the spread of the
features (a multi-class Fisher criterion). With D close to or above N the
empirical cov(f) is ill-conditioned or singular and H explodes; Ibrahim et
al. replace it by the Ledoit-Wolf estimate with shrinkage alpha,

    cov_alpha(f) = (1 - alpha) cov(f) + alpha (tr cov(f) / D) I,
    H_alpha(f)  = tr( cov_alpha(f)^-1 (1 - alpha) cov(E[f | y]) ).

Shapes: features (N, D) float, labels (N,) any hashable values; returns a
float >= 0, higher = better.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> separable = 3.0 * np.eye(3)[y] @ rng.normal(size=(3, 8)) + rng.normal(size=(300, 8))
    >>> bool(hscore(separable, y) > hscore(rng.normal(size=(300, 8)), y))
    True
"""

from __future__ import annotations

import numpy as np

from headstart.select.registry import SCORES


@SCORES.register("hscore", order=20, inputs="features")
def hscore(features: np.ndarray, labels: np.ndarray) -> float:
    """Shrinkage H-score of ``features`` (N, D) for ``labels`` (N,); higher = better.

    >>> X = np.array([[0.0, 1], [0.1, 1], [1, 0], [1, 0.1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> round(hscore(X, y), 3)
    0.993
    """
    from sklearn.covariance import ledoit_wolf

    f = np.asarray(features, dtype=np.float64)
    f = f - f.mean(0)
    _, y = np.unique(np.asarray(labels), return_inverse=True)
    y = y.ravel()
    cov_f, alpha = ledoit_wolf(f, assume_centered=True)
    # E[f | y] for each row: the mean of its class (f is centred, so g is too).
    onehot = np.eye(int(y.max()) + 1)[y]  # (N, C)
    counts = onehot.sum(0)
    means = (onehot.T @ f) / counts[:, None]  # (C, D)
    # tr(cov_f^-1 cov_g) with cov_g = sum_c w_c mu_c mu_c^T (w_c = N_c / N): a D x C solve
    # instead of the D x D product.
    weights = counts / f.shape[0]
    try:
        solved = np.linalg.solve(cov_f, means.T)
    except np.linalg.LinAlgError:  # singular: no shrinkage and rank-deficient features
        solved = np.linalg.pinv(cov_f, hermitian=True) @ means.T
    return float((1.0 - alpha) * np.einsum("c,dc,cd->", weights, solved, means))
