"""Pooling a frozen text encoder's tokens (issue 23, ``--pool`` on text backbones).

SST-2, 2,000 stratified training rows (seed 0) -> dev (872), ``minilm`` frozen. Arms:
- ``linear-probe`` on the recipe's mean pooling (the documented default: L-BFGS logistic
  regression, C by repeated 5-fold CV on the training rows);
- ``--strategy head`` (a linear head trained by the one loop, the encoder frozen) on
  ``minilm`` (mean pooling) and on ``minilm?pool=attention`` (the learned query trains with
  the head; it starts as the mean), and ``minilm?pool=meanmax``;
each head arm over seeds (its initialisation, batch order and the validation split that picks
the epoch: 10% of the training rows, never dev). Dev is read only to score.

    nice -n 5 python benchmarks/text_pooling.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine, mean_std, need_shared

import headstart as hs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    folder = need_shared("text", "sst2")
    train, dev = hs.load(folder / "train.tsv").sample(2000, seed=0), hs.load(folder / "dev.tsv")
    print(f"machine: {machine()}")
    print(f"SST-2: {len(train)} training rows (seed 0) -> dev ({len(dev)}); minilm frozen")
    start = time.perf_counter()
    probe = hs.TransferClassifier("minilm", strategy="linear-probe", progress=False).fit(train)
    acc = probe.evaluate(dev)["accuracy"]
    print(f"  linear-probe, mean pooling (recipe)     {acc:.4f}   ({time.perf_counter() - start:.0f} s)")
    results = {}
    for spec in ("minilm", "minilm?pool=attention", "minilm?pool=meanmax"):
        accs, secs = [], []
        for seed in seeds:
            start = time.perf_counter()
            clf = hs.TransferClassifier(
                spec,
                strategy="head",
                epochs=args.epochs,
                lr=args.lr,
                head_init="random",
                seed=seed,
                progress=False,
            ).fit(train)
            accs.append(clf.evaluate(dev)["accuracy"])
            secs.append(time.perf_counter() - start)
        results[spec] = accs
        runs = ", ".join(f"{a:.4f}" for a in accs)
        print(f"  head, {spec:32s} {mean_std(accs)}  (seeds {seeds}: {runs}; {np.median(secs):.0f} s each)")
    att, mean = np.asarray(results["minilm?pool=attention"]), np.asarray(results["minilm"])
    diff = att - mean
    print(f"  attention - mean (same seeds): {diff.mean():+.4f} (per seed {', '.join(f'{d:+.4f}' for d in diff)})")


if __name__ == "__main__":
    main()
