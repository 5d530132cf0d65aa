"""Building a registered class by name, with one clear line for a bad name or option.

Strategies, imbalance methods, debiasing methods, adaptation methods and
distillation losses each keep a ``{name: class}`` registry; :func:`make_named`
is how every one of them turns a name and ``KEY=VALUE`` options into an object.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Focal:
    ...     gamma: float = 2.0
    >>> make_named("loss", {"focal": Focal}, "focal", {"gamma": 1.0})
    Focal(gamma=1.0)
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from headstart.errors import HeadstartError, did_you_mean


def options_of(cls: type) -> list[str]:
    """The keyword options ``cls`` takes (its constructor's parameters)."""
    return list(inspect.signature(cls).parameters)


def make_named(kind: str, registry: Mapping[str, type], name: str, options: Mapping[str, Any]) -> Any:
    """``registry[name](**options)``; an unknown name or option is a :class:`HeadstartError`
    naming the ``kind`` ("strategy", "imbalance method", ...) and the valid choices."""
    if name not in registry:
        raise HeadstartError(
            f"unknown {kind} '{name}'{did_you_mean(name, registry)} (available: {', '.join(registry)})"
        )
    cls = registry[name]
    allowed = options_of(cls)
    for key in options:
        if key not in allowed:
            raise HeadstartError(
                f"{kind} '{name}' has no option '{key}'{did_you_mean(key, allowed)} "
                f"(options: {', '.join(allowed) or 'none'})"
            )
    return cls(**options)
