"""``discriminative``: full fine-tuning with layer-wise learning-rate decay: each
group below the top gets ``lr_decay`` times the learning rate of the one above
(Howard & Ruder 2018; ``lr_decay`` also combines with the other strategies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=60)
@dataclass
class Discriminative(FineTune):
    """Full fine-tuning where each group below the top gets ``lr_decay`` times the rate above it.

    >>> Discriminative(lr_decay=0.5).trainable_groups(n_groups=6, epoch=0)
    6
    """

    lr_decay: float = 0.8

    name: ClassVar[str] = "discriminative"
