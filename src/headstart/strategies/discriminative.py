"""``discriminative``: full fine-tuning with layer-wise learning-rate decay: each
group below the top gets ``lr_decay`` times the learning rate of the one above
(Howard & Ruder 2018; ``lr_decay`` also combines with the other strategies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from headstart.strategies.base import FineTune


@dataclass
class Discriminative(FineTune):
    lr_decay: float = 0.8

    name: ClassVar[str] = "discriminative"
