"""Export on hymenoptera: EfficientNet-Lite0 -> ONNX fp32 and int8, parity, size, latency, accuracy.

The run: ``headstart fit hymenoptera --backbone efficientnet-lite0 --strategy
linear-probe`` by default (``--strategy full`` fine-tunes instead; slower on 2
CPU cores). Then ``headstart export RUN --format onnx --quantize int8 --eval
val/``: int8 is static (calibrated on 128 training images, QDQ, per-channel
weights, uint8 activations), and the table compares PyTorch eager fp32, ONNX
fp32 and ONNX int8 on the same preprocessed val tensors, the same threads,
interleaved repeats. Last, the torch-free runtime (a fresh interpreter where
``import torch`` fails) predicts val/ from the image files and is compared with
``headstart predict``.

    .venv/bin/python benchmarks/export_hymenoptera.py            # a few minutes on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, machine, need_shared  # noqa: E402
from _runtime import predict_csv, runtime_predictions  # noqa: E402

os.environ.setdefault("HEADSTART_PROGRESS", "0")
OUT = ROOT / "benchmarks" / "out" / "export_hymenoptera"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="linear-probe")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    from headstart.cli import run as cli

    root = need_shared("images", "hymenoptera")
    run = OUT / f"run-{args.strategy}"
    if not (run / "metrics.json").is_file():
        if cli(["fit", str(root), "-b", "efficientnet-lite0", "-s", args.strategy, "-o", str(run)]) != 0:
            sys.exit("fit failed")
    shutil.rmtree(run / "export", ignore_errors=True)
    export = ["export", str(run), "--format", "onnx", "--quantize", "int8", "--eval", str(root / "val")]
    export += ["--repeats", str(args.repeats)] + (["--threads", str(args.threads)] if args.threads else [])
    if cli(export) != 0:
        sys.exit("export failed")
    r = json.loads((run / "export" / "export.json").read_text())

    expected = predict_csv(run, root / "val", OUT / "predictions.csv")
    want = expected["prediction"].astype(str).tolist()
    fp32 = runtime_predictions(run / "export", expected["input"].tolist())
    int8 = runtime_predictions(run / "export", expected["input"].tolist(), int8=True)

    print(f"machine: {machine()}; {r['threads']} threads for every model, {r['repeats']} interleaved repeats")
    print(f"run: efficientnet-lite0, {args.strategy}; eval: hymenoptera val/ ({r['eval']['rows']} images)")
    q = r["quantization"]
    print(
        f"int8: {q['mode']}, {q['format']}, weights {q['weights']}, activations {q['activations']}, "
        f"{q.get('calibration_rows', 0)} calibration images"
    )
    print()
    print(
        "| model | size MB | batch 1 p50 / p95 ms | batch 32 p50 / p95 ms | val accuracy "
        "| top-1 agreement with PyTorch |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in r["table"]:
        lat = [
            f"{row['latency_ms'][b]['p50_ms']:.1f} / {row['latency_ms'][b]['p95_ms']:.1f}"
            for b in ("batch 1", "batch 32")
        ]
        agree = row.get("top1_agreement_with_pytorch")
        agree = f"{agree:.2%}" if agree is not None else "-"
        print(f"| {row['model']} | {row['size_mb']:.2f} | {lat[0]} | {lat[1]} | {row['accuracy']:.4f} | {agree} |")
    print()
    p32, p8 = r["parity"]["onnx-fp32"], r["parity"]["onnx-int8 vs onnx-fp32"]
    v = r["int8_vs_fp32"]
    print(
        f"parity onnx-fp32 vs PyTorch: max |diff| {p32['max_abs_diff']:.2e}, "
        f"top-1 agreement {p32['top1_agreement']:.2%}"
    )
    print(
        f"int8 vs fp32: size {v['size_ratio']:.1%}, top-1 agreement {p8['top1_agreement']:.2%}, "
        f"max |diff| {p8['max_abs_diff']:.3f}, accuracy drop {v['accuracy_drop_points']:+.2f} points"
    )
    print(f"runtime preprocessing vs torchvision: max |diff| {r['preprocess_parity']['max_abs_diff']:.2e}")
    same32 = sum(a == b for a, b in zip(fp32, want, strict=True))
    same8 = sum(a == b for a, b in zip(int8, want, strict=True))
    print(f"torch-free runtime vs `headstart predict` on val: fp32 {same32}/{len(want)} same, int8 {same8}/{len(want)}")
    print(
        f"checks: int8 <= 35% of fp32 {v['size_ratio'] <= 0.35}; agreement >= 98% {p8['top1_agreement'] >= 0.98}; "
        f"drop <= 1 point {v['accuracy_drop_points'] <= 1.0}; runtime = predict {same32 == len(want)}"
    )


if __name__ == "__main__":
    main()
