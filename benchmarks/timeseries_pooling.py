"""Variable length with masks: JapaneseVowels (UEA; 12 channels, lengths 7-29, 9 speakers,
official 270 TRAIN / 370 TEST), pooling compared over seeds (issue 23).

Every series is fed whole: no truncation, no padding beyond its batch (each batch is
padded to its own longest row and carries a mask; batches are bucketed by length).
Encoder: ``scratch:tsconv`` (three masked dilated conv blocks, 64 channels), trained
from scratch through ``headstart.TransferClassifier`` (``strategy="full"``, AdamW lr
3e-3, batch 32, ``--epochs``, the best epoch by accuracy on 10% of the TRAIN rows;
TEST is read once, at the end). Pooling over time: ``attention`` (a learned query,
padding masked out), ``mean``, ``max``, ``last``, each with the same seeds. A control
(``--control``) shows what the mask buys: ``scratch:seqconv``-style zero padding to the
longest series with the mask turned off (every row padded to 29 steps and told its
length is 29).

    nice -n 10 .venv/bin/python benchmarks/timeseries_pooling.py --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402


def main() -> None:
    import torch

    from headstart import TransferClassifier
    from headstart.data import bundled_ucr, load_ts
    from headstart.data.dataset import Dataset
    from headstart.stats import mean_ci

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="JapaneseVowels")
    p.add_argument("--pools", default="attention,mean,max,last")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--control", action="store_true", help="also: mean pooling over zero padding without a mask")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "timeseries_pooling.json"))
    args = p.parse_args()
    torch.set_num_threads(1)
    train = load_ts(bundled_ucr(args.dataset, "train"))
    test = load_ts(bundled_ucr(args.dataset, "test"))
    lengths = [len(x) for x in train.inputs + test.inputs]
    print(
        f"{args.dataset}: {len(train)} train / {len(test)} test series, {train.inputs[0].shape[1]} channels, "
        f"lengths {min(lengths)}-{max(lengths)}"
    )
    arms = [(f"tsconv pool={q}", f"scratch:tsconv?pool={q}", None) for q in args.pools.split(",")]
    if args.control:
        width = max(lengths)

        def padded(d: Dataset) -> Dataset:  # zero padding that the model is not told about
            rows = [np.vstack([x, np.zeros((width - len(x), x.shape[1]), np.float32)]) for x in d.inputs]
            return Dataset(inputs=rows, labels=d.labels, modality="timeseries", source=d.source + " (padded)")

        arms.append(("tsconv pool=mean, padded to 29, no mask", "scratch:tsconv?pool=mean", padded))
    seeds = [int(s) for s in args.seeds.split(",")]
    results, runs = {}, []
    for name, spec, change in arms:
        tr, te = (change(train), change(test)) if change else (train, test)
        accs = []
        for seed in seeds:
            t, c = time.perf_counter(), time.process_time()
            clf = TransferClassifier(
                spec, strategy="full", epochs=args.epochs, lr=3e-3, train_batch_size=32, head_init="random",
                precision="no", progress=False, seed=seed,
            ).fit(tr)  # fmt: skip
            acc = clf.evaluate(te)["accuracy"]
            accs.append(acc)
            cpu, wall = round(time.process_time() - c, 1), round(time.perf_counter() - t, 1)
            runs.append({"arm": name, "seed": seed, "accuracy": acc, "best_epoch": clf.best_epoch_})
            runs[-1].update(cpu_s=cpu, wall_s=wall)
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
        results[name] = accs
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "runs": runs}, indent=2))
    print(f"\n{args.dataset} test accuracy, seeds {seeds} (mean ± 95% CI, Student t)")
    print("| arm | accuracy | per seed | CPU s per run |")
    print("| --- | --- | --- | --- |")
    for name, accs in results.items():
        m, h = mean_ci(accs)[:2]
        cpu = np.mean([r["cpu_s"] for r in runs if r["arm"] == name])
        print(f"| {name} | {m:.3f} ± {h:.3f} | {', '.join(f'{a:.3f}' for a in accs)} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
