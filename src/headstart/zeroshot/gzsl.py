"""Generalized zero-shot evaluation (Xian et al., "Zero-Shot Learning — A
Comprehensive Evaluation of the Good, the Bad and the Ugly", TPAMI 2018) with
calibrated stacking (Chao et al., "An Empirical Study and Analysis of
Generalized Zero-Shot Learning for Object Recognition in the Wild", ECCV 2016).

Test rows of seen and unseen classes are classified among *all* classes.
``acc_seen`` and ``acc_unseen`` are per-class mean accuracies over the rows of
seen and of unseen classes, and ``H = 2 acc_s acc_u / (acc_s + acc_u)``.
Models trained on the seen classes favour them; calibrated stacking subtracts
``gamma`` from every seen class's score,

    y_hat = argmax_z  score(x, z) - gamma * 1[z in seen],

and ``gamma`` is chosen on validation rows (never the test rows) to maximise
H. Sweeping ``gamma`` traces the seen/unseen accuracy curve whose area is
AUSUC. Scores ``(N, K)``, ``classes`` ``(K,)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from headstart.errors import HeadstartError


@dataclass
class GZSLResult:
    acc_seen: float
    acc_unseen: float
    harmonic: float
    gamma: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _per_class_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    classes = np.unique(y)
    if len(classes) == 0:
        return float("nan")
    return float(np.mean([np.mean(pred[y == c] == c) for c in classes]))


def gzsl_scores(
    scores: np.ndarray, y: Any, classes: Sequence[Any], seen: Sequence[Any], gamma: float = 0.0
) -> GZSLResult:
    """Seen / unseen per-class accuracy and their harmonic mean, with calibration ``gamma``."""
    scores = np.asarray(scores, dtype=np.float64)
    classes = np.asarray(list(classes))
    y = np.asarray(y)
    if scores.shape != (len(y), len(classes)):
        raise HeadstartError(f"scores must be (rows, classes) = ({len(y)}, {len(classes)}), got {scores.shape}")
    is_seen = np.isin(classes, np.asarray(list(seen)))
    if is_seen.all() or not is_seen.any():
        raise HeadstartError("generalized zero-shot needs both seen and unseen classes among the candidates")
    pred = classes[(scores - gamma * is_seen[None, :]).argmax(1)]
    rows_seen = np.isin(y, classes[is_seen])
    s = _per_class_accuracy(pred[rows_seen], y[rows_seen])
    u = _per_class_accuracy(pred[~rows_seen], y[~rows_seen])
    h = 2 * s * u / (s + u) if (s + u) > 0 else 0.0
    return GZSLResult(s, u, float(h), float(gamma))


def gamma_grid(scores: np.ndarray, classes: Sequence[Any], seen: Sequence[Any], n: int = 101) -> np.ndarray:
    """Candidate calibrations spanning where the top seen and unseen scores cross."""
    scores = np.asarray(scores, dtype=np.float64)
    is_seen = np.isin(np.asarray(list(classes)), np.asarray(list(seen)))
    gap = scores[:, is_seen].max(1) - scores[:, ~is_seen].max(1)
    lo, hi = np.quantile(gap, [0.0, 1.0])
    return np.unique(np.concatenate([[0.0], np.linspace(min(lo, 0) - 1e-9, max(hi, 0) + 1e-9, n)]))


def calibrate(scores: np.ndarray, y: Any, classes: Sequence[Any], seen: Sequence[Any]) -> GZSLResult:
    """The ``gamma`` (from :func:`gamma_grid`) with the best H on these (validation) rows."""
    best = None
    for g in gamma_grid(scores, classes, seen):
        r = gzsl_scores(scores, y, classes, seen, g)
        if best is None or r.harmonic > best.harmonic:
            best = r
    assert best is not None
    return best


def seen_unseen_curve(scores: np.ndarray, y: Any, classes: Sequence[Any], seen: Sequence[Any]) -> dict[str, Any]:
    """(acc_seen, acc_unseen) over the gamma sweep, and its area (AUSUC, Chao et al. 2016)."""
    points = [gzsl_scores(scores, y, classes, seen, g) for g in gamma_grid(scores, classes, seen, n=201)]
    pts = sorted({(p.acc_unseen, p.acc_seen) for p in points})
    u = np.array([0.0] + [p[0] for p in pts])
    s = np.array([max(p[1] for p in pts if p[0] >= x) for x in u])
    return {"acc_unseen": u.tolist(), "acc_seen": s.tolist(), "ausuc": float(np.trapezoid(s, u))}
