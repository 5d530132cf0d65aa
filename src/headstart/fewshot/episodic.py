"""Episodic training through the project's one training loop
(:func:`headstart.train.loop.train`).

The loop takes two hooks, and episodic training is exactly those two:

- ``batch_sampler``: :class:`EpisodeBatches` yields one episode per batch, its
  rows class-major (class 0's ``shots`` support rows then its ``queries``
  query rows, then class 1's ...), a pure function of (seed, epoch) with
  ``set_epoch``, so a resumed run replays the interrupted epoch;
- ``loss_fn``: :class:`PrototypicalLoss` reads the model's ``(B, D)``
  embeddings in that layout, forms prototypes from the support rows and
  returns the cross-entropy of ``softmax(-||q - c_k||^2)`` over the queries
  (Snell et al. 2017, eq. 2); ``metric="cosine"`` scores ``tau * cos``.

The model is :class:`EmbeddingModel` (a backbone whose "logits" are its
embeddings, no head); the strategy (``full`` by default) says which backbone
groups train, and the loop supplies AdamW, warm-up + cosine LR schedule,
clipping, checkpoints and ``accelerate``. Training many-way episodes (60-way
for a 5- or 20-way test) is the prototypical-network paper's main trick.

Example (tiny, on random data):
    >>> import numpy as np, headstart as hs
    >>> from headstart.fewshot import Conv4, train_episodic
    >>> X = np.random.default_rng(0).integers(0, 255, size=(40, 28, 28), dtype=np.uint8)
    >>> data = hs.from_arrays(list(X), np.repeat(np.arange(8), 5), modality="image")
    >>> enc, result = train_episodic(Conv4(), data, ways=4, shots=1, queries=2, episodes=2, progress=False)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from headstart.errors import HeadstartError
from headstart.fewshot.episodes import EpisodeSampler


class EpisodeBatches:
    """``episodes`` batches per epoch, each ``tasks`` episodes (1: one episode; more: a
    meta-batch, see :class:`headstart.meta.base.MetaBatches`) of row indices, class-major.
    Episode ``(epoch * episodes + i) * tasks + t`` of ``seed``: a pure function of
    (seed, epoch), so a resumed run replays the interrupted epoch."""

    def __init__(
        self, labels: Any, ways: int, shots: int, queries: int, episodes: int, seed: int = 0, tasks: int = 1
    ) -> None:
        self.sampler = EpisodeSampler(labels, ways, shots, queries)
        self.episodes, self.seed, self.tasks, self.epoch = int(episodes), int(seed), int(tasks), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.episodes

    def __iter__(self) -> Iterator[list[int]]:
        s = self.sampler
        for i in range(self.episodes):
            rows = []
            for t in range(self.tasks):
                ep = s.episode(self.seed, (self.epoch * self.episodes + i) * self.tasks + t)
                per = np.concatenate([ep.support.reshape(s.ways, s.shots), ep.query.reshape(s.ways, s.queries)], 1)
                rows.append(per.reshape(-1))
            yield np.concatenate(rows).tolist()


class PrototypicalLoss:
    """The prototypical loss over an episode laid out by :class:`EpisodeBatches`."""

    def __init__(self, ways: int, shots: int, queries: int, metric: str = "euclidean", temperature: float = 10.0):
        if metric not in ("euclidean", "cosine"):
            raise HeadstartError(f"metric must be euclidean or cosine, got '{metric}'")
        self.ways, self.shots, self.queries = ways, shots, queries
        self.metric, self.temperature = metric, temperature

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        per = self.shots + self.queries
        if embeddings.shape[0] != self.ways * per:
            raise HeadstartError(
                f"prototypical loss: a batch of {embeddings.shape[0]} rows is not a "
                f"{self.ways}-way episode of {per} rows per class (use EpisodeBatches as the batch sampler)"
            )
        z = embeddings.view(self.ways, per, -1)
        prototypes = z[:, : self.shots].mean(1)  # (ways, D)
        query = z[:, self.shots :].reshape(self.ways * self.queries, -1)
        if self.metric == "cosine":
            logits = self.temperature * F.normalize(query, dim=1) @ F.normalize(prototypes, dim=1).T
        else:
            logits = -torch.cdist(query, prototypes).pow(2)
        target = torch.arange(self.ways, device=embeddings.device).repeat_interleave(self.queries)
        return F.cross_entropy(logits, target)


class EmbeddingModel(nn.Module):
    """A backbone whose output is its ``(B, D)`` embedding (no head): what the
    loop trains when the loss is defined on embeddings."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Identity()

    def forward(self, batch: Any) -> torch.Tensor:
        return self.backbone.forward_features(batch).float()


def train_episodic(
    backbone: Any,
    data: Any,
    ways: int = 60,
    shots: int = 1,
    queries: int = 5,
    episodes: int = 100,
    epochs: int = 1,
    lr: float = 1e-3,
    metric: str = "euclidean",
    strategy: Any = None,
    seed: int = 0,
    weight_decay: float = 0.0,
    warmup: float = 0.02,
    num_workers: int | None = 0,
    augment: bool = True,
    run_dir: Any = None,
    progress: bool | None = None,
) -> tuple[Any, Any]:
    """Train ``backbone`` with the prototypical loss on ``data`` (a labelled
    Dataset) for ``epochs`` x ``episodes`` episodes of ``ways``-way
    ``shots``-shot with ``queries`` queries per class. Returns
    ``(backbone, TrainResult)``; the backbone is trained in place."""
    from headstart.strategies.full import Full
    from headstart.train.config import TrainConfig
    from headstart.train.job import build_job

    data.require_labels()
    _, codes = np.unique(data.labels, return_inverse=True)
    config = TrainConfig(
        epochs=epochs,
        lr=lr,
        head_lr=lr,
        batch_size=ways * (shots + queries),
        weight_decay=weight_decay,
        warmup=warmup,
        max_grad_norm=0.0,
        precision="no",
        augment=augment,
        num_workers=num_workers,
        seed=seed,
    )
    loss = PrototypicalLoss(ways, shots, queries, metric)

    def batches(train_rows: Any, batch_size: int, seed: int, num_processes: int) -> EpisodeBatches:
        return EpisodeBatches(codes, ways, shots, queries, episodes, seed)

    job = build_job(
        backbone,
        0,
        data,
        codes,
        config,
        strategy or Full(),
        identity={"backbone": getattr(backbone, "spec", ""), "episodic": f"{ways}w{shots}s{queries}q/{metric}"},
        model=EmbeddingModel(backbone),  # no head: the loss compares embeddings
    )
    job.hooks = {"loss_fn": loss, "batch_sampler": batches}
    result = job.run(run_dir, progress=progress)
    backbone.eval()
    return backbone, result
