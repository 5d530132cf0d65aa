"""Distillation methods by name: the CLI's ``--method`` choices are these keys."""

from __future__ import annotations

import inspect
from typing import Any

from headstart.distill.base import DistillLoss
from headstart.distill.features import FeatureKD
from headstart.distill.logits import LogitKD
from headstart.distill.self_distill import SelfDistill
from headstart.errors import HeadstartError, did_you_mean

METHODS: dict[str, type[DistillLoss]] = {cls.name: cls for cls in (LogitKD, FeatureKD, SelfDistill)}
BASELINE = "none"  # the same student on the labels alone


def list_methods() -> list[str]:
    return [*METHODS, BASELINE]


def make_method(name: str, **options: Any) -> DistillLoss | None:
    """A distillation loss by name (``None`` for ``"none"``); one clear line for bad names or options."""
    if name == BASELINE:
        if options:
            raise HeadstartError(f"method '{BASELINE}' (labels alone) takes no options, got {', '.join(options)}")
        return None
    if name not in METHODS:
        raise HeadstartError(
            f"unknown distillation method '{name}'{did_you_mean(name, list_methods())} "
            f"(available: {', '.join(list_methods())})"
        )
    cls = METHODS[name]
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    for key in options:
        if key not in allowed:
            raise HeadstartError(
                f"method '{name}' has no option '{key}'{did_you_mean(key, allowed)} (options: {', '.join(allowed)})"
            )
    return cls(**options)
