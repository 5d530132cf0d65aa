"""Choosing a fine-tuning recipe for hymenoptera without touching val/.

Each candidate recipe is scored by stratified 3-fold cross-validation on the
243 train/ images only (seed 0); the best mean CV accuracy wins, is refitted on
all of train/ (once per final seed), and only then scored on val/ (153 images).

    .venv/bin/python benchmarks/hymenoptera_recipe_cv.py                     # the 5-epoch sweep
    python benchmarks/hymenoptera_recipe_cv.py --sweep long --final-seeds 0,1,2 --num-workers 12
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _common import machine, need_shared

import headstart as hs

os.environ.setdefault("HEADSTART_PROGRESS", "0")

SWEEPS = {
    # The first sweep (5 epochs), kept to reproduce its figures.
    "short": {
        "linear-probe": {"strategy": "linear-probe"},
        "full lr=1e-4": {"strategy": "full", "lr": 1e-4},
        "full lr=3e-5": {"strategy": "full", "lr": 3e-5},
        "l2sp lr=1e-4": {"strategy": "l2sp", "lr": 1e-4},
    },
    # Longer schedules: 10 epochs each.
    "long": {
        "full lr=1e-4 10ep": {"strategy": "full", "lr": 1e-4, "epochs": 10},
        "auto lr=1e-4 10ep": {"strategy": "auto", "lr": 1e-4, "epochs": 10},
        "l2sp lr=1e-4 10ep": {"strategy": "l2sp", "lr": 1e-4, "epochs": 10},
        "discriminative lr=3e-4 10ep": {"strategy": "discriminative", "lr": 3e-4, "epochs": 10},
    },
    # 5 epochs, scored with test-time augmentation (each image and its mirror image).
    "tta": {
        "linear-probe +tta": {"strategy": "linear-probe", "tta": True},
        "full lr=1e-4": {"strategy": "full", "lr": 1e-4},
        "full lr=1e-4 +tta": {"strategy": "full", "lr": 1e-4, "tta": True},
        "auto lr=1e-4 +tta": {"strategy": "auto", "lr": 1e-4, "tta": True},
        "l2sp lr=1e-4 +tta": {"strategy": "l2sp", "lr": 1e-4, "tta": True},
    },
    # Less of the backbone moves: a head trained with augmentation, or the top groups only.
    "frozen": {
        "head lr=1e-3 10ep": {"strategy": "head", "lr": 1e-3, "epochs": 10},
        "head lr=1e-3 10ep +tta": {"strategy": "head", "lr": 1e-3, "epochs": 10, "tta": True},
        "partial k=2 lr=1e-4": {"strategy": "partial", "lr": 1e-4, "strategy_options": {"k": 2}},
        "full lr=1e-4 batch 32": {"strategy": "full", "lr": 1e-4, "train_batch_size": 32},
    },
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
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", choices=tuple(SWEEPS), default="short")
    ap.add_argument("--final-seeds", default="0")
    ap.add_argument("--num-workers", type=int, default=None)
    args = ap.parse_args()
    recipes = SWEEPS[args.sweep]
    common = {**COMMON, "num_workers": args.num_workers}
    data = hs.load(need_shared("images", "hymenoptera"))
    train, val = data.where_split("train"), data.where_split("val")
    print(f"machine: {machine()}", flush=True)
    scores: dict[str, float] = {}
    for name, recipe in recipes.items():
        accs, start = [], time.perf_counter()
        for tr, te in folds(train.labels):
            clf = hs.TransferClassifier(**{**common, **recipe}).fit(train.subset(tr))
            accs.append(clf.evaluate(train.subset(te))["accuracy"])
        scores[name] = float(np.mean(accs))
        shown = ", ".join(f"{a:.3f}" for a in accs)
        took = time.perf_counter() - start
        print(f"{name:28s} 3-fold CV accuracy on train/ {scores[name]:.4f}  (folds: {shown}; {took:.0f} s)", flush=True)
    tuned = {k: v for k, v in scores.items() if not k.startswith("linear-probe")}
    best = max(tuned, key=tuned.get)
    finals = []
    for seed in (int(s) for s in args.final_seeds.split(",")):
        clf = hs.TransferClassifier(**{**common, **recipes[best], "seed": seed}).fit(train)
        finals.append(clf.evaluate(val)["accuracy"])
        print(f"chosen fine-tuning recipe: {best}; seed {seed}: val/ accuracy {finals[-1]:.4f}", flush=True)
    if len(finals) > 1:
        print(f"val/ accuracy over seeds: mean {np.mean(finals):.4f}, min {min(finals):.4f}, max {max(finals):.4f}")


if __name__ == "__main__":
    main()
