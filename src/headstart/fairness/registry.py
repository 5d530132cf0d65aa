"""The debiasing methods by name: ``make_method`` / ``--debias`` take these keys.

A method file registers its class with ``@METHODS.register()`` (the class's
``name``); the registry finds every file of this package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

METHODS = Registry("debiasing method", "headstart.fairness")
