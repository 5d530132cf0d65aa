"""``l2sp``: fine-tune everything, penalising the distance from the pretrained
weights (Li, Grandvalet & Davoine 2018, "Explicit inductive bias for transfer
learning with convolutional networks"):

    loss = CE + alpha/2 * ||w - w0||^2 (backbone)  +  beta/2 * ||w_head||^2

``w0`` is a frozen copy of the backbone's weights taken before training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=70)
@dataclass
class L2SP(FineTune):
    """Full fine-tuning pulled toward the pretrained weights (``alpha``), with ``beta`` on the head.

    >>> L2SP(alpha=0.1).alpha
    0.1
    """

    alpha: float = 0.01
    beta: float = 0.01
    _anchor: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list, init=False, repr=False)

    name: ClassVar[str] = "l2sp"

    def optimizer_groups(self, model: Any, lr: float, head_lr: float, weight_decay: float) -> list[dict[str, Any]]:
        # Decay toward zero would fight the pull toward w0: the penalty replaces it.
        self._anchor = [(p, p.detach().clone()) for p in model.backbone.parameters()]
        return super().optimizer_groups(model, lr, head_lr, 0.0)

    def extra_loss(self, model: Any) -> torch.Tensor | None:
        drift = sum(((p - p0.to(p.device)) ** 2).sum() for p, p0 in self._anchor if p.requires_grad)
        head = sum((p**2).sum() for n, p in model.head.named_parameters() if n.endswith("weight"))
        return 0.5 * self.alpha * drift + 0.5 * self.beta * head

    def describe(self, n_groups: int) -> str:
        pull = f"alpha={self.alpha}, beta={self.beta}"
        return f"l2sp: all {n_groups} groups train, pulled toward the pretrained weights ({pull})"
