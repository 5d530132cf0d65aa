"""Debias a linear head on cached features, through the one training loop.

The ``head`` strategy without re-running the backbone at every epoch: the
features ``(N, D)`` (from :func:`headstart.features.extract`, cached on disk)
go through the ``identity`` backbone, and the head trains in
``headstart.train.train`` with a debiasing method's hooks (the loss, the
batch sampler, the adversary), exactly as ``TransferClassifier(strategy="head",
debias=...)`` would on the raw inputs — minus the backbone's dropout. Cheap
enough to compare methods over many seeds; the adversary can only act on the
logits here (``on="logits"``), since the features are fixed.

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int); g = (X[:, 1] > 0).astype(int)
    >>> head = train_head(X, y, g, method="penalty", epochs=2, progress=False)
    >>> tuple(head.weight.shape)
    (2, 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from headstart.errors import HeadstartError
from headstart.fairness.base import plain_loss, with_groups


def train_head(
    features: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    method: str | None = None,
    options: dict[str, Any] | None = None,
    epochs: int = 20,
    lr: float = 0.01,
    batch_size: int = 64,
    weight_decay: float = 0.01,
    seed: int = 0,
    progress: bool | None = None,
) -> nn.Linear:
    """A linear head ``(K, D)`` trained on ``features`` with class codes ``y`` and
    group codes ``groups`` (``method=None``: plain cross-entropy, the baseline).
    No validation split: the last epoch's head is returned (a validation split
    cut from biased training rows would pick the most biased epoch)."""
    from headstart.backbones.embedded import IdentityBackbone
    from headstart.data import from_arrays
    from headstart.fairness import make_method
    from headstart.strategies import make_strategy
    from headstart.train import TrainConfig
    from headstart.train.job import build_job

    features = np.asarray(features, dtype=np.float32)
    y, groups = np.asarray(y, dtype=np.int64), np.asarray(groups, dtype=np.int64)
    if features.ndim != 2 or len(features) != len(y) or len(y) != len(groups):
        raise HeadstartError(f"features {features.shape}, {len(y)} labels and {len(groups)} groups do not match")
    n_classes, n_groups = int(y.max()) + 1, int(groups.max()) + 1
    backbone = IdentityBackbone(features.shape[1])
    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        head_lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        precision="no",
        augment=False,
        seed=seed,
    )
    strategy = make_strategy("head")
    job = build_job(backbone, n_classes, from_arrays(features, y), with_groups(y, groups), config, strategy)
    job.hooks = {"loss_fn": plain_loss(None)}
    if method is not None:
        mitigation = make_method(method, **(options or {}))
        mitigation.check(strategy)
        job.hooks["loss_fn"] = mitigation.loss(None, n_classes, n_groups)
        sampler = mitigation.batch_sampler(y, groups)
        if sampler is not None:
            job.hooks["batch_sampler"] = sampler
        job.wrap(*mitigation.wrap(job.model, strategy, n_classes, n_groups))
    job.run(progress=progress)
    return job.model.head.eval().requires_grad_(False)
