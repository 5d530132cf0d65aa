"""Scratch vs transfer, with a verdict: a case where transfer helps, and one where it hurts.

1. hymenoptera (train/ -> val/), `efficientnet-lite0`, linear probe on frozen
   features; budgets 5, 10, 25, 50, 100% of the 243 training images, 5 seeds.
   Expected: "transfer helps", with non-overlapping 95% CIs at every budget.
2. A constructed harmful source: scikit-learn's 8x8 handwritten digits
   (250 images, seed 0; 100 held out), blown up to EfficientNet's 224 px. The
   ImageNet features of the last block encode object parts and textures that
   8x8 strokes do not have; the same network with random weights keeps more
   of the raw stroke layout. Budgets 2, 5, 10 images per class, 5 seeds.
   Expected: "negative transfer"; the remedy arm (transfer only the lower
   blocks, the cut chosen by LogME on the training rows) should recover.

    .venv/bin/python benchmarks/compare_transfer.py            # plots -> docs/img/
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from _common import ROOT, machine, need_shared

import headstart as hs
from headstart.demo import digits
from headstart.select.compare import compare, plot_learning_curves
from headstart.stats import paired_t

os.environ.setdefault("HEADSTART_PROGRESS", "0")


def show(name: str, result, png: Path) -> None:
    print(f"\n== {name}: {result.n_test} held-out rows, seeds {result.seeds}")
    print("| budget | rows | " + " | ".join(result.arms) + " | transfer - scratch | verdict |")
    print("| --- " * (len(result.arms) + 4) + "|")
    for b in result.budgets:
        cells = " | ".join("{:.3f} ± {:.3f}".format(*b.summary(a)) for a in result.arms)
        diff = b.summary("transfer")[0] - b.summary("scratch")[0]
        print(f"| {b.label} | {b.n_rows} | {cells} | {diff:+.3f} (t={b.t:+.2f}, p={b.p:.2g}) | {b.verdict} |")
    for b in result.budgets:
        (mt, ct), (ms, cs) = b.summary("transfer"), b.summary("scratch")
        print(f"{b.label}: CIs overlap: {not (mt - ct > ms + cs or ms - cs > mt + ct)}")
    print(f"verdict: {result.verdict}")
    print(result.reading)
    for note in result.notes:
        print(f"note: {note}")
    reached = {a: (h["rows"] if h else "never") for a, h in result.time_to_target.items()}
    print(f"rows needed to reach {result.target:.3f}: {reached}")
    remedies = [a for a in result.arms if a.startswith("remedy")]
    for arm in remedies:
        for b in result.budgets:
            tr, ptr = paired_t(b.accuracy[arm], b.accuracy["transfer"])
            ts, pts = paired_t(b.accuracy[arm], b.accuracy["scratch"])
            print(
                f"{arm} at {b.label}: vs transfer {b.summary(arm)[0] - b.summary('transfer')[0]:+.3f} (p={ptr:.2g}), "
                f"vs scratch {b.summary(arm)[0] - b.summary('scratch')[0]:+.3f} (p={pts:.2g})"
            )
    print(f"plot: {plot_learning_curves(result, png).relative_to(ROOT)}")


def main() -> None:
    print(f"machine: {machine()}")
    out = ROOT / "docs" / "img"
    bees = hs.load(need_shared("images", "hymenoptera"))
    result = compare(bees.where_split("train"), bees.where_split("val"), "efficientnet-lite0", seeds=5, progress=print)
    show("hymenoptera, efficientnet-lite0, linear probe", result, out / "compare_hymenoptera.png")

    data = digits(250)
    perm = np.random.default_rng(0).permutation(len(data))
    train, test = data.subset(perm[:150]), data.subset(perm[150:])
    result = compare(
        train,
        test,
        "efficientnet-lite0",
        budgets=[2, 5, 10],
        per_class=True,
        seeds=5,
        mitigations=["layers"],
        progress=print,
    )
    show("8x8 digits at 224 px (constructed harmful source), efficientnet-lite0", result, out / "compare_digits.png")


if __name__ == "__main__":
    main()
