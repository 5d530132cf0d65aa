"""The adaptation methods by name: ``make_method`` / ``headstart adapt --method`` take these keys.

A method file registers its loss with ``@METHODS.register()`` (the class's
``name``); the registry finds every file of this package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

METHODS = Registry("adaptation method", "headstart.adapt")
