"""Issue 5's acceptance figures that run in under a minute on real data and the
embedded models: marked `real`, skipped when ../shared/data is absent (the full
runs are the scripts in benchmarks/, figures in docs/BENCHMARKS.md)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from conftest import shared

import headstart as hs

pytestmark = pytest.mark.real


def test_conse_hymenoptera_val_reaches_090():
    from headstart.zeroshot import ConSE

    val = hs.load(shared("images", "hymenoptera")).where_split("val")
    pred = ConSE("efficientnet-lite0", "minilm").fit(["ants", "bees"]).predict(val)
    assert np.mean(pred == np.asarray(val.labels)) >= 0.90


def test_zero_shot_tweeteval_beats_the_majority_class_on_macro_f1():
    from headstart.metrics import classification_metrics
    from headstart.zeroshot import LabelTextZeroShot

    folder = shared("text", "tweeteval_emotion")
    names = [line.split("\t")[-1].strip() for line in (folder / "mapping.txt").read_text().splitlines() if line]
    texts = (folder / "test_text.txt").read_text(encoding="utf-8").splitlines()
    truth = [names[int(v)] for v in (folder / "test_labels.txt").read_text().split()]
    pred = [str(p) for p in LabelTextZeroShot("minilm").fit(names).predict(texts)]
    majority = Counter(truth).most_common(1)[0][0]
    ours = classification_metrics(truth, pred, names)["macro_f1"]
    base = classification_metrics(truth, [majority] * len(truth), names)["macro_f1"]
    assert ours > base + 0.2, (ours, base)
