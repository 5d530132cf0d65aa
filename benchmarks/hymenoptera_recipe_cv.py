"""Choosing a fine-tuning recipe for hymenoptera without touching val/.

Each candidate recipe is scored by stratified 3-fold cross-validation on the
243 train/ images only (seed 0); the best mean CV accuracy wins, is refitted on
all of train/, and only then scored on val/ (153 images). The linear probe is
scored the same way as a reference.

    .venv/bin/python benchmarks/hymenoptera_recipe_cv.py
"""

from __future__ import annotations

import os

import numpy as np
from _common import machine, need_shared

import headstart as hs

os.environ.setdefault("HEADSTART_PROGRESS", "0")

RECIPES = {
    "linear-probe": {"strategy": "linear-probe"},
    "full lr=1e-4": {"strategy": "full", "lr": 1e-4},
    "full lr=3e-5": {"strategy": "full", "lr": 3e-5},
    "l2sp lr=1e-4": {"strategy": "l2sp", "lr": 1e-4},
}
COMMON = {"backbone": "efficientnet-lite0", "epochs": 5, "train_batch_size": 16, "val_size": 0.0, "seed": 0}


def folds(labels: np.ndarray, k: int = 3, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=int)
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        fold[idx] = np.arange(len(idx)) % k
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]


def main() -> None:
    data = hs.load(need_shared("images", "hymenoptera"))
    train, val = data.where_split("train"), data.where_split("val")
    print(f"machine: {machine()}")
    scores: dict[str, float] = {}
    for name, recipe in RECIPES.items():
        accs = []
        for tr, te in folds(train.labels):
            clf = hs.TransferClassifier(**COMMON, **recipe).fit(train.subset(tr))
            accs.append(clf.evaluate(train.subset(te))["accuracy"])
        scores[name] = float(np.mean(accs))
        shown = ", ".join(f"{a:.3f}" for a in accs)
        print(f"{name:14s} 3-fold CV accuracy on train/ {scores[name]:.4f}  (folds: {shown})", flush=True)
    tuned = {k: v for k, v in scores.items() if k != "linear-probe"}
    best = max(tuned, key=tuned.get)
    clf = hs.TransferClassifier(**COMMON, **RECIPES[best]).fit(train)
    print(f"chosen fine-tuning recipe: {best}; val/ accuracy {clf.evaluate(val)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
