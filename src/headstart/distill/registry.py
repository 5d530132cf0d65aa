"""Distillation methods by name: ``make_method`` / ``--method`` take these keys.

A loss file registers its class with ``@METHODS.register()`` (the class's
``name``); the registry finds every file of this package itself. The baseline,
``"none"`` (the same student on the labels alone), is registered here: a
factory that builds no loss.
"""

from __future__ import annotations

from typing import Any

from headstart.registry import Registry

METHODS = Registry("distillation method", "headstart.distill")
BASELINE = "none"  # the same student on the labels alone


@METHODS.register(BASELINE, order=1000)
def labels_alone() -> None:
    """No teacher: the same student trained on the labels alone (the baseline).

    >>> labels_alone() is None
    True
    """
    return None


def list_methods() -> list[str]:
    return METHODS.names()


def make_method(name: str, **options: Any) -> Any:
    """A distillation loss by name (``None`` for ``"none"``); one clear line for bad names or options."""
    return METHODS.create(name, **options)
