"""Domain shift, MNIST vs USPS, in EfficientNet-Lite0 feature space.

(a) MNIST test vs USPS: must be flagged shifted (MMD permutation p < 0.01).
(b) Two random halves of USPS, 10 times (seeds 0-9; halves drawn with
    default_rng(100 + seed)): no shift, p > 0.05 in at least 9 of 10. Under the
    null the permutation p-value is uniform, so a correct test meets this with
    probability 0.95^10 + 10 * 0.05 * 0.95^9 = 0.91.

EfficientNet-Lite0 at 224 px extracts 6-11 images/s on 2 busy CPU cores, so
all 19,298 images would take half an hour: the benchmark draws 2,000 random rows
per data set (default_rng(0) for MNIST, (1) for USPS, without replacement) and extracts those;
the USPS halves of (b) are 1,000 + 1,000 of USPS's 2,000. Features are cached
(``$HEADSTART_CACHE`` or ~/.cache/headstart): a second run takes seconds.

    python benchmarks/shift_digits.py [--rows 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine, need_shared

SEED = 0


def sample(data, rows: int, seed: int):
    if rows <= 0 or len(data) <= rows:
        return data
    rng = np.random.default_rng(seed)
    return data.subset(np.sort(rng.choice(len(data), size=rows, replace=False)))


def line(name: str, r) -> str:
    return (
        f"{name:<22} p={r.mmd_p_value:.4f}  MMD^2={r.mmd2:.5f}  PAD={r.pad:.3f}  CORAL={r.coral:.3e}  "
        f"n={r.n_source_used}/{r.n_target_used}  shifted={r.shifted}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="random rows per data set (0: all)")
    parser.add_argument("--permutations", type=int, default=200)
    args = parser.parse_args()

    import headstart as hs
    from headstart.select.shift import domain_shift

    mnist = hs.load(need_shared("digits", "mnist_test"))
    usps = hs.load(need_shared("digits", "usps", "usps_all.mat"))
    print(machine())
    print(f"MNIST test {len(mnist)} rows {mnist.inputs.shape[1:]}, USPS {len(usps)} rows {usps.inputs.shape[1:]}")
    mnist, usps = sample(mnist, args.rows, SEED), sample(usps, args.rows, SEED + 1)
    print(f"using {len(mnist)} MNIST + {len(usps)} USPS random rows (default_rng({SEED}) and ({SEED + 1}))")

    bb = hs.load_backbone("efficientnet-lite0")
    feats = {}
    for name, data in (("MNIST", mnist), ("USPS", usps)):
        ex = hs.extract(bb, data, progress=False)
        state = "cache" if ex.cached else f"computed, {len(data) / ex.seconds:.1f} images/s"
        print(f"features {name}: {ex.features.shape} in {ex.seconds:.1f} s ({state})")
        feats[name] = ex.features

    start = time.perf_counter()
    a = domain_shift(feats["MNIST"], feats["USPS"], seed=SEED, permutations=args.permutations)
    print(f"\n(a) MNIST test vs USPS ({time.perf_counter() - start:.1f} s)")
    print(line("MNIST vs USPS", a))
    print(f"    {a.reading}")
    ok_a = a.shifted and a.mmd_p_value < 0.01

    print("\n(b) two random halves of USPS, 10 seeds")
    n = len(feats["USPS"])
    above = 0
    for seed in range(10):
        order = np.random.default_rng(100 + seed).permutation(n)
        half1, half2 = feats["USPS"][order[: n // 2]], feats["USPS"][order[n // 2 :]]
        r = domain_shift(half1, half2, seed=seed, permutations=args.permutations)
        above += r.mmd_p_value > 0.05
        print(line(f"USPS halves, seed {seed}", r))
    ok_b = above >= 9
    print(f"    p > 0.05 in {above} of 10 (need at least 9)")

    print(f"\n(a) {'PASS' if ok_a else 'FAIL'}: MNIST vs USPS flagged shifted, p={a.mmd_p_value:.4f} < 0.01")
    print(f"(b) {'PASS' if ok_b else 'FAIL'}: USPS halves not shifted in {above}/10 (p > 0.05)")


if __name__ == "__main__":
    main()
