"""``oversample`` and ``undersample``: random over- and under-sampling of the
training rows (the baselines of the resampling literature; He & Garcia,
"Learning from Imbalanced Data", IEEE TKDE 2009).

    oversample:  every class drawn up to the largest class's count, n_c -> max_k n_k
    undersample: every class cut down to the smallest class's count, n_c -> min_k n_k

Over-sampling repeats rows (as evenly as possible), under-sampling discards
them. Both return row indices, so they apply to cached features (the probe)
and to the rows fine-tuning sees.

Example:
    >>> import numpy as np
    >>> y = np.array([0] * 8 + [1] * 2)
    >>> np.bincount(y[oversample_indices(y, 0)]), np.bincount(y[undersample_indices(y, 0)])
    (array([8, 8]), array([2, 2]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from headstart.imbalance.base import SCORING, Method, by_rows
from headstart.imbalance.registry import METHODS
from headstart.imbalance.sampler import draw


def oversample_indices(y: np.ndarray, seed: int) -> np.ndarray:
    """All rows, plus random repeats of the smaller classes up to the largest count."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    target = np.bincount(y).max()
    extra = [draw(np.flatnonzero(y == c), target - int((y == c).sum()), rng) for c in np.unique(y)]
    return np.sort(np.concatenate([np.arange(len(y)), *extra]))


def undersample_indices(y: np.ndarray, seed: int) -> np.ndarray:
    """A random subset of each class, the size of the smallest class."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    target = min(int((y == c).sum()) for c in classes)
    return np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:target] for c in classes]))


@METHODS.register(order=70)
@dataclass
class Oversample(Method):
    """random over-sampling: repeat rows of the smaller classes up to the largest

    >>> y = np.array([0, 0, 0, 1])
    >>> np.bincount(y[Oversample().resample_rows(y, seed=0)]).tolist()
    [3, 3]
    """

    name: ClassVar[str] = "oversample"

    def resample_rows(self, y: np.ndarray, seed: int) -> np.ndarray:
        return oversample_indices(y, seed)

    def probe_options(self, counts: np.ndarray) -> dict[str, Any]:
        return {"resample": by_rows(self.resample_rows), "scoring": SCORING}


@METHODS.register(order=80)
@dataclass
class Undersample(Oversample):
    """random under-sampling: cut every class down to the smallest

    >>> y = np.array([0, 0, 0, 1])
    >>> np.bincount(y[Undersample().resample_rows(y, seed=0)]).tolist()
    [1, 1]
    """

    name: ClassVar[str] = "undersample"

    def resample_rows(self, y: np.ndarray, seed: int) -> np.ndarray:
        return undersample_indices(y, seed)
