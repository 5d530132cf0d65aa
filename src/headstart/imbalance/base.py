"""What every imbalance method shares, and how one is applied to a head.

A method is a small dataclass of options. It changes training through hooks
that default to "nothing":

- ``probe_options(counts)``: options of the linear probe on cached features
  (``class_weight``, ``loss``, ``resample``, ``scoring``);
- ``loss(counts)``: the fine-tuning loss, ``loss(logits, labels) -> scalar``
  (``headstart.train.train``'s ``loss_fn``);
- ``batch_sampler(counts)``: the fine-tuning batch sampler factory
  (``headstart.train.train``'s ``batch_sampler``);
- ``resample_rows(y, seed)``: which training rows fine-tuning sees (random
  over- / under-sampling);
- ``adjust(head, counts, val_logits, val_y)``: a post-hoc change of a trained
  linear head (its bias), from the class prior or from held-out logits.

``counts`` are the training rows' class counts ``(K,)``, in class-code order.
Every post-hoc change is folded into the head's bias, so a saved run predicts
with it and nothing else has to know.

Example:
    >>> import numpy as np
    >>> from headstart.imbalance import fit_probe, make_method
    >>> X = np.random.randn(300, 8).astype("float32"); y = (X[:, 0] > 1.3).astype(int)
    >>> probe, note = fit_probe(make_method("logit-adjust"), X, y, 2, {"C": 1.0})
    >>> probe.head_.bias.shape
    torch.Size([2])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from headstart.errors import HeadstartError, warn
from headstart.imbalance.registry import METHODS

# Scores C on held-out rows for the methods that change training: balanced
# accuracy counts the minority class as much as the others (plain accuracy
# would pick the C that ignores it).
SCORING = "balanced_accuracy"
RARE = 5  # fewer training examples than this: warn, naming the class


@METHODS.register(order=0)
@dataclass
class Method:
    """``none``: plain training (the reference every method is compared with).

    >>> Method().loss(np.array([90, 10])) is None
    True
    """

    name: ClassVar[str] = "none"
    features_only: ClassVar[bool] = False  # works on cached features only (linear probe)
    post_hoc: ClassVar[bool] = False  # changes a trained head (``adjust``)
    needs_validation: ClassVar[bool] = False  # ``adjust`` needs held-out logits
    min_count: ClassVar[int] = 1  # fewest training rows of a class the method works with
    binary_only: ClassVar[bool] = False
    two_stage: ClassVar[bool] = False

    def probe_options(self, counts: np.ndarray) -> dict[str, Any]:
        return {}

    def loss(self, counts: np.ndarray) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None:
        return None

    def batch_sampler(self, counts: np.ndarray) -> Callable[..., Any] | None:
        return None

    def resample_rows(self, y: np.ndarray, seed: int) -> np.ndarray | None:
        return None

    def adjust(
        self, head: nn.Linear, counts: np.ndarray, val_logits: np.ndarray | None, val_y: np.ndarray | None
    ) -> str:
        return ""

    def describe(self) -> str:
        return (self.__doc__ or self.name).strip().splitlines()[0]


def by_rows(rows: Callable[[np.ndarray, int], np.ndarray]) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """A probe ``resample`` hook from a row sampler ``rows(y, seed) -> indices``."""

    def resample(Z: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(rows(y.numpy(), seed))
        return Z[idx], y[idx]

    return resample


def prior(counts: np.ndarray) -> np.ndarray:
    """Class frequencies of the training rows, ``counts / counts.sum()``."""
    counts = np.asarray(counts, dtype=np.float64)
    return counts / counts.sum()


def imbalance_ratio(counts: np.ndarray) -> float:
    """Largest class count over smallest (1.0 = balanced)."""
    counts = np.asarray(counts)
    return float(counts.max() / max(counts.min(), 1))


def warn_rare_classes(counts: np.ndarray, names: Sequence[Any], k: int = RARE, where: str = "training") -> None:
    """One warning naming each class with fewer than ``k`` rows."""
    rare = [f"'{names[i]}' ({int(c)})" for i, c in enumerate(counts) if c < k]
    if rare:
        warn(
            f"{len(rare)} class(es) with fewer than {k} {where} examples: {', '.join(rare)}; "
            f"their recall and F1 rest on a handful of rows"
        )


def check_method(method: Method, counts: np.ndarray, names: Sequence[Any], fine_tuning: bool) -> None:
    """One clear line when ``method`` cannot work on these classes or with fine-tuning."""
    if method.features_only and fine_tuning:
        raise HeadstartError(
            f"imbalance '{method.name}' makes synthetic feature vectors, so it works on cached features: "
            f"use --strategy linear-probe (or another imbalance method for fine-tuning)"
        )
    if method.binary_only and len(counts) != 2:
        raise HeadstartError(
            f"imbalance '{method.name}' tunes one decision threshold, for two classes; "
            f"this data has {len(counts)} (use logit-adjust)"
        )
    low = int(np.argmin(counts))
    if counts[low] < method.min_count:
        raise HeadstartError(
            f"imbalance '{method.name}' needs at least {method.min_count} training examples of every class; "
            f"class '{names[low]}' has {int(counts[low])}"
        )


def stratified_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` stratified (train, held-out) index pairs; every row is held out once."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        fold[idx] = (np.arange(len(idx)) + rng.integers(k)) % k
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]


def out_of_fold_logits(
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    probe: dict[str, Any],
    k: int = 5,
    seed: int = 0,
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> np.ndarray:
    """Logits ``(N, K)`` of each training row from a probe fitted without it
    (``k`` stratified folds, ``k`` capped by the smallest class, or the given
    ``folds``). ``probe`` holds the probe's options; give it a fixed ``C`` to
    keep this to ``k`` fits."""
    from headstart.strategies.linear_probe import LinearProbe

    if folds is None:
        k = int(min(k, np.bincount(y, minlength=n_classes).min()))
        if k < 2:
            raise HeadstartError("held-out logits need at least 2 training examples of every class")
        folds = stratified_folds(y, k, seed)
    out = np.empty((len(y), n_classes), dtype=np.float32)
    for tr, va in folds:
        head = LinearProbe(**probe).fit(X[tr], y[tr], n_classes).head_
        with torch.no_grad():
            out[va] = head(torch.as_tensor(X[va], dtype=torch.float32)).numpy()
    return out


def fit_probe(
    method: Method, X: np.ndarray, y: np.ndarray, n_classes: int, probe: dict[str, Any], post_hoc: bool = True
) -> tuple[Any, str]:
    """A linear probe trained with ``method`` (+ its post-hoc change when
    ``post_hoc``); returns (the fitted LinearProbe, a note on what was done).

    ``probe``: the probe's own options (``C``, ``val_size``, ``seed`` ...).
    Held-out logits for a post-hoc change come from ``out_of_fold_logits`` at
    the C the probe chose: every training row scored by a probe that did not
    see it, never the data you report on.
    """
    from headstart.strategies.linear_probe import LinearProbe

    counts = np.bincount(y, minlength=n_classes)
    strategy = LinearProbe(**{**probe, **method.probe_options(counts)}).fit(X, y, n_classes)
    if not (post_hoc and method.post_hoc):
        return strategy, ""
    logits = yv = None
    if method.needs_validation:
        fixed = {**probe, **method.probe_options(counts), "C": strategy.C_}
        logits, yv = out_of_fold_logits(X, y, n_classes, fixed, seed=probe.get("seed", 0)), y
    return strategy, method.adjust(strategy.head_, counts, logits, yv)
