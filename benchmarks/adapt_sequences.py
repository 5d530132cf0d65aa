"""Constructed sequence cases for domain adaptation (issue 7): the same
waveform-shape task, the target recorded by a different sensor.

The task: tell four waveform shapes apart (sine, square, sawtooth, triangle),
whatever their period (1 to 2.5 s), phase, amplitude (0.5 to 1.5) and
duration (4 to 8 s), with Gaussian noise (std 0.15). The source sensor samples
at 8 Hz (periods of 8 to 20 samples, sequences of 32 to 64 values). The target
sensor differs by one or more of:

- ``--target-rate``: a lower sampling rate (default 3 Hz: periods of 3 to 7.5
  samples, 12 to 24 values; every shape squeezed in time);
- ``--target-gain`` / ``--target-offset``: a miscalibrated reading ``g x + o``;
- ``--target-noise``: a noisier sensor;
- ``--target-hum`` (``--hum-hz``): a periodic interference picked up by the
  target sensor, like mains hum, ``a sin(2 pi f t + phase)`` with a random
  phase per sequence (3 Hz at 8 Hz sampling: a period of 8/3 samples, above
  every shape's fundamental of 0.4 to 1 Hz).

Labels of the target are used only to score.

Encoder: ``scratch:seqconv`` (two masked 1-D conv blocks, kernel 5, dilation
1 and 2, masked mean + max pooling, 128-d) on padded variable-length batches:
column 0 of every row holds its length (``headstart.backbones.scratch.pad_sequences``).
Training as in ``adapt_digits.py``: 32 source + 32 target rows per batch,
AdamW lr 1e-3, the best epoch by source validation accuracy.

    nice -n 15 .venv/bin/python benchmarks/adapt_sequences.py --seeds 0,1,2
    .venv/bin/python benchmarks/adapt_sequences.py --methods source-only,dann --seeds 10,11,12,13,14,15,16,17,18,19 \
        --epochs 30 --target-rate 8 --target-hum 0.8    # the interference case (docs/BENCHMARKS.md)
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
SHAPES = ["sine", "square", "sawtooth", "triangle"]


def wave(shape: int, cycles: np.ndarray) -> np.ndarray:
    frac = cycles % 1.0
    if shape == 0:
        return np.sin(2 * np.pi * cycles)
    if shape == 1:
        return np.where(frac < 0.5, 1.0, -1.0)
    if shape == 2:
        return 2 * frac - 1
    return 1 - 4 * np.abs(frac - 0.5)


def waveforms(
    n: int,
    rate: float,
    seed: int,
    offset: float = 0.0,
    gain: float = 1.0,
    noise: float = 0.15,
    hum: float = 0.0,
    hum_hz: float = 3.0,
) -> tuple[list[np.ndarray], np.ndarray]:
    """``n`` waveforms sampled at ``rate`` Hz by a sensor reading ``gain * x + offset`` with Gaussian
    noise of std ``noise`` and a periodic interference of amplitude ``hum`` at ``hum_hz`` Hz (random
    phase), and their labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(SHAPES), n)
    out = []
    for c in y:
        period, duration = rng.uniform(1.0, 2.5), rng.uniform(4.0, 8.0)
        t = np.arange(int(round(duration * rate))) / rate
        x = rng.uniform(0.5, 1.5) * wave(int(c), t / period + rng.uniform()) + noise * rng.normal(size=len(t))
        if hum:
            x = x + hum * np.sin(2 * np.pi * (hum_hz * t + rng.uniform()))
        out.append((gain * x + offset).astype(np.float32))
    return out, y


