"""``partial``: train the top ``k`` parameter groups of the backbone and the head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.errors import HeadstartError
from headstart.strategies.base import FineTune


@dataclass
class Partial(FineTune):
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
