"""``shared``: one shared backbone, one head per task, no task attention (each task's head reads
the same mean-pooled feature). The baseline of ``task-attention``, and, on one table, the
single-task model of the same budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from headstart.multitask.registry import METHODS


class MeanPool(nn.Module):
    """The masked mean of the tokens, whatever the task."""

    def forward(self, h: torch.Tensor, mask: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp_min(1.0)


@METHODS.register(order=10)
@dataclass
class Shared:
    """Shared backbone, a head per task, mean pooling (no task attention).

    >>> Shared().pooler(dim=8, n_tasks=3)(torch.ones(2, 4, 8), torch.ones(2, 4), torch.zeros(2)).shape
    torch.Size([2, 8])
    """

    name: ClassVar[str] = "shared"

    def pooler(self, dim: int, n_tasks: int) -> nn.Module:
        return MeanPool()
