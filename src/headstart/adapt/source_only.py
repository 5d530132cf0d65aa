"""``source-only``: the baseline: the same model, batches (half source, half
target rows), schedule and model selection as every adaptation method, and no
transfer loss. The target rows pass through the network but add nothing to the
loss, so any gain of a method over this one is the method's.

Example:
    >>> import torch
    >>> from headstart.adapt.source_only import SourceOnly
    >>> float(SourceOnly()(torch.ones(4, 3), torch.zeros(4, 3), torch.ones(4, 2), torch.ones(4, 2)))
    0.0
"""

from __future__ import annotations

from typing import ClassVar

import torch

from headstart.adapt.base import DomainLoss
from headstart.adapt.registry import METHODS


@METHODS.register(order=10)
class SourceOnly(DomainLoss):
    """no adaptation (the baseline): cross-entropy on the source rows only

    >>> SourceOnly().weight  # no transfer term
    0.0
    """

    name: ClassVar[str] = "source-only"

    def __init__(self, weight: float = 0.0, lr: float | None = None) -> None:
        super().__init__(weight=0.0, lr=lr)

    def forward(
        self, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor, logits_t: torch.Tensor
    ) -> torch.Tensor:
        return f_s.sum() * 0.0

    def describe(self) -> str:
        return "none (source-only baseline)"
