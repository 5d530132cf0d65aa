"""``gradual``: gradual unfreezing (ULMFiT, Howard & Ruder 2018). The head trains
alone first; every ``every`` epochs one more backbone group unfreezes, top down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=50)
@dataclass
class Gradual(FineTune):
    """Gradual unfreezing: the head first, then one more group every ``every`` epochs, top down.

    >>> [Gradual(every=1).trainable_groups(n_groups=3, epoch=e) for e in range(5)]
    [0, 1, 2, 3, 3]
    """

    every: int = 1

    name: ClassVar[str] = "gradual"

    def trainable_groups(self, n_groups: int, epoch: int) -> int:
        return min(n_groups, epoch // max(1, self.every))

    def describe(self, n_groups: int) -> str:
        return f"gradual: head first, then one more of {n_groups} groups every {self.every} epoch(s), top down"
