"""What every domain-adaptation method shares, and how it runs through the one
training loop (:func:`headstart.train.train`) without a loop of its own.

Unsupervised domain adaptation: labelled source rows, unlabelled target rows,
the same classes. Each method is an ``nn.Module``

    forward(f_s, f_t, logits_s, logits_t) -> scalar transfer loss

(``f`` the backbone's ``(B, D)`` features, ``logits`` the head's ``(B, K)``
outputs, ``_s`` source rows, ``_t`` target rows; a method whose
``uses_source_labels`` is true also gets ``y_s=`` the source rows' class codes),
and the training loss is

    loss = CE(logits_s, y_s) + weight * transfer(f_s, f_t, logits_s, logits_t)

How the rows travel (the pattern of :mod:`headstart.fairness.adversarial`):

- the training rows are the source rows then the target rows, and their
  :class:`~headstart.train.targets.Targets` carry a class code and a domain
  code each (:func:`domain_targets`): a target row's class code is always
  ``UNLABELLED`` (``-1``; its label, if the file had one, is never read), its
  domain code ``1``;
- :class:`DomainBatches` (the loop's ``batch_sampler``) puts half source and
  half target rows in every batch; an epoch is one pass over the source rows
  (the target rows cycle);
- :class:`AdaptModel` wraps the transfer model and the method: in training
  mode it returns ``[class logits | features]`` ``(B, K + D)``, in evaluation
  mode the class logits only (validation on source rows, prediction);
- :func:`adapt_loss` (the loop's ``loss_fn``) splits the output, reads
  ``targets.y`` and ``targets.domain``, and advances the
  method's training progress (``step / total``, which DANN's and CDAN's
  gradient-reversal coefficient ramps on; a buffer, so checkpoints keep it);
- :class:`AdaptStrategy` adds the method's parameters (a domain
  discriminator) to the optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from headstart.errors import HeadstartError
from headstart.strategies.with_module import WithModule
from headstart.train.data import EpochBatches
from headstart.train.model import WrappedModel
from headstart.train.targets import UNLABELLED, Targets, TargetsLoss

SOURCE, TARGET = 0, 1
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class DomainLoss(nn.Module):
    """Base of the adaptation losses. The constructor stores options; :meth:`build`
    makes the parameters once the feature size ``D`` and class count ``K`` are known.

    ``weight`` multiplies the transfer loss; ``lr`` is the learning rate of the
    method's own parameters (``None``: the head's)."""

    name: ClassVar[str] = "base"
    has_parameters: ClassVar[bool] = False
    # True: :func:`adapt_loss` also passes the source rows' class codes, ``forward(..., y_s=codes)``.
    uses_source_labels: ClassVar[bool] = False

    def __init__(self, weight: float = 1.0, lr: float | None = None) -> None:
        super().__init__()
        if weight < 0:
            raise HeadstartError(f"{self.name}: weight must be >= 0, got {weight}")
        self.weight = float(weight)
        self.lr = lr
        # Optimiser steps taken / planned: the training progress p in [0, 1].
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.total_steps = 1

    def build(self, feature_dim: int, n_classes: int) -> DomainLoss:
        return self

    @property
    def progress(self) -> float:
        return min(1.0, float(self.step) / max(1, self.total_steps))

    def forward(
        self, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor, logits_t: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        return {"weight": self.weight, "lr": self.lr}

    def describe(self) -> str:
        return self.name


def discriminator(width: int, hidden: int) -> nn.Module:
    """The domain discriminator of DANN / CDAN (TLlib's ``DomainDiscriminator``):
    ``width -> hidden -> hidden -> 1`` with batch norm and ReLU; one logit per row
    (source = 0, target = 1)."""
    return nn.Sequential(
        nn.Linear(width, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Linear(hidden, 1),
    )


def domain_bce(logits_s: torch.Tensor, logits_t: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The discriminator's binary cross-entropy: source rows labelled 0, target rows 1."""
    logits = torch.cat([logits_s, logits_t]).squeeze(1)
    labels = torch.cat([torch.zeros(len(logits_s)), torch.ones(len(logits_t))]).to(logits)
    return F.binary_cross_entropy_with_logits(logits, labels, weight=weights)


def domain_accuracy(logits_s: torch.Tensor, logits_t: torch.Tensor) -> float:
    """How often the discriminator tells the domains apart (0.5: it cannot)."""
    right = (logits_s.squeeze(1) < 0).float().sum() + (logits_t.squeeze(1) >= 0).float().sum()
    return float(right) / max(1, len(logits_s) + len(logits_t))


def domain_targets(source_codes: np.ndarray, n_target: int) -> Targets:
    """The training rows' :class:`Targets` (``N_s + N_t`` rows): source rows class
    ``y`` and domain ``SOURCE`` (0), target rows class ``UNLABELLED`` and domain ``TARGET`` (1).

    Takes the *number* of target rows, never their labels: a target file's label
    column cannot reach the training loss."""
    codes = np.asarray(source_codes, dtype=np.int64)
    if codes.ndim != 1 or (len(codes) and codes.min() < 0):
        raise HeadstartError("source class codes must be a 1-D array of codes >= 0")
    y = np.concatenate([codes, np.full(n_target, UNLABELLED, dtype=np.int64)])
    domain = np.concatenate([np.full(len(codes), SOURCE, dtype=np.int64), np.full(n_target, TARGET, dtype=np.int64)])
    return Targets.of(y, domain=domain)


class SourceBank(nn.Module):
    """A first-in first-out memory of the last ``size`` source rows seen in training:
    their features (detached) and class codes, as buffers (checkpoints keep them).
    Lets a method look past the batch's few source rows (e.g. a target row's
    nearest source rows and their true labels), at no gradient cost.

    Shapes: :meth:`push` ``(B, D)`` features and ``(B,)`` codes; :meth:`rows`
    ``(n, D), (n,)`` with ``n <= size`` the rows stored so far.

    >>> import torch
    >>> bank = SourceBank(size=3, dim=2)
    >>> bank.push(torch.ones(2, 2), torch.tensor([0, 1]))
    >>> bank.push(torch.zeros(2, 2), torch.tensor([2, 3]))  # the oldest row (class 0) leaves
    >>> sorted(bank.rows()[1].tolist())
    [1, 2, 3]
    """

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        if size < 1 or dim < 1:
            raise HeadstartError(f"a source bank needs size and dim >= 1, got {size} and {dim}")
        self.register_buffer("features", torch.zeros(size, dim))
        self.register_buffer("labels", torch.full((size,), UNLABELLED, dtype=torch.long))
        self.register_buffer("head", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def push(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        size = len(self.labels)
        features, labels = features.detach()[-size:], labels.detach()[-size:]
        where = (self.head + torch.arange(len(labels), device=self.labels.device)) % size
        self.features[where] = features.to(self.features)
        self.labels[where] = labels.to(self.labels)
        self.head.copy_((self.head + len(labels)) % size)

    def rows(self) -> tuple[torch.Tensor, torch.Tensor]:
        filled = self.labels != UNLABELLED
        return self.features[filled], self.labels[filled]


class AdaptModel(WrappedModel):
    """A transfer model plus an adaptation method (whose parameters, e.g. a domain
    discriminator, train with it): ``[logits | features]`` in training mode."""

    def __init__(self, model: nn.Module, method: DomainLoss) -> None:
        super().__init__(model)
        self.method = method

    def extra(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return features


@dataclass
class AdaptStrategy(WithModule):
    """A fine-tuning strategy, plus the method's parameters (at the method's ``lr``,
    default the head's)."""

    method: DomainLoss | None = None

    group: ClassVar[str] = "adaptation"

    def module(self, model: Any) -> nn.Module:
        return model.method

    def module_lr(self, lr: float, head_lr: float) -> float:
        return self.method.lr if self.method is not None and self.method.lr is not None else head_lr

    def note(self) -> str:
        return f"domain adaptation: {self.method.describe()}" if self.method is not None else "domain adaptation"


def adapt_loss(method: DomainLoss, n_classes: int, base: Loss | None = None) -> TargetsLoss:
    """The loop's ``loss_fn``: ``CE(source rows) + weight * method(...)`` on
    ``[logits | features]`` outputs and Targets with class and domain codes.

    Each call is one training step: it advances ``method.step``."""
    base = base or F.cross_entropy

    def loss(output: torch.Tensor, targets: Targets) -> torch.Tensor:
        if targets.domain is None:  # class codes alone: no domains (never happens in training)
            return base(output[:, :n_classes], targets.y)
        y, d = targets.y, targets.domain
        logits, features = output[:, :n_classes], output[:, n_classes:]
        src, tgt = d == SOURCE, d == TARGET
        ce = base(logits[src], y[src])
        with torch.no_grad():
            method.step += 1
        if method.weight == 0 or not bool(tgt.any()) or not bool(src.any()):
            return ce
        extra = {"y_s": y[src]} if method.uses_source_labels else {}
        transfer = method(features[src], features[tgt], logits[src], logits[tgt], **extra)
        return ce + method.weight * transfer

    return TargetsLoss(loss)


class DomainBatches(EpochBatches):
    """Batches of ``batch_size`` rows, ``ceil(batch_size / 2)`` source rows and the
    rest target rows; rows ``0 .. n_source - 1`` are the source's, the rest the
    target's. An epoch covers every source row once; target rows cycle through
    fresh permutations. A pure function of (seed, epoch), like ``EpochBatches``."""

    def __init__(self, n_source: int, n_target: int, batch_size: int, seed: int) -> None:
        if n_source < 1 or n_target < 1:
            raise HeadstartError(f"domain adaptation needs source and target rows, got {n_source} and {n_target}")
        if batch_size < 2:
            raise HeadstartError(f"domain adaptation needs batches of at least 2 rows, got {batch_size}")
        super().__init__(n_source + n_target, batch_size, seed, shuffle=True)
        self.n_source, self.n_target = n_source, n_target
        self.per_source = math.ceil(batch_size / 2)
        self.per_target = batch_size - self.per_source

    def __len__(self) -> int:
        return math.ceil(self.n_source / self.per_source)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        source = rng.permutation(self.n_source)
        need = len(self) * self.per_target
        reps = math.ceil(need / self.n_target)
        target = self.n_source + np.concatenate([rng.permutation(self.n_target) for _ in range(reps)])[:need]
        for b in range(len(self)):
            s = source[b * self.per_source : (b + 1) * self.per_source]
            t = target[b * self.per_target : (b + 1) * self.per_target]
            yield s.tolist() + t.tolist()


def domain_batches(n_source: int, n_target: int) -> Callable[..., DomainBatches]:
    """The loop's ``batch_sampler`` hook for ``n_source`` then ``n_target`` training rows."""

    def make(rows: Any, batch_size: int, seed: int, num_processes: int) -> DomainBatches:
        return DomainBatches(n_source, n_target, batch_size, seed)

    return make
