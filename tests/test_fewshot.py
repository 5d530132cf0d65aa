"""Few-shot: episodes, the evaluator, the methods on Gaussian clusters (where the
answer is known), episodic training through the loop on tiny random images."""

from __future__ import annotations

import numpy as np
import pytest

import headstart as hs
from headstart.errors import HeadstartError
from headstart.fewshot import (
    Conv4,
    EpisodeBatches,
    EpisodeSampler,
    PrototypicalLoss,
    Siamese,
    evaluate_episodes,
    get_method,
    list_methods,
    train_episodic,
)


def clusters(n_classes: int = 20, per: int = 30, dim: int = 16, sep: float = 3.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), per)
    X = rng.normal(size=(n_classes, dim))[y] * sep + rng.normal(size=(len(y), dim))
    return X.astype(np.float32), y


def test_episode_layout_and_reproducibility():
    y = np.repeat(np.array(list("abcdefg")), 12)
    s = EpisodeSampler(y, ways=5, shots=2, queries=3)
    ep = s.episode(seed=1, index=4)
    assert len(ep.support) == 10 and len(ep.query) == 15
    assert len(set(ep.support) | set(ep.query)) == 25  # distinct rows
    codes = s.codes
    for j in range(5):  # the episode's class j is one original class
        assert set(codes[ep.support[ep.support_y == j]]) == set(codes[ep.query[ep.query_y == j]]) == {ep.classes[j]}
    again = s.episode(seed=1, index=4)
    assert (again.support == ep.support).all() and (again.query == ep.query).all()
    assert not np.array_equal(s.episode(seed=2, index=4).query, ep.query)


def test_sampler_refuses_too_few_classes():
    y = np.array([0] * 10 + [1] * 10 + [2] * 2)
    with pytest.raises(HeadstartError, match="only 2 of 3 classes"):
        EpisodeSampler(y, ways=3, shots=1, queries=5)


NAMES = ["protonet", "protonet-cosine", "matching", "nearest-neighbour", "logistic-regression"]


@pytest.mark.parametrize("name", NAMES)
def test_methods_on_separated_clusters(name):
    X, y = clusters()
    r = evaluate_episodes(X, y, name, ways=5, shots=1, episodes=60)
    assert r.episodes == 60 and r.mean > 0.95, r
    assert 0 <= r.ci95 < 0.05


def test_accuracy_on_overlapping_clusters_matches_theory():
    # Two classes in 1-d at -1 and +1, unit noise, prototypes known exactly (many shots):
    # the Bayes accuracy is Phi(1) = 0.841.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 4000)
    X = (np.where(y == 0, -1.0, 1.0) + rng.normal(size=len(y)))[:, None]
    r = evaluate_episodes(X, y, "protonet", ways=2, shots=500, queries=100, episodes=200)
    assert abs(r.mean - 0.841) < 0.01, r
    # 1-shot is worse than many-shot: the prototypes are noisy.
    one = evaluate_episodes(X, y, "protonet", ways=2, shots=1, queries=100, episodes=200)
    assert one.mean < r.mean - 0.03


def test_more_shots_help_and_ci_shrinks_with_episodes():
    X, y = clusters(sep=0.6)
    one = evaluate_episodes(X, y, "protonet", ways=5, shots=1, episodes=600)
    five = evaluate_episodes(X, y, "protonet", ways=5, shots=5, episodes=600)
    assert five.mean > one.mean + 0.1
    short = evaluate_episodes(X, y, "protonet", ways=5, shots=1, episodes=100)
    assert short.ci95 > one.ci95
    same = evaluate_episodes(X, y, "protonet", ways=5, shots=1, episodes=600)
    assert same.mean == one.mean  # fixed seed: reproducible
    assert "± " in str(one) and one.to_dict()["episodes"] == 600


def test_siamese_pretrained_on_base_classes():
    X, y = clusters(n_classes=30, sep=2.0)
    base = y < 20
    s = Siamese(steps=200).pretrain(X[base], y[base])
    r = evaluate_episodes(X[~base], y[~base], s, ways=5, shots=1, episodes=60)
    assert r.mean > 0.9, r
    with pytest.raises(HeadstartError, match="pair head"):
        Siamese().fit(X[:2], np.array([0, 1]))


def test_registry_lists_every_method():
    assert list_methods() == [
        "logistic-regression",
        "matching",
        "nearest-neighbour",
        "protonet",
        "protonet-cosine",
        "siamese",
    ]
    with pytest.raises(HeadstartError, match="unknown few-shot method"):
        get_method("nope")


def test_episode_batches_are_class_major_and_epoch_pure():
    y = np.repeat(np.arange(10), 6)
    b = EpisodeBatches(y, ways=4, shots=2, queries=3, episodes=5, seed=3)
    first = list(b)
    assert len(first) == 5 and all(len(e) == 20 for e in first)
    for e in first:
        blocks = y[np.array(e)].reshape(4, 5)
        assert (blocks == blocks[:, :1]).all() and len(set(blocks[:, 0])) == 4
    assert list(b) == first
    b.set_epoch(1)
    assert list(b) != first


def test_prototypical_loss_prefers_separated_embeddings():
    import torch

    loss = PrototypicalLoss(ways=3, shots=1, queries=2)
    centres = torch.eye(3) * 10
    good = centres.repeat_interleave(3, 0)
    bad = torch.zeros(9, 3)
    labels = torch.arange(3).repeat_interleave(3)
    assert loss(good, labels) < 1e-3 < loss(bad, labels)
    with pytest.raises(HeadstartError, match="not a 3-way episode"):
        loss(good[:8], labels[:8])


def test_episodic_training_through_the_loop_learns():
    # 8 classes of noisy copies of a random binary image: a few dozen episodes of
    # training must separate fresh noisy copies far better than the random encoder.
    import torch

    rng = np.random.default_rng(0)
    protos = (rng.random((8, 28, 28)) > 0.7).astype(np.uint8) * 255

    def noisy(n: int) -> hs.Dataset:
        y = np.repeat(np.arange(8), n)
        flips = rng.random((len(y), 28, 28)) < 0.05
        return hs.from_arrays(
            [np.where(f, 255 - protos[c], protos[c]).astype(np.uint8) for f, c in zip(flips, y, strict=True)], y
        )

    train, test = noisy(10), noisy(10)
    torch.manual_seed(0)
    enc = Conv4(width=16)
    feats = hs.extract_features(enc, test, cache=False, progress=False)
    before = evaluate_episodes(feats, test.labels, "protonet", ways=8, shots=1, queries=5, episodes=50)
    enc, result = train_episodic(
        enc, train, ways=8, shots=1, queries=3, episodes=15, epochs=2, augment=False, progress=False
    )
    assert len(result.history) == 2 and result.history[1]["train_loss"] < result.history[0]["train_loss"]
    feats = hs.extract_features(enc, test, cache=False, progress=False)
    after = evaluate_episodes(feats, test.labels, "protonet", ways=8, shots=1, queries=5, episodes=50)
    assert after.mean > max(before.mean + 0.1, 0.75), (before.mean, after.mean)
