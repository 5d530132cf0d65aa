"""The meta-learning methods by name: ``headstart meta-train --method NAME`` takes these keys.

A method file registers its class with ``@METHODS.register``; the registry finds
every file of this package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

METHODS = Registry("meta-learning method", "headstart.meta")
