"""``bce``: binary cross-entropy with logits per label, the positive terms weighted by ``pos_weight``.

    L = mean_{b, l}  -[ w_l y log sigmoid(z) + (1 - y) log(1 - sigmoid(z)) ]

``pos_weight``: ``None`` (every ``w_l = 1``) or one number per label (the task option
``pos_weight=balanced`` resolves to negatives / positives of each label's training rows before
the loss is built: :func:`headstart.train.tasks.positive_weights`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from headstart.imbalance.multilabel.base import MultilabelLoss
from headstart.imbalance.multilabel.registry import LOSSES
from headstart.train.tasks import multilabel_loss


@LOSSES.register(order=10)
class BCE(MultilabelLoss):
    """binary cross-entropy per label, optionally weighting the positives (the default)

    >>> import torch
    >>> round(BCE()(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])).item(), 4)  # log 2
    0.6931
    >>> round(BCE(pos_weight=[3.0, 1.0])(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])).item(), 4)  # 2 log 2
    1.3863
    """

    name: ClassVar[str] = "bce"

    def __init__(self, pos_weight: Any = None) -> None:
        super().__init__()
        self.pos_weight = None if pos_weight is None else np.asarray(pos_weight, dtype=np.float64).reshape(-1)
        self._loss = multilabel_loss(self.pos_weight)

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self._loss(logits, y)

    def options(self) -> dict[str, Any]:
        return {"pos_weight": None if self.pos_weight is None else self.pos_weight.tolist()}

    def describe(self) -> str:
        return self.name if self.pos_weight is None else f"{self.name} (positive weights per label)"
