"""``cdan`` and ``cdan-e``: conditional domain-adversarial training, and its
entropy-conditioned variant CDAN+E (Long, Cao, Wang & Jordan, "Conditional
Adversarial Domain Adaptation", NeurIPS 2018).

DANN's discriminator sees the features ``f`` only; CDAN's sees them jointly
with the classifier's prediction ``g = softmax(logits)`` (detached, as in the
authors' code), through the multilinear map ``T(f, g) = f ⊗ g`` (``D * K``
values), or, when ``D * K`` exceeds ``max_dim``, its randomised form

    T(f, g) = (f R_f) ⊙ (g R_g) / sqrt(max_dim)

with fixed Gaussian ``R_f`` ``(D, max_dim)`` and ``R_g`` ``(K, max_dim)``. So
the domains are aligned class by class (multimodal distributions), not only as
a whole. CDAN+E weights each row by the certainty of its prediction,
``w = 1 + exp(-H(g))`` (normalised to mean 1 over the batch): confident rows,
whose ``g`` says more about the class, count more.

    transfer = sum_i w_i BCE(d(R_lambda(T(f_i, g_i))), domain_i)

``lambda`` ramps as in DANN (:func:`~headstart.train.grl.dann_schedule`).

Shapes: ``f`` ``(B, D)``, logits ``(B, K)`` -> scalar.

Example:
    >>> import torch
    >>> from headstart.adapt.cdan import CDAN
    >>> loss = CDAN(entropy=True, hidden=16).build(feature_dim=8, n_classes=3)
    >>> f_s = torch.randn(6, 8, requires_grad=True)
    >>> loss(f_s, torch.randn(6, 8), torch.randn(6, 3), torch.randn(6, 3)).backward()
    >>> f_s.grad.abs().sum() > 0
    tensor(True)
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from headstart.adapt.base import DomainLoss, discriminator, domain_bce
from headstart.adapt.registry import METHODS
from headstart.errors import HeadstartError
from headstart.train.grl import GradientReversal, dann_schedule


def entropy_weights(probs: torch.Tensor) -> torch.Tensor:
    """``1 + exp(-H(p))`` per row, normalised to mean 1 (CDAN+E's weights)."""
    h = -(probs * torch.log(probs.clamp(min=1e-8))).sum(1)
    w = 1.0 + torch.exp(-h)
    return w / w.mean()


@METHODS.register(order=50)
class CDAN(DomainLoss):
    """CDAN (Long et al. 2018): a discriminator on features x predictions (+E: entropy-weighted)

    Args:
        weight: the transfer loss's weight.
        entropy: weight rows by the certainty of their prediction (CDAN+E).
        coeff: the reversal coefficient's final value.
        hidden: the discriminator's hidden width.
        max_dim: above this many values ``f ⊗ g`` is replaced by its randomised
            multilinear map of this size.
        lr: the discriminator's learning rate (default: the head's).

    >>> CDAN(max_dim=64).build(feature_dim=8, n_classes=2).max_dim
    64
    """

    name: ClassVar[str] = "cdan"
    has_parameters: ClassVar[bool] = True

    def __init__(
        self,
        weight: float = 1.0,
        entropy: bool = False,
        coeff: float = 1.0,
        hidden: int = 500,
        max_dim: int = 1024,
        lr: float | None = None,
    ) -> None:
        super().__init__(weight, lr)
        if coeff < 0 or hidden < 1 or max_dim < 1:
            raise HeadstartError(f"cdan: coeff must be >= 0, hidden and max_dim >= 1, got {coeff}, {hidden}, {max_dim}")
        self.entropy, self.coeff, self.hidden, self.max_dim = bool(entropy), float(coeff), int(hidden), int(max_dim)
        self.grl = GradientReversal(0.0)

    def build(self, feature_dim: int, n_classes: int) -> CDAN:
        self.randomized = feature_dim * n_classes > self.max_dim
        width = self.max_dim if self.randomized else feature_dim * n_classes
        if self.randomized:  # fixed random projections: buffers, saved with the model, never trained
            g = torch.Generator().manual_seed(0)
            self.register_buffer("r_f", torch.randn(feature_dim, self.max_dim, generator=g))
            self.register_buffer("r_g", torch.randn(n_classes, self.max_dim, generator=g))
        self.discriminator = discriminator(width, self.hidden)
        return self

    def multilinear(self, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        if self.randomized:
            return (f @ self.r_f) * (g @ self.r_g) / math.sqrt(self.max_dim)
        return torch.bmm(g.unsqueeze(2), f.unsqueeze(1)).flatten(1)

    def forward(
        self, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor, logits_t: torch.Tensor
    ) -> torch.Tensor:
        self.grl.set_coeff(self.coeff * dann_schedule(self.progress))
        f = torch.cat([f_s, f_t]).float()
        g = F.softmax(torch.cat([logits_s, logits_t]).float(), dim=1).detach()
        d = self.discriminator(self.grl(self.multilinear(f, g)))
        weights = entropy_weights(g) if self.entropy else None
        return domain_bce(d[: len(f_s)], d[len(f_s) :], weights)

    def options(self) -> dict[str, Any]:
        extra = {"entropy": self.entropy, "coeff": self.coeff, "hidden": self.hidden, "max_dim": self.max_dim}
        return {**super().options(), **extra}

    def describe(self) -> str:
        e = "+E (entropy-weighted rows)" if self.entropy else ""
        return f"CDAN{e}: a discriminator on features x predictions behind a gradient reversal layer"


@METHODS.register(order=60)
class CDANE(CDAN):
    """CDAN+E (Long et al. 2018): CDAN with rows weighted by prediction certainty

    Args: as :class:`CDAN` (``entropy`` is always on).

    >>> CDANE().entropy
    True
    """

    name: ClassVar[str] = "cdan-e"

    def __init__(
        self, weight: float = 1.0, coeff: float = 1.0, hidden: int = 500, max_dim: int = 1024, lr: float | None = None
    ) -> None:
        super().__init__(weight, True, coeff, hidden, max_dim, lr)

    def options(self) -> dict[str, Any]:
        return {k: v for k, v in super().options().items() if k != "entropy"}
