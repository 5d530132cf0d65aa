"""Imbalanced classes: losses, sampling, synthetic rows, post-hoc changes,
two-stage training, and ``auto``; by name (the CLI's ``--imbalance`` choices
are these keys).

One file per method, each a small dataclass of options (see ``base.Method``
for the hooks they fill) registered in :data:`METHODS` by a decorator, so a new
method is one new file:

- losses: ``weighted`` (n / (K n_c)), ``effective`` (Cui et al. 2019),
  ``focal`` (Lin et al. 2017), ``la-loss`` (Menon et al. 2021);
- sampling: ``balanced-sampling``, ``sqrt-sampling`` (class-balanced batches,
  sharded over processes), ``oversample``, ``undersample``;
- synthetic rows on cached features (imbalanced-learn): ``smote``,
  ``borderline-smote``, ``adasyn``;
- post-hoc: ``logit-adjust`` (tau log prior), ``threshold`` (two classes,
  tuned on held-out training rows);
- ``two-stage`` (Kang et al. 2020, cRT);
- ``auto``: measures the imbalance ratio and picks by a documented rule.

Example:
    >>> from headstart import TransferClassifier
    >>> clf = TransferClassifier(backbone="minilm", imbalance="auto")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from headstart.imbalance.auto import Auto
from headstart.imbalance.base import (
    Method,
    check_method,
    fit_probe,
    imbalance_ratio,
    out_of_fold_logits,
    prior,
    warn_rare_classes,
)
from headstart.imbalance.effective import EffectiveNumber
from headstart.imbalance.focal import Focal, FocalLoss
from headstart.imbalance.la_loss import LALoss, LogitAdjustedLoss
from headstart.imbalance.logit_adjust import LogitAdjust, adjust_logits
from headstart.imbalance.registry import METHODS
from headstart.imbalance.resample import Oversample, Undersample, oversample_indices, undersample_indices
from headstart.imbalance.sampler import BalancedSampling, ClassBalancedBatches, SqrtSampling, class_balanced_indices
from headstart.imbalance.smote import Adasyn, BorderlineSmote, Smote
from headstart.imbalance.threshold import Threshold, tune_threshold
from headstart.imbalance.two_stage import TwoStage
from headstart.imbalance.weighted import Weighted, WeightedCrossEntropy, class_weights


def register_method(name: str, cls: type) -> None:
    """Register ``cls`` as ``name`` (``@METHODS.register()`` in the class's file does the same)."""
    METHODS.add(name, cls)


def list_methods() -> list[str]:
    return METHODS.names()


def make_method(name: str, **options: Any) -> Method:
    """A method by name; unknown names and options get one clear line."""
    return METHODS.create(name, **options)


__all__ = [
    "METHODS",
    "Adasyn",
    "Auto",
    "BalancedSampling",
    "BorderlineSmote",
    "ClassBalancedBatches",
    "EffectiveNumber",
    "Focal",
    "FocalLoss",
    "LALoss",
    "LogitAdjust",
    "LogitAdjustedLoss",
    "Method",
    "Oversample",
    "Smote",
    "SqrtSampling",
    "Threshold",
    "TwoStage",
    "Undersample",
    "Weighted",
    "WeightedCrossEntropy",
    "adjust_logits",
    "check_method",
    "class_balanced_indices",
    "class_weights",
    "fit_probe",
    "imbalance_ratio",
    "list_methods",
    "make_method",
    "out_of_fold_logits",
    "oversample_indices",
    "prior",
    "register_method",
    "tune_threshold",
    "undersample_indices",
    "warn_rare_classes",
]
