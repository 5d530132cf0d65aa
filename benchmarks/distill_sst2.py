"""Distillation on SST-2: a fine-tuned MiniLM teacher -> a 3-layer student from its layers.

Data: a stratified sample of 2,000 rows of ``sst2/train.tsv`` (seed 0, as
``hs.load(...).sample(2000, seed=0)``; 10% of it held out to pick the best
epoch), reported on ``sst2/dev.tsv`` (872 rows).

1. Teacher: ``headstart fit --backbone minilm --strategy full --epochs 3
   --lr 5e-5 --max-length 64`` (6 layers, 22.7 M parameters).
2. Distilled student: ``headstart distill TEACHER --student layers:0,1,2
   --method logits --option temperature=2 --option alpha=0.7 --lr 1e-4``: the
   teacher's embeddings and its first 3 blocks, fine-tuned weights copied; the
   head starts as a linear probe on the student's own features (LP-FT; a copy
   of the teacher's head scores chance on the cut network's features). Same
   epochs / max length as the teacher. ``--student layers:3`` keeps blocks
   0, 2, 4 instead (every other one, DistilBERT's choice; after pre-training
   distillation on a large corpus): on 2,000 rows it starts lower (a probe on
   its features scores 0.767 on dev, blocks 0-2 give 0.802).
3. The same student on the labels alone: ``--method none`` (same
   initialisation, same training; the only difference is the teacher's term).

Inference speed: ``decision_function`` on the 872 dev sentences (tokenization,
forward, head; feature cache off), teacher and student interleaved, repeated,
medians; torch's default threads. ``--seeds 0,1,2`` trains both students
once per seed on the same 2,000 rows (the seed changes their 10% validation
split, initialisation and batch order; the teacher stays seed 0) and reports
mean ± std with a paired t-test: one seed's difference is inside the dev
set's noise (872 rows: ±1.3 points of standard error). Each stage's run folder is kept in
``benchmarks/out/distill_sst2/``: a rerun reuses finished stages (delete the
folder to start over).

    .venv/bin/python benchmarks/distill_sst2.py --seeds 0,1,2,3,4   # 1-2 hours on 2 shared CPU cores
    # with a 20,000-sentence unlabelled transfer set, one epoch for the distilled student
    # (about 8 CPU-minutes per seed), in a fresh folder:
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/distill_sst2.py --seeds 0,1,2,3,4 --transfer 20000 \
        --kd-epochs 1 --out benchmarks/out/distill_sst2_final
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, inference_medians, machine, mean_std, need_shared  # noqa: E402
from _runtime import predict_csv, runtime_predictions  # noqa: E402

os.environ.setdefault("HEADSTART_PROGRESS", "0")
OUT = ROOT / "benchmarks" / "out" / "distill_sst2"
BATCHES = ("batch 1", "batch 32")


def cli(*args: object) -> None:
    from headstart.cli import run

    code = run([str(a) for a in args])
    if code != 0:
        sys.exit(f"headstart {args[0]} failed with status {code}")


def stage(folder: Path, *args: object) -> dict:
    """Run a command that writes ``folder`` unless it finished before; its metrics."""
    if not (folder / "metrics.json").is_file():
        cli(*args, "-o", folder)
    return json.loads((folder / "metrics.json").read_text())


def transfer_file(train: Path, n: int, out: Path) -> Path:
    """``n`` sentences of train.tsv outside the labelled sample (seed 1), without their labels."""
    import numpy as np
    import pandas as pd

    import headstart as hs
    from headstart.data import stratified_sample

    path = out / f"transfer-{n}.tsv"
    if not path.is_file():
        full = hs.load(train)
        rest = np.setdiff1d(np.arange(len(full)), stratified_sample(full.labels, 2000, 0))  # = .sample(2000, seed=0)
        rows = np.random.default_rng(1).choice(rest, size=n, replace=False)
        pd.DataFrame({"sentence": [full.inputs[i] for i in sorted(rows)]}).to_csv(path, sep="\t", index=False)
    return path


def sample_file(train: Path, out: Path) -> Path:
    """The 2,000 training rows (``hs.load(train).sample(2000, seed=0)``) as a file, so that
    student seeds other than 0 train on the very rows the teacher saw."""
    import pandas as pd

    import headstart as hs

    path = out / "sample-2000-seed0.tsv"
    if not path.is_file():
        rows = hs.load(train).sample(2000, seed=0)
        pd.DataFrame({"sentence": list(rows.inputs), "label": list(rows.labels)}).to_csv(path, sep="\t", index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--kd-epochs", type=int, default=None, help="the distilled student's epochs (default: --epochs)"
    )
    parser.add_argument("--student", default="layers:0,1,2")
    parser.add_argument("--student-lr", type=float, default=1e-4)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.7)
    parser.add_argument("--method", default="logits", choices=["logits", "features"])
    parser.add_argument("--beta", type=float, default=1.0, help="the hint term's weight (--method features)")
    parser.add_argument(
        "--transfer", type=int, default=0, help="unlabelled rows of train.tsv outside the sample (0 = none)"
    )
    parser.add_argument("--seeds", default="0", help="student seeds, comma-separated (the teacher: seed 0)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the run folders (reused when present)")
    parser.add_argument("--no-export", action="store_true", help="skip the student's ONNX export")
    args = parser.parse_args()

    import headstart as hs

    folder = need_shared("text", "sst2")
    train, dev = folder / "train.tsv", folder / "dev.tsv"
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    common = ["--eval", dev, "--max-length", 64]
    epochs = ["--epochs", args.epochs]
    kd_epochs = args.kd_epochs or args.epochs
    kd_epoch_tag = f"-e{kd_epochs}" if kd_epochs != args.epochs else ""
    teacher_dir = out / "teacher"
    tag = f"{args.student.replace(':', '').replace(',', '')}-lr{args.student_lr:g}"
    beta = f"-b{args.beta:g}" if args.method == "features" else ""
    kd_tag = f"student-{args.method}-{tag}-T{args.temperature:g}-a{args.alpha:g}{beta}-transfer{args.transfer}"
    kd_tag += kd_epoch_tag
    teacher = stage(
        teacher_dir, "fit", train, "--backbone", "minilm", "--strategy", "full", "--lr", 5e-5,
        "--sample", 2000, "--seed", 0, *common, *epochs,
    )  # fmt: skip
    options = ["--option", f"temperature={args.temperature}", "--option", f"alpha={args.alpha}"]
    if args.method == "features":
        options += ["--option", f"beta={args.beta}"]
    if args.transfer:
        options += ["--transfer", transfer_file(train, args.transfer, out)]
    seeds = [int(s) for s in args.seeds.split(",")]
    kd_runs, label_runs = {}, {}
    for seed in seeds:
        # Seed 0 samples from train.tsv as the teacher did; other seeds read the same rows from a file.
        rows = [train, "--sample", 2000] if seed == 0 else [sample_file(train, out)]
        suffix = "" if seed == 0 else f"-seed{seed}"
        student = ["--student", args.student, "--lr", args.student_lr, "--seed", seed, *common]
        kd_student = [*student, "--epochs", kd_epochs]
        kd_dir = out / f"{kd_tag}{suffix}"
        labels_dir = out / f"student-labels-{tag}{suffix}"
        kd_runs[seed] = (
            kd_dir,
            stage(kd_dir, "distill", teacher_dir, *rows, *kd_student, "--method", args.method, *options),
        )
        labels_args = [*rows, *student, *epochs, "--method", "none"]
        label_runs[seed] = (labels_dir, stage(labels_dir, "distill", teacher_dir, *labels_args))
    kd_dir, kd = kd_runs[seeds[0]]
    _, labels = label_runs[seeds[0]]

    dev_data = hs.load(dev)
    models = {
        name: hs.load_run(d).set_params(cache=False) for name, d in [("teacher", teacher_dir), ("student", kd_dir)]
    }
    times = inference_medians(models, dev_data, args.repeats)
    info = json.loads((kd_dir / "distill.json").read_text())

    t_acc = teacher["accuracy"]
    kd_accs = [kd_runs[s][1]["accuracy"] for s in seeds]
    lab_accs = [label_runs[s][1]["accuracy"] for s in seeds]
    kd_acc, lab_acc = statistics.mean(kd_accs), statistics.mean(lab_accs)
    diffs = [k - la for k, la in zip(kd_accs, lab_accs, strict=True)]
    speedup = times["teacher"] / times["student"]

    print(f"machine: {machine()}")
    print(
        f"SST-2: 2,000 training rows (seed 0), dev {len(dev_data)} rows; epochs {args.epochs} "
        f"(distilled student: {kd_epochs}), max length 64"
    )
    if args.transfer:
        print(f"transfer set: {args.transfer} unlabelled train.tsv sentences outside the sample (seed 1)")
    print(f"student: {info['student_description']}; {info['loss']}; lr {args.student_lr:g}")
    print(f"student seeds {args.seeds} (split of the 2,000 rows into train / 10% validation, initialisation, order)")
    print()
    print("| model | layers | parameters | dev accuracy (mean ± std) | of teacher's | dev inference, median s |")
    print("|---|---:|---:|---:|---:|---:|")
    n_t, n_s = info["teacher_parameters"], info["student_parameters"]
    t_time = times["teacher"]
    print(f"| teacher (minilm, full fine-tune) | 6 | {n_t / 1e6:.1f} M | {t_acc:.4f} | 100% | {t_time:.2f} |")
    print(
        f"| student, distilled (KD) | 3 | {n_s / 1e6:.1f} M | {mean_std(kd_accs)} | {kd_acc / t_acc:.1%} | "
        f"{times['student']:.2f} |"
    )
    print(
        f"| student, labels alone | 3 | {n_s / 1e6:.1f} M | {mean_std(lab_accs)} | {lab_acc / t_acc:.1%} | "
        "(same network) |"
    )
    print()
    for seed, k, la in zip(seeds, kd_accs, lab_accs, strict=True):
        print(f"seed {seed}: distilled {k:.4f}, labels alone {la:.4f}, difference {100 * (k - la):+.2f} points")
    print(f"distilled - labels alone: mean {100 * statistics.mean(diffs):+.2f} points; retained {kd_acc / t_acc:.1%}")
    if len(diffs) > 1:
        from headstart.stats import paired_t

        t = paired_t(kd_accs, lab_accs)
        print(f"paired t-test over {len(diffs)} seeds: t = {t.statistic:.2f}, p = {t.p_value:.3f}")
    print(f"inference speed-up (teacher / student, medians of {args.repeats} interleaved repeats): {speedup:.2f}x")
    print(
        f"checks: beats labels alone (mean) {kd_acc > lab_acc}; keeps >= 97% {kd_acc / t_acc >= 0.97}; "
        f">= 1.8x faster {speedup >= 1.8}"
    )

    # Deployment of the student: ONNX fp32 + dynamic int8, and the torch-free runtime vs `headstart predict`.
    if not args.no_export:
        if not (kd_dir / "export" / "export.json").is_file():
            cli("export", kd_dir, "--format", "onnx", "--quantize", "int8", "--eval", dev, "--repeats", args.repeats)
        r = json.loads((kd_dir / "export" / "export.json").read_text())
        print()
        print(
            f"student export ({r['threads']} threads, {r['repeats']} interleaved repeats, "
            f"dev {r['eval']['rows']} rows):"
        )
        print("| model | size MB | batch 1 p50 / p95 ms | batch 32 p50 / p95 ms | dev accuracy |")
        print("|---|---:|---:|---:|---:|")
        for row in r["table"]:
            lat = [f"{row['latency_ms'][b]['p50_ms']:.1f} / {row['latency_ms'][b]['p95_ms']:.1f}" for b in BATCHES]
            print(f"| {row['model']} | {row['size_mb']:.2f} | {lat[0]} | {lat[1]} | {row['accuracy']:.4f} |")
        p32 = r["parity"]["onnx-fp32"]
        print(
            f"onnx-fp32 vs PyTorch: max |diff| {p32['max_abs_diff']:.2e}, top-1 agreement {p32['top1_agreement']:.2%}"
        )
        expected = predict_csv(kd_dir, dev, out / "student-predictions.csv")
        want = expected["prediction"].astype(str).tolist()
        got = runtime_predictions(kd_dir / "export", expected["input"].tolist())
        same = sum(a == b for a, b in zip(got, want, strict=True))
        print(f"torch-free runtime (fp32) vs `headstart predict` on dev: {same}/{len(want)} identical predictions")


if __name__ == "__main__":
    main()
