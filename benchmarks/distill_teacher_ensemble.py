"""Would a stronger teacher leave distillation a gap to close on SST-2 dev? Teacher seeds and their ensembles.

``distill_sst2_select.py`` found the 2,000-row ``minilm`` teacher no better on
dev than its own 3 blocks fine-tuned on the labels, which leaves a distilled
student nothing to gain there. This script measures what the teacher recipe
gives over ``--teachers`` seeds (0..N-1), one by one and as ensembles of the
first k (the mean of their class probabilities, as Hinton et al. distilled an
ensemble), on the development split and on dev, beside the labels-only
students of a ``distill_sst2_select.py`` run on the same machine
(``--students``). That part is an exploration: it reads dev to decide what to
propose next.

``--distill-seeds N`` then distils the ensemble of all ``--teachers`` into the
3-block student of teacher 0 (the same student as the labels-only runs of
``--students``, whose teacher 0 must be this one), with that script's KD recipe
(``--recipe-kd``) and transfer set, for seeds 0..N-1. Each teacher runs once
over the labelled rows and the transfer set (``cache_teacher``; the tables go to
``OUT/cache``). Reported: dev for each seed, Welch's t-test against every
labels-only seed of ``--students`` (paired over the seeds both have beside it),
and inference speed, student vs teacher 0.

    .venv/bin/python benchmarks/distill_teacher_ensemble.py --teachers 5 --workers 2 --threads 1 \\
        --students benchmarks/out/distill_select_cpu/results.jsonl [--distill-seeds 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, SHARED, inference_medians, machine, mean_std  # noqa: E402
from distill_sst2_select import KD, LABELS, TEACHERS, job_base, run_jobs, splits, welch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="T1e-4x4", choices=sorted(TEACHERS), help="the teacher recipe")
    parser.add_argument("--teachers", type=int, default=5, help="teacher seeds 0..N-1")
    parser.add_argument("--workers", type=int, default=1, help="runs at a time")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run")
    parser.add_argument("--students", type=Path, help="a distill_sst2_select.py results.jsonl: its labels-only runs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "distill_ensemble")
    parser.add_argument("--distill-seeds", type=int, default=0, help="distil the ensemble, seeds 0..N-1")
    parser.add_argument("--recipe-kd", default="KD-T2-a0.7-5e-5x3", choices=sorted(KD), help="the students' recipe")
    parser.add_argument("--repeats", type=int, default=7, help="speed test repeats")
    args = parser.parse_args()
    if not (SHARED / "text" / "sst2").is_dir():
        sys.exit(f"skipped: {SHARED / 'text' / 'sst2'} is absent (../shared/data holds the benchmark data sets)")

    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [
        {
            **job_base(args.threads),
            "kind": "teacher",
            "config": args.recipe,
            "recipe": TEACHERS[args.recipe],
            "seed": seed,
            "key": f"{args.recipe}-s{seed}",
            "save": str(args.out / "teachers" / f"{args.recipe}-s{seed}"),
        }
        for seed in range(args.teachers)
    ]
    done = run_jobs(jobs, args.out / "results.jsonl", args.workers, float("inf"))

    import numpy as np
    import torch

    import headstart as hs

    torch.set_num_threads(args.threads)
    data = splits(3000, 30000, 5000, False)
    print(f"\nmachine: {machine()}; teacher recipe {args.recipe} {TEACHERS[args.recipe]}, seeds 0..{args.teachers - 1}")
    print("| teachers | development split | dev |")
    print("|---|---:|---:|")
    probs: dict[str, list[np.ndarray]] = {"select": [], "dev": []}
    start = time.perf_counter()
    for seed in range(args.teachers):
        clf = hs.load_run(args.out / "teachers" / f"{args.recipe}-s{seed}").set_params(cache=False, device="cpu")
        cells = []
        for split in ("select", "dev"):
            p = clf.predict_proba(data[split])
            probs[split].append(p)
            truth = np.asarray([list(clf.classes_).index(y) for y in data[split].labels])
            single = float((p.argmax(1) == truth).mean())
            assert abs(single - done[f"{args.recipe}-s{seed}"][split]) < 1e-9, "predict_proba disagrees with evaluate"
            ensemble = float((np.mean(probs[split], axis=0).argmax(1) == truth).mean())
            cells.append(f"{single:.4f} (ensemble of {seed + 1}: {ensemble:.4f})")
        print(f"| seed {seed} | {cells[0]} | {cells[1]} |")
    singles = {s: [done[f"{args.recipe}-s{k}"][s] for k in range(args.teachers)] for s in ("select", "dev")}
    print(f"| single teachers | {mean_std(singles['select'])} | {mean_std(singles['dev'])} |")
    if args.students and args.students.is_file():
        runs = [json.loads(line) for line in args.students.read_text().splitlines()]
        labels = [r for r in runs if r["kind"] == "student" and r["config"] in LABELS]
        for config in sorted({r["config"] for r in labels}):
            rows = [r for r in labels if r["config"] == config]
            sel, dev = [r["select"] for r in rows], [r["dev"] for r in rows]
            print(
                f"| 3-block students, labels alone, {config} ({len(rows)} seeds) | {mean_std(sel)} | {mean_std(dev)} |"
            )
    print(f"({time.perf_counter() - start:.0f} s to score)")
    print(f"dev: best single teacher {max(singles['dev']):.4f}, mean {statistics.mean(singles['dev']):.4f}")
    dev_truth = np.asarray([list(clf.classes_).index(y) for y in data["dev"].labels])
    ensemble_dev = float((np.mean(probs["dev"], axis=0).argmax(1) == dev_truth).mean())
    if args.distill_seeds:
        distill_ensemble(args, data, done, ensemble_dev)


def distill_ensemble(
    args: argparse.Namespace, data: dict[str, Any], teachers: dict[str, Any], ensemble_dev: float
) -> None:
    """The ensemble's students (see the docstring), against the labels-only students of ``--students``."""
    import torch

    import headstart as hs
    from headstart.distill.run import teacher_tables
    from headstart.stats import paired_t

    dirs = [str(args.out / "teachers" / f"{args.recipe}-s{seed}") for seed in range(args.teachers)]
    cache = args.out / "cache"
    # Each teacher's table once, here, before the parallel runs would each compute it.
    torch.set_num_threads(2)
    start = time.perf_counter()
    backbones = [hs.load_run(d).backbone_ for d in dirs]
    options = dict(batch_size=64, device="cpu", cache_dir=cache, progress=False)
    tables = teacher_tables(backbones, data["train"], data["transfer"], 64, **options)
    print(f"teacher tables ({len(tables[0])} rows x {len(dirs)} teachers): {time.perf_counter() - start:.0f} s")

    recipe = dict(KD[args.recipe_kd], cache_teacher=True)
    name = f"ensemble{args.teachers}/{args.recipe_kd}"
    jobs = [
        {
            **job_base(args.threads),
            "kind": "student",
            "config": name,
            "recipe": recipe,
            "kd": True,
            "seed": seed,
            "key": f"{name}-s{seed}",
            "teacher_dir": dirs,
            "cache_dir": str(cache),
            "save": str(args.out / "students" / f"ensemble{args.teachers}-s0") if seed == 0 else None,
        }
        for seed in range(args.distill_seeds)
    ]
    done = run_jobs(jobs, args.out / "results.jsonl", args.workers, float("inf"))
    kd = {s: done[f"{name}-s{s}"]["dev"] for s in range(args.distill_seeds) if f"{name}-s{s}" in done}
    runs = [json.loads(line) for line in args.students.read_text().splitlines()] if args.students else []
    prefix = f"{args.recipe}/L1e-4x3-s"
    labels = {int(r["key"][len(prefix) :]): r["dev"] for r in runs if r["key"].startswith(prefix)}
    t0 = teachers[f"{args.recipe}-s0"]["dev"]
    print(f"\nensemble of {args.teachers} teachers: dev {ensemble_dev:.4f}; teacher 0 {t0:.4f}")
    print(f"students of the ensemble ({args.recipe_kd}, teachers looked up), dev by seed:")
    for s, acc in kd.items():
        took = done[f"{name}-s{s}"]
        print(f"  seed {s}: {acc:.4f} ({took['train_seconds']:.0f} s training, {took['wall_seconds']:.0f} s in all)")
    if len(kd) < 2 or len(labels) < 2:
        sys.exit("too few runs to compare")
    a = list(kd.values())
    gap, p = welch(
        a, list(labels.values()), "dev: distilled from the ensemble", f"labels alone (L1e-4x3 of {args.students})"
    )
    common = [s for s in kd if s in labels]
    if len(common) > 1:
        paired = paired_t([kd[s] for s in common], [labels[s] for s in common])
        diffs = [100 * (kd[s] - labels[s]) for s in common]
        wins = sum(d > 0 for d in diffs)
        print(
            f"paired over seeds {common[0]}..{common[-1]}: {statistics.mean(diffs):+.2f} points, KD ahead on {wins} "
            f"of {len(common)}; t = {paired.statistic:.2f}, p = {paired.p_value:.4f}"
        )
    print(f"kept: {statistics.mean(a) / t0:.1%} of teacher 0, {statistics.mean(a) / ensemble_dev:.1%} of the ensemble")
    torch.set_num_threads(args.threads)
    models = {
        "teacher": hs.load_run(dirs[0]).set_params(cache=False, device="cpu"),
        "student": hs.load_run(args.out / "students" / f"ensemble{args.teachers}-s0").set_params(
            cache=False, device="cpu"
        ),
    }
    times = inference_medians(models, data["dev"], args.repeats)
    print(
        f"inference on dev, CPU, {args.threads} threads, median of {args.repeats} interleaved repeats: teacher 0 "
        f"{times['teacher']:.3f} s, student {times['student']:.3f} s: {times['teacher'] / times['student']:.2f}x faster"
    )
    print(f"check: beats labels alone on dev (mean > 0, Welch p < 0.05) {gap > 0 and p < 0.05}")


if __name__ == "__main__":
    main()
