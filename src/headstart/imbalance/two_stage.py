"""``two-stage``: decoupled training, classifier re-training (cRT) (Kang et
al., "Decoupling Representation and Classifier for Long-Tailed Recognition",
ICLR 2020).

Stage 1 learns the representation with natural (instance-balanced) sampling,
which the paper finds gives the best features; stage 2 freezes it and trains
a new classifier with class-balanced sampling:

    stage 1: backbone + head  <- CE, rows drawn with p_c ∝ n_c
    stage 2: head only        <- CE on frozen features, rows drawn with p_c = 1 / K

With fine-tuning, stage 1 is the fine-tuning run (plain loss, plain batches)
and stage 2 a linear probe on the fine-tuned backbone's features of the
training rows, with one class-balanced epoch (``balanced-sampling``'s draw)
as its training set. With ``--strategy linear-probe`` the representation is
the pretrained backbone, so stage 1 is pretraining itself and the method is
the probe with class-balanced sampling (the same as ``balanced-sampling``).

Example:
    >>> import numpy as np
    >>> X = np.random.randn(200, 6).astype("float32"); y = (X[:, 0] > 1.0).astype(int)
    >>> TwoStage().retrain(X, y, 2, {"C": 1.0}).head_.weight.shape
    torch.Size([2, 6])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from headstart.imbalance.base import fit_probe
from headstart.imbalance.registry import METHODS
from headstart.imbalance.sampler import BalancedSampling


@METHODS.register(order=140)
@dataclass
class TwoStage(BalancedSampling):
    """two-stage training (Kang et al. 2020, cRT): natural sampling, then the head re-trained class-balanced

    >>> TwoStage().batch_sampler(np.array([90, 10])) is None  # stage 1 samples naturally
    True
    """

    name: ClassVar[str] = "two-stage"
    two_stage: ClassVar[bool] = True

    def batch_sampler(self, counts: np.ndarray) -> None:
        return None  # stage 1 samples naturally

    def retrain(self, X: np.ndarray, y: np.ndarray, n_classes: int, probe: dict[str, Any]) -> Any:
        """Stage 2: a class-balanced linear head on frozen features ``X``; returns the fitted LinearProbe."""
        return fit_probe(BalancedSampling(), X, y, n_classes, probe)[0]
