"""The strategies by name: ``make_strategy`` / ``--strategy`` take these keys.

A strategy file registers its class with ``@STRATEGIES.register()`` (the
class's ``name``); the registry finds every file of this package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

STRATEGIES = Registry("strategy", "headstart.strategies")
