"""``full``: fine-tune every parameter of the backbone and the new head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=40)
@dataclass
class Full(FineTune):
    """Every backbone parameter and the head train.

    >>> Full().trainable_groups(n_groups=6, epoch=0)
    6
    """

    name: ClassVar[str] = "full"
