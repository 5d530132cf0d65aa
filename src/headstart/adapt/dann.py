"""``dann``: domain-adversarial training (Ganin & Lempitsky, "Unsupervised Domain
Adaptation by Backpropagation", ICML 2015; Ganin et al., "Domain-Adversarial
Training of Neural Networks", JMLR 17, 2016).

A domain discriminator ``d`` reads the features through the gradient reversal
layer ``R`` (:mod:`headstart.train.grl`):

    transfer = BCE(d(R_lambda(f_s)), 0) + BCE(d(R_lambda(f_t)), 1)

One step makes ``d`` better at telling source from target, and the features
(everything below ``R``) worse for it: domain-invariant features. ``lambda``
ramps ``2 / (1 + exp(-10 p)) - 1`` over the training progress ``p``
(:func:`~headstart.train.grl.dann_schedule`), times ``coeff``.

Shapes: ``f_s`` ``(B_s, D)``, ``f_t`` ``(B_t, D)`` -> scalar.

Example:
    >>> import torch
    >>> from headstart.adapt.dann import DANN
    >>> loss = DANN(hidden=16).build(feature_dim=8, n_classes=3)
    >>> f_s, f_t = torch.randn(6, 8, requires_grad=True), torch.randn(6, 8)
    >>> loss(f_s, f_t, torch.randn(6, 3), torch.randn(6, 3)).backward()
    >>> f_s.grad is not None
    True
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from headstart.adapt.base import DomainLoss, discriminator, domain_bce
from headstart.adapt.registry import METHODS
from headstart.errors import HeadstartError
from headstart.train.grl import GradientReversal, dann_schedule


@METHODS.register(order=20)
class DANN(DomainLoss):
    """DANN (Ganin et al. 2016): a domain discriminator behind a gradient reversal layer

    Args:
        weight: the transfer loss's weight.
        coeff: the reversal coefficient's final value (lambda's ramp ends there).
        hidden: the discriminator's hidden width.
        schedule: ramp lambda from 0 (True, Ganin et al.) or hold it at ``coeff``.
        lr: the discriminator's learning rate (default: the head's).

    >>> DANN(coeff=0.5).build(feature_dim=8, n_classes=2).coeff
    0.5
    """

    name: ClassVar[str] = "dann"
    has_parameters: ClassVar[bool] = True

    def __init__(
        self, weight: float = 1.0, coeff: float = 1.0, hidden: int = 500, schedule: bool = True, lr: float | None = None
    ) -> None:
        super().__init__(weight, lr)
        if coeff < 0 or hidden < 1:
            raise HeadstartError(f"dann: coeff must be >= 0 and hidden >= 1, got {coeff}, {hidden}")
        self.coeff, self.hidden, self.schedule = float(coeff), int(hidden), bool(schedule)
        self.grl = GradientReversal(0.0 if self.schedule else self.coeff)

    def build(self, feature_dim: int, n_classes: int) -> DANN:
        self.discriminator = discriminator(feature_dim, self.hidden)
        return self

    def lambda_(self) -> float:
        return self.coeff * (dann_schedule(self.progress) if self.schedule else 1.0)

    def forward(
        self, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor, logits_t: torch.Tensor
    ) -> torch.Tensor:
        self.grl.set_coeff(self.lambda_())
        d = self.discriminator(self.grl(torch.cat([f_s, f_t])))
        return domain_bce(d[: len(f_s)], d[len(f_s) :])

    def options(self) -> dict[str, Any]:
        return {**super().options(), "coeff": self.coeff, "hidden": self.hidden, "schedule": self.schedule}

    def describe(self) -> str:
        ramp = "ramped 0 -> " if self.schedule else ""
        return f"DANN: a domain discriminator behind a gradient reversal layer (lambda {ramp}{self.coeff:g})"
