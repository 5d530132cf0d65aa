"""``auto``: the fastai ``fine_tune`` recipe. The head trains alone for
``freeze_epochs`` epochs, then everything unfreezes with discriminative
learning rates (layer-wise decay ``lr_decay``). The choice is printed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=90)
@dataclass
class Auto(FineTune):
    """fastai's ``fine_tune``: the head alone for ``freeze_epochs``, then all groups with LR decay ``lr_decay``.

    >>> Auto(freeze_epochs=2).trainable_groups(n_groups=6, epoch=1)
    0
    """

    freeze_epochs: int = 1
    lr_decay: float = 0.8

    name: ClassVar[str] = "auto"

    def trainable_groups(self, n_groups: int, epoch: int) -> int:
        return 0 if epoch < self.freeze_epochs else n_groups

    def describe(self, n_groups: int) -> str:
        return (
            f"auto: head alone for {self.freeze_epochs} epoch(s), then all {n_groups} groups "
            f"with layer-wise LR decay {self.lr_decay} (fastai's fine_tune recipe)"
        )