def data(n: int, seed: int, source_rate: float, target_rate: float, **sensor: float) -> tuple[object, object]:
    """Both domains: the source sensor as is, the target sensor changed by ``sensor``
    (``waveforms``' offset, gain, noise, hum, hum_hz)."""
    from headstart.backbones.scratch import pad_sequences
    from headstart.data import Dataset

    xs, ys = waveforms(n, source_rate, seed)
    xt, yt = waveforms(n, target_rate, seed + 1000, **sensor)
    src = Dataset(inputs=pad_sequences(xs), labels=np.asarray(SHAPES)[ys], modality="tabular", source="source")
    tgt = Dataset(inputs=pad_sequences(xt), labels=np.asarray(SHAPES)[yt], modality="tabular", source="target")
    return src, tgt


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from headstart.adapt.run import adapt

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--rows", type=int, default=2000, help="rows of each domain")
    p.add_argument("--methods", default="source-only,dann,dan,coral,cdan,cdan-e")
    p.add_argument("--source-rate", type=float, default=8.0)
    p.add_argument("--target-rate", type=float, default=3.0)
    p.add_argument("--target-offset", type=float, default=0.0, help="the target sensor's bias")
    p.add_argument("--target-gain", type=float, default=1.0, help="the target sensor's gain")
    p.add_argument("--target-noise", type=float, default=0.15, help="the target sensor's noise std")
    p.add_argument("--target-hum", type=float, default=0.0, help="amplitude of a periodic interference in the target")
    p.add_argument("--hum-hz", type=float, default=3.0, help="the interference's frequency")
    p.add_argument("--option", action="append", default=[], help="an adaptation option key=value (repeatable)")
    p.add_argument("--out", default="benchmarks/out/adapt_sequences.json")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    sensor = {
        "offset": args.target_offset,
        "gain": args.target_gain,
        "noise": args.target_noise,
        "hum": args.target_hum,
        "hum_hz": args.hum_hz,
    }
    results: dict[str, list[float]] = {m: [] for m in methods}
    rows = []
    for seed in seeds:
        # A fresh draw of both domains per seed.
        src, tgt = data(args.rows, seed, args.source_rate, args.target_rate, **sensor)
        for method in methods:
            t = time.perf_counter()
            r = adapt(
                src,
                tgt,
                method=method,
                backbone="scratch:seqconv",
                options=options if method != "source-only" else None,
                epochs=args.epochs,
                lr=1e-3,
                batch_size=64,
                seed=seed,
                progress=False,
            )
            results[method].append(r.target_accuracy)
            rows.append(
                {
                    "method": method,
                    "seed": seed,
                    "target_accuracy": r.target_accuracy,
                    "source_val_accuracy": r.source_val_accuracy,
                    "best_epoch": r.best_epoch,
                    "seconds": round(time.perf_counter() - t, 1),
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "runs": rows}, indent=2))
    base = np.asarray(results.get("source-only", []))
    changed = (
        f" (x {args.target_gain:g} {args.target_offset:+g})" if (args.target_offset, args.target_gain) != (0, 1) else ""
    )
    if args.target_noise != 0.15:
        changed += f", noise std {args.target_noise:g}"
    if args.target_hum:
        changed += f", {args.target_hum:g} x {args.hum_hz:g} Hz interference"
    print(f"\n{args.source_rate:g} Hz -> {args.target_rate:g} Hz{changed} waveforms, target accuracy, seeds {seeds}")
    print("| method | target accuracy (mean ± std) | per seed | gain over source-only, per seed |")
    print("| --- | --- | --- | --- |")
    for method in methods:
        a = np.asarray(results[method])
        per = ", ".join(f"{v:.3f}" for v in a)
        gain = ", ".join(f"{v:+.3f}" for v in a - base) if len(base) == len(a) and method != "source-only" else ""
        print(f"| {method} | {a.mean():.3f} ± {a.std(ddof=1) if len(a) > 1 else 0:.3f} | {per} | {gain} |")
    if "dann" in results and len(base) == len(results["dann"]) > 1:
        from headstart.stats import paired_t

        d = np.asarray(results["dann"]) - base
        t = paired_t(results["dann"], base)
        print(f"\nDANN - source-only: {d.mean():+.3f} ± {d.std(ddof=1):.3f} (paired t-test p = {t.p_value:.3g})")


if __name__ == "__main__":
    main()
