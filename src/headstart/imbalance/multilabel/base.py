"""What every multi-label loss shares: ``forward(logits (B, L), y (B, L)) -> scalar``, its options
(recorded in the run folder) and a description."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class MultilabelLoss(nn.Module):
    """Base of the multi-label losses (:mod:`headstart.imbalance.multilabel`)."""

    name: ClassVar[str] = ""

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        return {}

    def describe(self) -> str:
        opts = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.options().items())
        return f"{self.name} ({opts})" if opts else self.name
