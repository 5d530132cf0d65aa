"""``dan``: Deep Adaptation Network, multi-kernel MMD over one or more layers
(Long, Cao, Wang & Jordan, "Learning Transferable Features with Deep
Adaptation Networks", ICML 2015).

The squared maximum mean discrepancy between the source and target rows of a
batch, under a sum of Gaussian kernels (the multi-kernel MMD):

    k(a, b)  = sum_u exp(-||a - b||^2 / (alpha_u * s))
    MMD^2    = mean k(s_i, s_j) + mean k(t_i, t_j) - 2 mean k(s_i, t_j)

``s`` is the batch's mean squared pairwise distance (detached: the bandwidths
follow the features but are not pushed around by them), ``alpha_u = 2^u`` for
``u`` in -3..1 (TLlib's choice; Long et al. also learn the kernel weights,
equal here). The V-statistic over every pair of the batch (not the
linear-time estimate) is used: batches are small. ``layers="features,logits"``
adds the MMD of the class logits (DAN adapts several top layers).

The MMD term is ramped in like DANN's reversal coefficient (``schedule=True``:
``weight * (2 / (1 + exp(-10 p)) - 1)`` at progress ``p``): at full weight from
the first step, a LeNet trained from scratch on MNIST -> USPS collapsed in the
first epoch (every ReLU feature dead, chance accuracy): matching two random
feature clouds is easiest by making them constant.
Kernel maths as in :mod:`headstart.select.mmd` (the two-sample test, numpy,
median bandwidth); here in torch, for gradients.

Shapes: ``f_s`` ``(B_s, D)``, ``f_t`` ``(B_t, D)`` (and ``(B, K)`` logits) -> scalar.

Example:
    >>> import torch
    >>> from headstart.adapt.dan import mk_mmd
    >>> x = torch.randn(32, 4)
    >>> bool(mk_mmd(x, x + 3) > mk_mmd(x, torch.randn(32, 4)))
    True
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from headstart.adapt.base import DomainLoss
from headstart.adapt.registry import METHODS
from headstart.errors import HeadstartError
from headstart.train.grl import dann_schedule

ALPHAS = (0.125, 0.25, 0.5, 1.0, 2.0)
LAYERS = ("features", "logits")


def mk_mmd(x: torch.Tensor, y: torch.Tensor, alphas: tuple[float, ...] = ALPHAS) -> torch.Tensor:
    """Multi-kernel (Gaussian) MMD^2 between rows of ``x`` ``(m, D)`` and ``y`` ``(n, D)``."""
    z = torch.cat([x, y]).float()
    sq = z.pow(2).sum(1)
    # ||a||^2 + ||b||^2 - 2 a.b, not cdist(...)**2: cdist's gradient at distance 0 (the diagonal) is NaN.
    d2 = (sq[:, None] + sq[None, :] - 2 * z @ z.T).clamp(min=0)
    scale = d2.detach().sum() / max(1, len(z) * (len(z) - 1))
    scale = scale.clamp(min=1e-8)
    k = sum(torch.exp(-d2 / (a * scale)) for a in alphas)
    m = len(x)
    return k[:m, :m].mean() + k[m:, m:].mean() - 2 * k[:m, m:].mean()


@METHODS.register(order=30)
class DAN(DomainLoss):
    """DAN (Long et al. 2015): multi-kernel MMD between the domains' features (and logits)

    Args:
        weight: the transfer loss's weight.
        layers: ``"features"``, ``"logits"`` or ``"features,logits"``: where the MMD is taken.
        schedule: ramp the MMD term in from 0 (DANN's schedule) instead of full weight at once.

    >>> DAN(layers="features,logits").options()["layers"]
    'features,logits'
    """

    name: ClassVar[str] = "dan"

    def __init__(
        self, weight: float = 1.0, layers: str = "features", schedule: bool = True, lr: float | None = None
    ) -> None:
        super().__init__(weight, lr)
        self.schedule = bool(schedule)
        self.layers = [s.strip() for s in str(layers).split(",") if s.strip()]
        bad = [s for s in self.layers if s not in LAYERS]
        if bad or not self.layers:
            raise HeadstartError(f"dan: layers must be features, logits or both (comma-separated), got '{layers}'")

    def forward(
        self, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor, logits_t: torch.Tensor
    ) -> torch.Tensor:
        pairs = {"features": (f_s, f_t), "logits": (logits_s, logits_t)}
        ramp = dann_schedule(self.progress) if self.schedule else 1.0
        return ramp * sum(mk_mmd(*pairs[name]) for name in self.layers)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "layers": ",".join(self.layers), "schedule": self.schedule}

    def describe(self) -> str:
        return f"DAN: multi-kernel MMD ({len(ALPHAS)} Gaussian kernels) on the {' and '.join(self.layers)}"
