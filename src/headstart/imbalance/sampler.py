"""``balanced-sampling`` and ``sqrt-sampling``: class-balanced batches (Kang et
al., "Decoupling Representation and Classifier for Long-Tailed Recognition",
ICLR 2020; Mahajan et al. 2018 for square-root sampling).

A class with ``n_c`` training rows is drawn with probability

    p_c = n_c^q / sum_k n_k^q

``q = 1`` is natural (instance-balanced) sampling, ``q = 1/2`` square-root
sampling, ``q = 0`` class-balanced sampling. An epoch keeps the natural number
of rows; each class gets its exact quota (largest remainders), filled by
cycling through fresh permutations of its rows, so a rare row repeats as
evenly as possible and a common one is seen at most once.

Several processes (``accelerate launch``): every class's rows are dealt out
to the processes once per epoch, like ``DistributedSampler`` (so the
processes see disjoint rows), and each process fills its quotas from its own
share. Everything is a pure function of (seed, epoch, rank): a resumed run
replays the interrupted epoch. Text batches are length-bucketed as in
``EpochBatches``.

Example:
    >>> import numpy as np
    >>> y = np.array([0] * 90 + [1] * 10)
    >>> batches = list(ClassBalancedBatches(y, batch_size=10, seed=0))
    >>> int(np.bincount(y[np.concatenate(batches)])[1])
    50
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from headstart.errors import HeadstartError
from headstart.imbalance.base import SCORING, Method, by_rows
from headstart.imbalance.registry import METHODS
from headstart.train.data import EpochBatches


def target_frequencies(counts: np.ndarray, q: float) -> np.ndarray:
    """``p_c ∝ n_c^q`` over the classes that have rows (0 for empty ones)."""
    counts = np.asarray(counts, dtype=np.float64)
    raw = np.where(counts > 0, np.maximum(counts, 1) ** q, 0.0)
    return raw / raw.sum()


def quotas(freqs: np.ndarray, total: int) -> np.ndarray:
    """``total`` draws split by ``freqs`` (largest remainders): exact, integer."""
    exact = np.asarray(freqs) * total
    take = np.floor(exact).astype(int)
    for c in np.argsort(-(exact - take), kind="stable")[: total - take.sum()]:
        take[c] += 1
    return take


def draw(rows: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` of ``rows``, cycling through fresh permutations (each row used
    ``floor`` or ``ceil`` of ``k / len(rows)`` times)."""
    if k == 0 or len(rows) == 0:
        return np.empty(0, dtype=np.int64)
    reps = math.ceil(k / len(rows))
    return np.concatenate([rng.permutation(rows) for _ in range(reps)])[:k]


def class_balanced_indices(y: np.ndarray, q: float, seed: int, total: int | None = None) -> np.ndarray:
    """One epoch of ``q``-sampling as row indices (``total`` rows, default ``len(y)``)."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    take = quotas(target_frequencies(counts, q), len(y) if total is None else total)
    return rng.permutation(np.concatenate([draw(np.flatnonzero(y == c), int(t), rng) for c, t in enumerate(take)]))


class ClassBalancedBatches(EpochBatches):
    """Batches with class frequencies ``∝ n_c^q``, sharded over ``num_replicas``
    processes.

    ``rank=None`` yields every process's batches interleaved (``r0, r1, r0,
    r1 ...``): what ``accelerate`` expects, since it hands process ``r`` the
    batches ``r, r + P, ...``. ``rank=r`` yields process ``r``'s batches only.
    Every process gets the same number of full batches.
    """

    def __init__(
        self,
        labels: np.ndarray,
        batch_size: int,
        seed: int,
        q: float = 0.0,
        lengths: np.ndarray | None = None,
        num_replicas: int = 1,
        rank: int | None = None,
    ) -> None:
        labels = np.asarray(labels)
        super().__init__(len(labels), batch_size, seed, shuffle=True, lengths=lengths)
        if num_replicas < 1 or (rank is not None and not 0 <= rank < num_replicas):
            raise HeadstartError(f"rank must be in [0, {num_replicas}), got {rank}")
        self.labels, self.q, self.num_replicas, self.rank = labels, float(q), num_replicas, rank
        self.counts = np.bincount(labels)
        # Whole batches per process, at least the process's share of an epoch.
        self.per_rank = math.ceil(math.ceil(len(labels) / num_replicas) / batch_size) * batch_size

    def __len__(self) -> int:
        per_rank = self.per_rank // self.batch_size
        return per_rank if self.rank is not None else per_rank * self.num_replicas

    def target(self) -> np.ndarray:
        """The class frequencies the sampler aims at, ``(K,)``."""
        return target_frequencies(self.counts, self.q)

    def rank_indices(self, rank: int) -> np.ndarray:
        """The rows process ``rank`` sees this epoch (with repeats), in draw order."""
        shared = np.random.default_rng([self.seed, self.epoch])
        share = []
        for c in range(len(self.counts)):
            rows = shared.permutation(np.flatnonzero(self.labels == c))
            offset = int(shared.integers(self.num_replicas))
            share.append(rows[(np.arange(len(rows)) + offset) % self.num_replicas == rank])
        # A class with fewer rows than processes is missing from some shares:
        # those processes spread its quota over the classes they have.
        have = np.array([len(s) for s in share])
        freqs = np.where(have > 0, self.target(), 0.0)
        take = quotas(freqs / freqs.sum(), self.per_rank)
        rng = np.random.default_rng([self.seed, self.epoch, rank + 1])
        return rng.permutation(np.concatenate([draw(s, int(t), rng) for s, t in zip(share, take, strict=True)]))

    def rank_batches(self, rank: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch, rank + 1, 1])
        return self.batches(self.rank_indices(rank), rng)

    def __iter__(self) -> Iterator[list[int]]:
        if self.rank is not None:
            yield from self.rank_batches(self.rank)
            return
        streams = [self.rank_batches(r) for r in range(self.num_replicas)]
        for group in zip(*streams, strict=True):
            yield from group


@METHODS.register(order=50)
@dataclass
class BalancedSampling(Method):
    """class-balanced sampling (Kang et al. 2020): every class drawn equally often

    >>> BalancedSampling().batch_sampler(np.array([90, 10])) is not None
    True
    """

    name: ClassVar[str] = "balanced-sampling"
    q: ClassVar[float] = 0.0

    def probe_options(self, counts: np.ndarray) -> dict[str, Any]:
        # Full-batch L-BFGS has no batches: one epoch's draw is the training set.
        return {"resample": by_rows(lambda y, seed: class_balanced_indices(y, self.q, seed)), "scoring": SCORING}

    def batch_sampler(self, counts: np.ndarray) -> Any:
        def make(rows: Any, batch_size: int, seed: int, num_processes: int) -> ClassBalancedBatches:
            labels = rows.codes.numpy()
            return ClassBalancedBatches(labels, batch_size, seed, self.q, rows.lengths, num_processes)

        return make


@METHODS.register(order=60)
@dataclass
class SqrtSampling(BalancedSampling):
    """square-root sampling: class c drawn in proportion to sqrt(n_c)

    >>> SqrtSampling().q  # class c drawn in proportion to n_c ** q
    0.5
    """

    name: ClassVar[str] = "sqrt-sampling"
    q: ClassVar[float] = 0.5
