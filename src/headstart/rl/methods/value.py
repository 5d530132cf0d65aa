"""``value``: carry the value function only (the critic, or the Q-network), the policy starts afresh.

PPO: the value network's hidden layers and its head (``mlp_extractor.value_net``,
``value_net``); DQN: the whole Q-network (its policy is the greedy one of Q); SAC: both
critics and their targets. A features extractor shared by the actor and the critic
(MiniGrid's encoder) stays fresh: copying it would change the policy's input too. A good
critic from the start makes the first advantages informative (Taylor & Stone 2009's
"value-function transfer").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.rl.env import Variant
from headstart.rl.methods._base import Part, Source, TransferMethod, copy_weights
from headstart.rl.registry import METHODS


@METHODS.register(order=20)
@dataclass
class Value(TransferMethod):
    """Start from the source's critic (PPO's value network, DQN's Q-network, SAC's critics); the policy is fresh.

    >>> Value().keeps("value_net.weight", Part("head", "value", 0))
    True
    >>> Value().keeps("action_net.weight", Part("head", "policy", 0))
    False
    """

    name: ClassVar[str] = "value"

    def needs(self, algo: str) -> tuple[str, ...]:
        # V(s) reads observations only; Q(s, a) has one output per action (DQN) or takes the action (SAC).
        return ("observations",) if algo == "ppo" else ("observations", "actions")

    def keeps(self, key: str, part: Part) -> bool:
        return part.side == "value" and part.kind != "features"

    def prepare(self, agent: Any, source: Source, target: Variant, fresh: bool) -> list[Any]:
        if fresh:
            copy_weights(agent, source, self.keeps)
        return []
