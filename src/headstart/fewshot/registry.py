"""The few-shot methods by name: ``headstart fewshot --method NAME`` and
``evaluate_episodes(..., method="NAME")`` take these keys.

A method file registers its class (or a factory) with ``@METHODS.register``;
the registry finds every file of this package itself. ``trains=True`` marks a
method that trains weights of its own (``siamese``'s pair head), which
``headstart fewshot-eval`` leaves out unless asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headstart.registry import Registry

METHODS = Registry("few-shot method", "headstart.fewshot")


def register_method(name: str, **meta: Any) -> Callable[[Any], Any]:
    """``@register_method("name")``: the same as ``@METHODS.register("name")``."""
    return METHODS.register(name, **meta)


def list_methods() -> list[str]:
    """Every method's name, sorted."""
    return sorted(METHODS.names())


def default_methods() -> list[str]:
    """The methods ``headstart fewshot-eval`` compares by default: those that train nothing of their own."""
    return [e.name for e in METHODS.entries() if not e.meta.get("trains")]


def get_method(name: str, **options: Any) -> Any:
    """A fresh method instance for registry key ``name``."""
    return METHODS.create(name, **options)
