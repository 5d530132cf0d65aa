"""``logit-adjust``: post-hoc logit adjustment (Menon et al., "Long-tail
learning via logit adjustment", ICLR 2021).

A model trained on imbalanced rows learns ``p(y | x)`` under the training
prior ``pi``; subtracting the scaled log prior from its logits at prediction
time turns its argmax into (for ``tau = 1``) the Bayes rule for the
balanced error:

    predict argmax_y  z_y(x) - tau * log pi_y

Nothing is retrained: the shift is folded into the head's bias
(``b_y -= tau log pi_y``), so the saved model predicts with it.

Example:
    >>> import numpy as np
    >>> from torch import nn
    >>> head = nn.Linear(4, 2); before = head.bias.detach().clone()
    >>> _ = LogitAdjust().adjust(head, np.array([900, 100]), None, None)
    >>> shift = head.bias.detach() - before
    >>> float(shift[1] - shift[0]) > 0
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from headstart.imbalance.base import Method, prior
from headstart.imbalance.registry import METHODS


def adjust_logits(logits: np.ndarray, class_prior: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """``logits - tau * log(prior)``, ``(N, K)``."""
    return logits - tau * np.log(np.clip(np.asarray(class_prior, dtype=np.float64), 1e-12, None))


@METHODS.register(order=120)
@dataclass
class LogitAdjust(Method):
    """post-hoc logit adjustment (Menon et al. 2021): argmax z - tau log prior

    >>> LogitAdjust(tau=1.5).post_hoc  # changes the trained head, not the training
    True
    """

    tau: float = 1.0

    name: ClassVar[str] = "logit-adjust"
    post_hoc: ClassVar[bool] = True

    def adjust(
        self, head: nn.Linear, counts: np.ndarray, val_logits: np.ndarray | None, val_y: np.ndarray | None
    ) -> str:
        shift = adjust_logits(np.zeros(len(counts)), prior(counts), self.tau)
        with torch.no_grad():
            head.bias.add_(torch.as_tensor(shift, dtype=head.bias.dtype))
        return f"logits shifted by -{self.tau:g} log prior (folded into the head's bias)"
