"""The gradient reversal layer (Ganin & Lempitsky, "Unsupervised Domain
Adaptation by Backpropagation", ICML 2015; Ganin et al., JMLR 2016).

The identity on the forward pass; on the backward pass the gradient is
multiplied by ``-coeff``:

    forward:   R(x) = x
    backward:  dR/dx = -coeff * I

Put between a feature extractor ``f`` and a discriminator ``d`` (a domain
classifier for DANN, a group classifier for adversarial debiasing), one
optimiser step on ``loss(d(R(f(x))))`` trains ``d`` to *predict* the domain
or group while pushing ``f`` to make it *unpredictable*: the min-max game
without alternating updates. ``coeff`` (DANN's lambda) is usually ramped from 0
to 1 during training, ``2 / (1 + exp(-10 p)) - 1`` at progress ``p``
(:func:`dann_schedule`), so the discriminator learns something before its
gradients start moving the features.

Shapes: any tensor in, the same tensor out.

Example:
    >>> import torch
    >>> from headstart.train.grl import GradientReversal
    >>> x = torch.ones(3, requires_grad=True)
    >>> GradientReversal(coeff=0.5)(x).sum().backward()
    >>> x.grad.tolist()
    [-0.5, -0.5, -0.5]
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


class ReverseGradient(torch.autograd.Function):
    """``x -> x`` forward, ``g -> -coeff * g`` backward (no gradient for ``coeff``)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = float(coeff)
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad, None


def reverse_gradient(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Functional form of :class:`GradientReversal`."""
    return ReverseGradient.apply(x, coeff)


class GradientReversal(nn.Module):
    """The gradient reversal layer as a module; ``coeff`` may be changed at any
    time (``layer.coeff = 0.3``, or :meth:`set_coeff`), e.g. by a schedule."""

    def __init__(self, coeff: float = 1.0) -> None:
        super().__init__()
        self.coeff = float(coeff)

    def set_coeff(self, coeff: float) -> None:
        self.coeff = float(coeff)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reverse_gradient(x, self.coeff)

    def extra_repr(self) -> str:
        return f"coeff={self.coeff:g}"


def dann_schedule(progress: float, gamma: float = 10.0) -> float:
    """DANN's ramp ``2 / (1 + exp(-gamma p)) - 1``: 0 at ``p = 0``, near 1 at ``p = 1``."""
    p = min(max(float(progress), 0.0), 1.0)
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0
