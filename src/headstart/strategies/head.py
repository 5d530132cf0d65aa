"""``head``: the backbone stays frozen; only the new head trains, on features
computed on the fly (so image augmentation applies, unlike ``linear-probe``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=20)
@dataclass
class Head(FineTune):
    """The backbone stays frozen; only the new head trains.

    >>> Head().trainable_groups(n_groups=6, epoch=2)
    0
    """

    name: ClassVar[str] = "head"

    def trainable_groups(self, n_groups: int, epoch: int) -> int:
        return 0

    def describe(self, n_groups: int) -> str:
        return f"head: backbone frozen ({n_groups} groups), head trains"
