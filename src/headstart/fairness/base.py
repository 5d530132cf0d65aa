"""What every debiasing method shares, and how groups travel with the rows.

The training loop's batches are ``(inputs, targets)``, ``targets`` a
:class:`~headstart.train.targets.Targets`. A debiased fit needs each row's
group too, so the training rows' targets carry it:

    Targets(y=class codes (N,), group=group codes (N,))

(:func:`with_groups` builds them; ``headstart.train.data.Rows`` stacks them
into batches; a method's loss, a :class:`~headstart.train.targets.TargetsLoss`,
reads ``targets.y`` and ``targets.group``; :func:`split_targets` returns both).
Only the training rows carry groups: the validation rows have class codes
alone, so the loop's validation loss, accuracy and best-epoch choice are
unchanged, and the model's evaluation-mode output is plain class logits.

A method fills some of these hooks (all optional):

- ``loss(base, n_classes, n_groups)``: the loop's ``loss_fn`` (a ``TargetsLoss``),
  given the base per-batch loss ``base(logits, y)`` (cross-entropy, or an imbalance loss);
- ``batch_sampler(y, g)``: the loop's ``batch_sampler`` (which rows make a batch);
- ``wrap(model, strategy, n_classes, n_groups, lr)``: a model and strategy
  around the transfer model (an adversary's parameters join the optimiser
  through the strategy's ``optimizer_groups``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from headstart.errors import HeadstartError
from headstart.train.targets import Targets, TargetsLoss, as_targets

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # a base loss: loss(logits, class codes)


def with_groups(codes: np.ndarray, group_codes: np.ndarray) -> Targets:
    """``(N,)`` class codes and ``(N,)`` group codes -> the rows' :class:`Targets`."""
    codes, group_codes = np.asarray(codes, dtype=np.int64), np.asarray(group_codes, dtype=np.int64)
    if codes.shape != group_codes.shape:
        raise HeadstartError(f"{len(codes)} class codes but {len(group_codes)} group codes")
    return Targets.of(codes, group=group_codes)


def split_targets(targets: Targets | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(class codes, group codes) of a batch's :class:`Targets` (group ``None`` when
    it has none); plain ``(B,)`` class codes -> (codes, None)."""
    targets = as_targets(targets)
    return targets.y, targets.group


def encode_groups(values: Any, source: str, column: str) -> tuple[np.ndarray, list[str]]:
    """Group codes ``(N,)`` and the sorted group names; a blank group is one clear line."""
    from headstart.fairness.audit import group_labels

    labels, present = group_labels(values)
    if not present.all():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(~present)[:5])
        raise HeadstartError(
            f"{int((~present).sum())} training rows of {source} have no value in group column '{column}' "
            f"(rows {rows}); debiasing needs a group for every training row"
        )
    names = sorted(set(labels.tolist()))
    if len(names) < 2:
        raise HeadstartError(f"group column '{column}' of {source} has one group ('{names[0]}'): nothing to debias")
    index = {v: i for i, v in enumerate(names)}
    return np.asarray([index[v] for v in labels], dtype=np.int64), names


def plain_loss(base: Loss | None) -> TargetsLoss:
    """The base loss (default cross-entropy) on the class codes of the targets, groups unread."""
    base = base or F.cross_entropy

    def loss(logits: torch.Tensor, targets: Targets) -> torch.Tensor:
        return base(logits, targets.y)

    return TargetsLoss(loss)


@dataclass
class Mitigation:
    """Base: no change to training (every hook returns its default)."""

    name: ClassVar[str] = "none"

    def check(self, strategy: Any) -> None:
        """Raise a clear error if the method cannot apply with this strategy."""

    def loss(self, base: Loss | None, n_classes: int, n_groups: int) -> TargetsLoss:
        return plain_loss(base)

    def batch_sampler(self, y: np.ndarray, g: np.ndarray) -> Callable[..., Any] | None:
        return None

    def wrap(self, model: Any, strategy: Any, n_classes: int, n_groups: int) -> tuple[Any, Any]:
        return model, strategy

    def options(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        return "no debiasing"


def check_target(target: str) -> None:
    if target not in ("demographic_parity", "equalized_odds"):
        raise HeadstartError(f"target must be demographic_parity or equalized_odds, got '{target}'")
