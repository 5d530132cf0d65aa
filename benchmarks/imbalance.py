"""Imbalanced training data: plain training vs every ``headstart.imbalance`` method.

Two real set-ups, the test rows kept at their natural class distribution:

- SMS spam (UCI): a fixed stratified 30% test split (seed 0: 1,448 ham / 224
  spam); the other 70% is the training pool, whose spam is cut, per seed, to
  a random 2% share of the training rows (3,379 ham + 69 spam);
- TweetEval emotion (4 classes): the official train / test files; per seed,
  the training "optimism" class is cut to a random 5% of its 294 rows (15),
  the test set (1,421 rows, 123 optimism) untouched.

Seeds 0-4 (``--seeds``) change which minority rows are kept and every random
choice of the method. Backbone: the embedded ``minilm`` (all-MiniLM-L6-v2).

- Linear probe, every method: features are extracted once for all rows and
  the probe (``TransferClassifier(backbone="identity", strategy="linear-probe",
  imbalance=...)``) trains on the training rows' features: the same
  imbalance code path as a text fit, without re-running the backbone per seed.
- Fine-tuning, the methods in ``--finetune`` (plain training always): the
  ``full`` strategy (LP-FT head), 1 epoch, batch 32, lr 1e-4, max length 64,
  10% of the training rows held out (best epoch; threshold tuning), on a
  stratified sample of ``--ft-rows`` training rows (seed = the seed; 1,000 by
  default: 2 shared CPU cores), scored on a stratified sample of
  ``--ft-test-rows`` test rows (1,000, seed 0: the natural distribution).

Prints markdown tables of macro-F1 and balanced accuracy, mean ± std over
the seeds (sample std), with the difference to plain training and whether it
exceeds twice the larger of the two stds. Every finished run is appended to
``--results`` (JSON lines), so an interrupted benchmark continues where it
stopped.

    .venv/bin/python benchmarks/imbalance.py --results /tmp/imbalance.jsonl   # everything
    .venv/bin/python benchmarks/imbalance.py --finetune ""                    # linear probe only
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import machine, need_shared

os.environ.setdefault("HEADSTART_PROGRESS", "0")

import headstart as hs  # noqa: E402
from headstart.data import stratified_sample, stratified_split  # noqa: E402
from headstart.imbalance import list_methods  # noqa: E402

PLAIN = "plain"
PROBE_METHODS = [PLAIN] + [m for m in list_methods() if m != "none"]


# ------------------------------------------------------------------ the data
def spam_pool() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(texts, labels, pool rows, test rows): the fixed test split."""
    df = pd.read_csv(need_shared("text", "sms_spam", "sms_spam.tsv"), sep="\t", quoting=3, keep_default_na=False)
    labels = df["Label"].to_numpy().astype(str)
    pool, test = stratified_split(labels, 0.3, seed=0)
    return df["SMS"].astype(str).tolist(), labels, pool, test


def emotion_pool() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    folder = need_shared("text", "tweeteval_emotion")
    names = dict(line.split("\t") for line in (folder / "mapping.txt").read_text().splitlines() if line.strip())
    texts, labels = [], []
    for split in ("train", "test"):
        texts += (folder / f"{split}_text.txt").read_text().splitlines()
        labels += [names[v.strip()] for v in (folder / f"{split}_labels.txt").read_text().splitlines()]
    n_train = len((folder / "train_labels.txt").read_text().splitlines())
    return [t.strip() for t in texts], np.asarray(labels), np.arange(n_train), np.arange(n_train, len(labels))


def cut(labels: np.ndarray, pool: np.ndarray, minority: str, keep: int, seed: int) -> np.ndarray:
    """``pool`` with its ``minority`` rows cut to a random ``keep`` of them."""
    rng = np.random.default_rng(seed)
    rare = pool[labels[pool] == minority]
    kept = rng.choice(rare, size=keep, replace=False)
    return np.sort(np.concatenate([pool[labels[pool] != minority], kept]))


SETUPS: dict[str, dict[str, Any]] = {
    "SMS spam, spam cut to 2% of training": {
        "load": spam_pool,
        "minority": "spam",
        # spam / (ham + spam) = 2%
        "keep": lambda labels, pool: round(0.02 / 0.98 * int((labels[pool] != "spam").sum())),
    },
    "TweetEval emotion, optimism cut to 5%": {
        "load": emotion_pool,
        "minority": "optimism",
        "keep": lambda labels, pool: round(0.05 * int((labels[pool] == "optimism").sum())),
    },
}


# ------------------------------------------------------------------ the runs
def run_probe(features: np.ndarray, labels: np.ndarray, tr: np.ndarray, te: np.ndarray, method: str, seed: int):
    clf = hs.TransferClassifier(
        backbone="identity",
        strategy="linear-probe",
        imbalance=None if method == PLAIN else method,
        val_size=0.2,  # the API default of the recorded runs (now 0.1, as the CLI's)
        seed=seed,
    )
    clf.fit(hs.from_arrays(features[tr], labels[tr]))
    return clf, clf.evaluate(hs.from_arrays(features[te], labels[te]))


def run_finetune(texts: list[str], labels: np.ndarray, tr: np.ndarray, te: np.ndarray, method: str, seed: int, args):
    train = hs.from_arrays([texts[i] for i in tr], labels[tr])
    if args.ft_rows:
        train = train.sample(args.ft_rows, seed)
    if args.ft_test_rows:  # a stratified sample keeps the natural class distribution
        te = te[stratified_sample(labels[te], args.ft_test_rows, 0)]
    clf = hs.TransferClassifier(
        backbone="minilm",
        strategy="full",
        epochs=args.epochs,
        max_length=64,
        train_batch_size=32,
        lr=args.lr,
        val_size=0.1,
        seed=seed,
        imbalance=None if method == PLAIN else method,
    )
    clf.fit(train)
    return clf, clf.evaluate(hs.from_arrays([texts[i] for i in te], labels[te]))


