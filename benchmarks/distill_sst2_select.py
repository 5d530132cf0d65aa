"""Distillation on SST-2 with every recipe chosen on a development split: does KD beat labels alone?

``distill_sst2.py`` runs one recipe; this script chooses the teacher's, the
labels-only student's and the distilled student's recipes fairly and only then
reads dev.tsv. Rows of ``sst2/train.tsv`` (67,349):

- the 2,000 labelled training rows: ``hs.load(train).sample(2000, seed=0)``, as
  in ``distill_sst2.py`` (each run holds 10% of them out to pick its epoch);
- a development split, used only to choose among the configurations below:
  ``--select`` labelled rows outside the sample with at least 10 words (dev.tsv
  holds sentences, train.tsv mostly shorter phrases), drawn with seed 2;
- the transfer set: ``--transfer`` of the remaining rows, texts only (seed 1);
- an unseen split: ``--unseen`` labelled rows of at least 10 words from what is
  left after that (seed 3), never trained on and never used to choose.

Reported on ``sst2/dev.tsv`` (872 sentences), which no choice looks at, and,
as a second test set from the training distribution, on the unseen split.
``train.tsv`` holds the sub-phrases of its sentences as rows of their own, so
the transfer set contains most of the development and unseen rows' text
(``sst2_overlap.py``): the distilled students have seen it with the teacher's
soft labels. Only dev.tsv is a clean test of distillation.

1. Teachers (``minilm``, full fine-tune, seed 0, max length 64): one per entry
   of ``TEACHERS``; the best on the development split is the teacher.
2. Students (``layers:0,1,2``: the teacher's embeddings and first 3 blocks,
   LP-FT head): the configurations of ``LABELS`` (labels alone, ``method none``)
   and ``KD`` (logit KD, with the transfer set), each trained once per seed
   (the seed changes the 10% validation split, initialisation and order).
   In each family the configuration with the best mean development accuracy
   is chosen; the two chosen are compared on dev, paired by seed
   (mean, std, paired t-test, wins). ``--labels-seeds`` gives the labels-only
   family more seeds than the distilled one (its runs cost about 1/15 of a
   distilled run and vary 3x more); every seed of each then also enters
   Welch's unpaired t-test.
3. Inference speed, teacher vs the chosen distilled student (seed 0):
   ``decision_function`` on dev on the CPU (``--threads`` torch threads, cache
   off), interleaved repeats, medians.

Jobs run ``--workers`` at a time in separate processes (on a GPU they share it:
one small model leaves it mostly idle). Results are appended to
``OUT/results.jsonl`` as each job ends; a rerun skips finished jobs, so a killed
run resumes. ``--budget`` seconds stops starting new student jobs when a job of
that configuration would no longer fit; the report covers the seeds that every
configuration finished.

    # one GPU (H100/H200): about 10 minutes
    .venv/bin/python benchmarks/distill_sst2_select.py --seeds 10 --workers 8 --out benchmarks/out/distill_select
    # a quick check of the machinery on the CPU (minutes; the figures mean nothing)
    .venv/bin/python benchmarks/distill_sst2_select.py --smoke --out /tmp/distill_select_smoke
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, SHARED, inference_medians, machine, mean_std  # noqa: E402

os.environ.setdefault("HEADSTART_PROGRESS", "0")
OUT = ROOT / "benchmarks" / "out" / "distill_select"
MIN_WORDS = 10

# name -> (epochs, lr). T5e-5x3 is distill_sst2.py's teacher.
TEACHERS = {"T5e-5x3": (3, 5e-5), "T5e-5x6": (6, 5e-5), "T1e-4x4": (4, 1e-4), "T3e-5x10": (10, 3e-5)}
# name -> options of distill(): the student's training. L1e-4x3 is distill_sst2.py's baseline.
LABELS = {
    "L1e-4x3": {"epochs": 3, "lr": 1e-4},
    "L5e-5x6": {"epochs": 6, "lr": 5e-5},
}
KD = {
    "KD-T2-a0.7-1e-4x2": {"epochs": 2, "lr": 1e-4, "method_options": {"temperature": 2.0, "alpha": 0.7}},
    "KD-T4-a0.9-1e-4x2": {"epochs": 2, "lr": 1e-4, "method_options": {"temperature": 4.0, "alpha": 0.9}},
    "KD-T2-a0.7-5e-5x3": {"epochs": 3, "lr": 5e-5, "method_options": {"temperature": 2.0, "alpha": 0.7}},
}


@cache
def splits(n_select: int, n_transfer: int, n_unseen: int, smoke: bool) -> dict[str, Any]:
    """The labelled sample, the development split, the transfer set, the unseen split and dev (see the docstring)."""
    import numpy as np

    import headstart as hs
    from headstart.data import Dataset, stratified_sample

    folder = SHARED / "text" / "sst2"
    full, dev = hs.load(folder / "train.tsv"), hs.load(folder / "dev.tsv")
    n_sample = 200 if smoke else 2000
    taken = stratified_sample(full.labels, n_sample, 0)  # = full.sample(n_sample, seed=0)
    rest = np.setdiff1d(np.arange(len(full)), taken)
    long = rest[[len(full.inputs[i].split()) >= MIN_WORDS for i in rest]]
    select = np.sort(np.random.default_rng(2).choice(long, size=n_select, replace=False))
    pool = np.setdiff1d(rest, select)
    transfer = np.sort(np.random.default_rng(1).choice(pool, size=min(n_transfer, len(pool)), replace=False))
    left = np.setdiff1d(pool, transfer)
    left = left[[len(full.inputs[i].split()) >= MIN_WORDS for i in left]]
    unseen = np.sort(np.random.default_rng(3).choice(left, size=min(n_unseen, len(left)), replace=False))
    texts = [full.inputs[i] for i in transfer]
    return {
        "train": full.subset(taken),
        "select": full.subset(select),
        "transfer": Dataset(texts, None, "text", source=f"{folder / 'train.tsv'} (transfer, no labels)"),
        "unseen": full.subset(unseen),
        "dev": dev.subset(np.arange(100)) if smoke else dev,
    }


def job_base(threads: int, select: int = 3000, transfer: int = 30000, unseen: int = 5000, smoke: bool = False) -> dict:
    """What every job of a run shares: its threads and the sizes of the splits (see :func:`splits`)."""
    return {"threads": threads, "select_rows": select, "transfer_rows": transfer, "unseen_rows": unseen, "smoke": smoke}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """One teacher or student run (in a worker process); its accuracies and time. A student's
    ``teacher_dir`` may be a list of runs (an ensemble: ``distill_teacher_ensemble.py``)."""
    import torch

    import headstart as hs
    from headstart.distill import distill

    torch.set_num_threads(job["threads"])
    data = splits(job["select_rows"], job["transfer_rows"], job["unseen_rows"], job["smoke"])
    start = time.perf_counter()
    # cache_dir: the feature cache (a distilled recipe with cache_teacher looks its teachers up there).
    cached = job.get("cache_dir")
    common = {"max_length": 64, "seed": job["seed"], "progress": False, "cache": bool(cached), "cache_dir": cached}
    if job["kind"] == "teacher":
        epochs, lr = job["recipe"]
        clf = hs.TransferClassifier(
            # val_size 0.2: the API default when the recorded teachers were trained (now 0.1, as the CLI)
            backbone="minilm",
            strategy="full",
            epochs=epochs,
            lr=lr,
            val_size=0.2,
            **common,
        )
        clf.fit(data["train"])
    else:
        options = dict(job["recipe"])
        kd = job["kd"]
        clf = distill(
            job["teacher_dir"],
            data["train"],
            student="layers:0,1,2",
            method="logits" if kd else "none",
            transfer=data["transfer"] if kd else None,
            **options,
            **common,
        )
    seconds = time.perf_counter() - start
    if job.get("save"):
        clf.save(job["save"])
    return {
        "key": job["key"],
        "kind": job["kind"],
        "config": job["config"],
        "seed": job["seed"],
        "select": clf.evaluate(data["select"])["accuracy"],
        "dev": clf.evaluate(data["dev"])["accuracy"],
        "unseen": clf.evaluate(data["unseen"])["accuracy"],
        "train_seconds": seconds,
        "best_epoch": getattr(clf, "best_epoch_", None),
    }


def quiet(logs: str) -> None:
    """Worker start-up: the runs' per-epoch lines and warnings go to ``logs/worker-PID.log``."""
    Path(logs).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(logs) / f"worker-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)


