"""CORAL distance: how far apart the two domains' feature covariances are.

Paper: Sun & Saenko, "Deep CORAL: Correlation Alignment for Deep Domain
Adaptation", ECCV 2016 Workshops (the CORAL loss, eq. 1).

With ``C_s`` and ``C_t`` the (unbiased, N - 1) covariance matrices of the source
and target features and ``d`` the feature dimension::

    CORAL = ||C_s - C_t||_F^2 / (4 d^2)

It is 0 for identical second-order statistics and, unlike MMD and the proxy
A-distance, it is in the features' own units (squared): compare it between
data sets under one backbone, not across backbones.

Shapes: ``source`` (N_s, D), ``target`` (N_t, D) -> float.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(100, 4))
>>> round(coral_distance(x, x + 5.0), 12)  # a mean shift leaves the covariances equal
0.0
>>> coral_distance(x, 2.0 * x) > 0.1  # a change of scale does not
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from headstart.select.mmd import check_pair


def covariance(x: np.ndarray) -> np.ndarray:
    """The ``(D, D)`` unbiased covariance of the rows of ``x`` (N, D)."""
    centred = x - x.mean(axis=0)
    return centred.T @ centred / (len(x) - 1)


def coral_distance(source: Any, target: Any) -> float:
    """``||C_s - C_t||_F^2 / (4 d^2)`` for ``source`` (N_s, D) and ``target`` (N_t, D)."""
    x, y = check_pair(source, target)
    d = x.shape[1]
    diff = covariance(x) - covariance(y)
    return float(np.sum(diff * diff) / (4.0 * d * d))
