"""The heads every family starts from: a linear probe on frozen features, the
LP-FT head that fine-tuning starts from, and a seeded random head.

- :func:`probe_head`: logistic regression on cached features (``LinearProbe``:
  L-BFGS, ``C`` chosen by cross-validation on the rows it is given unless fixed);
  with an imbalance ``method``, the probe that method trains (its class
  weights or resampling, no post-hoc change).
- :func:`lp_ft_head`: LP-FT (Kumar et al. 2022): the probe's head on the
  *training* rows' features, so that fine-tuning does not first push the
  backbone around with a random head's gradients. The classifier's fine-tuning,
  distillation's students and any new family that fine-tunes use it.
- :func:`random_head`: ``nn.Linear`` initialised from ``seed`` (the caller's RNG untouched).

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> tuple(probe_head(X, y, 2, C=1.0).weight.shape)
    (2, 3)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


def fit_linear_probe(
    features: np.ndarray, codes: np.ndarray, n_classes: int, method: Any = None, **options: Any
) -> Any:
    """The fitted ``LinearProbe`` (``head_``, ``C_``, ``val_scores_``) with the probe ``options``
    (``C``, ``class_weight``, ``val_size``, ``seed`` ...) and, given an imbalance ``method``, the
    probe options it asks for (``method.probe_options(class_counts)``)."""
    from headstart.strategies.linear_probe import LinearProbe

    if method is not None:
        options = {**options, **method.probe_options(np.bincount(codes, minlength=n_classes))}
    return LinearProbe(**options).fit(features, codes, n_classes)


def probe_head(
    features: np.ndarray, codes: np.ndarray, n_classes: int, method: Any = None, **options: Any
) -> nn.Linear:
    """The linear probe's head ``(K, D)`` (see :func:`fit_linear_probe`)."""
    return fit_linear_probe(features, codes, n_classes, method, **options).head_


def lp_ft_head(
    backbone: Any,
    data: Any,
    codes: np.ndarray,
    n_classes: int,
    method: Any = None,
    extract_options: dict[str, Any] | None = None,
    features: np.ndarray | None = None,
    **probe_options: Any,
) -> nn.Linear:
    """The head fine-tuning starts from: a linear probe on ``backbone``'s features of the training rows
    ``data`` (extracted with ``extract_options`` through the feature cache, unless ``features`` are given)."""
    if features is None:
        from headstart.features import extract

        features = extract(backbone, data, **(extract_options or {})).features
    return probe_head(features, codes, n_classes, method, **probe_options)


def random_head(dim: int, n_classes: int, seed: int) -> nn.Linear:
    """``nn.Linear(dim, n_classes)`` drawn from ``seed`` in a forked RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Linear(dim, n_classes)
