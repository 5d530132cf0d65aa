"""Tests on the real embedded models and ../shared/data: few, marked `real`,
skipped cleanly when the data is absent. Figures asserted here are the
foundation's acceptance figures (see docs/BENCHMARKS.md for the full runs)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared

import headstart as hs

pytestmark = pytest.mark.real


def test_sst2_minilm_linear_probe_reaches_077():
    folder = shared("text", "sst2")
    train = hs.load(folder / "train.tsv").sample(2000, seed=0)
    dev = hs.load(folder / "dev.tsv")
    assert train.class_counts() == {0: 884, 1: 1116}  # stratified: the file's 44.2% / 55.8%
    clf = hs.TransferClassifier(backbone="minilm", strategy="linear-probe").fit(train)
    acc = clf.evaluate(dev)["accuracy"]
    assert acc >= 0.77, acc


def test_hymenoptera_efficientnet_linear_probe_reaches_094():
    data = hs.load(shared("images", "hymenoptera"))
    assert data.splits() == ["train", "val"]
    clf = hs.TransferClassifier(backbone="efficientnet-lite0", strategy="linear-probe").fit(data.where_split("train"))
    acc = clf.evaluate(data.where_split("val"))["accuracy"]
    assert acc >= 0.94, acc


def test_efficientnet_lite0_keeps_its_imagenet_head():
    # The package's weights, mapped into timm, must still recognise ants (ImageNet class 310).
    ants = sorted((shared("images", "hymenoptera") / "val" / "ants").glob("*.jpg"))[:8]
    bb = hs.load_backbone("efficientnet-lite0")
    import torch

    with torch.no_grad():
        top = bb.source_logits(bb.forward_features(bb.preprocess(ants))).argmax(1).numpy()
    assert np.mean(top == 310) >= 0.75, top


def test_demo_text_task_shows_transfer_beats_scratch():
    from headstart.demo import run_task, tfidf, topics

    row = run_task("topics", topics(), "minilm", "TF-IDF", tfidf, progress=False)
    verdict, gain, _ = row.verdict()
    assert verdict == "transfer helps", (verdict, gain)
    assert row.pretrained.mean() > row.classic.mean()
