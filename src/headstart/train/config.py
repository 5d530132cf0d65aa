"""Training options: one dataclass, saved in the run folder, compared on resume."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class TrainConfig:
    """Options of the one training loop.

    Attributes:
        epochs: passes over the training rows.
        lr: peak learning rate of the backbone's top group (the head's is
            ``head_lr``, default ``head_lr_factor`` x ``lr``: 10 for a random
            head, 1 for a head started from the linear probe).
        batch_size: rows per optimiser step (before accumulation).
        grad_accum: batches accumulated per optimiser step.
        weight_decay: AdamW's decoupled weight decay (not on biases / norms).
        warmup: fraction of the steps with a linear warm-up, then cosine decay.
        max_grad_norm: gradient clipping (0 = off).
        precision: ``"auto"`` (bf16 on a GPU that has it, else full), ``"no"``,
            ``"bf16"``, ``"fp16"``.
        patience: epochs without a better validation metric before stopping (0 = off).
        checkpoint_every: also checkpoint every N optimiser steps (0 = epoch ends only).
        max_length: token limit for text (None = the backbone's).
        augment: training-time image augmentation from the backbone's config.
        num_workers: data-loading processes (None = 0 for text, up to 4 for images).
        seed: everything random: shuffling, initialisation, dropout, augmentation.
        monitor: the validation figure that picks the best epoch: ``"accuracy"``,
            ``"balanced_accuracy"`` (imbalanced classes), ``"r2"`` (regression) or
            ``"mean_ap"`` (multi-label).
        start_margin: when set (and there are validation rows), the starting model is scored
            before training as epoch 0, plus this margin; if the first epoch does not beat
            that, training stops and the starting model is kept (``TrainResult.kept_start``).
        start_within: the epochs training has to beat the starting model (with ``start_margin``):
            1 (the recipe's probe check: one epoch, then stop) up to ``epochs`` (every epoch is tried;
            the start is kept when none beats it).
    """

    epochs: int = 3
    lr: float = 1e-4
    head_lr: float | None = None
    batch_size: int = 32
    grad_accum: int = 1
    weight_decay: float = 0.01
    warmup: float = 0.1
    max_grad_norm: float = 1.0
    precision: str = "auto"
    patience: int = 0
    checkpoint_every: int = 0
    max_length: int | None = None
    augment: bool = True
    num_workers: int | None = None
    seed: int = 0
    head_lr_factor: float = 10.0
    monitor: str = "accuracy"
    start_margin: float | None = None
    start_within: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self, extra: dict[str, Any] | None = None) -> str:
        """What must not change between a run and its resumption."""
        payload = json.dumps({**self.to_dict(), **(extra or {})}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]
