"""Text few-shot with minilm embeddings: prototypes vs nearest neighbour vs
support-set logistic regression at K = 8, 16, 64 examples per class, over 10
draws of the support set (mean ± 95% CI, t-distribution with 9 degrees of
freedom), scored on the official evaluation split: TweetEval emotion test
(1,421 tweets, 4 classes) and SST-2 dev (872 sentences, 2 classes).

Supports are drawn from the training split (TweetEval: all 3,257 rows; SST-2:
the 2,000-row stratified sample seed 0 that the reference figures use, so
embeddings come from the features cache).

    nice -n 15 .venv/bin/python benchmarks/fewshot_text.py [--draws 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, need_shared  # noqa: E402

METHODS = ("protonet", "nearest-neighbour", "logistic-regression")


def tweeteval(split: str):
    import headstart as hs

    folder = need_shared("text", "tweeteval_emotion")
    names = [line.split("\t")[-1].strip() for line in (folder / "mapping.txt").read_text().splitlines() if line.strip()]
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = [names[int(v)] for v in (folder / f"{split}_labels.txt").read_text().split()]
    return hs.from_arrays(texts, labels, modality="text")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=10)
    args = ap.parse_args()

    import numpy as np

    import headstart as hs
    from headstart.fewshot import get_method
    from headstart.metrics import classification_metrics
    from headstart.stats import mean_ci

    print(machine())
    sst = need_shared("text", "sst2")
    sets = {
        "TweetEval emotion (test)": (tweeteval("train"), tweeteval("test")),
        "SST-2 (dev)": (hs.load(sst / "train.tsv").sample(2000, seed=0), hs.load(sst / "dev.tsv")),
    }
    backbone = hs.load_backbone("minilm")
    for name, (train, test) in sets.items():
        Xtr = hs.extract_features(backbone, train, progress=False)
        Xte = hs.extract_features(backbone, test, progress=False)
        ytr, yte = np.asarray(train.labels).astype(str), np.asarray(test.labels).astype(str)
        classes = sorted(set(ytr))
        for k in (8, 16, 64):
            scores: dict[str, list[tuple[float, float]]] = {m: [] for m in METHODS}
            for draw in range(args.draws):
                rng = np.random.default_rng([draw, k])
                idx = np.concatenate([rng.choice(np.flatnonzero(ytr == c), k, replace=False) for c in classes])
                for method in METHODS:
                    pred = get_method(method).fit(Xtr[idx], ytr[idx]).predict(Xte)
                    m = classification_metrics(list(yte), [str(p) for p in pred], classes)
                    scores[method].append((m["accuracy"], m["macro_f1"]))
            for method, vals in scores.items():
                a = np.array(vals)
                ci = mean_ci(a, axis=0).half_width  # Student t, draws - 1 degrees of freedom
                print(
                    f"{name} K={k} {method}: accuracy {a[:, 0].mean():.4f} ± {ci[0]:.4f}, "
                    f"macro-F1 {a[:, 1].mean():.4f} ± {ci[1]:.4f} ({args.draws} draws)"
                )


if __name__ == "__main__":
    main()
