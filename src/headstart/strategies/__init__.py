"""Transfer strategies, by name (the CLI's ``--strategy`` choices are these names).

Each strategy is a small dataclass of options in a file of its own, registered
in :data:`STRATEGIES` (``headstart/strategies/registry.py``):

- ``linear-probe``: logistic regression on frozen, cached features (L-BFGS);
- ``head``, ``partial``, ``full``, ``gradual``, ``discriminative``, ``l2sp``,
  ``lora``, ``auto``: fine-tuning through the one training loop
  (``headstart.train``), each saying which parameter groups train when, at
  which learning rate, and with which extra loss (see ``base.FineTune``).

Adding one is one new file with ``@STRATEGIES.register()`` on its class.

    >>> from headstart.strategies import make_strategy
    >>> make_strategy("partial", k=3).k
    3
"""

from __future__ import annotations

from typing import Any

# Re-exported for the API; the registry finds the files by itself.
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
from headstart.strategies.registry import STRATEGIES


def register_strategy(name: str, cls: type) -> None:
    """Register ``cls`` as ``name`` (``@STRATEGIES.register()`` in the class's file does the same)."""
    STRATEGIES.add(name, cls)


def list_strategies() -> list[str]:
    return STRATEGIES.names()


def make_strategy(name: str, **options: Any) -> Any:
    """A strategy by name; unknown names and options get one clear line."""
    return STRATEGIES.create(name, **options)


__all__ = [
    "L2SP",
    "STRATEGIES",
    "Auto",
    "Discriminative",
    "FineTune",
    "Full",
    "Gradual",
    "Head",
    "LinearProbe",
    "LoRA",
    "Partial",
    "list_strategies",
    "make_strategy",
    "register_strategy",
]
