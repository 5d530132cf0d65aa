"""``auto``: the default recipe (headstart.recipe). Every backbone group trains from the start,
from the linear probe's head (LP-FT), with the epochs, learning rate and token length the recipe
chose from the training rows; if the first epoch does not beat the probe on the validation rows,
the linear probe is the model. ``freeze_epochs=1, lr_decay=0.8`` gives fastai's ``fine_tune``
(the head alone first, then layer-wise learning-rate decay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=90)
@dataclass
class Auto(FineTune):
    """The recipe: all groups from the probe's head; ``freeze_epochs`` head-only epochs first, LR decay ``lr_decay``.

    >>> Auto(freeze_epochs=2).trainable_groups(n_groups=6, epoch=1)
    0
    """

    freeze_epochs: int = 0
    lr_decay: float = 1.0

    name: ClassVar[str] = "auto"

    def trainable_groups(self, n_groups: int, epoch: int) -> int:
        return 0 if epoch < self.freeze_epochs else n_groups

    def describe(self, n_groups: int) -> str:
        first = f"head alone for {self.freeze_epochs} epoch(s), then " if self.freeze_epochs else ""
        decay = f" with layer-wise LR decay {self.lr_decay}" if self.lr_decay < 1 else ""
        return f"auto: {first}all {n_groups} groups{decay} (the default recipe, headstart.recipe)"
