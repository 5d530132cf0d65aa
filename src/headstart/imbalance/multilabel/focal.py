"""``focal``: the sigmoid focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017,
https://arxiv.org/abs/1708.02002), each label a binary problem.

Cross-entropy scaled down where the model is already right, so the many easy (mostly negative)
labels stop dominating the gradient; ``alpha`` weighs the positive terms and ``1 - alpha`` the
negative ones::

    p_t = p if y = 1 else 1 - p,   p = sigmoid(z);   a_t = alpha if y = 1 else 1 - alpha
    L   = mean_{b, l}  -a_t (1 - p_t)^gamma log(p_t)

The paper's defaults: ``gamma = 2``, ``alpha = 0.25``; ``alpha = None`` weighs both alike and
``gamma = 0``, ``alpha = None`` is BCE. The focusing term is the classification ``focal``'s
(:func:`headstart.imbalance.focal.focal_term`), on each label's sigmoid instead of the softmax.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from headstart.errors import HeadstartError
from headstart.imbalance.focal import focal_term
from headstart.imbalance.multilabel.base import MultilabelLoss
from headstart.imbalance.multilabel.registry import LOSSES


@LOSSES.register(order=30)
class SigmoidFocal(MultilabelLoss):
    """sigmoid focal loss (Lin et al. 2017): per-label cross-entropy times (1 - p_t)^gamma, positives weighted by alpha

    >>> import torch
    >>> round(SigmoidFocal(gamma=2.0, alpha=None)(torch.zeros(1, 1), torch.ones(1, 1)).item(), 4)  # log 2 / 4
    0.1733
    """

    name: ClassVar[str] = "focal"

    def __init__(self, gamma: float = 2.0, alpha: float | None = 0.25) -> None:
        super().__init__()
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0:
            raise HeadstartError(f"{self.name} loss: gamma must be a number >= 0, got {gamma!r}")
        number = not isinstance(alpha, bool) and isinstance(alpha, (int, float))
        if alpha is not None and not (number and 0 <= alpha <= 1):
            raise HeadstartError(f"{self.name} loss: alpha must be None or a number in [0, 1], got {alpha!r}")
        self.gamma, self.alpha = float(gamma), None if alpha is None else float(alpha)

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        z, y = logits.float(), y.float()
        log_p_t = torch.where(y > 0.5, F.logsigmoid(z), F.logsigmoid(-z))
        loss = focal_term(log_p_t, self.gamma)
        if self.alpha is not None:
            loss = loss * torch.where(y > 0.5, self.alpha, 1.0 - self.alpha)
        return loss.mean()

    def options(self) -> dict[str, Any]:
        return {"gamma": self.gamma, "alpha": self.alpha}
