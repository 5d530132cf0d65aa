"""The self-supervised pre-training objectives by name: ``headstart pretrain --method`` takes these keys.

A method file registers its class with ``@METHODS.register()`` (the class's
``name``); the registry finds every file of this package itself.
"""

from __future__ import annotations

from headstart.registry import Registry

METHODS = Registry("pre-training objective", "headstart.pretrain")
