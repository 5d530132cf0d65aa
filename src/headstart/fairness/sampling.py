"""``group-sampling``: group-balanced batches (Kamiran & Calders, "Data
preprocessing techniques for classification without discrimination", KAIS
2012 — re-sampling; Idrissi et al., "Simple data balancing achieves
competitive worst-group-accuracy", CLeaR 2022).

The class-balanced sampler of :mod:`headstart.imbalance.sampler` with *cells*
in place of classes: a cell with ``n_c`` training rows is drawn with
probability ``∝ n_c^q`` (``q = 0``: every cell equally often). The cells are

- ``by="group_label"`` (the default): every (group, class) pair. Within
  each group the classes become balanced too, so the correlation between
  group and class in the training rows is removed from what the model sees
  (Kamiran & Calders' uniform sampling);
- ``by="group"``: the groups alone (a minority group is seen as often as a
  majority one; the class mix inside each group is kept).

An epoch keeps the natural number of rows; everything is a pure function of
(seed, epoch, rank), so a resumed run replays its batches.

Example:
    >>> import numpy as np
    >>> y = np.array([1] * 45 + [0] * 5 + [0] * 45 + [1] * 5); g = np.repeat([0, 1], 50)
    >>> cells = group_cells(y, g, 2, "group_label")
    >>> np.bincount(cells).tolist()
    [5, 45, 45, 5]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from headstart.errors import HeadstartError
from headstart.fairness.base import Mitigation
from headstart.fairness.registry import METHODS


def group_cells(y: np.ndarray, g: np.ndarray, n_classes: int, by: str) -> np.ndarray:
    """Each row's cell code: its group, or its (group, class) pair."""
    y, g = np.asarray(y, dtype=np.int64), np.asarray(g, dtype=np.int64)
    return g * n_classes + y if by == "group_label" else g


@METHODS.register()
@dataclass
class GroupSampling(Mitigation):
    """group-balanced sampling (Kamiran & Calders 2012): every group (x class) cell drawn equally often

    Args:
        by: ``"group_label"`` (balance every group x class cell) or ``"group"``.
        q: cell frequencies ``∝ n_c^q``: 0 balanced, 0.5 square-root, 1 natural.

    >>> GroupSampling(q=0.5).describe()
    'group-balanced sampling: every group x class cell drawn in proportion to n^0.5'
    """

    by: str = "group_label"
    q: float = 0.0

    name: ClassVar[str] = "group-sampling"

    def check(self, strategy: Any) -> None:
        if self.by not in ("group", "group_label"):
            raise HeadstartError(f"group-sampling: by must be group or group_label, got '{self.by}'")
        if not 0.0 <= self.q <= 1.0:
            raise HeadstartError(f"group-sampling: q must be in [0, 1], got {self.q}")

    def batch_sampler(self, y: np.ndarray, g: np.ndarray) -> Callable[..., Any] | None:
        from headstart.imbalance.sampler import ClassBalancedBatches

        n_classes = int(np.max(y)) + 1
        cells = group_cells(y, g, n_classes, self.by)

        def make(rows: Any, batch_size: int, seed: int, num_processes: int) -> ClassBalancedBatches:
            return ClassBalancedBatches(cells, batch_size, seed, self.q, rows.lengths, num_processes)

        return make

    def describe(self) -> str:
        cells = "group x class cell" if self.by == "group_label" else "group"
        how = "equally often" if self.q == 0 else f"in proportion to n^{self.q:g}"
        return f"group-balanced sampling: every {cells} drawn {how}"
