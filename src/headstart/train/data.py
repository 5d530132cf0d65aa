"""Inputs for training: a torch Dataset over a headstart Dataset, batches that
reproduce exactly for a (seed, epoch), and collation per modality.

Text is tokenized once (time series and audio: the backbone's front end runs once,
at its sampling rate); training batches are length-bucketed (rows shuffled,
then sorted by length inside windows of 50 batches, then the batches shuffled),
so padding stays small without giving up randomness. Images are decoded in
DataLoader workers, with the backbone's training augmentation. Each row's
target is a :class:`~headstart.train.targets.Targets` (class code, and the
group or domain code a method needs); a batch is ``(inputs, Targets)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import Sampler

from headstart.data import Dataset, at_rate
from headstart.data.dataset import SEQUENCES
from headstart.train.targets import Targets

BUCKET_WINDOW = 50  # batches per length-sorting window


class Rows(TorchDataset):
    """Row ``i`` -> (model input, its :class:`Targets`) for one modality.

    ``targets`` are the rows' class codes ``(N,)`` (an array), or a
    :class:`Targets` when the rows carry group or domain codes too. ``codes``
    is the class codes as a tensor (what class-balanced samplers read).
    """

    def __init__(
        self,
        data: Dataset,
        backbone: Any,
        targets: np.ndarray | Targets,
        train: bool,
        augment: bool,
        max_length: int | None,
    ) -> None:
        self.modality = data.modality
        self.backbone = backbone
        self.targets = targets if isinstance(targets, Targets) else Targets.of(targets)
        self.codes = self.targets.y
        self.lengths: np.ndarray | None = None
        if data.modality == "text":
            self.items, self.lengths = backbone.prepare(list(data.inputs), max_length=max_length)
        elif data.modality in SEQUENCES:  # at the encoder's rate; batches bucketed by length
            self.items, self.lengths = backbone.prepare(at_rate(data, backbone.pretrained_config.sample_rate))
        elif data.modality == "image":
            self.items = list(data.inputs)
            transform = backbone.train_transform if (train and augment) else None
            self.transform = transform or backbone.transform
        else:
            self.items = torch.as_tensor(np.asarray(data.inputs, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, i: int) -> tuple[Any, Targets]:
        if self.modality == "image":
            from headstart.backbones.vision import to_pil

            return self.transform(to_pil(self.items[i])), self.targets[i]
        return self.items[i], self.targets[i]

    def collate(self, rows: Sequence[tuple[Any, Targets]]) -> tuple[Any, Targets]:
        inputs = [r[0] for r in rows]
        targets = Targets.stack([r[1] for r in rows])
        if self.modality == "text" or self.modality in SEQUENCES:
            return self.backbone.collate(inputs), targets
        return torch.stack(inputs), targets


class EpochBatches(Sampler[list[int]]):
    """Batches of row indices, a pure function of (seed, epoch): a resumed run
    replays the interrupted epoch's order and skips what it had done."""

    def __init__(
        self, n: int, batch_size: int, seed: int, shuffle: bool = True, lengths: np.ndarray | None = None
    ) -> None:
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.lengths = lengths
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        if not self.shuffle:
            order = np.argsort(-self.lengths, kind="stable") if self.lengths is not None else np.arange(self.n)
            yield from (order[i : i + self.batch_size].tolist() for i in range(0, self.n, self.batch_size))
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        yield from self.batches(rng.permutation(self.n), rng)

    def batches(self, order: np.ndarray, rng: np.random.Generator) -> list[list[int]]:
        """``order`` (the epoch's rows; repeats allowed) cut into length-bucketed
        batches, returned in a random order. Samplers that choose the rows
        differently (``headstart.imbalance.ClassBalancedBatches``) reuse it."""
        if self.lengths is not None:
            window = self.batch_size * BUCKET_WINDOW
            chunks = [order[i : i + window] for i in range(0, len(order), window)]
            order = np.concatenate([c[np.argsort(-self.lengths[c], kind="stable")] for c in chunks])
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        return [batches[k].tolist() for k in rng.permutation(len(batches))]


def loader(
    rows: Rows,
    batch_size: int,
    seed: int,
    shuffle: bool,
    num_workers: int | None,
    sampler: EpochBatches | None = None,
) -> tuple[Any, EpochBatches]:
    """A DataLoader over ``rows`` and its batch sampler (``EpochBatches`` unless
    ``sampler`` is given: any sampler of index lists with ``set_epoch``)."""
    from torch.utils.data import DataLoader

    if sampler is None:
        sampler = EpochBatches(len(rows), batch_size, seed, shuffle=shuffle, lengths=rows.lengths)
    if num_workers is None:
        num_workers = min(4, torch.get_num_threads()) if rows.modality == "image" else 0
    dl = DataLoader(
        rows,
        batch_sampler=sampler,
        collate_fn=rows.collate,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        # Its own generator: a new iterator (each epoch, and after a resume) must not
        # draw from the global RNG that dropout uses, or a resumed run diverges.
        generator=torch.Generator().manual_seed(seed),
    )
    return dl, sampler
