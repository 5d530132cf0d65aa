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
- :func:`ridge_probe` (regression): ridge regression on standardised features and a standardised
  target, the penalty chosen by efficient leave-one-out cross-validation on the rows it is given
  (scikit-learn's ``RidgeCV``); its head predicts the standardised target, and
  :func:`unstandardise` folds the target's mean and SD back into a head.
- :func:`multilabel_probe`: one binary linear probe per label (``LinearProbe``, ``C`` chosen by
  cross-validation per label), one logit per label; :func:`tune_thresholds` picks each label's
  decision threshold on validation rows (best F1).

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


# Ridge penalties searched (on standardised features and target): 1e-3 .. 1e5, half-decades.
RIDGE_ALPHAS: tuple[float, ...] = tuple(10 ** (e / 2) for e in range(-6, 11))


def ridge_probe(features: np.ndarray, y: np.ndarray) -> tuple[nn.Linear, dict[str, float]]:
    """Ridge regression of ``y`` on ``features`` with the penalty chosen by leave-one-out
    cross-validation on these rows (``RidgeCV``, generalised CV); features and target standardised.
    Returns the head ``(1, D)`` acting on raw features and predicting the *standardised* target, and
    ``{"alpha", "mean", "std"}`` (the target's mean and SD: :func:`unstandardise` folds them in)."""
    from sklearn.linear_model import RidgeCV

    X = np.asarray(features, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean, std = float(y.mean()), float(y.std()) or 1.0
    mu, sd = X.mean(0), X.std(0)
    # A column that is constant up to rounding (sd ~1e-30 on MiniLM's features) must not be blown
    # up to unit scale: its weight would come back divided by that sd (1e30), and fine-tuning from
    # such a head cannot move. Columns under 1e-6 of the largest sd are left unscaled (weight ~0).
    sd = np.where(sd > 1e-6 * max(float(sd.max()), 1e-300), sd, 1.0)
    model = RidgeCV(alphas=RIDGE_ALPHAS).fit((X - mu) / sd, (y - mean) / std)
    w = model.coef_ / sd
    head = nn.Linear(X.shape[1], 1)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(w[None, :], dtype=torch.float32))
        head.bias.fill_(float(model.intercept_ - (mu / sd) @ model.coef_))
    return head, {"alpha": float(model.alpha_), "mean": mean, "std": std}


def unstandardise(head: nn.Linear, mean: float, std: float) -> nn.Linear:
    """A copy of ``head`` (predicting ``(y - mean) / std``) that predicts ``y``: the weights times
    ``std``, the bias times ``std`` plus ``mean`` (exact: the head is linear)."""
    out = nn.Linear(head.in_features, head.out_features)
    with torch.no_grad():
        out.weight.copy_(head.weight * std)
        out.bias.copy_(head.bias * std + mean)
    return out


def standardise(head: nn.Linear, mean: float, std: float) -> nn.Linear:
    """A copy of ``head`` (predicting ``y``) that predicts ``(y - mean) / std``: the inverse of
    :func:`unstandardise` (a regression teacher's outputs on its student's training scale)."""
    out = nn.Linear(head.in_features, head.out_features)
    with torch.no_grad():
        out.weight.copy_(head.weight / std)
        out.bias.copy_((head.bias - mean) / std)
    return out


def multilabel_probe(features: np.ndarray, matrix: np.ndarray, C: Any = None, **options: Any) -> tuple[nn.Linear, list]:
    """One binary ``LinearProbe`` per label column of the 0/1 ``matrix`` (``C`` one value, one per
    label, or ``None``: chosen per label by cross-validation); the head ``(L, D)`` gives each label's
    logit. Returns the head and the ``C`` of each label."""
    from headstart.strategies.linear_probe import LinearProbe

    n_labels = matrix.shape[1]
    Cs = list(C) if isinstance(C, (list, tuple)) else [C] * n_labels
    head = nn.Linear(features.shape[1], n_labels)
    chosen = []
    for k in range(n_labels):
        probe = LinearProbe(C=Cs[k], **options).fit(features, matrix[:, k].astype(np.int64), 2)
        with torch.no_grad():  # the softmax head's logit difference is the binary logit
            head.weight[k] = probe.head_.weight[1] - probe.head_.weight[0]
            head.bias[k] = probe.head_.bias[1] - probe.head_.bias[0]
        chosen.append(float(probe.C_))
    return head, chosen


def tune_thresholds(probabilities: np.ndarray, matrix: np.ndarray) -> list[float]:
    """Each label's threshold on its probability that gives the best F1 on these (validation) rows;
    ties go to the threshold nearest 0.5, and a label without a positive row keeps 0.5.

    >>> tune_thresholds(np.array([[0.2], [0.4], [0.9]]), np.array([[0], [1], [1]]))
    [0.4]
    """
    out = []
    for k in range(matrix.shape[1]):
        p, t = probabilities[:, k], matrix[:, k].astype(bool)
        if not t.any():
            out.append(0.5)
            continue
        candidates = np.unique(np.concatenate([p, [0.5]]))
        f1 = [2 * (t & (p >= c)).sum() / (t.sum() + (p >= c).sum()) for c in candidates]
        best = max(f1)
        ties = candidates[np.isclose(f1, best)]
        out.append(float(ties[np.argmin(np.abs(ties - 0.5))]))
    return out
