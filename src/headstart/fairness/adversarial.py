"""``adversarial``: adversarial debiasing through a gradient reversal layer
(Zhang, Lemoine & Mitchell, "Mitigating Unwanted Biases with Adversarial
Learning", AIES 2018; the reversal layer of Ganin & Lempitsky 2015,
:mod:`headstart.train.grl`).

A small adversary ``a`` (an MLP) tries to predict each row's group ``z`` from
the model's representation ``h`` — the backbone's features (``on="features"``)
or the class logits (``on="logits"``, the only choice when the backbone is
frozen, e.g. the ``head`` strategy) — seen through the reversal layer ``R``:

    loss = CE(head(h), y) + weight * CE(a(R_lambda(h)), z)

One step lowers the adversary's loss in ``a``, and raises it in everything
below ``R`` (by ``lambda`` = ``coeff``): the representation learns to hide the
group. ``target="demographic_parity"`` hides the group outright (the
prediction independent of ``z``); ``target="equalized_odds"`` (the default)
hides it *given the true class* (independent of ``z`` given ``y``, Hardt et
al. 2016): the adversary has one output block per class and is scored on the
block of the row's class, so it only gains from what ``h`` says about ``z``
beyond ``y`` (Zhang et al. give the adversary ``y`` as an input; a
class-specific output layer is the same conditioning, and needs no label in
the model's forward pass).

Shapes: ``h`` ``(B, D)`` or ``(B, K)``; adversary output ``(B, G)`` or
``(B, K * G)``. In training mode the model returns ``[class logits,
adversary logits]`` concatenated ``(B, K + G')``; the loop hands them to this
method's loss, which splits them. In evaluation mode it returns the class
logits only (validation, prediction). The adversary is dropped after training.

Example:
    >>> from headstart import TransferClassifier
    >>> clf = TransferClassifier(backbone="minilm", strategy="full", debias="adversarial",
    ...                          debias_options={"coeff": 1.0})  # doctest: +SKIP
    >>> clf.fit(dataset_with_groups)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from headstart.errors import HeadstartError
from headstart.fairness.base import Loss, Mitigation, check_target
from headstart.fairness.registry import METHODS
from headstart.strategies.with_module import WithModule
from headstart.train.grl import GradientReversal
from headstart.train.model import WrappedModel
from headstart.train.targets import Targets, TargetsLoss


class AdversaryModel(WrappedModel):
    """A transfer model plus an adversary behind a gradient reversal layer:
    ``[logits | adversary logits]`` in training mode."""

    def __init__(self, model: nn.Module, adversary: nn.Module, coeff: float, on: str) -> None:
        super().__init__(model)
        self.adversary = adversary
        self.grl = GradientReversal(coeff)
        self.on = on

    def extra(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        hidden = features if self.on == "features" else logits
        return self.adversary(self.grl(hidden))


@dataclass
class AdversaryStrategy(WithModule):
    """The fine-tuning strategy, plus the adversary's parameters (at ``lr``)."""

    lr: float | None = None

    group: ClassVar[str] = "adversary"

    def module(self, model: Any) -> nn.Module:
        return model.adversary

    def module_lr(self, lr: float, head_lr: float) -> float:
        # A fresh module's pace (10x the base rate, like a new head) even when an LP-FT head moves
        # slowly: an adversary slower than the model it watches is fooled before it learns anything.
        return self.lr if self.lr is not None else max(head_lr, 10 * lr)

    def note(self) -> str:
        return "an adversary predicts the group behind a gradient reversal layer"


@METHODS.register()
@dataclass
class Adversarial(Mitigation):
    """adversarial debiasing (Zhang et al. 2018): a group classifier behind a gradient reversal layer

    Args:
        coeff: the reversal coefficient lambda (how hard the representation
            fights the adversary).
        weight: the adversary's loss weight.
        on: ``"features"``, ``"logits"`` or ``"auto"`` (features when the
            backbone trains, logits under the ``head`` strategy).
        target: ``"equalized_odds"`` (hide the group given the class) or
            ``"demographic_parity"`` (hide it outright).
        hidden: the adversary's hidden width (0: a linear adversary).
        lr: the adversary's learning rate (default: 10 x the base LR, at least the head's).
            Adversarial training is sensitive to it and to ``coeff``.

    >>> Adversarial(coeff=2.0, hidden=0).options()["coeff"]
    2.0
    """

    coeff: float = 1.0
    weight: float = 1.0
    on: str = "auto"
    target: str = "equalized_odds"
    hidden: int = 64
    lr: float | None = None

    name: ClassVar[str] = "adversarial"

    def resolved_on(self, strategy: Any) -> str:
        if self.on == "auto":
            return "logits" if strategy.name == "head" else "features"
        return self.on

    def check(self, strategy: Any) -> None:
        check_target(self.target)
        if self.on not in ("auto", "features", "logits"):
            raise HeadstartError(f"adversarial: on must be auto, features or logits, got '{self.on}'")
        if self.on == "features" and strategy.name == "head":
            raise HeadstartError(
                "adversarial: on=features needs a backbone that trains; the head strategy freezes it (use on=logits)"
            )
        if self.coeff < 0 or self.weight <= 0:
            raise HeadstartError(f"adversarial: coeff must be >= 0 and weight > 0, got {self.coeff}, {self.weight}")

    def wrap(self, model: Any, strategy: Any, n_classes: int, n_groups: int) -> tuple[Any, Any]:
        on = self.resolved_on(strategy)
        self.used_on = on  # what describe() reports
        width = int(model.backbone.feature_dim) if on == "features" else n_classes
        out = n_groups * (n_classes if self.target == "equalized_odds" else 1)
        if self.hidden > 0:
            adversary: nn.Module = nn.Sequential(nn.Linear(width, self.hidden), nn.ReLU(), nn.Linear(self.hidden, out))
        else:
            adversary = nn.Linear(width, out)
        return AdversaryModel(model, adversary, self.coeff, on), AdversaryStrategy(strategy, self.lr)

    def loss(self, base: Loss | None, n_classes: int, n_groups: int) -> TargetsLoss:
        base = base or F.cross_entropy
        conditional = self.target == "equalized_odds"

        def loss(output: torch.Tensor, targets: Targets) -> torch.Tensor:
            y, g = targets.y, targets.group
            logits, adv = output[:, :n_classes], output[:, n_classes:]
            if g is None or adv.shape[1] == 0:  # no groups / evaluation output: the plain loss
                return base(logits, y)
            if conditional:  # the block of the row's own class: (B, K, G) -> (B, G)
                adv = adv.view(len(y), n_classes, n_groups)[torch.arange(len(y), device=y.device), y]
            return base(logits, y) + self.weight * F.cross_entropy(adv, g)

        return TargetsLoss(loss)

    def describe(self) -> str:
        given = " given the class" if self.target == "equalized_odds" else ""
        on = getattr(self, "used_on", self.on)
        return (
            f"adversarial debiasing: an adversary predicts the group{given} from the {on} representation "
            f"behind a gradient reversal layer (lambda={self.coeff:g}, weight={self.weight:g})"
        )
