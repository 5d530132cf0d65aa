"""Would a stronger teacher leave distillation a gap to close on SST-2 dev? Teacher seeds and their ensembles.

``distill_sst2_select.py`` found the 2,000-row ``minilm`` teacher no better on
dev than its own 3 blocks fine-tuned on the labels, which leaves a distilled
student nothing to gain there. This script measures what the teacher recipe
gives over ``--teachers`` seeds (0..N-1), one by one and as ensembles of the
first k (the mean of their class probabilities, as Hinton et al. distilled an
ensemble), on the development split and on dev, beside the labels-only
students of a ``distill_sst2_select.py`` run on the same machine
(``--students``). An exploration, not a claim: it reads dev to decide what to
propose next.

    .venv/bin/python benchmarks/distill_teacher_ensemble.py --teachers 5 --workers 2 --threads 1 \\
        --students benchmarks/out/distill_select_cpu/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, SHARED, machine, mean_std  # noqa: E402
from distill_sst2_select import LABELS, TEACHERS, run_jobs, splits  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="T1e-4x4", choices=sorted(TEACHERS), help="the teacher recipe")
    parser.add_argument("--teachers", type=int, default=5, help="teacher seeds 0..N-1")
    parser.add_argument("--workers", type=int, default=1, help="runs at a time")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run")
    parser.add_argument("--students", type=Path, help="a distill_sst2_select.py results.jsonl: its labels-only runs")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "distill_ensemble")
    args = parser.parse_args()
    if not (SHARED / "text" / "sst2").is_dir():
        sys.exit(f"skipped: {SHARED / 'text' / 'sst2'} is absent (../shared/data holds the benchmark data sets)")

    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [
        {
            "threads": args.threads,
            "select_rows": 3000,
            "transfer_rows": 30000,
            "unseen_rows": 5000,
            "smoke": False,
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


if __name__ == "__main__":
    main()
