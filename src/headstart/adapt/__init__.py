"""Domain adaptation without target labels (transductive transfer): labelled
source rows + unlabelled target rows of the same classes -> a model that works
on the target. One loss per file, all through the one training loop
(:mod:`headstart.adapt.base` says how):

- ``grl``: the gradient reversal layer and DANN's schedule (Ganin & Lempitsky
  2015), shared with adversarial debiasing (``headstart.fairness.adversarial``);
- ``source-only`` (``source_only.py``): the baseline, identical training minus the transfer loss;
- ``dann``: a domain discriminator behind the reversal layer (Ganin et al. 2016);
- ``dan``: multi-kernel MMD over one or more layers (Long et al. 2015);
- ``coral``: Deep CORAL, covariance alignment (Sun & Saenko 2016);
- ``cdan`` / ``cdan-e``: conditional adversarial, + entropy weighting (Long et al. 2018).

:func:`~headstart.adapt.run.adapt` runs one (``headstart adapt SOURCE TARGET
--method dann``); the CLI's choices are the names in :data:`METHODS`, where each
file registers its loss by a decorator (a new method is one new file).

Example:
    >>> from headstart.adapt import list_methods, make_method
    >>> list_methods()
    ['source-only', 'dann', 'dan', 'coral', 'cdan', 'cdan-e']
    >>> make_method("dann", coeff=0.5).coeff
    0.5
"""

from __future__ import annotations

from typing import Any

from headstart.adapt.base import (
    AdaptModel,
    AdaptStrategy,
    DomainBatches,
    DomainLoss,
    adapt_loss,
    domain_batches,
    domain_targets,
)
from headstart.adapt.cdan import CDAN, CDANE
from headstart.adapt.coral import CORAL
from headstart.adapt.dan import DAN
from headstart.adapt.dann import DANN
from headstart.adapt.registry import METHODS
from headstart.adapt.source_only import SourceOnly
from headstart.train.grl import GradientReversal, ReverseGradient, dann_schedule, reverse_gradient


def register_method(name: str, cls: type[DomainLoss]) -> None:
    """Register ``cls`` as ``name`` (``@METHODS.register()`` in the class's file does the same)."""
    METHODS.add(name, cls)


def list_methods() -> list[str]:
    return METHODS.names()


def method_options(name: str) -> list[str]:
    """The options a method's constructor takes."""
    return list(METHODS.options(name))


def make_method(name: str, **options: Any) -> DomainLoss:
    """An adaptation method by name; unknown names and options get one clear line."""
    return METHODS.create(name, **options)


__all__ = [
    "CDAN",
    "CDANE",
    "CORAL",
    "DAN",
    "DANN",
    "METHODS",
    "AdaptModel",
    "AdaptStrategy",
    "DomainBatches",
    "DomainLoss",
    "GradientReversal",
    "ReverseGradient",
    "SourceOnly",
    "adapt_loss",
    "dann_schedule",
    "domain_batches",
    "domain_targets",
    "list_methods",
    "make_method",
    "method_options",
    "register_method",
    "reverse_gradient",
]
