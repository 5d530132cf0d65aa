"""LogME speed: headstart's shared-spectrum, class-vectorised LogME vs a literal per-class one.

The literal one is tests/logme_reference.py: Algorithm 1 of You et al. (ICML
2021) written out per class, each class with its own F^T F and SVD and a plain
scalar fixed point. Ours does one eigendecomposition of the smaller Gram matrix
for all classes and iterates all classes at once as arrays. Both stop on the
same rule (relative change of alpha and beta <= 1e-5, or the boundary test),
so they must agree to ~1e-4 relative.

Data: N=5000, D=512, C=10, seed 0; features N(0, 1) plus 0.1 times a random
class mean (N(0, 1) per dimension): random but informative. Rounds interleaved,
medians reported.

Both run under the same BLAS thread limit (--blas-threads, default 1): on a
busy 2-core machine OpenBLAS's multi-threaded SVD/eigh of a 512 x 512 matrix
is up to 100x slower than its single-threaded one (thread barriers waiting
on descheduled threads), which would time the machine's load, not LogME.
Our LogME already runs its eigh on one thread; the literal one does not, so
without the limit the speed-up would be inflated.

    .venv/bin/python benchmarks/logme_speed.py [--rounds 5] [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from _common import ROOT, interleaved, machine, median
from threadpoolctl import threadpool_limits

from headstart.select.logme import logme

sys.path.insert(0, str(ROOT / "tests"))
from logme_reference import logme_literal  # noqa: E402 (the tests folder is not a package)


def informative(n: int = 5000, d: int = 512, c: int = 10, signal: float = 0.1, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = rng.normal(size=(n, d)) + signal * rng.normal(size=(c, d))[y]
    return X.astype(np.float32), y


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--blas-threads", type=int, default=1, help="BLAS threads for both; 0 = the library default")
    args = ap.parse_args()

    X, y = informative()
    print(f"machine: {machine()}")
    print(f"data: N={X.shape[0]}, D={X.shape[1]}, C={y.max() + 1}, seed 0, float32 in, float64 inside")
    values: dict[str, float] = {}

    def run(name, fn):
        def call():
            values[name] = fn(X, y)

        return call

    print(f"BLAS threads: {args.blas_threads or 'library default'} (both contenders)")
    limit = args.blas_threads or None
    with threadpool_limits(limits=limit, user_api="blas"):
        times = interleaved({"ours": run("ours", logme), "literal": run("literal", logme_literal)}, args.rounds)
    t_ours, t_lit = median(times["ours"]), median(times["literal"])
    rel = abs(values["ours"] - values["literal"]) / abs(values["literal"])
    print(f"ours (shared spectrum, classes vectorised): median {t_ours:.3f} s over {args.rounds} rounds")
    print(f"literal (per class, Algorithm 1):          median {t_lit:.3f} s over {args.rounds} rounds")
    print(f"speed-up: {t_lit / t_ours:.1f}x")
    print(f"LogME ours {values['ours']:.8f}, literal {values['literal']:.8f}, relative difference {rel:.2e}")


if __name__ == "__main__":
    main()
