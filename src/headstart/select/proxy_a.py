"""Proxy A-distance: how well a classifier tells the two domains apart.

Papers: Ben-David, Blitzer, Crammer, Pereira, "Analysis of Representations for
Domain Adaptation", NIPS 2006; Ganin et al., "Domain-Adversarial Training of
Neural Networks", JMLR 17 (2016), section 5.1.4 (the same figure on features).

A domain classifier (standardised features -> logistic regression) learns
source (0) vs target (1) on a balanced sample of ``n = min(N_s, N_t, max_rows)``
rows of each domain; its stratified k-fold cross-validated error ``err`` gives::

    PAD = 2 (1 - 2 err)

0 when the domains are indistinguishable (err = 0.5; sampling noise can make it
slightly negative), 2 when they are perfectly separable (err = 0).

Shapes: ``source`` (N_s, D), ``target`` (N_t, D) -> :class:`PADResult`.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> proxy_a_distance(rng.normal(size=(200, 5)), rng.normal(3.0, size=(200, 5))).pad > 1.9
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from headstart.errors import HeadstartError
from headstart.select.mmd import check_pair


@dataclass
class PADResult:
    """The domain classifier's figures.

    Attributes:
        pad: proxy A-distance, ``2 (1 - 2 error)``.
        error: cross-validated misclassification rate of the domain classifier.
        folds: number of cross-validation folds.
        n_per_domain: rows of each domain used (balanced).
        subsampled: whether rows were dropped to balance or to respect ``max_rows``.
        seed: seed of the sample and the folds.
    """

    pad: float
    error: float
    folds: int
    n_per_domain: int
    subsampled: bool
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def proxy_a_distance(
    source: Any,
    target: Any,
    folds: int = 5,
    seed: int = 0,
    max_rows: int | None = 2000,
    C: float = 1.0,
) -> PADResult:
    """Proxy A-distance between ``source`` (N_s, D) and ``target`` (N_t, D) from a
    cross-validated logistic-regression domain classifier (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if folds < 2:
        raise HeadstartError(f"folds must be at least 2, got {folds}")
    x, y = check_pair(source, target, min_rows=folds)
    n = min(len(x), len(y), max_rows if max_rows is not None else len(x))
    if n < folds:
        raise HeadstartError(f"max_rows={max_rows} leaves fewer rows per domain than the {folds} folds")
    rng = np.random.default_rng(seed)
    xs = x[np.sort(rng.choice(len(x), size=n, replace=False))]
    ys = y[np.sort(rng.choice(len(y), size=n, replace=False))]
    features = np.concatenate([xs, ys]).astype(np.float32)
    domain = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # Out-of-fold predictions: every row is judged by a classifier that never saw it.
    predicted = cross_val_predict(clf, features, domain, cv=cv)
    error = float(np.mean(predicted != domain))
    return PADResult(
        pad=2.0 * (1.0 - 2.0 * error),
        error=error,
        folds=folds,
        n_per_domain=n,
        subsampled=n < len(x) or n < len(y),
        seed=seed,
    )
