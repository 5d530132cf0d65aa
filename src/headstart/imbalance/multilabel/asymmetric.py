"""``asymmetric``: the asymmetric loss, ASL (Ridnik et al., "Asymmetric Loss For Multi-Label
Classification", ICCV 2021, https://arxiv.org/abs/2009.14119).

Most labels are absent from most rows, so the many easy negatives dominate BCE's gradient. ASL
focuses the positive and the negative terms apart, and shifts the negatives' probability by a
margin ``m`` (``clip``) so that a negative already below ``m`` adds nothing (hard thresholding of
the easy negatives; it also discards negatives that may be mislabelled positives less than BCE)::

    L+ = (1 - p)^gamma_pos log(p)
    L- = p_m^gamma_neg log(1 - p_m),      p_m = max(p - m, 0),   p = sigmoid(z)
    L  = mean_{b, l}  -[ y L+ + (1 - y) L- ]

The paper's defaults: ``gamma_neg = 4``, ``gamma_pos = 0``, ``clip = 0.05``. ``gamma_neg =
gamma_pos = 0``, ``clip = 0`` is BCE. Both terms are :func:`headstart.imbalance.focal.focal_term`
of the log-probability of the true outcome (``log(1 - p_m)`` for a negative). The paper sums over
rows and labels; this takes the mean (BCE's scale, so one learning rate serves both).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from headstart.errors import HeadstartError
from headstart.imbalance.focal import focal_term
from headstart.imbalance.multilabel.base import MultilabelLoss
from headstart.imbalance.multilabel.registry import LOSSES

EPS = 1e-8  # floor of 1 - p_m under the log (the reference implementation's)


@LOSSES.register(order=20)
class AsymmetricLoss(MultilabelLoss):
    """asymmetric loss, ASL (Ridnik et al. 2021): positives and negatives focused apart, easy negatives clipped

    >>> import torch
    >>> loss = AsymmetricLoss(gamma_neg=0, gamma_pos=0, clip=0)  # = BCE
    >>> round(loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])).item(), 4)
    0.6931
    """

    name: ClassVar[str] = "asymmetric"

    def __init__(self, gamma_neg: float = 4.0, gamma_pos: float = 0.0, clip: float = 0.05) -> None:
        super().__init__()
        for key, value in (("gamma_neg", gamma_neg), ("gamma_pos", gamma_pos)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise HeadstartError(f"{self.name} loss: {key} must be a number >= 0, got {value!r}")
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not 0 <= clip < 1:
            raise HeadstartError(f"{self.name} loss: clip must be a number in [0, 1), got {clip!r}")
        self.gamma_neg, self.gamma_pos, self.clip = float(gamma_neg), float(gamma_pos), float(clip)

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        z, y = logits.float(), y.float()
        positive = focal_term(F.logsigmoid(z), self.gamma_pos)
        if self.clip > 0:
            shifted = (torch.sigmoid(z) - self.clip).clamp_min(0)
            log_q = torch.log((1.0 - shifted).clamp_min(EPS))
        else:
            log_q = F.logsigmoid(-z)
        negative = focal_term(log_q, self.gamma_neg)
        return (y * positive + (1.0 - y) * negative).mean()

    def options(self) -> dict[str, Any]:
        return {"gamma_neg": self.gamma_neg, "gamma_pos": self.gamma_pos, "clip": self.clip}
