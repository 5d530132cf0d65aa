"""The offline demo: how much transfer beats training from scratch, in about a minute.

Two small tasks that ship with the package or its dependencies:

- text: 120 short sentences in 4 topics (``demo_data/topics.tsv``, written for
  headstart), 5 labelled sentences per class, the other 100 held out;
- images: scikit-learn's 8x8 handwritten digits (250 of them), 5 labelled per
  class, the other 200 held out.

For each, the same linear probe is trained on features from (a) the pretrained
embedded backbone, (b) the same architecture with random weights (scratch),
and (c) a classic baseline on raw inputs (TF-IDF for text, pixels for digits).
Each backbone runs once over the data; every head then reuses those features
(extract once, train many heads). Accuracy is the mean over 5 label draws
(seeds 0-4) with its standard deviation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from headstart.backbones import load_backbone
from headstart.data import Dataset, from_arrays, load_table
from headstart.features import extract
from headstart.select.compare import probe_score
from headstart.stats import paired_t

SEEDS = (0, 1, 2, 3, 4)
ALPHA = 0.05  # two-sided; with 5 seeds (df = 4): |t| > 2.776


@dataclass
class DemoRow:
    task: str
    backbone: str
    shots: int
    test_rows: int
    pretrained: np.ndarray  # accuracy per seed
    scratch: np.ndarray
    classic_name: str
    classic: np.ndarray
    seconds: float

    def verdict(self) -> tuple[str, float, float]:
        """Pretrained vs scratch, paired over the seeds: (verdict, mean gain, t).

        Paired t-test on the per-seed differences (:func:`headstart.stats.paired_t`;
        df = 4, two-sided 5%: |t| > 2.776). A gain inside the noise is never called a win.
        """
        t, p = paired_t(self.pretrained, self.scratch)
        if p < ALPHA:
            word = "transfer helps" if t > 0 else "negative transfer"
        else:
            word = "no significant difference"
        return word, float(np.mean(self.pretrained - self.scratch)), t


def topics() -> Dataset:
    path = resources.files("headstart") / "demo_data" / "topics.tsv"
    with resources.as_file(path) as p:
        return load_table(p)


def digits(n: int = 250) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    data = from_arrays(list(d.images), d.target, modality="image")
    data.source = "sklearn digits"
    return data.sample(n, seed=0)


def few_shot_split(labels: np.ndarray, shots: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:shots] for c in np.unique(labels)])
    test = np.setdiff1d(np.arange(len(labels)), train)
    return train, test


def probe_accuracy(X: np.ndarray, y: np.ndarray, shots: int) -> np.ndarray:
    """Held-out accuracy of the linear probe for each seed's label draw."""
    scores = []
    for seed in SEEDS:
        tr, te = few_shot_split(y, shots, seed)
        scores.append(probe_score(X[tr], y[tr], X[te], y[te], seed, int(y.max()) + 1))
    return np.asarray(scores)


def _codes(data: Dataset) -> np.ndarray:
    _, codes = np.unique(data.labels.astype(str), return_inverse=True)
    return codes


def run_task(
    name: str, data: Dataset, backbone: str, classic_name: str, classic: Any, shots: int = 5, **kw: Any
) -> DemoRow:
    start = time.perf_counter()
    y = _codes(data)
    feats = {}
    for pretrained in (True, False):
        bb = load_backbone(backbone, modality=data.modality, pretrained=pretrained, seed=0)
        feats[pretrained] = extract(bb, data, **kw).features
    return DemoRow(
        task=name,
        backbone=backbone,
        shots=shots,
        test_rows=len(data) - shots * len(np.unique(y)),
        pretrained=probe_accuracy(feats[True], y, shots),
        scratch=probe_accuracy(feats[False], y, shots),
        classic_name=classic_name,
        classic=probe_accuracy(classic(data), y, shots),
        seconds=time.perf_counter() - start,
    )


def tfidf(data: Dataset) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Vocabulary from all texts, labels unused: the transductive best case for TF-IDF.
    return TfidfVectorizer().fit_transform(data.inputs).toarray().astype(np.float32)


def pixels(data: Dataset) -> np.ndarray:
    return np.stack([np.asarray(x, dtype=np.float32).ravel() for x in data.inputs])


def run_demo(images: bool = True, **kw: Any) -> list[DemoRow]:
    rows = [run_task("text, 4 topics", topics(), "minilm", "TF-IDF", tfidf, **kw)]
    if images:
        rows.append(run_task("digit images", digits(), "efficientnet-lite0", "raw pixels", pixels, **kw))
    return rows
