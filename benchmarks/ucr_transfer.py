"""A UCR transfer table (issue 23): a time-series encoder pre-trained by headstart on other
bundled UCR sets, fine-tuned on each target, against the same encoder from scratch and
aeon's classic baselines, on the official TRAIN/TEST splits.

Targets: GunPoint, ArrowHead, ItalyPowerDemand, OSULeaf, ACSF1 (the univariate sets inside
the aeon 1.6 wheel). For each target the encoder is pre-trained on the TRAIN rows of the
*other* four (leave the target out), every series z-normalised, the labels of all four
sets side by side as one classification (``SET:class``): supervised pre-training on
source sets, as Fawaz et al. (2018) transfer a network trained on one source UCR set.
(Self-supervised pre-training, masked reconstruction or forecasting, is not done here.)
The pre-trained encoder is saved as a normal backbone (``backbone.json`` +
``weights.safetensors``) and loaded as ``local:FOLDER``.

Arms, all with seeds ``--seeds`` except the deterministic 1-NN:

- ``transfer``: ``local:<pre-trained scratch:tsconv>`` fine-tuned on the target's TRAIN
  (``strategy="full"``, AdamW lr 1e-3, batch 16, ``--epochs``, the best epoch by accuracy
  on 10% of TRAIN, head from the linear probe: LP-FT);
- ``scratch``: ``scratch:tsconv?norm=series`` with random weights, the same training;
- ``MiniRocket``: aeon's ``MiniRocketClassifier`` (10,000 kernels, ridge), ``random_state=seed``;
- ``1-NN DTW`` (full window) and ``1-NN ED``: aeon's ``KNeighborsTimeSeriesClassifier``.

Figures: TEST accuracy, mean ± 95% CI (Student t over the seeds), CPU seconds.

    nice -n 10 .venv/bin/python benchmarks/ucr_transfer.py --seeds 0,1,2,3,4
    # or one process per target (--targets ACSF1 --out DIR), then: --merge DIR1,DIR2,...
"""

# ruff: noqa: B023  (the per-target closure is called within its own iteration)
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT  # noqa: E402

TARGETS = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "ACSF1")
ED_PUBLISHED = {"GunPoint": 0.913, "ArrowHead": 0.800, "ItalyPowerDemand": 0.955, "OSULeaf": 0.521, "ACSF1": 0.540}


def znorm(d: object) -> object:
    from headstart.data import Dataset

    rows = [(x - x.mean(0)) / (x.std(0) + 1e-6) for x in d.inputs]
    return Dataset(inputs=rows, labels=d.labels, modality="timeseries", source=d.source)


def pretrain(target: str, out: Path, epochs: int) -> tuple[str, float]:
    """The encoder pre-trained on the other targets' TRAIN rows; its ``local:`` spec and CPU seconds."""
    from headstart import TransferClassifier
    from headstart.data import Dataset, bundled_ucr, load_ts

    folder = out / f"pretrained-without-{target}"
    if (folder / "backbone.json").is_file():
        return f"local:{folder}", 0.0
    rows, labels = [], []
    for name in TARGETS:
        if name != target:
            d = znorm(load_ts(bundled_ucr(name, "train")))
            rows += list(d.inputs)
            labels += [f"{name}:{v}" for v in d.labels]
    source = Dataset(inputs=rows, labels=np.asarray(labels), modality="timeseries", source=f"not-{target}")
    c = time.process_time()
    clf = TransferClassifier(
        "scratch:tsconv?norm=series", strategy="full", epochs=epochs, lr=1e-3, train_batch_size=16,
        head_init="random", precision="no", progress=False, seed=0,
    ).fit(source)  # fmt: skip
    clf.backbone_.save(folder)
    return f"local:{folder}", time.process_time() - c


