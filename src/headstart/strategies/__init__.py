"""Transfer strategies, by name (the CLI's ``--strategy`` choices are these keys).

Each strategy is a small dataclass of options in a file of its own:

- ``linear-probe``: logistic regression on frozen, cached features (L-BFGS);
- ``head``, ``partial``, ``full``, ``gradual``, ``discriminative``, ``l2sp``,
  ``lora``, ``auto``: fine-tuning through the one training loop
  (``headstart.train``), each saying which parameter groups train when, at
  which learning rate, and with which extra loss (see ``base.FineTune``).
"""

from __future__ import annotations

from typing import Any

from headstart.registry import make_named
from headstart.strategies.auto import Auto
from headstart.strategies.base import FineTune
from headstart.strategies.discriminative import Discriminative
from headstart.strategies.full import Full
from headstart.strategies.gradual import Gradual
from headstart.strategies.head import Head
from headstart.strategies.l2sp import L2SP
from headstart.strategies.linear_probe import LinearProbe
from headstart.strategies.lora import LoRA
from headstart.strategies.partial import Partial

STRATEGIES: dict[str, type] = {}


def register_strategy(name: str, cls: type) -> None:
    STRATEGIES[name] = cls


def list_strategies() -> list[str]:
    return list(STRATEGIES)


def make_strategy(name: str, **options: Any) -> Any:
    """A strategy by name; unknown names and options get one clear line."""
    return make_named("strategy", STRATEGIES, name, options)


for _cls in (LinearProbe, Head, Partial, Full, Gradual, Discriminative, L2SP, LoRA, Auto):
    register_strategy(_cls.name, _cls)

__all__ = ["STRATEGIES", "FineTune", "LinearProbe", "list_strategies", "make_strategy", "register_strategy"]
