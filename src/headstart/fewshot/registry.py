"""The few-shot methods by name: ``headstart fewshot --method NAME`` and
``evaluate_episodes(..., method="NAME")`` take these keys."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headstart.errors import HeadstartError

_METHODS: dict[str, Callable[..., Any]] = {}


def register_method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
        _METHODS[name] = factory
        return factory

    return decorate


def _load_all() -> None:
    # Importing a method's module registers it.
    from headstart.fewshot import logreg, matching, nearest, protonet, siamese  # noqa: F401


def list_methods() -> list[str]:
    _load_all()
    return sorted(_METHODS)


def get_method(name: str, **options: Any) -> Any:
    """A fresh method instance for registry key ``name``."""
    _load_all()
    if name not in _METHODS:
        raise HeadstartError(f"unknown few-shot method '{name}' (one of {', '.join(sorted(_METHODS))})")
    return _METHODS[name](**options)
