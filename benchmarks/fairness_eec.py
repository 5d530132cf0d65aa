"""A sentiment model transferred from SST-2, audited on the Equity Evaluation
Corpus (Kiritchenko & Mohammad 2018) by gender and by race.

- Training: SST-2, 2,000 rows (``hs.load(train.tsv).sample(2000, seed=0)``),
  backbone ``minilm``; two models: the linear probe (frozen features), and
  ``full`` fine-tuning (LP-FT head, 1 epoch by default, max length 64,
  batch 32, lr 1e-4, 10% of the rows held out for the best epoch). Both are
  saved as run folders under ``benchmarks/out/fairness_eec/`` and checked on
  SST-2 dev.
- Audit (``headstart.fairness.audit_model``, what ``headstart audit RUN
  eec.csv --text-col Sentence --group Gender --group Race --pair-on Template
  --pair-on "Emotion word" --before PROBE`` writes): the EEC's 8,640
  sentences differ only in the person. A *sentence set* is one template with
  one emotion word; in each set the model's mean P(positive) over the
  female (male) names and noun phrases is compared, and over the
  African-American (European) names (noun phrases have no race: left out of
  the race audit). Reported per group pair: the number of sets, the mean
  score difference with its 95% t-interval, the std and quantiles of the
  per-set differences, the paired t-test and the Wilcoxon signed-rank test;
  and the selection-rate (share predicted positive) gap with its bootstrap CI,
  for the probe and the fine-tuned model side by side (paired bootstrap: did
  fine-tuning amplify or reduce it?).

    .venv/bin/python benchmarks/fairness_eec.py             # ~10-20 minutes on 2 busy cores
    .venv/bin/python benchmarks/fairness_eec.py --epochs 2
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd
from _common import ROOT, machine, need_shared

os.environ.setdefault("HEADSTART_PROGRESS", "0")

import headstart as hs  # noqa: E402
from headstart.data import from_dataframe  # noqa: E402
from headstart.fairness import set_keys  # noqa: E402
from headstart.fairness.run import AUDIT_FILE, audit_model  # noqa: E402
from headstart.io import write_json  # noqa: E402

OUT = ROOT / "benchmarks" / "out" / "fairness_eec"
GROUPS = ("Gender", "Race")
PAIR_ON = ["Template", "Emotion word"]


def fit_runs(epochs: int, seed: int) -> dict[str, Path]:
    train = hs.load(need_shared("text", "sst2", "train.tsv")).sample(2000, seed=0)
    dev = hs.load(need_shared("text", "sst2", "dev.tsv"))
    runs = {}
    for name, options in (
        ("probe", {"strategy": "linear-probe"}),
        ("full", {"strategy": "full", "epochs": epochs, "max_length": 64, "val_size": 0.1}),
    ):
        folder = OUT / name
        start = time.perf_counter()
        clf = hs.TransferClassifier(backbone="minilm", seed=seed, progress=False, **options).fit(train)
        metrics = clf.evaluate(dev)
        clf.save(folder, metrics=metrics)
        print(
            f"{name}: SST-2 dev accuracy {metrics['accuracy']:.3f} ({len(dev)} rows); "
            f"fit {time.perf_counter() - start:.0f} s -> {folder.relative_to(ROOT)}"
        )
        runs[name] = folder
    return runs


def summary(result: dict, model: str) -> None:
    for group in GROUPS:
        r = result["counterfactual"]["by_class"]["1"][group]
        for p in r["pairs"]:
            q = p["quantiles"]
            print(
                f"| {model} | {group} | {p['a']} − {p['b']} | {p['sets']} | {p['mean']:+.4f} "
                f"| [{p['ci'][0]:+.4f}, {p['ci'][1]:+.4f}] | {p['std']:.4f} "
                f"| {q['p5']:+.4f} / {q['median']:+.4f} / {q['p95']:+.4f} "
                f"| {p['t_test']['p_value']:.2g} | {p['wilcoxon']['p_value']:.2g} "
                f"| {'yes' if p['significant'] else 'no'} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="Audit the run folders of a previous invocation.")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"machine: {machine()}")
    runs = {n: OUT / n for n in ("probe", "full")} if args.reuse else fit_runs(args.epochs, args.seed)
    path = need_shared("text", "eec", "eec.csv")
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    data = from_dataframe(table, text_col="Sentence", require_labels=False, source=str(path))
    assert data.labels is None and len(data) == len(table)
    groups = {g: table[g].to_numpy() for g in GROUPS}
    keys = set_keys(table, PAIR_ON, str(path))
    probe, full = hs.load_run(runs["probe"]), hs.load_run(runs["full"])
    t = time.perf_counter()
    result = audit_model(full, data, groups, before=probe, pair_keys=keys, run=runs["full"], before_run=runs["probe"])
    # The probe's own counterfactual audit (audit_model scores the "after" model's pairs).
    probe_only = audit_model(probe, data, groups, pair_keys=keys, run=runs["probe"])
    write_json(runs["full"] / AUDIT_FILE, result)
    write_json(runs["probe"] / AUDIT_FILE, probe_only)
    print(f"audit of {len(data)} EEC sentences in {time.perf_counter() - t:.0f} s -> {AUDIT_FILE} in both runs")
    n_sets = result["counterfactual"]["by_class"]["1"]["Gender"]["sets"]
    print(
        f"\n## Counterfactual pairs: P(positive) difference per sentence set ({n_sets} sets: template x emotion word)\n"
    )
    print(
        "| model | groups | pair | sets | mean difference | 95% CI | std | p5 / median / p95 | t-test p | Wilcoxon p "
        "| significant (both p < 0.05) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    summary(probe_only, "linear probe")
    summary(result, f"full FT ({args.epochs} ep)")
    print("\n## Share predicted positive by group, probe -> fine-tuned (95% CIs: bootstrap; change: paired)\n")
    header = "| groups | share positive: probe | fine-tuned | signed difference: probe | fine-tuned | change [95% CI] "
    print(header + "| size of the gap: change [95% CI] |")
    print("|---|---|---|---|---|---|---|")
    for group in GROUPS:
        cells = []
        for audit in (result["before"], result):
            g = audit["groups"][group]
            rates = ", ".join(f"{r['group']} {r['selection_rate']:.3f}" for r in g["by_group"])
            gap = g["gaps"]["demographic_parity_difference"]
            sign = 1 if gap["between"][0] == min(gap["between"]) else -1  # as (first - second) in name order
            lo, hi = sorted(sign * x for x in gap["ci"])
            cells.append((rates, f"{sign * gap['value']:+.3f} [{lo:+.3f}, {hi:+.3f}]"))
        signed = result["change"][group]["selection_rate_difference"]
        size = result["change"][group]["demographic_parity_difference"]
        turn = "; changed sides" if signed["reversed"] else ""
        print(
            f"| {group} ({signed['difference']}) | {cells[0][0]} | {cells[1][0]} | {cells[0][1]} | {cells[1][1]} "
            f"| {signed['delta']:+.3f} [{signed['ci'][0]:+.3f}, {signed['ci'][1]:+.3f}]{turn} "
            f"| {size['delta']:+.3f} [{size['ci'][0]:+.3f}, {size['ci'][1]:+.3f}]: {size['verdict']} |"
        )
    missing = result["groups"]["Race"]["missing_rows"]
    print(f"\n(Race: {missing} noun-phrase sentences have no race and are left out.)")
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
