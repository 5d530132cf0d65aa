"""``penalty``: a differentiable fairness gap of each batch added to the loss
(the relaxation of Bechavod & Ligett, "Penalizing Unfairness in Binary
Classification", 2017; Zafar et al., AISTATS 2017, for the
demographic-parity form).

With soft predictions ``p = softmax(logits)`` (the positive class for two
classes, every class one-vs-rest otherwise), the batch's group means replace
the rates of the audit (:mod:`headstart.fairness.audit`):

    demographic parity:  P_dp = sum_k sum_g |mean_{i in g} p_ik - mean_i p_ik|
    equalized odds:      P_eo = sum_k sum_y sum_g |mean_{i in g, y_i = y} p_ik - mean_{i: y_i = y} p_ik|

(``y = k``: the TPR gap, ``y != k``: the FPR gap; a group or cell absent from
the batch adds nothing.) The loss is

    loss = CE(logits, y) + weight * P

Equalized odds (the default) is what to ask of training rows where the group
and the class are correlated: demographic parity would then fight the labels
themselves. The term is exact for the batch, so larger batches estimate it
better; group-balanced batches (``group-sampling``) give every group rows in
most batches.

Example:
    >>> import torch
    >>> logits = torch.tensor([[0.0, 2.0], [0.0, 2.0], [2.0, 0.0], [2.0, 0.0]])
    >>> y, g = torch.tensor([1, 0, 1, 0]), torch.tensor([0, 0, 1, 1])
    >>> round(float(batch_gap(logits, y, g, 2, "demographic_parity")), 3)
    0.762
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

from headstart.errors import HeadstartError
from headstart.fairness.base import Loss, Mitigation, check_target
from headstart.fairness.registry import METHODS
from headstart.train.targets import Targets, TargetsLoss


def _spread(p: torch.Tensor, member: torch.Tensor) -> torch.Tensor:
    """``sum_g |mean_{i in g} p_i - mean_{i in any g} p_i|`` per column of ``p`` ``(B, R)``,
    ``member`` ``(B, G)`` one-hot (rows of no cell: all zeros)."""
    counts = member.sum(0)  # (G,)
    present = counts > 0
    if int(present.sum()) < 2:
        return p.new_zeros(p.shape[1])
    rows = member.sum(1) > 0
    overall = p[rows].mean(0)  # (R,)
    means = (member.T @ p)[present] / counts[present, None]  # (G', R)
    return (means - overall).abs().sum(0)


def batch_gap(logits: torch.Tensor, y: torch.Tensor, g: torch.Tensor, n_groups: int, target: str) -> torch.Tensor:
    """The batch's soft demographic-parity or equalized-odds gap (a scalar, differentiable)."""
    p = torch.softmax(logits.float(), dim=1)
    n_classes = p.shape[1]
    report = [1] if n_classes == 2 else list(range(n_classes))
    p = p[:, report]
    member = F.one_hot(g, n_groups).to(p.dtype)  # (B, G)
    if target == "demographic_parity":
        return _spread(p, member).sum()
    total = p.new_zeros(())
    for col, k in enumerate(report):
        for cell in (y == k, y != k):  # TPR rows, FPR rows
            total = total + _spread(p[:, col : col + 1], member * cell[:, None].to(p.dtype)).sum()
    return total


@METHODS.register()
@dataclass
class Penalty(Mitigation):
    """fairness penalty (Bechavod & Ligett 2017): the batch's soft equalized-odds or demographic-parity gap

    Args:
        weight: the penalty's weight.
        target: ``"equalized_odds"`` or ``"demographic_parity"``.

    >>> Penalty(target="demographic_parity").describe()
    "fairness penalty: 1 x the batch's soft demographic parity gap added to the loss"
    """

    weight: float = 1.0
    target: str = "equalized_odds"

    name: ClassVar[str] = "penalty"

    def check(self, strategy: object) -> None:
        check_target(self.target)
        if self.weight < 0:
            raise HeadstartError(f"penalty: weight must be >= 0, got {self.weight}")

    def loss(self, base: Loss | None, n_classes: int, n_groups: int) -> TargetsLoss:
        base = base or F.cross_entropy

        def loss(logits: torch.Tensor, targets: Targets) -> torch.Tensor:
            y, g = targets.y, targets.group
            value = base(logits, y)
            if g is None:
                return value
            return value + self.weight * batch_gap(logits, y, g, n_groups, self.target)

        return TargetsLoss(loss)

    def describe(self) -> str:
        what = self.target.replace("_", " ")
        return f"fairness penalty: {self.weight:g} x the batch's soft {what} gap added to the loss"
