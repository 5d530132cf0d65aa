"""Self-supervised pre-training of a sequence encoder on unlabelled series (``headstart pretrain``).

Objectives (:data:`METHODS`): ``masked`` (hide random spans, reconstruct them) and
``forecast`` (hide the end of each series, reconstruct it from the past). The result is a
normal backbone, saved with ``backbone.save(FOLDER)`` and used as ``local:FOLDER``.

    >>> from headstart.pretrain import list_methods
    >>> list_methods()
    ['masked', 'forecast']
"""

from __future__ import annotations

from headstart.pretrain.base import PretrainResult, pretrain
from headstart.pretrain.registry import METHODS


def list_methods() -> list[str]:
    return METHODS.names()


__all__ = ["METHODS", "PretrainResult", "list_methods", "pretrain"]