def load_results(path: Path | None) -> dict[tuple, dict[str, Any]]:
    done = {}
    if path is not None and path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[(r["setup"], r["part"], r["method"], r["seed"])] = r
    return done


def record(path: Path | None, row: dict[str, Any]) -> None:
    if path is None:
        return
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


# ------------------------------------------------------------------ the table
def mean_std(xs: list[float]) -> tuple[float, float]:
    return float(np.mean(xs)), float(statistics.stdev(xs)) if len(xs) > 1 else 0.0


def table(rows: list[dict[str, Any]], methods: list[str]) -> str:
    by = {m: [r for r in rows if r["method"] == m] for m in methods}
    by = {m: sorted(rs, key=lambda r: r["seed"]) for m, rs in by.items() if rs}
    plain_f1 = mean_std([r["macro_f1"] for r in by.get(PLAIN, [])]) if PLAIN in by else None
    out = [
        "| method | macro-F1 | balanced accuracy | Δ macro-F1 vs plain | > 2 std | seconds / fit |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m, rs in by.items():
        f1 = mean_std([r["macro_f1"] for r in rs])
        ba = mean_std([r["balanced_accuracy"] for r in rs])
        secs = np.mean([r["seconds"] for r in rs])
        name = m if m != "auto" else "auto (" + ", ".join(sorted({r["picked"] for r in rs})) + ")"
        if plain_f1 is None or m == PLAIN:
            delta, beats = "", ""
        else:
            d = f1[0] - plain_f1[0]
            delta = f"{100 * d:+.2f}"
            beats = "yes" if d > 2 * max(f1[1], plain_f1[1]) else "no"
        out.append(
            f"| {name} | {f1[0]:.4f} ± {f1[1]:.4f} | {ba[0]:.4f} ± {ba[1]:.4f} | {delta} | {beats} | {secs:.1f} |"
        )
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--methods", default=",".join(PROBE_METHODS), help="linear-probe methods (comma-separated)")
    ap.add_argument(
        "--finetune", default="weighted,balanced-sampling", help="fine-tuned methods besides plain ('' = none)"
    )
    ap.add_argument("--ft-rows", type=int, default=1000, help="stratified training sample for fine-tuning (0 = all)")
    ap.add_argument(
        "--ft-test-rows", type=int, default=1000, help="stratified test sample for fine-tuning (seed 0; 0 = all)"
    )
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-4, help="fine-tuning learning rate")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for fine-tuning (0 = torch's default)")
    ap.add_argument("--results", type=Path, default=None, help="JSON-lines file of finished runs (to continue)")
    args = ap.parse_args()
    import torch

    # The probe's small L-BFGS problems run fastest on one thread when other jobs
    # share the cores (thread-pool contention); fine-tuning gets --threads.
    threads = {"linear probe": 1, "fine-tuning": args.threads or torch.get_num_threads()}
    probe_methods = [m for m in args.methods.split(",") if m]
    ft_methods = [PLAIN] + [m for m in args.finetune.split(",") if m] if args.finetune else []
    done = load_results(args.results)
    print(f"machine: {machine()}")
    minilm = hs.load_backbone("minilm")
    tables = []
    for setup, spec in SETUPS.items():
        texts, labels, pool, test = spec["load"]()
        keep = spec["keep"](labels, pool)
        start = time.perf_counter()
        features = hs.extract_features(minilm, hs.from_arrays(texts, labels), batch_size=128)
        print(f"\n{setup}: features of {len(texts)} rows in {time.perf_counter() - start:.1f} s", flush=True)
        for part, methods in (("linear probe", probe_methods), ("fine-tuning", ft_methods)):
            torch.set_num_threads(threads[part])
            for seed in range(args.seeds):
                tr = cut(labels, pool, spec["minority"], keep, seed)
                for method in methods:
                    key = (setup, part, method, seed)
                    if key in done or (method == "threshold" and len(set(labels)) != 2):
                        continue  # threshold: two classes only
                    t0 = time.perf_counter()
                    if part == "linear probe":
                        clf, m = run_probe(features, labels, tr, test, method, seed)
                    else:
                        clf, m = run_finetune(texts, labels, tr, test, method, seed, args)
                    row = {
                        "setup": setup,
                        "part": part,
                        "method": method,
                        "seed": seed,
                        "macro_f1": m["macro_f1"],
                        "balanced_accuracy": m["balanced_accuracy"],
                        "minority_recall": m["per_class"][spec["minority"]]["recall"],
                        "picked": (clf.imbalance_ or {}).get("method", method),
                        "why": (clf.imbalance_ or {}).get("why"),
                        "train_rows": int(clf.n_train_),
                        "seconds": time.perf_counter() - t0,
                    }
                    record(args.results, row)
                    done[key] = row
                    print(
                        f"  {part:12s} seed {seed} {method:18s} macro-F1 {row['macro_f1']:.4f} "
                        f"bal-acc {row['balanced_accuracy']:.4f} ({row['seconds']:.1f} s)",
                        flush=True,
                    )
            rows = [r for (s, p, _, _), r in done.items() if s == setup and p == part]
            if rows and methods:
                n_train = sorted({r["train_rows"] for r in rows})
                n_test = min(len(test), args.ft_test_rows or len(test)) if part == "fine-tuning" else len(test)
                title = f"### {setup}: {part} (minilm; {args.seeds} seeds; training rows {n_train}; test {n_test})"
                tables.append(title + "\n\n" + table(rows, methods))
    print("\n" + "\n\n".join(tables))


if __name__ == "__main__":
    main()
