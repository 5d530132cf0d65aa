"""``weighted``: class-weighted cross-entropy, weights inversely proportional to
class frequency (scikit-learn's ``"balanced"``, King & Zeng 2001).

    w_c = n / (K n_c),        loss = sum_i w_{y_i} CE(z_i, y_i) / sum_i w_{y_i}

so every class carries the same total weight. The weights are scaled so that
the mean weight of a training row is 1, which keeps the probe's ``C`` on the
same scale as unweighted training. Shapes: logits ``(B, K)``, labels ``(B,)``.

Example:
    >>> import numpy as np
    >>> class_weights(np.array([90, 10]))
    array([0.55555556, 5.        ])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from headstart.errors import HeadstartError
from headstart.imbalance.base import SCORING, Method
from headstart.imbalance.registry import METHODS


def class_weights(counts: np.ndarray, mode: str = "balanced", beta: float = 0.999) -> np.ndarray:
    """Per-class weights ``(K,)`` from class counts: ``"balanced"`` (1 / n_c) or
    ``"effective"`` ((1 - beta) / (1 - beta^n_c), Cui et al. 2019); scaled so
    that the mean weight over the training rows is 1. Empty classes get 0."""
    counts = np.asarray(counts, dtype=np.float64)
    if mode == "balanced":
        raw = 1.0 / np.maximum(counts, 1)
    elif mode == "effective":
        if not 0 <= beta < 1:
            raise HeadstartError(f"beta must be in [0, 1), got {beta}")
        raw = (1.0 - beta) / (1.0 - beta ** np.maximum(counts, 1))
    else:
        raise HeadstartError(f"class weights must be 'balanced' or 'effective', got '{mode}'")
    raw = np.where(counts > 0, raw, 0.0)
    return raw * counts.sum() / (raw * counts).sum()


class WeightedCrossEntropy(nn.Module):
    """Cross-entropy with per-class weights (moved to the logits' device)."""

    def __init__(self, weight: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("weight", torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, labels, weight=self.weight.to(logits.device))


@METHODS.register(order=10)
@dataclass
class Weighted(Method):
    """class-weighted cross-entropy, weights n / (K n_c)

    >>> Weighted().weights(np.array([90, 10])).round(2).tolist()
    [0.56, 5.0]
    """

    name: ClassVar[str] = "weighted"
    mode: ClassVar[str] = "balanced"

    def weights(self, counts: np.ndarray) -> np.ndarray:
        return class_weights(counts, self.mode)

    def probe_options(self, counts: np.ndarray) -> dict[str, Any]:
        return {"class_weight": dict(enumerate(self.weights(counts))), "scoring": SCORING}

    def loss(self, counts: np.ndarray) -> nn.Module:
        return WeightedCrossEntropy(self.weights(counts))
