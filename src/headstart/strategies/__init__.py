"""Transfer strategies, by name (the CLI's ``--strategy`` choices are these keys).

Each strategy is a small dataclass of options in a file of its own. Strategies
that train on cached features (``uses_cached_features``) get ``fit(X, y,
n_classes)`` and leave a ``head_``.
"""

from __future__ import annotations

from typing import Any

from headstart.errors import HeadstartError, did_you_mean
from headstart.strategies.linear_probe import LinearProbe

STRATEGIES: dict[str, type] = {}


def register_strategy(name: str, cls: type) -> None:
    STRATEGIES[name] = cls


def list_strategies() -> list[str]:
    return list(STRATEGIES)


def make_strategy(name: str, **options: Any) -> Any:
    if name not in STRATEGIES:
        raise HeadstartError(
            f"unknown strategy '{name}'{did_you_mean(name, STRATEGIES)} (available: {', '.join(STRATEGIES)})"
        )
    return STRATEGIES[name](**options)


register_strategy("linear-probe", LinearProbe)

__all__ = ["STRATEGIES", "LinearProbe", "list_strategies", "make_strategy", "register_strategy"]
