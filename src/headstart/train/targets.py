"""What a training row is trained towards: its class, and what else a method needs to know.

Every batch of :class:`headstart.train.data.Rows` is ``(inputs, targets)``
with ``targets`` a :class:`Targets`:

- ``y``: class codes ``(B,)`` (``UNLABELLED`` = ``-1`` for a row without a label:
  a distillation transfer-set row, a domain-adaptation target row); or, for regression
  and multi-label targets (:meth:`Targets.values`), float32 numbers ``(B,)`` or 0/1 ``(B, L)``
  (NaN for a row without a label: a distillation transfer-set row);
- ``group``: group codes ``(B,)`` for debiasing (:mod:`headstart.fairness`), else ``None``;
- ``domain``: domain codes ``(B,)`` for domain adaptation (:mod:`headstart.adapt`:
  0 source, 1 target), else ``None``.

The training loop hands a loss the whole :class:`Targets` when the loss is a
:class:`TargetsLoss` (debiasing, adaptation and distillation losses are), and
the class codes ``targets.y`` otherwise (cross-entropy, the imbalance losses,
any ``loss(logits, y)``): a method reads the field it needs instead of
decoding a packed ``(B, 2)`` label tensor.

    >>> t = Targets.of([2, 0, UNLABELLED], domain=[0, 0, 1])
    >>> t[1:].y.tolist(), t.labelled.tolist()
    ([0, -1], [True, True, False])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

UNLABELLED = -1  # class code of a row without a label

ClassLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # loss(logits, class codes)


def _codes(values: Any, name: str) -> torch.Tensor:
    out = values.long() if isinstance(values, torch.Tensor) else torch.as_tensor(np.asarray(values, dtype=np.int64))
    if out.ndim != 1:
        raise ValueError(f"{name} codes must be one per row (1-D), got shape {tuple(out.shape)}")
    return out


@dataclass(frozen=True)
class Targets:
    """Class codes ``y`` of some rows, and their ``group`` / ``domain`` codes when a
    method needs them (``None`` otherwise). All are int64 tensors of one length
    (or 0-d tensors: one row, as :class:`~headstart.train.data.Rows` yields them
    before :meth:`stack` collates a batch).

    It travels through a ``DataLoader`` (``Rows.collate`` stacks the rows) and
    to a device (``to``, which accelerate's loader calls on every batch).
    """

    y: torch.Tensor
    group: torch.Tensor | None = None
    domain: torch.Tensor | None = None

    def __post_init__(self) -> None:
        for name in ("group", "domain"):
            value = getattr(self, name)
            if value is not None and value.shape != self.y.shape[:1]:
                raise ValueError(f"{name} codes have shape {tuple(value.shape)}, class codes {tuple(self.y.shape)}")

    @classmethod
    def of(cls, y: Any, group: Any = None, domain: Any = None) -> Targets:
        """Targets from arrays, lists or tensors of codes (one per row)."""
        return cls(
            _codes(y, "class"),
            None if group is None else _codes(group, "group"),
            None if domain is None else _codes(domain, "domain"),
        )

    @classmethod
    def values(cls, y: Any) -> Targets:
        """Targets that are numbers: float32 ``(N,)`` (regression) or ``(N, L)`` (multi-label 0/1); NaN in
        a row marks it unlabelled (:attr:`labelled`)."""
        out = torch.as_tensor(np.asarray(y, dtype=np.float32))
        if out.ndim not in (1, 2):
            raise ValueError(f"target values are (N,) or (N, L), got shape {tuple(out.shape)}")
        return cls(out)

    @classmethod
    def stack(cls, rows: Sequence[Targets]) -> Targets:
        """One batch from single rows (``rows[i]`` holds 0-d tensors)."""
        first = rows[0]
        return cls(
            torch.stack([r.y for r in rows]),
            None if first.group is None else torch.stack([r.group for r in rows]),
            None if first.domain is None else torch.stack([r.domain for r in rows]),
        )

    def __len__(self) -> int:
        return int(self.y.shape[0]) if self.y.ndim else 1

    def __getitem__(self, index: Any) -> Targets:
        """The rows ``index`` (an int gives one row of 0-d tensors; a slice, list or tensor several)."""
        return Targets(
            self.y[index],
            None if self.group is None else self.group[index],
            None if self.domain is None else self.domain[index],
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Targets:
        return Targets(
            self.y.to(device, non_blocking=non_blocking),
            None if self.group is None else self.group.to(device, non_blocking=non_blocking),
            None if self.domain is None else self.domain.to(device, non_blocking=non_blocking),
        )

    @property
    def labelled(self) -> torch.Tensor:
        """Which rows have a label, a bool tensor: class codes ``!= UNLABELLED``; numbers: no NaN in the row."""
        if self.y.is_floating_point():
            return ~torch.isnan(self.y.reshape(self.y.shape[0], -1)).any(1)
        return self.y != UNLABELLED


def as_targets(labels: Targets | torch.Tensor) -> Targets:
    """``labels`` as :class:`Targets`: class codes ``(B,)`` become ``Targets(y)``."""
    return labels if isinstance(labels, Targets) else Targets.of(labels)


class TargetsLoss:
    """A training loss that reads the whole :class:`Targets` of a batch:
    ``loss(output, targets) -> scalar``.

    Wrapping a function in it is how a method tells the training loop to hand
    it the Targets (group, domain ...) rather than the class codes alone.
    """

    def __init__(self, fn: Callable[[torch.Tensor, Targets], torch.Tensor]) -> None:
        self.fn = fn

    def __call__(self, output: torch.Tensor, targets: Targets) -> torch.Tensor:
        return self.fn(output, targets)

    def __repr__(self) -> str:
        return f"TargetsLoss({getattr(self.fn, '__qualname__', self.fn)!r})"


class OnClasses(TargetsLoss):
    """A loss over class codes (``loss(logits, y)``, default cross-entropy) applied to ``targets.y``."""

    def __init__(self, base: ClassLoss | None = None) -> None:
        self.base = base or F.cross_entropy
        super().__init__(self._call)

    def _call(self, output: torch.Tensor, targets: Targets) -> torch.Tensor:
        return self.base(output, targets.y)


def targets_loss(loss_fn: ClassLoss | TargetsLoss | None) -> TargetsLoss:
    """The loop's per-batch loss over Targets: ``loss_fn`` itself when it is a
    :class:`TargetsLoss`, else ``loss_fn`` (default cross-entropy) on the class codes."""
    return loss_fn if isinstance(loss_fn, TargetsLoss) else OnClasses(loss_fn)
