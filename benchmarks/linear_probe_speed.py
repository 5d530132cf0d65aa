"""Linear probe speed: headstart's torch L-BFGS vs scikit-learn LogisticRegression(lbfgs).

Both run on the same cached features, single process, same machine, rounds
interleaved (median of --rounds). Two data sets:

- synthetic: N=20,000 (16,000 train / 4,000 held out), D=384, 10 classes; the
  class means lie in a 16-d subspace, noise is anisotropic (per-feature scales
  log-normal), so the classes overlap (held-out accuracy ~0.85, not 1.0);
- SST-2: all-MiniLM-L6-v2 features of a stratified sample of training
  sentences (--sst2-rows, seed 0), scored on the 872 dev sentences.

Three comparisons per data set:

1. same problem: both standardise the raw features and fit L2 logistic
   regression with the same C (the one our default selection picks), sklearn
   as ``make_pipeline(StandardScaler(), LogisticRegression(C))`` with its
   defaults (tol=1e-4, max_iter=100), ours with its defaults (tol=1e-3, see
   DEFAULT_TOL); held-out accuracy must agree within 0.5 points;
2. defaults, end to end: ``TransferClassifier``'s head with C chosen by
   cross-validation / a validation split (our default) vs sklearn's default
   ``LogisticRegression()`` (C=1, raw features);
3. model selection: ours vs sklearn ``LogisticRegressionCV`` over the same
   grid and folds' count (what a user must run to get a tuned C).

    .venv/bin/python benchmarks/linear_probe_speed.py [--rounds 5] [--sst2-rows 20000]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch
from _common import SHARED, interleaved, machine, median

import headstart as hs
from headstart.strategies.linear_probe import DEFAULT_CS, LinearProbe

warnings.filterwarnings("ignore")  # sklearn's ConvergenceWarning at its default max_iter


def synthetic(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, d, k = 20_000, 384, 10
    basis = rng.normal(size=(16, d))
    centers = rng.normal(size=(k, 16)) @ basis * 0.015
    scales = np.exp(rng.normal(size=d) * 0.5)
    y = rng.integers(0, k, n)
    X = (centers[y] + rng.normal(size=(n, d)) * scales * 0.5).astype(np.float32)
    return X[:16_000], y[:16_000], X[16_000:], y[16_000:]


def sst2(rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    folder = SHARED / "text" / "sst2"
    if not folder.exists():
        print(f"SST-2 skipped: {folder} is absent")
        return None
    bb = hs.load_backbone("minilm")
    train = hs.load(folder / "train.tsv").sample(rows, seed=0)
    dev = hs.load(folder / "dev.tsv")
    X = hs.extract_features(bb, train)  # cached after the first run
    Xd = hs.extract_features(bb, dev)
    return X, train.labels.astype(int), Xd, dev.labels.astype(int)


def accuracy_ours(probe: LinearProbe, X: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        return float((probe.head_(torch.from_numpy(X)).argmax(1).numpy() == y).mean())


def compare(name: str, X: np.ndarray, y: np.ndarray, Xt: np.ndarray, yt: np.ndarray, rounds: int) -> None:
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    k = int(y.max()) + 1
    print(f"\n== {name}: train {X.shape}, held out {Xt.shape[0]}, {k} classes")
    chosen = LinearProbe().fit(X, y, k)  # our default, to learn which C it picks
    C = chosen.C_
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Z, Zt = (X - mu) / sd, (Xt - mu) / sd  # for LogisticRegressionCV

    out: dict[str, float] = {}

    def ours_fixed() -> None:
        p = LinearProbe(C=C).fit(X, y, k)
        out["ours_fixed"] = accuracy_ours(p, Xt, yt)

    def sk_fixed() -> None:
        # Standardising is part of the work on both sides (ours does it inside fit).
        m = make_pipeline(StandardScaler(), LogisticRegression(C=C)).fit(X, y)
        out["sk_fixed"] = float(m.score(Xt, yt))

    def ours_default() -> None:
        p = LinearProbe().fit(X, y, k)
        out["ours_default"] = accuracy_ours(p, Xt, yt)

    def sk_default() -> None:
        out["sk_default"] = float(LogisticRegression().fit(X, y).score(Xt, yt))

    def sk_cv() -> None:
        small = len(y) <= 5000
        m = LogisticRegressionCV(Cs=list(DEFAULT_CS), cv=5 if small else 2).fit(Z, y)
        out["sk_cv"] = float(m.score(Zt, yt))

    times = interleaved(
        {"ours_fixed": ours_fixed, "sk_fixed": sk_fixed, "ours_default": ours_default, "sk_default": sk_default},
        rounds,
    )
    times.update(interleaved({"sk_cv": sk_cv}, max(1, rounds // 2)))
    med = {k_: median(v) for k_, v in times.items()}

    def row(label: str, key: str) -> None:
        runs = ", ".join(f"{t:.3f}" for t in times[key])
        print(f"  {label:44s} {med[key]:8.3f} s   held-out acc {out[key]:.4f}   (runs: {runs})")

    print(f"1. same problem (C={C:g}, standardise + fit)")
    row("headstart LinearProbe(C)", "ours_fixed")
    row("sklearn StandardScaler+LogisticRegression(C)", "sk_fixed")
    print(
        f"   speed-up {med['sk_fixed'] / med['ours_fixed']:.2f}x, accuracy difference "
        f"{100 * (out['ours_fixed'] - out['sk_fixed']):+.2f} points"
    )
    print("2. defaults, end to end")
    row("headstart LinearProbe() (C by validation)", "ours_default")
    row("sklearn LogisticRegression() (C=1, raw)", "sk_default")
    print(
        f"   speed-up {med['sk_default'] / med['ours_default']:.2f}x, accuracy difference "
        f"{100 * (out['ours_default'] - out['sk_default']):+.2f} points"
    )
    print("3. model selection over the same C grid")
    row("sklearn LogisticRegressionCV (same grid)", "sk_cv")
    print(
        f"   speed-up {med['sk_cv'] / med['ours_default']:.2f}x, accuracy difference "
        f"{100 * (out['ours_default'] - out['sk_cv']):+.2f} points"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sst2-rows", type=int, default=20_000)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    compare("synthetic N=20000 D=384 C=10", *synthetic(), rounds=args.rounds)
    real = sst2(args.sst2_rows)
    if real is not None:
        compare(f"SST-2 MiniLM features ({args.sst2_rows} train rows, seed 0) -> dev", *real, rounds=args.rounds)


if __name__ == "__main__":
    main()
