"""Bias in transferred models: a per-group audit for any run, and debiasing
during fine-tuning.

Audit (one file each):

- ``audit``: per-group accuracy, selection rate, TPR / FPR (Fairlearn's
  ``MetricFrame``) and the gaps — demographic-parity difference and ratio,
  equalized-odds difference, accuracy difference, worst-group accuracy —
  each with a stratified bootstrap 95% interval, so a gap inside the noise is
  reported as such; groups under 30 rows are flagged unreliable;
- ``counterfactual``: template text where only the group term changes (the
  Equity Evaluation Corpus): paired score differences, t-test and Wilcoxon;
- ``transfer``: the pretrained backbone's linear probe vs the fine-tuned
  model on the same rows: did fine-tuning amplify or reduce each gap?

Mitigation, through the one training loop (``TransferClassifier(debias=...)``,
``headstart fit --debias``; the CLI's choices are the names in :data:`METHODS`,
each registered by a decorator in its own file):

- ``adversarial``: a group classifier behind a gradient reversal layer
  (Zhang et al. 2018; ``headstart.train.grl``);
- ``penalty``: the batch's soft equalized-odds / demographic-parity gap
  added to the loss (Bechavod & Ligett 2017);
- ``group-sampling``: group (x class) balanced batches (Kamiran & Calders 2012);

and post-processing for two classes: ``GroupThreshold`` (Fairlearn's
``ThresholdOptimizer``, Hardt et al. 2016). ``train_head`` debiases a linear
head on cached features through the same loop (cheap comparisons).

Example:
    >>> import headstart as hs
    >>> from headstart.fairness import audit_classifier
    >>> clf = hs.load_run("runs/sst2")  # doctest: +SKIP
    >>> audit_classifier(clf, test, {"gender": gender})["groups"]["gender"]["gaps"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from headstart.fairness.adversarial import Adversarial, AdversaryModel, AdversaryStrategy
from headstart.fairness.audit import (
    MIN_ROWS,
    audit_classifier,
    audit_predictions,
    check_known_groups,
    groups_from_table,
)
from headstart.fairness.base import Mitigation, split_targets, with_groups
from headstart.fairness.counterfactual import counterfactual_audit, paired_stats, set_keys
from headstart.fairness.head import train_head
from headstart.fairness.penalty import Penalty, batch_gap
from headstart.fairness.registry import METHODS
from headstart.fairness.sampling import GroupSampling, group_cells
from headstart.fairness.threshold import GroupThreshold
from headstart.fairness.transfer import audit_before_after, audit_classifiers


def register_method(name: str, cls: type) -> None:
    """Register ``cls`` as ``name`` (``@METHODS.register()`` in the class's file does the same)."""
    METHODS.add(name, cls)


def list_methods() -> list[str]:
    return METHODS.names()


def make_method(name: str, **options: Any) -> Mitigation:
    """A debiasing method by name; unknown names and options get one clear line."""
    return METHODS.create(name, **options)


__all__ = [
    "METHODS",
    "MIN_ROWS",
    "Adversarial",
    "AdversaryModel",
    "AdversaryStrategy",
    "GroupSampling",
    "GroupThreshold",
    "Mitigation",
    "Penalty",
    "audit_before_after",
    "audit_classifier",
    "audit_classifiers",
    "audit_predictions",
    "batch_gap",
    "check_known_groups",
    "counterfactual_audit",
    "group_cells",
    "groups_from_table",
    "list_methods",
    "make_method",
    "paired_stats",
    "register_method",
    "set_keys",
    "split_targets",
    "train_head",
    "with_groups",
]
