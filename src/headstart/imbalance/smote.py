"""``smote``, ``borderline-smote``, ``adasyn``: synthetic minority rows made
on cached features, through imbalanced-learn.

- SMOTE (Chawla et al., "SMOTE: Synthetic Minority Over-sampling Technique",
  JAIR 2002): a new row on the segment between a minority row and one of its
  ``k`` nearest minority neighbours, ``x_new = x_i + u (x_nn - x_i)``,
  ``u ~ U(0, 1)``.
- Borderline-SMOTE (Han et al., ICIC 2005): the same, seeded only from the
  minority rows whose ``m`` nearest neighbours are mostly, not all, of other
  classes (the "danger" rows on the class border).
- ADASYN (He et al., IJCNN 2008): more synthetic rows around the minority rows
  that are harder to learn (a larger share of other classes among their
  neighbours).

Every class but the largest is brought up to the largest's count. The rows
are made on the probe's standardised features, inside each fit (each
cross-validation fold's training rows, then all rows), so no synthetic row is
ever made from a held-out one. A class with a single row in a fit is repeated
instead (no neighbour to interpolate with); ``k`` shrinks to the smallest
class's size - 1. Where ADASYN finds no minority row with a neighbour of
another class it has nothing to weight and falls back to SMOTE.

Example:
    >>> import numpy as np, torch
    >>> Z = torch.randn(60, 4); y = torch.tensor([0] * 50 + [1] * 10)
    >>> Zr, yr = Smote().resampler()(Z, y, 0)
    >>> torch.bincount(yr).tolist()
    [50, 50]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from headstart.imbalance.base import SCORING, Method
from headstart.imbalance.registry import METHODS
from headstart.imbalance.resample import oversample_indices


@METHODS.register(order=90)
@dataclass
class Smote(Method):
    """SMOTE (Chawla et al. 2002): synthetic minority rows between minority neighbours

    >>> X = np.r_[np.zeros((8, 2)), np.eye(2), np.ones((1, 2))]
    >>> y = np.r_[np.zeros(8, int), np.ones(3, int)]
    >>> _, y_new = Smote(k_neighbors=2).fit_resample(X, y, k=2, seed=0)
    >>> np.bincount(y_new).tolist()
    [8, 8]
    """

    k_neighbors: int = 5

    name: ClassVar[str] = "smote"
    features_only: ClassVar[bool] = True
    min_count: ClassVar[int] = 2

    def sampler(self, k: int, seed: int) -> Any:
        from imblearn.over_sampling import SMOTE

        return SMOTE(k_neighbors=k, random_state=seed)

    def resampler(self) -> Callable[[torch.Tensor, torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]:
        def resample(Z: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
            yn = y.numpy()
            counts = np.bincount(yn)
            smallest = int(counts[counts > 0].min())
            if smallest < 2:  # nothing to interpolate with: repeat rows instead
                idx = torch.as_tensor(oversample_indices(yn, seed))
                return Z[idx], y[idx]
            k = min(self.k_neighbors, smallest - 1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Xr, yr = self.fit_resample(Z.float().numpy(), yn, k, seed)
            return torch.as_tensor(Xr, dtype=Z.dtype), torch.as_tensor(yr, dtype=y.dtype)

        return resample

    def fit_resample(self, X: np.ndarray, y: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        return self.sampler(k, seed).fit_resample(X, y)

    def probe_options(self, counts: np.ndarray) -> dict[str, Any]:
        return {"resample": self.resampler(), "scoring": SCORING}


@METHODS.register(order=100)
@dataclass
class BorderlineSmote(Smote):
    """Borderline-SMOTE (Han et al. 2005): SMOTE seeded from minority rows on the class border

    >>> BorderlineSmote(m_neighbors=5).sampler(k=2, seed=0).m_neighbors
    5
    """

    m_neighbors: int = 10

    name: ClassVar[str] = "borderline-smote"

    def sampler(self, k: int, seed: int) -> Any:
        from imblearn.over_sampling import BorderlineSMOTE

        return BorderlineSMOTE(k_neighbors=k, m_neighbors=self.m_neighbors, random_state=seed)


@METHODS.register(order=110)
@dataclass
class Adasyn(Smote):
    """ADASYN (He et al. 2008): more synthetic rows near the harder minority rows

    >>> type(Adasyn().sampler(k=3, seed=0)).__name__
    'ADASYN'
    """

    name: ClassVar[str] = "adasyn"

    def sampler(self, k: int, seed: int) -> Any:
        from imblearn.over_sampling import ADASYN

        return ADASYN(n_neighbors=k, random_state=seed)

    def fit_resample(self, X: np.ndarray, y: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        try:
            return self.sampler(k, seed).fit_resample(X, y)
        except (RuntimeError, ValueError):  # no minority row near another class
            return Smote.sampler(self, k, seed).fit_resample(X, y)
