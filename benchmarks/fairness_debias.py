"""A real group gap, detected by the audit and shrunk by debiasing.

The set-up (constructed, so that the gap is known to be real):

- SST-2, 2,000 training rows (``hs.load(train.tsv).sample(2000, seed=0)``);
  the 872 dev rows are the test rows;
- a synthetic binary group attribute: in the *training* rows it is
  correlated with the label (group "b" for 85% of the positive rows and 15%
  of the negative ones), in the *test* rows it is independent of the label
  (a fair coin, per seed);
- a group-revealing token: every text starts with a name, "alex :" for group
  "a", "maria :" for group "b". A model can read the group off the text and
  use it as a shortcut for the label; on the test rows that shortcut is
  wrong half of the time and only produces a group gap (group "b" predicted
  positive more often, whatever the sentence says).

Models (backbone ``minilm``; its features of every text under both names are
extracted once and cached, so the per-seed runs only train heads):

- ``linear probe``: ``TransferClassifier(strategy="linear-probe")`` on the features;
- ``head``: a linear head trained through ``headstart.train.train`` (the
  ``head`` strategy on cached features: ``headstart.fairness.train_head``;
  AdamW, lr 0.01, batch 64, 20 epochs, no validation split) — the baseline
  the debiasing methods change one thing of;
- ``adversarial``, ``penalty``, ``group-sampling``: the same head with
  ``headstart.fairness`` methods at their defaults (adversarial: an MLP
  adversary on the logits behind a gradient reversal layer, lambda 1,
  equalized-odds target; penalty: weight 1 x the batch's soft equalized-odds
  gap; group-sampling: every group x class cell equally often); and, to show
  the main knob of adversarial training, ``adversarial λ=2`` (coeff 2);
- ``threshold``: the ``head`` model post-processed by Fairlearn's
  ``ThresholdOptimizer`` (equalized odds, fitted on the training rows' scores).

Every model is audited on the test rows (``audit_predictions``: 1,000
stratified bootstrap resamples): demographic-parity (DP) and equalized-odds
(EO) differences between the groups with their 95% CIs, and test accuracy.
"Shrink" is ``1 - gap(method) / gap(head)`` per seed. The last column is
the accuracy on the same test texts with groups drawn like the training rows'
(the shortcut holds there): what debiasing costs where the shortcut would
have helped. Seeds (``--seeds``,
default 5) draw the group attribute and every random choice of training.

``--finetune-seeds N`` (default 0) also fine-tunes on the raw texts for N
seeds (``TransferClassifier(strategy="partial", k=1)``, 1 epoch, max length
64; adversarial on the features): slow on a CPU (~5-10 minutes a run).

    .venv/bin/python benchmarks/fairness_debias.py               # ~10 minutes on 2 busy cores
    .venv/bin/python benchmarks/fairness_debias.py --seeds 3 --finetune-seeds 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import numpy as np
import torch
from _common import machine, mean_std, need_shared

os.environ.setdefault("HEADSTART_PROGRESS", "0")

import headstart as hs  # noqa: E402
from headstart.backbones import load_backbone  # noqa: E402
from headstart.fairness import GroupThreshold, audit_predictions, train_head  # noqa: E402
from headstart.features import extract  # noqa: E402

PREFIX = {0: "alex :", 1: "maria :"}  # group "a", group "b"
P_B_GIVEN_POS, P_B_GIVEN_NEG = 0.85, 0.15
HEAD_METHODS = ["head", "adversarial", "adversarial λ=2", "penalty", "group-sampling"]
OPTIONS = {"adversarial λ=2": ("adversarial", {"coeff": 2.0})}  # not a default: the reversal coefficient's effect


def tagged(texts: list[str], g: np.ndarray) -> list[str]:
    return [f"{PREFIX[int(k)]} {t}" for t, k in zip(texts, g, strict=True)]


def groups_for(y_train: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 10])
    p_b = np.where(y_train == 1, P_B_GIVEN_POS, P_B_GIVEN_NEG)
    return (rng.random(len(y_train)) < p_b).astype(int), rng.integers(0, 2, n_test)


def correlated_groups(y: np.ndarray, seed: int) -> np.ndarray:
    """Groups drawn like the training rows' (the shortcut holds): for the accuracy cost where it would help."""
    rng = np.random.default_rng([seed, 20])
    return (rng.random(len(y)) < np.where(y == 1, P_B_GIVEN_POS, P_B_GIVEN_NEG)).astype(int)


