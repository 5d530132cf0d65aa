"""``policy``: start the target agent from the source policy's weights (Taylor & Stone 2009's
"policy transfer"; fine-tuning in the supervised vocabulary).

All the weights by default (features, hidden layers, action and value heads); ``layers=K``
copies only the first K hidden layers of each network (and a learnt features extractor)
and leaves the rest at their fresh initialisation; ``reset_heads=True`` copies everything
but the output layers (the action head and the value head: PPO's ``action_net`` and
``value_net``, DQN's last Q layer, SAC's ``mu``/``log_std`` and last critic layers), which
start afresh, as in a new task's classifier head. Nothing is frozen: all of it trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.errors import HeadstartError
from headstart.rl.env import Variant
from headstart.rl.methods._base import Part, Source, TransferMethod, copy_weights
from headstart.rl.registry import METHODS


@METHODS.register(order=10)
@dataclass
class Policy(TransferMethod):
    """Start from the source policy's weights (all, or the first ``layers``), optionally with fresh action/value heads.

    >>> Policy(reset_heads=True).keeps("action_net.weight", Part("head", "policy", 0))
    False
    >>> Policy(layers=1).keeps("mlp_extractor.policy_net.2.weight", Part("body", "policy", 1))
    False
    """

    layers: int | None = None
    reset_heads: bool = False
    name: ClassVar[str] = "policy"

    def __post_init__(self) -> None:
        if self.layers is not None and (not isinstance(self.layers, int) or self.layers < 1):
            raise HeadstartError(f"policy: layers must be a whole number >= 1 (or None for all), got {self.layers!r}")

    def keeps(self, key: str, part: Part) -> bool:
        if part.kind == "head":
            return self.layers is None and not self.reset_heads
        if part.kind == "body" and self.layers is not None:
            return part.depth < self.layers
        return True

    def prepare(self, agent: Any, source: Source, target: Variant, fresh: bool) -> list[Any]:
        if fresh:
            copy_weights(agent, source, self.keeps)
        return []