def run_jobs(jobs: list[dict[str, Any]], results: Path, workers: int, deadline: float) -> dict[str, dict[str, Any]]:
    """Run the jobs not in ``results`` yet, ``workers`` at a time, in order; append each result as it ends.

    A job is not started when the slowest finished job of its configuration
    would overrun ``deadline``.
    """
    done = {r["key"]: r for r in map(json.loads, results.read_text().splitlines())} if results.is_file() else {}
    todo = [j for j in jobs if j["key"] not in done]
    took: dict[str, float] = {}
    for r in done.values():
        took[r["config"]] = max(took.get(r["config"], 0.0), r["wall_seconds"])
    running: dict[Future, tuple[dict[str, Any], float]] = {}
    context = get_context("spawn")
    with ProcessPoolExecutor(workers, context, initializer=quiet, initargs=(str(results.parent / "logs"),)) as pool:
        while todo or running:
            while todo and len(running) < workers:
                job = todo.pop(0)
                if time.time() + took.get(job["config"], 0.0) > deadline:
                    print(f"skipped {job['key']}: out of time", flush=True)
                    continue
                running[pool.submit(run_job, job)] = (job, time.time())
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job, started = running.pop(future)
                try:
                    r = future.result()
                except Exception as exc:  # one failed run must not lose the others
                    print(f"FAILED {job['key']}: {type(exc).__name__}: {exc}", flush=True)
                    continue
                r["wall_seconds"] = time.time() - started
                took[job["config"]] = max(took.get(job["config"], 0.0), r["wall_seconds"])
                done[r["key"]] = r
                with results.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                print(
                    f"{r['key']}: development {r['select']:.4f}, dev {r['dev']:.4f} "
                    f"({r['train_seconds']:.0f} s training, {r['wall_seconds']:.0f} s in all)",
                    flush=True,
                )
    return done