def audit(y: np.ndarray, pred: np.ndarray, g: np.ndarray, seed: int) -> dict[str, Any]:
    r = audit_predictions(y, pred, {"group": np.where(g == 1, "b", "a")}, ["0", "1"], resamples=1000, seed=seed)
    gaps = r["groups"]["group"]["gaps"]
    dp, eo = gaps["demographic_parity_difference"], gaps["equalized_odds_difference"]
    return {
        "accuracy": r["overall"]["accuracy"],
        "dp": dp["value"],
        "dp_ci": dp["ci"],
        "dp_real": dp["significant"],
        "eo": eo["value"],
        "eo_ci": eo["ci"],
        "eo_real": eo["significant"],
    }


def predict(head: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        proba = torch.softmax(head(torch.from_numpy(X)), 1).numpy()
    return proba.argmax(1), proba[:, 1]


def features_under_both_names(texts: list[str]) -> np.ndarray:
    """``(2, N, 384)``: every text's minilm features with group a's and group b's name."""
    backbone = load_backbone("minilm")
    out = []
    for k in (0, 1):
        ext = extract(backbone, hs.from_arrays(tagged(texts, np.full(len(texts), k)), None, modality="text"))
        out.append(ext.features)
    return np.stack(out)


def head_runs(F_tr, y_tr, F_te, y_te, seed: int) -> dict[str, dict[str, Any]]:
    g_tr, g_te = groups_for(y_tr, len(y_te), seed)
    X_tr = np.where(g_tr[:, None] == 1, F_tr[1], F_tr[0])
    X_te = np.where(g_te[:, None] == 1, F_te[1], F_te[0])
    g_sc = correlated_groups(y_te, seed)
    X_sc = np.where(g_sc[:, None] == 1, F_te[1], F_te[0])
    results: dict[str, dict[str, Any]] = {}
    probe = hs.TransferClassifier(backbone="identity", strategy="linear-probe", val_size=0.2, seed=seed, progress=False)
    probe.fit(hs.from_arrays(X_tr, y_tr))
    results["linear probe"] = audit(y_te, probe.predict(X_te).astype(int), g_te, seed)
    results["linear probe"]["acc_shortcut"] = float(np.mean(probe.predict(X_sc).astype(int) == y_te))
    heads = {}
    for method in HEAD_METHODS:
        start = time.perf_counter()
        name, options = OPTIONS.get(method, (None if method == "head" else method, None))
        heads[method] = train_head(X_tr, y_tr, g_tr, name, options, seed=seed, progress=False)
        results[method] = {**audit(y_te, predict(heads[method], X_te)[0], g_te, seed)}
        results[method]["acc_shortcut"] = float(np.mean(predict(heads[method], X_sc)[0] == y_te))
        results[method]["seconds"] = time.perf_counter() - start
    post = GroupThreshold("equalized_odds", seed=seed).fit(predict(heads["head"], X_tr)[1], y_tr, g_tr)
    results["threshold"] = audit(y_te, post.predict(predict(heads["head"], X_te)[1], g_te), g_te, seed)
    results["threshold"]["acc_shortcut"] = float(np.mean(post.predict(predict(heads["head"], X_sc)[1], g_sc) == y_te))
    results["train_group_label_corr"] = {"value": float(np.corrcoef(g_tr, y_tr)[0, 1])}
    return results


def finetune_runs(texts_tr, y_tr, texts_te, y_te, seed: int) -> dict[str, dict[str, Any]]:
    g_tr, g_te = groups_for(y_tr, len(y_te), seed)
    train = hs.from_arrays(tagged(texts_tr, g_tr), y_tr, group=np.where(g_tr == 1, "b", "a"))
    test = hs.from_arrays(tagged(texts_te, g_te), y_te)
    results = {}
    for method in ("none", "adversarial", "penalty"):
        start = time.perf_counter()
        clf = hs.TransferClassifier(
            backbone="minilm",
            strategy="partial",
            strategy_options={"k": 1},
            epochs=1,
            max_length=64,
            val_size=0.1,
            seed=seed,
            progress=False,
            debias=None if method == "none" else method,
        ).fit(train)
        pred = clf.predict(test).astype(int)
        results[f"partial k=1, {method}"] = {**audit(y_te, pred, g_te, seed), "seconds": time.perf_counter() - start}
    return results


def table(runs: list[dict[str, dict[str, Any]]], baseline: str, names: list[str]) -> str:
    lines = [
        "| model | test accuracy | Δ accuracy vs " + baseline + " | DP difference | DP CI excludes 0 | DP shrink "
        "| EO difference | EO shrink | accuracy where the shortcut holds (Δ) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        acc = [r[name]["accuracy"] for r in runs]
        d_acc = [r[name]["accuracy"] - r[baseline]["accuracy"] for r in runs]
        dp = [r[name]["dp"] for r in runs]
        eo = [r[name]["eo"] for r in runs]
        real = sum(bool(r[name]["dp_real"]) for r in runs)
        shrink_dp = [1 - r[name]["dp"] / r[baseline]["dp"] for r in runs]
        shrink_eo = [1 - r[name]["eo"] / r[baseline]["eo"] for r in runs]
        same = name == baseline
        shortcut = "n/a"
        if all("acc_shortcut" in r[name] for r in runs):
            d_sc = [r[name]["acc_shortcut"] - r[baseline]["acc_shortcut"] for r in runs]
            delta = "" if same else f" ({100 * statistics.mean(d_sc):+.1f} pts)"
            shortcut = mean_std([r[name]["acc_shortcut"] for r in runs], 3) + delta
        lines.append(
            f"| {name} | {mean_std(acc, 3)} | {'-' if same else f'{100 * statistics.mean(d_acc):+.1f} pts'} "
            f"| {mean_std(dp, 3)} | {real}/{len(runs)} | {'-' if same else f'{100 * statistics.mean(shrink_dp):.0f}%'} "
            f"| {mean_std(eo, 3)} | {'-' if same else f'{100 * statistics.mean(shrink_eo):.0f}%'} | {shortcut} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--finetune-seeds", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    train = hs.load(need_shared("text", "sst2", "train.tsv")).sample(2000, seed=0)
    test = hs.load(need_shared("text", "sst2", "dev.tsv"))
    y_tr, y_te = train.labels.astype(int), test.labels.astype(int)
    print(f"machine: {machine()}")
    print(
        f"SST-2: {len(train)} training rows, {len(test)} test rows; group 'b' for {P_B_GIVEN_POS:.0%} of training "
        f"positives and {P_B_GIVEN_NEG:.0%} of training negatives, a fair coin on the test rows; "
        f"texts start with {PREFIX[0]!r} (group a) or {PREFIX[1]!r} (group b)"
    )
    t = time.perf_counter()
    F_tr, F_te = features_under_both_names(list(train.inputs)), features_under_both_names(list(test.inputs))
    print(f"minilm features of {2 * (len(train) + len(test))} texts in {time.perf_counter() - t:.0f} s (cached)")
    threads = torch.get_num_threads()
    # Heads on 384-d features are tiny ops: one thread is as fast on an idle machine and far faster on a busy one.
    torch.set_num_threads(1)
    runs = [head_runs(F_tr, y_tr, F_te, y_te, seed) for seed in range(args.seeds)]
    torch.set_num_threads(threads)
    corr = statistics.mean(r["train_group_label_corr"]["value"] for r in runs)
    print(
        f"\n## Linear heads on frozen minilm features, {args.seeds} seeds (mean ± std; group-label corr {corr:.2f})\n"
    )
    print(table(runs, "head", ["linear probe", *HEAD_METHODS, "threshold"]))
    secs = {m: statistics.mean(r[m]["seconds"] for r in runs) for m in HEAD_METHODS}
    print("\nhead training seconds (mean): " + ", ".join(f"{m} {s:.1f}" for m, s in secs.items()))
    print("\nper seed (DP difference [95% CI]):")
    for seed, r in enumerate(runs):
        cells = [f"{m} {r[m]['dp']:.3f} [{r[m]['dp_ci'][0]:.3f}, {r[m]['dp_ci'][1]:.3f}]" for m in HEAD_METHODS]
        print(f"  seed {seed}: " + "; ".join(cells))
    if args.finetune_seeds:
        ft = [
            finetune_runs(list(train.inputs), y_tr, list(test.inputs), y_te, seed)
            for seed in range(args.finetune_seeds)
        ]
        names = list(ft[0])
        print(f"\n## Fine-tuning minilm on the texts (partial k=1, 1 epoch), {args.finetune_seeds} seed(s)\n")
        print(table(ft, names[0], names))
        print("fit seconds: " + ", ".join(f"{n} {statistics.mean(r[n]['seconds'] for r in ft):.0f}" for n in names))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
