"""The multi-task methods by name: ``headstart fit-multi --method`` takes these keys.

A method file registers its class with ``@METHODS.register()`` (the class's
``name``); the registry finds every file of this package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

METHODS = Registry("multi-task method", "headstart.multitask")
