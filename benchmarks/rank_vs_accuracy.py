"""Do the transferability scores predict held-out accuracy? Kendall's tau per score.

For each data set, every candidate is scored on the training rows only
(``headstart.select.rank``), then its real held-out accuracy is measured: a
linear probe on the same training rows' features, scored on the held-out
split. Kendall's tau between each score and that accuracy says whether the
score orders the candidates the way the accuracy does (1 = same order).

- hymenoptera: train/ (243) -> val/ (153); candidates: the embedded
  efficientnet-lite0, three of its intermediate layers (blocks 6, 5, 4), and
  the same architecture with random weights.
- SST-2: 2,000 stratified training rows (seed 0) -> dev (872); candidates:
  minilm, three of its layers (blocks 5, 3, 1), and random weights.

    .venv/bin/python benchmarks/rank_vs_accuracy.py
"""

from __future__ import annotations

import os

from _common import machine, need_shared
from scipy.stats import kendalltau

import headstart as hs
from headstart.select.rank import parse_candidate, rank

os.environ.setdefault("HEADSTART_PROGRESS", "0")


def held_out_accuracy(candidate: str, train: hs.Dataset, test: hs.Dataset) -> float:
    c = parse_candidate(candidate)
    clf = hs.TransferClassifier(backbone=c.spec, pretrained=c.pretrained, strategy="linear-probe", val_size=0.2, seed=0)
    return float(clf.fit(train).evaluate(test)["accuracy"])


def report(name: str, train: hs.Dataset, test: hs.Dataset, candidates: list[str]) -> None:
    rows = rank(train, candidates, seed=0)
    acc = {r.candidate: held_out_accuracy(r.candidate, train, test) for r in rows}
    scores = list(rows[0].scores)
    print(f"\n== {name}: {len(train)} training rows scored, {len(test)} held out")
    print(f"{'candidate':30s} {'held-out acc':>12s} " + " ".join(f"{s:>9s}" for s in scores))
    for r in rows:
        cells = " ".join("      n/a" if r.scores[s] is None else f"{r.scores[s]:9.4f}" for s in scores)
        print(f"{r.candidate:30s} {acc[r.candidate]:12.4f} {cells}")
    for s in scores:
        have = [r for r in rows if r.scores[s] is not None]
        if len(have) < 3:
            print(f"Kendall tau ({s}): n/a, only {len(have)} candidate(s) have it")
            continue
        tau = kendalltau([r.scores[s] for r in have], [acc[r.candidate] for r in have]).statistic
        print(f"Kendall tau ({s}) vs held-out accuracy: {tau:+.3f} over {len(have)} candidates")
    by_logme = [r.candidate for r in rows]  # rank() sorts by its first score, LogME
    controls = [c for c in candidates if c.startswith("random:")]
    print(f"LogME ranks the random-weights control last: {by_logme[-1] in controls} (order: {', '.join(by_logme)})")


def main() -> None:
    print(f"machine: {machine()}")
    bees = hs.load(need_shared("images", "hymenoptera"))
    e = "efficientnet-lite0"
    report(
        "hymenoptera",
        bees.where_split("train"),
        bees.where_split("val"),
        [e, f"{e}@block6", f"{e}@block5", f"{e}@block4", f"random:{e}"],
    )
    sst_train = hs.load(need_shared("text", "sst2", "train.tsv")).sample(2000, seed=0)
    sst_dev = hs.load(need_shared("text", "sst2", "dev.tsv"))
    report("SST-2", sst_train, sst_dev, ["minilm", "minilm@block5", "minilm@block3", "minilm@block1", "random:minilm"])


if __name__ == "__main__":
    main()