def choose(done: dict[str, dict[str, Any]], configs: list[str], seeds: list[int]) -> str:
    """The configuration with the best mean development-split accuracy (ties: the first listed)."""
    means = {c: statistics.mean(done[f"{c}-s{s}"]["select"] for s in seeds) for c in configs}
    return max(configs, key=lambda c: (means[c], -configs.index(c)))


def compare(kd: list[float], labels: list[float], what: str) -> tuple[float, float]:
    """Print the paired comparison of two lists of accuracies (one per seed); mean difference (points), p."""
    diffs = [100 * (a - b) for a, b in zip(kd, labels, strict=True)]
    wins, ties = sum(d > 0 for d in diffs), sum(d == 0 for d in diffs)
    p = float("nan")
    test = ""
    if len(diffs) > 1:
        from headstart.stats import paired_t

        result = paired_t(kd, labels)
        p = result.p_value
        test = f"; paired t-test over {len(diffs)} seeds: t = {result.statistic:.2f}, p = {p:.4f}"
    print(
        f"{what}: {mean_std(kd)} vs {mean_std(labels)}: {statistics.mean(diffs):+.2f} points "
        f"(wins {wins}, ties {ties}, losses {len(diffs) - wins - ties}){test}"
    )
    return statistics.mean(diffs), p


