"""``partial``: train the top ``k`` parameter groups of the backbone and the head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.errors import HeadstartError
from headstart.strategies.base import FineTune
from headstart.strategies.registry import STRATEGIES


@STRATEGIES.register(order=30)
@dataclass
class Partial(FineTune):
    """The top ``k`` backbone parameter groups and the head train.

    >>> Partial(k=2).trainable_groups(n_groups=6, epoch=0)
    2
    """

    k: int = 2

    name: ClassVar[str] = "partial"

    def check(self, model: Any) -> None:
        super().check(model)
        n = len(model.backbone.param_groups())
        if not 1 <= self.k <= n:
            raise HeadstartError(
                f"partial: k={self.k} but backbone '{model.backbone.spec}' has {n} parameter groups (use 1..{n})"
            )

    def trainable_groups(self, n_groups: int, epoch: int) -> int:
        return min(self.k, n_groups)

    def describe(self, n_groups: int) -> str:
        return f"partial: top {self.k} of {n_groups} backbone groups + head train"
