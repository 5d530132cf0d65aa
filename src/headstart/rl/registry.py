"""The RL transfer methods by name: ``headstart rl-transfer --method NAME`` takes these keys.

A method file in :mod:`headstart.rl.methods` registers its class with ``@METHODS.register``;
the registry finds every file of that package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

METHODS = Registry("RL transfer method", "headstart.rl.methods")
