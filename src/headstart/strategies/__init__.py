"""Transfer strategies, by name (the CLI's ``--strategy`` choices are these keys).

Each strategy is a small dataclass of options in a file of its own:

- ``linear-probe``: logistic regression on frozen, cached features (L-BFGS);
- ``head``, ``partial``, ``full``, ``gradual``, ``discriminative``, ``l2sp``,
  ``lora``, ``auto``: fine-tuning through the one training loop
  (``headstart.train``), each saying which parameter groups train when, at
  which learning rate, and with which extra loss (see ``base.FineTune``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from headstart.errors import HeadstartError, did_you_mean
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
    if name not in STRATEGIES:
        raise HeadstartError(
            f"unknown strategy '{name}'{did_you_mean(name, STRATEGIES)} (available: {', '.join(STRATEGIES)})"
        )
    cls = STRATEGIES[name]
    allowed = [f.name for f in dataclasses.fields(cls) if f.init]
    for key in options:
        if key not in allowed:
            raise HeadstartError(
                f"strategy '{name}' has no option '{key}'{did_you_mean(key, allowed)} (options: {', '.join(allowed)})"
            )
    return cls(**options)


for _cls in (LinearProbe, Head, Partial, Full, Gradual, Discriminative, L2SP, LoRA, Auto):
    register_strategy(_cls.name, _cls)

__all__ = ["STRATEGIES", "FineTune", "LinearProbe", "list_strategies", "make_strategy", "register_strategy"]
