"""Multi-label losses: what fine-tuning a multi-label target minimises, one sigmoid output per label.

The task option ``loss`` (``--task-option loss=asymmetric``, ``task_options={"loss": "focal"}``) picks
one of these keys; the loss's own options are task options beside it (``gamma_neg=4``). One file per
loss, each registered in :data:`LOSSES` by a decorator:

- ``bce``: binary cross-entropy per label, positive terms weighted by ``pos_weight`` (the default);
- ``asymmetric``: ASL (Ridnik et al. 2021): focusing of the positives and negatives apart, and
  a probability margin that discards easy negatives;
- ``focal``: sigmoid focal loss (Lin et al. 2017), the same focusing term as the classification
  ``focal`` (:func:`headstart.imbalance.focal.focal_term`).

Every loss maps ``(logits (B, L), y (B, L) in {0, 1})`` to the mean over rows and labels.

    >>> from headstart.imbalance.multilabel import make_loss
    >>> make_loss("asymmetric", gamma_neg=2).describe()
    'asymmetric (gamma_neg=2, gamma_pos=0, clip=0.05)'
"""

from __future__ import annotations

from headstart.imbalance.multilabel.asymmetric import AsymmetricLoss
from headstart.imbalance.multilabel.base import MultilabelLoss
from headstart.imbalance.multilabel.bce import BCE
from headstart.imbalance.multilabel.focal import SigmoidFocal
from headstart.imbalance.multilabel.registry import LOSSES, list_losses, make_loss

__all__ = ["BCE", "LOSSES", "AsymmetricLoss", "MultilabelLoss", "SigmoidFocal", "list_losses", "make_loss"]
