"""``policy``: start the target agent from the source policy's weights (Taylor & Stone 2009's
"policy transfer"; fine-tuning in the supervised vocabulary).

All the weights by default (features, hidden layers, action and value heads); ``layers=K``
copies only the first K hidden layers of each network (and a learnt features extractor)
and leaves the rest at their fresh initialisation; ``reset_heads=True`` copies everything
but the output layers (the action head and the value head: PPO's ``action_net`` and
``value_net``, DQN's last Q layer, SAC's ``mu``/``log_std`` and last critic layers), which
start afresh, as in a new task's classifier head. Nothing is frozen: all of it trains.

``schedule``: how the learning-rate and clip-range schedules run on the target. ``"restart"``
(the default): the source's settings as they are, so the zoo's ``lin_X`` starts again from X
over the target's steps, as a fresh agent's would (and as SB3's ``PPO.load(...).learn(N)``
does). ``"continue"``: the source's schedule carries on where the source stopped, as SB3's
``learn(N, reset_num_timesteps=False)`` on the loaded source does: progress runs on from the
source's S steps to S + N, so ``lin_X`` becomes ``lin_{X * N / (S + N)}`` (CartPole's zoo
settings, S = 100k, N = 50k: a learning rate from 3.3e-4 and a clip range from 0.067 down to
0). A constant stays as it is. S is the source run's ``--steps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.errors import HeadstartError
from headstart.rl.env import Variant
from headstart.rl.methods._base import Part, Source, TransferMethod, copy_weights
from headstart.rl.registry import METHODS

SCHEDULES = ("restart", "continue")
SCHEDULED = ("learning_rate", "clip_range")  # the hyper-parameters the zoo gives as lin_X


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
    schedule: str = "restart"
    name: ClassVar[str] = "policy"

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise HeadstartError(f"policy: schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.layers is not None and (not isinstance(self.layers, int) or self.layers < 1):
            raise HeadstartError(f"policy: layers must be a whole number >= 1 (or None for all), got {self.layers!r}")

    def keeps(self, key: str, part: Part) -> bool:
        if part.kind == "head":
            return self.layers is None and not self.reset_heads
        if part.kind == "body" and self.layers is not None:
            return part.depth < self.layers
        return True

    def hyperparameters(self, hyper: dict[str, Any], source: Source, steps: int) -> dict[str, Any]:
        """With ``schedule="continue"``, each ``lin_X`` of the source carried on past its ``S`` steps.

        >>> src = Source({"settings": {"steps": 100_000}}, {}, None)
        >>> Policy(schedule="continue").hyperparameters({"learning_rate": "lin_0.001", "gamma": 0.98}, src, 50_000)
        {'learning_rate': 'lin_0.000333333', 'gamma': 0.98}
        """
        if self.schedule == "restart":
            return hyper
        done = int(source.config["settings"]["steps"])
        out = dict(hyper)
        for key in SCHEDULED:
            value = out.get(key)
            if isinstance(value, str) and value.startswith("lin_"):
                out[key] = f"lin_{float(value[4:]) * steps / (done + steps):.6g}"
        return out

    def prepare(self, agent: Any, source: Source, target: Variant, fresh: bool) -> list[Any]:
        if fresh:
            copy_weights(agent, source, self.keeps)
        return []
