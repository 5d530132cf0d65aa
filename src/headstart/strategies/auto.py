"""``auto``: the fastai ``fine_tune`` recipe. The head trains alone for
``freeze_epochs`` epochs, then everything unfreezes with discriminative
learning rates (layer-wise decay ``lr_decay``). The choice is printed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune


@dataclass
class Auto(FineTune):
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
