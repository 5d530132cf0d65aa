"""Stratified splits and subsamples, deterministic for a given seed.

Both functions work per class so that every class keeps its share: a class with
``n_c`` rows gets ``round(n_c * fraction)`` of them, never all of them and never
none when it has two or more rows. The permutation comes from
``numpy.random.default_rng(seed)``, so the same seed gives the same rows on every
machine.
"""

from __future__ import annotations

import numpy as np


def _class_indices(labels: np.ndarray) -> list[np.ndarray]:
    _, inverse = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    return [np.flatnonzero(inverse == k) for k in range(inverse.max() + 1)]


def stratified_split(labels: np.ndarray, test_size: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices into (train, test), keeping class proportions.

    ``test_size`` is a fraction in (0, 1). Classes with a single row stay in train.
    Returns sorted index arrays.
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for idx in _class_indices(labels):
        idx = rng.permutation(idx)
        n = len(idx)
        n_test = 0 if n < 2 else min(max(int(round(n * test_size)), 1), n - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def stratified_sample(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Pick ``n`` row indices with the class proportions of ``labels``.

    Allocation is proportional with largest remainders, and every class keeps at
    least one row when ``n`` allows it. Returns sorted indices. ``n`` at or above
    the number of rows returns every row.
    """
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    if n <= 0:
        raise ValueError(f"sample size must be positive, got {n}")
    rng = np.random.default_rng(seed)
    groups = _class_indices(labels)
    sizes = np.array([len(g) for g in groups], dtype=float)
    exact = sizes * n / sizes.sum()
    take = np.floor(exact).astype(int)
    if n >= len(groups):
        take = np.maximum(take, 1)
    # Hand out what is left to the largest remainders (or take back from the largest).
    order = np.argsort(-(exact - np.floor(exact)), kind="stable")
    k = 0
    while take.sum() < n:
        c = order[k % len(order)]
        if take[c] < sizes[c]:
            take[c] += 1
        k += 1
    while take.sum() > n:
        c = int(np.argmax(take))
        take[c] -= 1
    chosen = [rng.permutation(g)[:t] for g, t in zip(groups, take, strict=False)]
    return np.sort(np.concatenate(chosen))
