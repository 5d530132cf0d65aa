"""``effective``: cross-entropy weighted by the inverse effective number of
samples (Cui et al., "Class-Balanced Loss Based on Effective Number of
Samples", CVPR 2019).

Each new example of a class adds less information than the last; the
effective number of ``n_c`` examples is ``E_c = (1 - beta^n_c) / (1 - beta)``
and the weight is its inverse:

    w_c ∝ (1 - beta) / (1 - beta^n_c)

``beta = 0`` gives no re-weighting, ``beta -> 1`` gives inverse frequency
(``weighted``); 0.999 (the paper's usual value) flattens the weights of
large classes. As in ``weighted``, the mean row weight is 1.

Example:
    >>> from headstart.imbalance import make_method
    >>> make_method("effective", beta=0.99).weights([3000, 30]).round(3)
    array([0.973, 3.737])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from headstart.imbalance.registry import METHODS
from headstart.imbalance.weighted import Weighted, class_weights


@METHODS.register(order=20)
@dataclass
class EffectiveNumber(Weighted):
    """cross-entropy weighted by the inverse effective number of samples (Cui et al. 2019)

    >>> EffectiveNumber(beta=0.9).weights(np.array([90, 10])).round(2).tolist()
    [0.95, 1.46]
    """

    beta: float = 0.999

    name: ClassVar[str] = "effective"

    def weights(self, counts: np.ndarray) -> np.ndarray:
        return class_weights(counts, "effective", self.beta)
