"""``auto``: measure the imbalance, then pick a method by a fixed rule.

The rule, on the training rows' class counts:

1. ``ratio = n_max / n_min``. Below ``min_ratio`` (1.5) the classes count as
   balanced: ``none``.
2. Linear probe on cached features, every class with at least 2 rows:
   ``smote`` (synthetic minority rows, brought up to the largest class).
3. Fine-tuning: ``balanced-sampling`` (every class equally often in the
   batches). On the benchmarks' fine-tuning runs (1 epoch, 1,000 rows, 5
   seeds) plain training collapsed to the majority class in some seeds and
   class-weighted cross-entropy in more of them (its large minority weights
   give a few huge steps), while balanced sampling never did on SMS spam
   (macro-F1 0.942 ± 0.008 against 0.631 weighted, 0.835 plain). When the
   batches are taken (debiasing samples them by group) or on a probe with a
   class of a single row: ``weighted`` (works with any class size, keeps the
   epoch as it is, needs no held-out rows).

Why a rule and not a held-out check: the check we tried (each candidate
scored by the macro-F1 of its out-of-fold predictions on the training rows)
scores on rows with the training prior, and when that prior is more skewed
than the one the model meets later, it prefers the methods that correct
least. On the benchmarks (``benchmarks/imbalance.py``: SMS spam cut to 2%
spam, TweetEval emotion with optimism cut to 5%, test rows at their natural
distribution; 5 seeds each) it picked ``none`` in 4 of the 10 runs and
``threshold`` in 3, and its mean macro-F1 on TweetEval was 6.2 points below
the best method's; SMOTE was within half a point of the best on both. What was measured and
picked is printed and kept in the run folder.

Example:
    >>> import numpy as np
    >>> X = np.random.randn(400, 6).astype("float32"); y = (X[:, 0] > 1.2).astype(int)
    >>> Auto().choose(X, y, 2, {}, ["a", "b"])[0].name
    'smote'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from headstart.imbalance.base import Method, imbalance_ratio
from headstart.imbalance.registry import METHODS


@METHODS.register(order=150)
@dataclass
class Auto(Method):
    """the method the imbalance ratio and the training set-up call for

    >>> Auto(min_ratio=2.0).min_ratio  # below this imbalance ratio: plain training
    2.0
    """

    min_ratio: float = 1.5

    name: ClassVar[str] = "auto"

    def choose(
        self,
        X: np.ndarray | None,
        y: np.ndarray,
        n_classes: int,
        probe: dict[str, Any],
        names: Sequence[Any],
        fine_tuning: bool = False,
        batches_taken: bool = False,
    ) -> tuple[Method, str]:
        """(the method, a sentence saying why) for training class codes ``y``
        (``X``, the features, and ``probe``, the probe's options, are not
        needed by the rule). ``batches_taken``: something else samples the
        fine-tuning batches (debiasing), so the pick must be a loss."""
        from headstart.imbalance import make_method

        counts = np.bincount(y, minlength=n_classes)
        ratio = imbalance_ratio(counts)
        big, small = int(np.argmax(counts)), int(np.argmin(counts))
        measured = f"imbalance ratio {ratio:.1f} ('{names[big]}' {counts[big]} / '{names[small]}' {counts[small]})"
        if ratio < self.min_ratio:
            return make_method("none"), f"{measured} < {self.min_ratio:g}: classes balanced enough -> none"
        if fine_tuning and batches_taken:
            name, why = "weighted", "fine-tuning, batches sampled by group: class-weighted cross-entropy"
        elif fine_tuning:
            name, why = "balanced-sampling", "fine-tuning (no synthetic rows): every class equally often per batch"
        elif counts.min() < 2:
            name, why = "weighted", f"class '{names[small]}' has 1 row, nothing to interpolate: class weights"
        else:
            name, why = "smote", "cached features: synthetic minority rows"
        return make_method(name), f"{measured} >= {self.min_ratio:g}; {why} -> {name}"
