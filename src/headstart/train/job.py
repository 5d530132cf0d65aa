"""One builder of a training job: the model, its rows, the config and the hooks that
:func:`headstart.train.train` takes, set up the same way for every family.

Every caller of the loop (the classifier's fine-tuning, domain adaptation,
distillation, debiasing a head, episodic few-shot training, and each new
family) builds its job here, then changes only what its method changes:
``job.wrap(net, strategy)`` when the method adds a module (a discriminator, an
adversary, a teacher), ``job.hooks`` for the loss and the batch sampler,
``job.train_rows`` when batches carry more than the rows (a teacher's view).

What the builder fixes for everyone:

- the model: ``TransferModel(backbone, n_classes)`` built under a forked RNG
  seeded with ``config.seed`` (reproducible, and the caller's RNG untouched);
  its head copied from ``head`` when given (LP-FT, a teacher's head);
- the rows: training rows with the config's augmentation and token limit,
  validation rows without augmentation;
- the run: ``job.run(run_dir, resume, progress)`` calls the one loop.

    >>> import numpy as np
    >>> from headstart.backbones.embedded import IdentityBackbone
    >>> from headstart.data import from_arrays
    >>> from headstart.strategies import make_strategy
    >>> from headstart.train import TrainConfig
    >>> X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32"); y = (X[:, 0] > 0).astype(int)
    >>> job = build_job(IdentityBackbone(4), 2, from_arrays(X, y), y, TrainConfig(epochs=1, precision="no"),
    ...                 make_strategy("head"))
    >>> len(job.run(progress=False).history)
    1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from headstart.train.config import TrainConfig
from headstart.train.data import Rows
from headstart.train.loop import TrainResult, train
from headstart.train.model import TransferModel


@dataclass
class Job:
    """What one call of the loop needs. ``model`` is the plain ``TransferModel`` (what is
    kept after training); ``net`` is what trains (``model`` itself, or a method's wrapper)."""

    model: nn.Module
    net: nn.Module
    strategy: Any
    train_rows: Any
    val_rows: Any
    config: TrainConfig
    identity: dict[str, Any] = field(default_factory=dict)
    hooks: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said with the strategy, once every check has passed

    def wrap(self, net: nn.Module, strategy: Any) -> Job:
        """Train ``net`` (which holds ``model``) with ``strategy`` instead."""
        self.net, self.strategy = net, strategy
        return self

    def run(self, run_dir: str | Path | None = None, resume: bool = False, progress: bool | None = None) -> TrainResult:
        return train(
            self.net,
            self.strategy,
            self.train_rows,
            self.val_rows,
            self.config,
            run_dir,
            resume,
            self.identity,
            progress,
            notes=self.notes,
            **self.hooks,
        )


def new_model(
    backbone: Any,
    n_classes: int,
    seed: int,
    head: nn.Module | None = None,
    freeze_bn: bool | None = None,
    init: Callable[[TransferModel], Any] | None = None,
) -> TransferModel:
    """``TransferModel(backbone, n_classes)`` drawn from ``seed``; its head's weights copied from ``head``.
    ``init(model)`` builds a method's own modules from the same seeded stream, right after the model's
    (adaptation's discriminator)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TransferModel(backbone, n_classes, freeze_bn=freeze_bn)
        if init is not None:
            init(model)
    if head is not None:
        with torch.no_grad():
            model.head.weight.copy_(head.weight)
            model.head.bias.copy_(head.bias)
    return model


def build_job(
    backbone: Any,
    n_classes: int,
    train_data: Any,
    train_targets: Any,
    config: TrainConfig,
    strategy: Any,
    *,
    val_data: Any = None,
    val_codes: np.ndarray | None = None,
    identity: dict[str, Any] | None = None,
    head: nn.Module | None = None,
    model: nn.Module | None = None,
    freeze_bn: bool | None = None,
    init: Callable[[TransferModel], Any] | None = None,
) -> Job:
    """A :class:`Job` training ``backbone`` + a head on ``train_data`` (a Dataset) with ``train_targets``
    (what the rows carry: class codes, or a method's targets), validated on ``val_data`` / ``val_codes``.

    ``model`` replaces the ``TransferModel`` (an embedding model without a head, for episodic training)."""
    if model is None:
        model = new_model(backbone, n_classes, config.seed, head, freeze_bn, init)
    train_rows = Rows(
        train_data, backbone, train_targets, train=True, augment=config.augment, max_length=config.max_length
    )
    val_rows = None
    if val_data is not None:
        val_rows = Rows(val_data, backbone, val_codes, train=False, augment=False, max_length=config.max_length)
    return Job(model, model, strategy, train_rows, val_rows, config, dict(identity or {}))
