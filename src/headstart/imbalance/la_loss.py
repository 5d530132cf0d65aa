"""``la-loss``: the logit-adjusted loss (Menon et al., "Long-tail learning via
logit adjustment", ICLR 2021).

Training adds the scaled log prior to the logits inside the softmax, so a
rare class must win by a larger margin; prediction uses the plain logits:

    loss = CE(z + tau * log pi, y),      predict argmax_y z_y

with ``pi`` the training class frequencies and ``tau = 1`` (the paper's
default). For a linear probe with an unpenalised bias this learns the same
weights as plain training followed by post-hoc adjustment (``logit-adjust``)
at the same C; the two differ in the C that is chosen, and with fine-tuning
they differ outright. Shapes: logits ``(B, K)``, labels ``(B,)`` -> scalar.

Example:
    >>> import numpy as np, torch
    >>> loss = LogitAdjustedLoss(np.array([0.9, 0.1]))
    >>> float(loss(torch.zeros(1, 2), torch.tensor([1]))) > float(loss(torch.zeros(1, 2), torch.tensor([0])))
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from headstart.imbalance.base import SCORING, Method, prior
from headstart.imbalance.registry import METHODS


class LogitAdjustedLoss(nn.Module):
    def __init__(self, class_prior: np.ndarray, tau: float = 1.0) -> None:
        super().__init__()
        offset = tau * np.log(np.clip(np.asarray(class_prior, dtype=np.float64), 1e-12, None))
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32))

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits + self.offset.to(logits.device), labels)


@METHODS.register(order=40)
@dataclass
class LALoss(Method):
    """logit-adjusted loss (Menon et al. 2021): CE(z + tau log prior, y)

    >>> loss = LALoss(tau=1.0).loss(np.array([90, 10]))
    >>> round(float(loss(torch.zeros(1, 2), torch.tensor([1]))), 4)  # the rare class pays more
    2.3026
    """

    tau: float = 1.0

    name: ClassVar[str] = "la-loss"

    def probe_options(self, counts: np.ndarray) -> dict[str, Any]:
        return {"loss": LogitAdjustedLoss(prior(counts), self.tau), "scoring": SCORING}

    def loss(self, counts: np.ndarray) -> nn.Module:
        return LogitAdjustedLoss(prior(counts), self.tau)
