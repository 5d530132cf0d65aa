"""``scratch``: the baseline, the target agent from a random initialisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from headstart.rl.env import Variant
from headstart.rl.methods._base import Source, TransferMethod
from headstart.rl.registry import METHODS


@METHODS.register(order=0)
@dataclass
class Scratch(TransferMethod):
    """No transfer: the target agent learns from a random initialisation (the baseline of every comparison).

    >>> Scratch().needs("ppo")
    ()
    """

    name: ClassVar[str] = "scratch"

    def needs(self, algo: str) -> tuple[str, ...]:
        return ()

    def prepare(self, agent: Any, source: Source, target: Variant, fresh: bool) -> list[Any]:
        return []
