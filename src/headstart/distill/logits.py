"""Logit distillation: match the teacher's softened class probabilities.

Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network", 2015
(https://arxiv.org/abs/1503.02531).

With student logits ``z_s``, teacher logits ``z_t`` ``(B, K)``, temperature
``T`` and weight ``alpha``::

    L = (1 - alpha) * CE(z_s, y)  +  alpha * T^2 * KL( softmax(z_t / T) || softmax(z_s / T) )

The ``T^2`` factor keeps the soft term's gradients on the scale of the hard
term's when ``T`` changes (the gradient of the softened KL shrinks as
``1 / T^2``). The KL is averaged over the rows of the batch; the
cross-entropy over its labelled rows (an unlabelled transfer set adds rows to
the second term only).

    >>> import torch
    >>> from headstart.distill import LogitKD, Outputs
    >>> s = Outputs(torch.randn(8, 3), torch.randn(8, 16))   # logits (B, K), features (B, D)
    >>> t = Outputs(torch.randn(8, 3), torch.randn(8, 16))
    >>> LogitKD(temperature=4.0, alpha=0.5)(s, t, torch.zeros(8, dtype=torch.long)).shape
    torch.Size([])
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F

from headstart.distill.base import DistillLoss, Outputs, hard_loss
from headstart.distill.registry import METHODS
from headstart.errors import HeadstartError


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * KL(softmax(z_t/T) || softmax(z_s/T))``, averaged over the batch rows."""
    log_p_s = F.log_softmax(student_logits / temperature, dim=1)
    log_p_t = F.log_softmax(teacher_logits / temperature, dim=1)
    kl = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)
    return kl * temperature**2


@METHODS.register(order=10)
class LogitKD(DistillLoss):
    """Hinton et al.'s knowledge distillation (``--method logits``).

    Args:
        temperature: ``T`` > 0; higher spreads the teacher's probability over
            more classes (2-4 is usual; 1 = the plain probabilities).
        alpha: weight of the soft term, in [0, 1]; ``1 - alpha`` weighs the labels.

    >>> LogitKD(temperature=2.0).describe()
    'logits (T=2, alpha=0.5)'
    """

    name: ClassVar[str] = "logits"

    def __init__(self, temperature: float = 4.0, alpha: float = 0.5) -> None:
        super().__init__()
        if not temperature > 0:
            raise HeadstartError(f"{self.name}: temperature must be > 0, got {temperature}")
        if not 0 <= alpha <= 1:
            raise HeadstartError(f"{self.name}: alpha must be in [0, 1], got {alpha}")
        self.temperature = float(temperature)
        self.alpha = float(alpha)

    def forward(self, student: Outputs, teacher: Outputs, labels: torch.Tensor) -> torch.Tensor:
        soft = soft_kl(student.logits, teacher.logits, self.temperature)
        if self.alpha >= 1.0:
            return soft
        return (1.0 - self.alpha) * hard_loss(student.logits, labels) + self.alpha * soft

    def options(self) -> dict[str, float]:
        return {"temperature": self.temperature, "alpha": self.alpha}

    def describe(self) -> str:
        return f"{self.name} (T={self.temperature:g}, alpha={self.alpha:g})"
