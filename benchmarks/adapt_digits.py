"""Digits domain adaptation (issue 7): MNIST test (10,000) -> USPS (9,298) and the
reverse, at a common size of 16x16, a LeNet-style net from scratch
(``scratch:lenet``); source-only vs DANN, DAN, Deep CORAL, CDAN, CDAN+E; target
accuracy mean ± std over seeds.

Protocol (every method the same): batches of 32 source + 32 target rows,
AdamW lr 1e-3 (warm-up 10 %, cosine), weight decay 5e-4, ``--epochs`` passes
over the source rows; 10 % of the source rows held out (stratified) and the
epoch with the best *source* validation accuracy kept (``select="source-val"``:
no target label is read before the final scoring). The target's labels are
used only to print the target accuracy. The whole target set is both the
unlabelled training target and the evaluation set (the transductive setting
of the papers and of TLlib).

Preprocessing: both sets are resized to 16x16 (bilinear), MNIST from its full
28x28 frame (the default; TLlib's protocol keeps the same scale gap). MNIST
digits sit in a 20x20 box inside that frame while USPS digits fill theirs:
``--crop`` first cuts MNIST to its central 20x20 (rows/columns 4..23), which
removes most of the gap (reads no label; see ../shared/data/README.md).

    nice -n 15 .venv/bin/python benchmarks/adapt_digits.py --seeds 0,1,2 --epochs 8 --directions "mnist>usps"

Single-threaded torch (``torch.set_num_threads(1)``): on a shared 2-core
machine two threads ran a LeNet step 15x slower than one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "digits"
METHODS = ["source-only", "dann", "dan", "coral", "cdan", "cdan-e", "cross-attention"]


def digits(crop: bool) -> dict[str, object]:
    from headstart.data import Dataset, load

    mnist = load(DATA / "mnist_test")
    usps = load(DATA / "usps" / "usps_all.mat")
    if crop:
        mnist = Dataset(
            inputs=np.ascontiguousarray(mnist.inputs[:, 4:24, 4:24]),
            labels=mnist.labels,
            modality="image",
            source="mnist_test[4:24,4:24]",
        )
    return {"mnist": mnist, "usps": usps}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from headstart.adapt.run import adapt

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--directions", default="mnist>usps,usps>mnist")
    p.add_argument("--crop", action=argparse.BooleanOptionalAction, default=False)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--rows", type=int, default=0, help="use only this many rows of each set (0: all; quick checks)")
    p.add_argument("--option", action="append", default=[], help="method option METHOD:KEY=VALUE (JSON value)")
    p.add_argument("--out", default="benchmarks/out/adapt_digits.json")
    args = p.parse_args()
    sets = digits(args.crop)
    if args.rows:
        sets = {k: v.subset(np.arange(min(args.rows, len(v)))) for k, v in sets.items()}
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    method_options: dict[str, dict[str, object]] = {}
    for item in args.option:
        name, kv = item.split(":", 1)
        key, value = kv.split("=", 1)
        method_options.setdefault(name, {})[key] = json.loads(value)
    results: dict[str, dict[str, list[float]]] = {}
    rows = []
    for direction in args.directions.split(","):
        src, tgt = direction.split(">")
        results[direction] = {}
        for method in methods:
            accs = []
            for seed in seeds:
                t = time.perf_counter()
                r = adapt(
                    sets[src],
                    sets[tgt],
                    method=method,
                    options=method_options.get(method),
                    backbone="scratch:lenet",
                    backbone_options={"size": args.size},
                    epochs=args.epochs,
                    lr=1e-3,
                    batch_size=64,
                    seed=seed,
                    progress=False,
                )
                accs.append(r.target_accuracy)
                rows.append(
                    {
                        "direction": direction,
                        "method": method,
                        "seed": seed,
                        "target_accuracy": r.target_accuracy,
                        "source_val_accuracy": r.source_val_accuracy,
                        "best_epoch": r.best_epoch,
                        "seconds": round(time.perf_counter() - t, 1),
                    }
                )
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
            results[direction][method] = accs
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "runs": rows}, indent=2))
    print(f"\ntarget accuracy, mean ± std over seeds {seeds} ({args.epochs} epochs, {args.size}x{args.size})")
    print("| method | " + " | ".join(d.replace(">", " → ") for d in results) + " |")
    print("| --- | " + " | ".join("---" for _ in results) + " |")
    for method in methods:
        cells = []
        for direction in results:
            a = np.asarray(results[direction][method])
            base = np.asarray(results[direction].get("source-only", a))
            gain = f" ({a.mean() - base.mean():+.3f})" if method != "source-only" and "source-only" in methods else ""
            cells.append(f"{a.mean():.3f} ± {a.std(ddof=1) if len(a) > 1 else 0:.3f}{gain}")
        print(f"| {method} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