def welch(kd: list[float], labels: list[float], what: str, other: str) -> tuple[float, float]:
    """Print Welch's unpaired t-test of two lists of accuracies (any lengths); mean difference (points), p."""
    from headstart.stats import welch_t

    result = welch_t(kd, labels)
    gap = 100 * (statistics.mean(kd) - statistics.mean(labels))
    print(
        f"{what} {mean_std(kd)} ({len(kd)} seeds) vs {other} {mean_std(labels)} ({len(labels)} seeds): "
        f"{gap:+.2f} points; Welch's t-test t = {result.statistic:.2f}, p = {result.p_value:.4f}"
    )
    return gap, result.p_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="student seeds FIRST..FIRST+N-1")
    parser.add_argument("--first-seed", type=int, default=0, help="the first student seed")
    parser.add_argument(
        "--labels-seeds", type=int, default=None, help="labels-only seeds FIRST..FIRST+N-1 (default: --seeds)"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated configurations to run (default: all); fixes a choice in advance"
    )
    parser.add_argument("--select", type=int, default=3000, help="development-split rows")
    parser.add_argument("--transfer", type=int, default=30000, help="transfer-set rows (texts only)")
    parser.add_argument("--unseen", type=int, default=5000, help="unseen-split rows (a second test set)")
    parser.add_argument("--workers", type=int, default=1, help="runs at a time")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run, and for the speed test")
    parser.add_argument("--budget", type=float, default=float("inf"), help="seconds; see the docstring")
    parser.add_argument("--repeats", type=int, default=7, help="speed test repeats")
    parser.add_argument("--out", type=Path, default=OUT, help="results.jsonl and the kept models")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the machinery")
    args = parser.parse_args()

    if not (SHARED / "text" / "sst2").is_dir():
        sys.exit(f"skipped: {SHARED / 'text' / 'sst2'} is absent (../shared/data holds the benchmark data sets)")
    if args.smoke:
        TEACHERS.update({k: (1, v[1]) for k, v in TEACHERS.items()})
        for family in (LABELS, KD):
            for options in family.values():
                options["epochs"] = 1
        args.select, args.transfer, args.unseen = min(args.select, 100), min(args.transfer, 100), min(args.unseen, 100)
        args.seeds = min(args.seeds, 2)
        args.labels_seeds = min(args.labels_seeds, 3) if args.labels_seeds else None
    if args.only:
        keep = set(args.only.split(","))
        unknown = keep - set(TEACHERS) - set(LABELS) - set(KD)
        if unknown:
            sys.exit(f"--only: unknown configurations {sorted(unknown)}")
        for family in (TEACHERS, LABELS, KD):
            for name in [n for n in family if n not in keep]:
                del family[name]
        if not (TEACHERS and LABELS and KD):
            sys.exit("--only needs at least one teacher, one labels-alone and one distilled configuration")
    deadline = time.time() + args.budget
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    base = job_base(args.threads, args.select, args.transfer, args.unseen, args.smoke)

    teachers = [
        {
            **base,
            "kind": "teacher",
            "config": c,
            "recipe": recipe,
            "seed": 0,
            "key": f"{c}-s0",
            "save": str(out / "teachers" / c),
        }
        for c, recipe in TEACHERS.items()
    ]
    trained = run_jobs(teachers, results, args.workers, float("inf"))
    teacher = choose(trained, list(TEACHERS), [0])
    teacher_dir = out / "teachers" / teacher
    print(f"teacher: {teacher} (best development accuracy of {len(TEACHERS)})", flush=True)

    seed_range = range(args.first_seed, args.first_seed + args.seeds)
    labels_range = range(args.first_seed, args.first_seed + (args.labels_seeds or args.seeds))
    students = [
        {
            **base,
            "kind": "student",
            "config": c,
            "recipe": (LABELS | KD)[c],
            "kd": c in KD,
            "seed": s,
            "key": f"{teacher}/{c}-s{s}",
            "teacher_dir": str(teacher_dir),
            "save": str(out / "students" / f"{teacher}-{c}") if s == args.first_seed and c in KD else None,
        }
        for s in range(args.first_seed, max(seed_range.stop, labels_range.stop))
        for c in [*LABELS, *KD]
        if s in (labels_range if c in LABELS else seed_range)
    ]
    done = run_jobs(students, results, args.workers, deadline)
    done = {k.split("/", 1)[1]: r for k, r in done.items() if k.startswith(f"{teacher}/")}
    seeds = [s for s in seed_range if all(f"{c}-s{s}" in done for c in [*LABELS, *KD])]
    if not seeds:
        sys.exit("no seed finished every configuration")
    labels, kd = choose(done, list(LABELS), seeds), choose(done, list(KD), seeds)

    t = trained[f"{teacher}-s0"]
    print()
    import torch

    gpu = f"; GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "; no GPU"
    print(f"machine: {machine()}{gpu}")
    data = splits(args.select, args.transfer, args.unseen, args.smoke)
    print(
        f"SST-2: {len(data['train'])} labelled training rows (seed 0); development split {len(data['select'])} "
        f"rows (>= {MIN_WORDS} words, seed 2); transfer set {len(data['transfer'])} texts (seed 1); unseen split "
        f"{len(data['unseen'])} rows (>= {MIN_WORDS} words, seed 3); "
        f"dev {len(data['dev'])} rows; student seeds {seeds[0]}..{seeds[-1]} ({len(seeds)})"
    )
    print()
    print("| run | epochs, lr, options | development split (mean) | dev (mean ± std) |")
    print("|---|---|---:|---:|")
    for c, (e, lr) in TEACHERS.items():
        r = trained[f"{c}-s0"]
        mark = " (chosen)" if c == teacher else ""
        print(f"| teacher {c}{mark} | {e}, {lr:g} | {r['select']:.4f} | {r['dev']:.4f} |")
    for family, configs, chosen in (("labels alone", LABELS, labels), ("distilled", KD, kd)):
        for c, options in configs.items():
            sel = statistics.mean(done[f"{c}-s{s}"]["select"] for s in seeds)
            dev = [done[f"{c}-s{s}"]["dev"] for s in seeds]
            mark = " (chosen)" if c == chosen else ""
            print(f"| student, {family}: {c}{mark} | {options} | {sel:.4f} | {mean_std(dev)} |")

    print()
    kd_dev = [done[f"{kd}-s{s}"]["dev"] for s in seeds]
    lab_dev = [done[f"{labels}-s{s}"]["dev"] for s in seeds]
    for s, a, b in zip(seeds, kd_dev, lab_dev, strict=True):
        print(f"seed {s}: distilled {a:.4f}, labels alone {b:.4f}, difference {100 * (a - b):+.2f} points")
    mean_diff, p = compare(kd_dev, lab_dev, f"dev: distilled {kd} vs labels alone {labels}")
    kd_all = [r["dev"] for s in seed_range if (r := done.get(f"{kd}-s{s}"))]
    lab_all = [r["dev"] for s in labels_range if (r := done.get(f"{labels}-s{s}"))]
    if len(lab_all) > len(seeds) or len(kd_all) > len(seeds):
        welch(kd_all, lab_all, "dev, every finished seed: distilled", "labels alone")
    if all("unseen" in done[f"{c}-s{s}"] for c in (kd, labels) for s in seeds):
        kd_unseen = [done[f"{kd}-s{s}"]["unseen"] for s in seeds]
        lab_unseen = [done[f"{labels}-s{s}"]["unseen"] for s in seeds]
        compare(kd_unseen, lab_unseen, "unseen split: distilled vs labels alone")
        if "unseen" in t:
            print(f"teacher on the unseen split {t['unseen']:.4f}")
    retained = statistics.mean(kd_dev) / t["dev"]
    print(
        f"teacher dev {t['dev']:.4f}; distilled keeps {retained:.1%}, "
        f"labels alone {statistics.mean(lab_dev) / t['dev']:.1%}"
    )

    import headstart as hs

    torch.set_num_threads(args.threads)
    models = {
        "teacher": hs.load_run(teacher_dir).set_params(cache=False, device="cpu"),
        "student": hs.load_run(out / "students" / f"{teacher}-{kd}").set_params(cache=False, device="cpu"),
    }
    times = inference_medians(models, data["dev"], args.repeats)
    speedup = times["teacher"] / times["student"]
    print(
        f"inference on dev, CPU, {args.threads} threads, median of {args.repeats} interleaved repeats: teacher "
        f"{times['teacher']:.3f} s, student {times['student']:.3f} s: {speedup:.2f}x faster"
    )
    print(
        f"checks: beats labels alone on dev (mean > 0, paired p < 0.05) {mean_diff > 0 and p < 0.05}; "
        f"keeps >= 97% {retained >= 0.97}; "
        f">= 1.8x faster {speedup >= 1.8}"
    )


if __name__ == "__main__":
    main()
