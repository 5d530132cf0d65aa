"""Multi-label losses by name: the task option ``loss`` takes these keys.

A loss file registers its class with ``@LOSSES.register()`` (the class's ``name``); the registry
finds every file of this package itself.
"""

from __future__ import annotations

from typing import Any

from headstart.registry import Registry

LOSSES = Registry("multi-label loss", "headstart.imbalance.multilabel")


def list_losses() -> list[str]:
    return LOSSES.names()


def make_loss(name: str, **options: Any) -> Any:
    """A multi-label loss by name, built with ``options``; one clear line for a bad name or option."""
    return LOSSES.create(name, **options)
