"""``coral``: Deep CORAL, correlation alignment (Sun & Saenko, "Deep CORAL:
Correlation Alignment for Deep Domain Adaptation", ECCV 2016 workshops).

The distance between the second-order statistics of the domains' features:

    C = (F'F - (1'F)'(1'F) / n) / (n - 1)           (covariance, D x D)
    transfer = ||C_s - C_t||_F^2 / (4 D^2)  [+ ||mu_s - mu_t||^2 / D]

The first term is the paper's loss (the same figure as
:func:`headstart.select.coral.coral_distance`, in torch for gradients); the
mean term (``means=True``, TLlib's variant) also aligns the first moments,
which the covariance alone ignores. With ``D`` = 500 features the figure is
small: the paper weights it so that it ends up comparable to the
classification loss; ``weight`` does that here.

Shapes: ``f_s`` ``(B_s, D)``, ``f_t`` ``(B_t, D)`` -> scalar.

Example:
    >>> import torch
    >>> from headstart.adapt.coral import coral_loss
    >>> x = torch.randn(64, 3)
    >>> bool(coral_loss(x, 3 * x) > coral_loss(x, x.flip(0)))
    True
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from headstart.adapt.base import DomainLoss
from headstart.adapt.registry import METHODS


def covariance(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(0, keepdim=True)
    return centred.T @ centred / max(1, len(x) - 1)


def coral_loss(f_s: torch.Tensor, f_t: torch.Tensor, means: bool = False) -> torch.Tensor:
    """``||C_s - C_t||_F^2 / (4 D^2)`` (+ ``||mu_s - mu_t||^2 / D`` with ``means``)."""
    f_s, f_t = f_s.float(), f_t.float()
    d = f_s.shape[1]
    loss = (covariance(f_s) - covariance(f_t)).pow(2).sum() / (4.0 * d * d)
    if means:
        loss = loss + (f_s.mean(0) - f_t.mean(0)).pow(2).sum() / d
    return loss


@METHODS.register(order=40)
class CORAL(DomainLoss):
    """Deep CORAL (Sun & Saenko 2016): align the domains' feature covariances

    Args:
        weight: the transfer loss's weight (the paper sets it so that the two
            losses are of one size at the end of training).
        means: also align the feature means (TLlib's variant).

    >>> f = torch.ones(4, 3).cumsum(0)
    >>> float(CORAL().build(feature_dim=3, n_classes=2)(f, f, f[:, :2], f[:, :2]))  # same domains
    0.0
    """

    name: ClassVar[str] = "coral"

    def __init__(self, weight: float = 1.0, means: bool = True, lr: float | None = None) -> None:
        super().__init__(weight, lr)
        self.means = bool(means)

    def forward(
        self, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor, logits_t: torch.Tensor
    ) -> torch.Tensor:
        return coral_loss(f_s, f_t, self.means)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "means": self.means}

    def describe(self) -> str:
        extra = " and means" if self.means else ""
        return f"Deep CORAL: align the feature covariances{extra} (weight {self.weight:g})"
