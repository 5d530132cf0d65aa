"""``task-attention``: task-adaptive attention. Each task has a learned embedding that queries the
shared token features (multi-head attention pooling, padding masked), so each task reads the
tokens it needs from the same backbone: ``z_t = sum_i softmax(e_t . k(h_i)) h_i``.

The embeddings start at zero (uniform attention: the ``shared`` method's mean pooling) and
learn from there; it is :class:`~headstart.backbones.attentive.AttentivePool` with one query per
task, each row reading its own task's query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from headstart.backbones.attentive import AttentivePool
from headstart.multitask.registry import METHODS


class TaskAttentionPool(nn.Module):
    """One learned query per task over ``(B, T, D)`` tokens; row ``i`` gets its task's output ``(B, D)``."""

    def __init__(self, dim: int, n_tasks: int, heads: int | None = None, key_dim: int = 32) -> None:
        super().__init__()
        self.pool = AttentivePool(dim, queries=n_tasks, heads=heads, key_dim=key_dim)
        self.dim = dim

    def forward(self, h: torch.Tensor, mask: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        z = self.pool(h, mask).view(len(h), -1, self.dim)
        return z[torch.arange(len(h), device=h.device), task.long()]


@METHODS.register(order=20)
@dataclass
class TaskAttention:
    """Task-adaptive attention: a learned task embedding queries the shared token features.

    Args:
        heads: attention heads (``None``: the most of 8, 6, 4, 2, 1 dividing D).
        key_dim: the key width per head.

    >>> TaskAttention().pooler(dim=8, n_tasks=3)(torch.ones(2, 4, 8), torch.ones(2, 4), torch.tensor([0, 2])).shape
    torch.Size([2, 8])
    """

    heads: int | None = None
    key_dim: int = 32

    name: ClassVar[str] = "task-attention"

    def pooler(self, dim: int, n_tasks: int) -> nn.Module:
        return TaskAttentionPool(dim, n_tasks, self.heads, self.key_dim)