def main() -> None:
    import torch

    from headstart import TransferClassifier
    from headstart.data import bundled_ucr, load_ts

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--pretrain-epochs", type=int, default=30)
    p.add_argument("--arms", default="transfer,scratch,minirocket,dtw,ed")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "ucr_transfer"))
    p.add_argument("--merge", default=None, help="only print the table of these runs' folders (comma-separated)")
    args = p.parse_args()
    if args.merge:
        merge(args.merge.split(","))
        return
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    arms = args.arms.split(",")
    table = []
    for target in args.targets.split(","):
        train, test = load_ts(bundled_ucr(target, "train")), load_ts(bundled_ucr(target, "test"))
        train, test = znorm(train), znorm(test)
        res: dict[str, list[float]] = {}
        cpu: dict[str, float] = {}

        def record(arm: str, acc: float, seconds: float) -> None:
            res.setdefault(arm, []).append(acc)
            cpu[arm] = cpu.get(arm, 0.0) + seconds
            print(json.dumps({"target": target, "arm": arm, "accuracy": round(acc, 4)}), file=sys.stderr, flush=True)

        fine = {"strategy": "full", "epochs": args.epochs, "lr": 1e-3, "train_batch_size": 16, "precision": "no"}
        if "transfer" in arms:
            spec, pre_cpu = pretrain(target, out, args.pretrain_epochs)
            cpu["pre-training"] = pre_cpu
            for seed in seeds:
                c = time.process_time()
                clf = TransferClassifier(spec, progress=False, seed=seed, **fine).fit(train)
                record("transfer", clf.evaluate(test)["accuracy"], time.process_time() - c)
        if "scratch" in arms:
            for seed in seeds:
                c = time.process_time()
                clf = TransferClassifier(
                    "scratch:tsconv?norm=series", head_init="random", progress=False, seed=seed, **fine
                ).fit(train)
                record("scratch", clf.evaluate(test)["accuracy"], time.process_time() - c)
        X = np.stack([x[:, 0] for x in train.inputs])[:, None, :]
        Xt = np.stack([x[:, 0] for x in test.inputs])[:, None, :]
        y, yt = np.asarray(train.labels), np.asarray(test.labels)
        if "minirocket" in arms:
            from aeon.classification.convolution_based import MiniRocketClassifier

            for seed in seeds:
                c = time.process_time()
                pred = MiniRocketClassifier(random_state=seed).fit(X, y).predict(Xt)
                record("MiniRocket", float((pred == yt).mean()), time.process_time() - c)
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

        for arm, distance in (("1-NN DTW", "dtw"), ("1-NN ED", "euclidean")):
            if ("dtw" if distance == "dtw" else "ed") in arms:
                c = time.process_time()
                pred = KNeighborsTimeSeriesClassifier(distance=distance).fit(X, y).predict(Xt)
                record(arm, float((pred == yt).mean()), time.process_time() - c)
        table.append({"target": target, "results": res, "cpu_s": cpu})
        (out / "results.json").write_text(json.dumps({"args": vars(args), "table": table}, indent=2))
    print_table(table, seeds)


def print_table(table: list[dict], seeds: list[int]) -> None:
    from headstart.stats import mean_ci

    print(f"\nUCR TEST accuracy, seeds {seeds} (mean ± 95% CI; 1-NN deterministic); CPU s for all seeds")
    names = [
        a for a in ("transfer", "scratch", "MiniRocket", "1-NN DTW", "1-NN ED") if any(a in t["results"] for t in table)
    ]
    print("| target | " + " | ".join(names) + " | published 1-NN ED | transfer - scratch |")
    print("| --- " * (len(names) + 3) + "|")
    for t in table:
        cells = []
        for a in names:
            v = t["results"].get(a)
            if not v:
                cells.append("")
                continue
            m, h = mean_ci(v)[:2] if len(v) > 1 else (v[0], 0.0)
            cells.append(
                f"{m:.3f} ± {h:.3f} ({t['cpu_s'][a]:.0f} s)" if len(v) > 1 else f"{m:.3f} ({t['cpu_s'][a]:.0f} s)"
            )
        diff = ""
        if t["results"].get("transfer") and t["results"].get("scratch"):
            d = np.mean(t["results"]["transfer"]) - np.mean(t["results"]["scratch"])
            diff = f"{d:+.3f}"
        print(f"| {t['target']} | " + " | ".join(cells) + f" | {ED_PUBLISHED[t['target']]:.3f} | {diff} |")
    if any("pre-training" in t["cpu_s"] for t in table):
        print(
            "pre-training CPU s: " + ", ".join(f"{t['target']}: {t['cpu_s'].get('pre-training', 0):.0f}" for t in table)
        )


def merge(folders: list[str]) -> None:
    """The table of several runs' ``results.json`` (targets run in separate processes)."""
    table, seeds = [], None
    for folder in folders:
        saved = json.loads((Path(folder) / "results.json").read_text())
        table += saved["table"]
        seeds = seeds or [int(s) for s in saved["args"]["seeds"].split(",")]
    order = {t: i for i, t in enumerate(TARGETS)}
    print_table(sorted(table, key=lambda t: order[t["target"]]), seeds or [])


if __name__ == "__main__":
    main()
