"""Feature distillation with a learned projection (hints).

Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015
(https://arxiv.org/abs/1412.6550).

The student's pooled features ``f_s`` ``(B, D_s)`` are mapped by a learned
linear regressor ``W`` ``(D_t x D_s)`` onto the teacher's ``f_t`` ``(B, D_t)``
and the squared error is added to logit distillation::

    L = L_KD(z_s, z_t, y)  +  beta * mean_b ||W f_s - f_t||^2 / mean_b ||f_t||^2

Dividing by the teacher features' mean energy makes ``beta`` independent of
their scale (sentence encoders emit unit vectors, CNNs features of norm ~10).
FitNets trains the hint first and the logits after; here both terms train
together, from the first step (simpler, and the usual practice since). The hint
is the last pooled embedding (the head's input): the one layer every backbone
has, whatever its widths. ``W`` starts as the identity when ``D_s = D_t``
(a truncated copy of the teacher is already aligned).

    >>> from headstart.distill import FeatureKD
    >>> loss = FeatureKD(beta=1.0)
    >>> loss.setup(student_dim=384, teacher_dim=768)
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from headstart.distill.base import Outputs
from headstart.distill.logits import LogitKD
from headstart.distill.registry import METHODS
from headstart.errors import HeadstartError


@METHODS.register(order=20)
class FeatureKD(LogitKD):
    """FitNets-style hint loss + logit distillation (``--method features``).

    Args:
        temperature, alpha: the logit term's (see :class:`LogitKD`).
        beta: weight of the hint term (>= 0).

    >>> FeatureKD(beta=0.5).options()
    {'temperature': 4.0, 'alpha': 0.5, 'beta': 0.5}
    """

    name: ClassVar[str] = "features"

    def __init__(self, temperature: float = 4.0, alpha: float = 0.5, beta: float = 1.0) -> None:
        super().__init__(temperature, alpha)
        if not beta >= 0:
            raise HeadstartError(f"{self.name}: beta must be >= 0, got {beta}")
        self.beta = float(beta)
        self.projection: nn.Linear | None = None

    def setup(self, student_dim: int, teacher_dim: int) -> None:
        self.projection = nn.Linear(student_dim, teacher_dim)
        if student_dim == teacher_dim:
            with torch.no_grad():
                self.projection.weight.copy_(torch.eye(student_dim))
                self.projection.bias.zero_()

    def project(self, features: torch.Tensor) -> torch.Tensor:
        if self.projection is None:
            raise RuntimeError("FeatureKD.setup() was not called")
        return self.projection(features)

    def forward(self, student: Outputs, teacher: Outputs, labels: torch.Tensor) -> torch.Tensor:
        energy = teacher.features.pow(2).sum(1).mean().clamp_min(1e-12)
        hint = (student.features - teacher.features).pow(2).sum(1).mean() / energy
        return super().forward(student, teacher, labels) + self.beta * hint

    def options(self) -> dict[str, Any]:
        return {**super().options(), "beta": self.beta}

    def describe(self) -> str:
        logit = super().describe().split(" (", 1)[1].rstrip(")")
        return f"{self.name} ({logit}, beta={self.beta:g}, learned projection)"
