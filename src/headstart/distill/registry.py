"""Distillation methods by name: the CLI's ``--method`` choices are these keys."""

from __future__ import annotations

from typing import Any

from headstart.distill.base import DistillLoss
from headstart.distill.features import FeatureKD
from headstart.distill.logits import LogitKD
from headstart.distill.self_distill import SelfDistill
from headstart.errors import HeadstartError
from headstart.registry import make_named

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
    # BASELINE is listed among the choices but handled above: make_named never builds it.
    return make_named("distillation method", {**METHODS, BASELINE: DistillLoss}, name, options)
