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

A regression or multi-label teacher (:func:`soft_loss`) has no softmax to soften
and no temperature: the student matches a regression teacher's output by MSE (both
on the standardised target), and each label's probability ``sigmoid(z_t)`` by
binary cross-entropy on those soft targets; the hard term is MSE or BCE on the
true targets::

    L = (1 - alpha) * MSE(z_s, y) + alpha * MSE(z_s, z_t)                            (regression)
    L = (1 - alpha) * BCE(z_s, y) + alpha * BCE(z_s, sigmoid(z_t))                  (multi-label)

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


def soft_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float, task: str = "classification"
) -> torch.Tensor:
    """The teacher term of ``task``: :func:`soft_kl` of class logits at ``temperature``; a regression's
    MSE between the (standardised) outputs; multi-label: BCE of the student's logits against the
    teacher's per-label probabilities (mean over rows and labels). The last two take no temperature."""
    if task == "regression":
        return F.mse_loss(student_logits[:, 0].float(), teacher_logits[:, 0].float())
    if task == "multilabel":
        return F.binary_cross_entropy_with_logits(student_logits.float(), torch.sigmoid(teacher_logits.float()))
    return soft_kl(student_logits, teacher_logits, temperature)


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
        soft = soft_loss(student.logits, teacher.logits, self.temperature, self.task)
        if self.alpha >= 1.0:
            return soft
        return (1.0 - self.alpha) * hard_loss(student.logits, labels) + self.alpha * soft

    def options(self) -> dict[str, float]:
        if self.task != "classification":  # no softmax: no temperature (soft_loss)
            return {"alpha": self.alpha}
        return {"temperature": self.temperature, "alpha": self.alpha}

    def describe(self) -> str:
        if self.task == "regression":
            return f"{self.name} (alpha={self.alpha:g}; MSE on the teacher's standardised outputs)"
        if self.task == "multilabel":
            return f"{self.name} (alpha={self.alpha:g}; BCE on the teacher's per-label probabilities)"
        return f"{self.name} (T={self.temperature:g}, alpha={self.alpha:g})"
