"""Multi-task transfer with task-adaptive attention (issue 24): SST-2 + TweetEval emotion + SMS spam,
one shared ``minilm`` backbone, against one model per task and a shared backbone without task attention.

Backbone: ``minilm@block5``: MiniLM's blocks 1-5 frozen, their token states extracted once and
cached (float16, 64 tokens at most); block 6 (a copy of the pretrained one) is shared and trains
with the pooler and the task heads. That is the CPU budget's choice (full fine-tuning of MiniLM on
three tables x 3 seeds x 4 models does not fit 2 shared cores); every model trains the same parts.

- ``multi task-attention``: the three tables at once, a learned task embedding queries the tokens;
- ``multi shared``: the three tables at once, mean pooling (no task attention);
- ``single``: one model per table, the same architecture as ``multi task-attention`` with one
  task, the same number of epochs over its own rows (the multi-task epoch is as many batches as
  the three tables' rows together, task-balanced, so the budgets match).

Splits: SST-2 2,000 stratified training rows (seed 0) -> dev (872); TweetEval emotion train
(3,257) -> test (1,421); SMS spam a stratified 80/20 split (seed 0) -> the 20 %. 10 % of each
table's training rows (stratified) pick the best epoch; test rows are read once, at the end.
Negative transfer: per task, multi-task minus single-task accuracy paired over seeds
(``headstart.stats.paired_t``); "negative transfer" when the mean drop is significant (p < 0.05).

    nice -n 15 /work/main/.venv/bin/python benchmarks/multitask.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, need_shared  # noqa: E402
from attentive_probe import tweeteval  # noqa: E402


def tables() -> dict[str, tuple]:
    from headstart.data import load, stratified_split

    sst = need_shared("text", "sst2")
    train = load(sst / "train.tsv")
    sms = load(need_shared("text", "sms_spam") / "sms_spam.tsv")
    tr, te = stratified_split(sms.labels, 0.2, 0)
    return {
        "sst2": (train.sample(2000, 0), load(sst / "dev.tsv")),
        "emotion": (tweeteval("train"), tweeteval("test")),
        "sms": (sms.subset(tr), sms.subset(te)),
    }


def main() -> None:
    from headstart.multitask import Task, fit_multi
    from headstart.stats import mean_ci, paired_t

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--backbone", default="minilm@block5")
    p.add_argument("--out", default="benchmarks/out/multitask.json")
    args = p.parse_args()
    print(machine())
    data = tables()
    tasks = [Task(name, train, test) for name, (train, test) in data.items()]
    names = list(data)
    runs: dict[str, dict[str, list[float]]] = {k: {n: [] for n in names} for k in ("multi", "shared", "single")}
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    for seed in [int(s) for s in args.seeds.split(",")]:
        common = {"backbone": args.backbone, "epochs": args.epochs, "seed": seed, "progress": False}
        for key, method, groups in (
            ("multi", "task-attention", [tasks]),
            ("shared", "shared", [tasks]),
            ("single", "task-attention", [[t] for t in tasks]),
        ):
            c0 = time.process_time()
            for group in groups:
                r = fit_multi(group, method=method, **common)
                for t in r.tasks:
                    runs[key][t["name"]].append(t["test_accuracy"])
            seconds[key].append(time.process_time() - c0)
            scores = {n: round(runs[key][n][-1], 4) for n in names}
            print(json.dumps({"seed": seed, "model": key, **scores, "cpu_s": round(seconds[key][-1], 1)}), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "accuracy": runs, "cpu_s": seconds}, indent=2))
    print("\n| model | " + " | ".join(names) + " | average | CPU s / seed |")
    print("| --- |" + " --- |" * (len(names) + 2))
    for key, label in (("single", "one model per task"), ("shared", "multi, shared (no task attention)"),
                       ("multi", "multi, task-attention")):  # fmt: skip
        cells = [f"{mean_ci(runs[key][n]).mean:.4f} ± {mean_ci(runs[key][n]).half_width:.4f}" for n in names]
        avg = np.mean([runs[key][n] for n in names], axis=0)
        print(f"| {label} | " + " | ".join(cells) + f" | {avg.mean():.4f} | {np.mean(seconds[key]):.0f} |")
    print("\nnegative transfer (multi task-attention - single, paired over seeds):")
    for n in names:
        diff = np.asarray(runs["multi"][n]) - np.asarray(runs["single"][n])
        t, pv = paired_t(runs["multi"][n], runs["single"][n]) if len(diff) > 1 else (float("nan"), float("nan"))
        verdict = (
            "negative transfer"
            if diff.mean() < 0 and pv < 0.05
            else ("positive transfer" if diff.mean() > 0 and pv < 0.05 else "no significant difference")
        )
        print(f"| {n} | {100 * diff.mean():+.2f} points | t {t:.2f}, p {pv:.3g} | {verdict} |")
    gap = np.mean([runs["multi"][n] for n in names]) - np.mean([runs["single"][n] for n in names])
    print(f"average: multi - single = {100 * gap:+.2f} points (target: >= -0.5)")


if __name__ == "__main__":
    main()
