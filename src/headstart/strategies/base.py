"""What every fine-tuning strategy shares: which parameter groups train at a
given epoch, their learning rates (layer-wise decay), and an optional extra loss.

A strategy is a small dataclass; the one training loop (``headstart.train``)
asks it three things:

- ``optimizer_groups(model, lr, head_lr, weight_decay)`` once, before training;
- ``apply(model, epoch)`` at the start of each epoch (freeze / unfreeze);
- ``extra_loss(model)`` at each step (``None`` for most).

Backbone groups come from ``Backbone.param_groups()`` (input to output). With
``lr_decay = d`` the top group gets ``lr``, the one below ``lr * d``, and so on
(discriminative learning rates, Howard & Ruder 2018). Biases and norm weights
(1-d parameters) get no weight decay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from headstart.errors import HeadstartError
from headstart.pooling import POOL_GROUP


@dataclass
class FineTune:
    """Base: the whole backbone trains (``full``)."""

    lr_decay: float = 1.0

    name: ClassVar[str] = "full"
    uses_cached_features: ClassVar[bool] = False
    uses_tokens: ClassVar[bool] = False  # reads token features (attentive-probe)

    def trainable_groups(self, n_groups: int, epoch: int) -> int:
        """How many backbone groups, counted from the top, train in ``epoch``."""
        return n_groups

    def check(self, model: nn.Module) -> None:
        """Raise a clear error if the strategy cannot apply to this model."""
        if not 0 < self.lr_decay <= 1:
            raise HeadstartError(f"lr_decay must be in (0, 1], got {self.lr_decay}")

    def optimizer_groups(self, model: Any, lr: float, head_lr: float, weight_decay: float) -> list[dict[str, Any]]:
        self.check(model)
        groups = model.backbone.param_groups()
        out: list[dict[str, Any]] = []
        for i, group in enumerate(groups):
            group_lr = lr * self.lr_decay ** (len(groups) - 1 - i)
            if group.name == POOL_GROUP:  # a learned pooling is part of the head
                group_lr = head_lr
            out += _split_decay(group.params, group_lr, weight_decay, group.name)
        out += _split_decay(list(model.head.parameters()), head_lr, weight_decay, "head")
        return [g for g in out if g["params"]]

    def apply(self, model: Any, epoch: int) -> None:
        groups = model.backbone.param_groups()
        k = self.trainable_groups(len(groups), epoch)
        for i, group in enumerate(groups):
            for p in group.params:  # a learned pooling (attention) trains with the head
                p.requires_grad_(i >= len(groups) - k or group.name == POOL_GROUP)
        for p in model.head.parameters():
            p.requires_grad_(True)

    def extra_loss(self, model: Any) -> torch.Tensor | None:
        return None

    def finalize(self, model: Any) -> None:
        """After training (LoRA merges its adapters here)."""

    def describe(self, n_groups: int) -> str:
        decay = f", layer-wise LR decay {self.lr_decay}" if self.lr_decay < 1 else ""
        return f"{self.name}: all {n_groups} backbone groups + head train{decay}"


def _split_decay(params: list[nn.Parameter], lr: float, weight_decay: float, name: str) -> list[dict[str, Any]]:
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    return [
        {"params": decay, "lr": lr, "weight_decay": weight_decay, "name": name},
        {"params": no_decay, "lr": lr, "weight_decay": 0.0, "name": f"{name}/no-decay"},
    ]
