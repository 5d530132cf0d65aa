"""``focal``: focal loss (Lin et al., "Focal Loss for Dense Object Detection",
ICCV 2017).

Cross-entropy scaled down on rows the model already gets right, so the many
easy majority-class rows stop dominating the gradient:

    FL(p_t) = - alpha_{y} (1 - p_t)^gamma log p_t,     p_t = softmax(z)_y

averaged over the rows. ``gamma = 0`` is cross-entropy; the paper uses
``gamma = 2``. ``alpha`` is ``None`` (1 for every class), ``"balanced"`` or
``"effective"`` (the class weights of ``weighted`` / ``effective``).
Shapes: logits ``(B, K)``, labels ``(B,)`` -> scalar.

Example:
    >>> import torch
    >>> FocalLoss(gamma=2.0)(torch.tensor([[2.0, 0.0]]), torch.tensor([0])).item() < 0.02
    True
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
from headstart.imbalance.weighted import class_weights


def focal_term(log_p: torch.Tensor, gamma: float) -> torch.Tensor:
    """``-(1 - p)^gamma log p`` of the log-probabilities ``log_p`` of the true outcome, elementwise: the
    focal loss of each row (softmax, :class:`FocalLoss`) or of each label (sigmoid,
    :mod:`headstart.imbalance.multilabel.focal`; ASL's negative term too).

    >>> round(float(focal_term(torch.log(torch.tensor(0.5)), 2.0)), 4)  # log 2 * (1 - 0.5)^2
    0.1733
    """
    return -((1.0 - log_p.exp()).clamp_min(0) ** gamma) * log_p


class FocalLoss(nn.Module):
    def __init__(self, gamma: float = 2.0, weight: np.ndarray | None = None) -> None:
        super().__init__()
        if gamma < 0:
            raise HeadstartError(f"focal gamma must be >= 0, got {gamma}")
        self.gamma = gamma
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits, dim=1).gather(1, labels[:, None]).squeeze(1)
        loss = focal_term(log_p, self.gamma)
        if self.weight is not None:
            loss = loss * self.weight.to(logits.device)[labels]
        return loss.mean()


@METHODS.register(order=30)
@dataclass
class Focal(Method):
    """focal loss (Lin et al. 2017): cross-entropy times (1 - p_t)^gamma

    >>> loss = Focal(gamma=2.0).loss(np.array([90, 10]))
    >>> round(float(loss(torch.zeros(1, 2), torch.tensor([0]))), 4)  # log 2 * (1 - 0.5)^2
    0.1733
    """

    gamma: float = 2.0
    alpha: str | None = None

    name: ClassVar[str] = "focal"

    def _loss(self, counts: np.ndarray) -> FocalLoss:
        weight = None if self.alpha is None else class_weights(counts, self.alpha)
        return FocalLoss(self.gamma, weight)

    def probe_options(self, counts: np.ndarray) -> dict[str, Any]:
        return {"loss": self._loss(counts), "scoring": SCORING}

    def loss(self, counts: np.ndarray) -> nn.Module:
        return self._loss(counts)
