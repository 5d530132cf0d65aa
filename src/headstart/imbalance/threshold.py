"""``threshold``: a decision threshold tuned on held-out rows (two classes).

Plain training, then the cut on the logit margin ``m = z_1 - z_0`` that
maximises the chosen metric (macro-F1 by default, or balanced accuracy) on
held-out training rows:

    predict 1  iff  m > t,      t* = argmax_t  metric(y_val, m_val > t)

(cuts lie halfway between neighbouring held-out margins; of equally good cuts
the middle one is taken). For the linear probe the held-out margins are
out-of-fold (every training row scored by a probe fitted without it, at the
chosen C); for fine-tuning they are the validation rows cut from the training
rows. Never the test rows. ``t`` is folded into the head's bias
(``b_1 -= t``), so the saved model predicts with it.

Example:
    >>> import numpy as np
    >>> m = np.array([-3.0, -2.0, -1.0, -0.5, 0.5, 1.0]); y = np.array([0, 0, 0, 1, 1, 1])
    >>> -1.0 < tune_threshold(m, y) < -0.5
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from headstart.errors import HeadstartError
from headstart.imbalance.base import Method
from headstart.imbalance.registry import METHODS

METRICS = ("macro_f1", "balanced_accuracy")


def _scores(tp: np.ndarray, fp: np.ndarray, pos: int, neg: int, metric: str) -> np.ndarray:
    fn, tn = pos - tp, neg - fp
    if metric == "balanced_accuracy":
        return 0.5 * (tp / max(pos, 1) + tn / max(neg, 1))
    f1_pos = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(tp)), where=(2 * tp + fp + fn) > 0)
    f1_neg = np.divide(2 * tn, 2 * tn + fn + fp, out=np.zeros(len(tp)), where=(2 * tn + fn + fp) > 0)
    return 0.5 * (f1_pos + f1_neg)


def tune_threshold(margin: np.ndarray, y: np.ndarray, metric: str = "macro_f1") -> float:
    """The cut on ``margin`` (``(N,)``, class 1 when above) that maximises ``metric`` on labels ``y`` in {0, 1}."""
    if metric not in METRICS:
        raise HeadstartError(f"threshold metric must be one of {', '.join(METRICS)}, got '{metric}'")
    margin, y = np.asarray(margin, dtype=np.float64), np.asarray(y)
    order = np.argsort(-margin, kind="stable")
    m, yy = margin[order], y[order]
    # Cut i predicts the i highest margins as class 1 (i = 0 .. N); only cuts
    # between distinct margins are possible.
    tp = np.concatenate([[0], np.cumsum(yy == 1)])
    fp = np.concatenate([[0], np.cumsum(yy != 1)])
    valid = np.concatenate([[True], m[:-1] > m[1:], [True]])
    scores = np.where(valid, _scores(tp, fp, int((y == 1).sum()), int((y != 1).sum()), metric), -np.inf)
    cuts = np.concatenate([[m[0] + 1.0], (m[:-1] + m[1:]) / 2, [m[-1] - 1.0]])
    best = np.flatnonzero(scores >= scores.max() - 1e-12)
    return float(cuts[best[len(best) // 2]])  # the middle one of the best cuts


@METHODS.register(order=130)
@dataclass
class Threshold(Method):
    """decision threshold tuned on held-out training rows (two classes)

    >>> Threshold(metric="balanced_accuracy").binary_only
    True
    """

    metric: str = "macro_f1"

    name: ClassVar[str] = "threshold"
    post_hoc: ClassVar[bool] = True
    needs_validation: ClassVar[bool] = True
    binary_only: ClassVar[bool] = True
    min_count: ClassVar[int] = 2

    def adjust(
        self, head: nn.Linear, counts: np.ndarray, val_logits: np.ndarray | None, val_y: np.ndarray | None
    ) -> str:
        if val_logits is None or val_y is None or len(np.unique(val_y)) < 2:
            raise HeadstartError("threshold tuning needs held-out rows of both classes (use --val-size > 0)")
        t = tune_threshold(val_logits[:, 1] - val_logits[:, 0], val_y, self.metric)
        with torch.no_grad():
            head.bias[1] -= t
        return f"decision threshold {t:+.3f} on the logit margin, tuned for {self.metric} on {len(val_y)} held-out rows"
