"""A fine-tuning strategy plus one more module of the model that trains with it.

Several methods wrap the transfer model with a module of their own, trained in
the same optimiser step as the backbone and head: a domain discriminator
(``headstart.adapt``), a group adversary (``headstart.fairness``), a learned
projection (``headstart.distill``). :class:`WithModule` is the strategy for
such a model: the wrapped strategy's groups, freezing and penalty unchanged,
plus the module's parameters in their own group (weight decay split as for
every group) at the rate the method asks for. A method subclasses it and says
which module, at which rate, and what to add to the description.

    >>> from headstart.strategies import make_strategy
    >>> class WithAdversary(WithModule):
    ...     group = "adversary"
    ...     def module(self, model): return model.adversary
    >>> WithAdversary(make_strategy("full")).name
    'full'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from headstart.strategies.base import _split_decay


@dataclass
class WithModule:
    """``base`` (a fine-tuning strategy) plus :meth:`module`'s parameters."""

    base: Any

    uses_cached_features: ClassVar[bool] = False
    uses_tokens: ClassVar[bool] = False  # reads token features (attentive-probe)
    group: ClassVar[str] = "extra"  # the optimiser group's name

    def module(self, model: Any) -> nn.Module:
        """The extra module of ``model`` (the wrapped model the loop trains)."""
        raise NotImplementedError

    def module_lr(self, lr: float, head_lr: float) -> float:
        """Its learning rate, from the backbone's and the head's (default: the head's)."""
        return head_lr

    def note(self) -> str:
        """What :meth:`describe` adds to the wrapped strategy's description."""
        return ""

    @property
    def name(self) -> str:
        return self.base.name

    def optimizer_groups(self, model: Any, lr: float, head_lr: float, weight_decay: float) -> list[dict[str, Any]]:
        groups = self.base.optimizer_groups(model, lr, head_lr, weight_decay)
        params = list(self.module(model).parameters())
        extra = _split_decay(params, self.module_lr(lr, head_lr), weight_decay, self.group)
        return groups + [g for g in extra if g["params"]]

    def apply(self, model: Any, epoch: int) -> None:
        self.base.apply(model, epoch)
        self.module(model).requires_grad_(True)

    def extra_loss(self, model: Any) -> torch.Tensor | None:
        return self.base.extra_loss(model)

    def finalize(self, model: Any) -> None:
        self.base.finalize(model)

    def describe(self, n_groups: int) -> str:
        note = self.note()
        return f"{self.base.describe(n_groups)}; {note}" if note else self.base.describe(n_groups)
