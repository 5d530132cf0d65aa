"""Multi-task transfer: one shared backbone, one head per task, task-balanced batches and
task-adaptive attention (``headstart fit-multi``).

Methods (:data:`METHODS`): ``shared`` (mean pooling, no task attention) and
``task-attention`` (a learned task embedding queries the shared token features). One model
per task is ``fit_multi([task])``.

    >>> from headstart.multitask import list_methods
    >>> list_methods()
    ['shared', 'task-attention']
"""

from __future__ import annotations

from headstart.multitask.base import MultiTaskResult, Task, fit_multi
from headstart.multitask.registry import METHODS


def list_methods() -> list[str]:
    return METHODS.names()


__all__ = ["METHODS", "MultiTaskResult", "Task", "fit_multi", "list_methods"]
