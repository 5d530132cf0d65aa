"""``representation``: the source's encoder, frozen, under a new policy (and value) head.

The encoder is the learnt features extractor where the policy has one (MiniGrid's
convolutional encoder over the 7x7x3 view: "what is where" transfers between layouts),
otherwise the hidden layers of the policy and value networks (CartPole's 64-64 MLPs).
Its weights are copied and frozen (no gradient reaches them; SB3's Adam skips a
parameter without one); the heads above start afresh and are all that PPO trains. The
seed's ``RLAgent``: a pretrained encoder and a new head, as a linear probe is to images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.rl.env import Variant
from headstart.rl.methods._base import Part, Source, TransferMethod, copy_weights, freeze, has_features
from headstart.rl.registry import METHODS


@METHODS.register(order=30)
@dataclass
class Representation(TransferMethod):
    """The source's encoder (features extractor, else hidden layers), frozen; new heads learn on top.

    >>> Representation().encoder(features=True)("features_extractor.cnn.0.weight", Part("features", "policy", 0))
    True
    """

    name: ClassVar[str] = "representation"

    def needs(self, algo: str) -> tuple[str, ...]:
        return ("observations", "actions") if algo == "sac" else ("observations",)  # SAC critics read the action

    @staticmethod
    def encoder(features: bool) -> Any:
        """Which keys are the encoder: the features extractor's if the policy has one, else the hidden layers'."""
        kind = "features" if features else "body"

        def keep(key: str, part: Part) -> bool:
            return part.kind == kind

        return keep

    def prepare(self, agent: Any, source: Source, target: Variant, fresh: bool) -> list[Any]:
        keep = self.encoder(has_features(source.tensors))
        if fresh:
            copy_weights(agent, source, keep)
        freeze(agent, keep)
        return []
