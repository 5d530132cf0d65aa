"""Multi-label losses (``task_options={"loss": ...}``): each checked against a hand computation on a
few numbers, and chosen, recorded and refused like the other task options."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from headstart import TransferClassifier
from headstart.errors import HeadstartError
from headstart.imbalance.focal import FocalLoss, focal_term
from headstart.imbalance.multilabel import BCE, AsymmetricLoss, SigmoidFocal, list_losses, make_loss

Z = [[0.0, 2.0], [-1.0, 0.5]]  # logits (2 rows, 2 labels)
Y = [[1, 0], [0, 1]]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def by_hand(positive, negative) -> float:
    """The mean over rows and labels of ``positive(p)`` where y = 1 and ``negative(p)`` where y = 0."""
    pairs = [(z, y) for zr, yr in zip(Z, Y, strict=True) for z, y in zip(zr, yr, strict=True)]
    terms = [positive(sigmoid(z)) if y else negative(sigmoid(z)) for z, y in pairs]
    return sum(terms) / len(terms)


def run(loss) -> float:
    return float(loss(torch.tensor(Z), torch.tensor(Y, dtype=torch.float32)))


def test_each_loss_matches_a_hand_computation():
    assert list_losses() == ["bce", "asymmetric", "focal"]
    bce = by_hand(lambda p: -math.log(p), lambda p: -math.log(1 - p))
    assert run(BCE()) == pytest.approx(bce, rel=1e-6)
    weighted = by_hand(lambda p: -3.0 * math.log(p), lambda p: -math.log(1 - p))
    assert run(make_loss("bce", pos_weight=[3.0, 3.0])) == pytest.approx(weighted, rel=1e-6)

    def asl_negative(p: float, gamma: float = 4.0, m: float = 0.05) -> float:
        pm = max(p - m, 0.0)
        return -(pm**gamma) * math.log(1 - pm)

    asl = by_hand(lambda p: -((1 - p) ** 1.0) * math.log(p), asl_negative)
    assert run(AsymmetricLoss(gamma_neg=4, gamma_pos=1, clip=0.05)) == pytest.approx(asl, rel=1e-5)
    # A negative whose probability is under the margin adds nothing: sigmoid(-3) = 0.047 < 0.05.
    assert float(AsymmetricLoss()(torch.tensor([[-3.0]]), torch.tensor([[0.0]]))) == 0.0
    assert run(AsymmetricLoss(gamma_neg=0, gamma_pos=0, clip=0)) == pytest.approx(bce, rel=1e-6)

    focal = by_hand(lambda p: -0.25 * (1 - p) ** 2 * math.log(p), lambda p: -0.75 * p**2 * math.log(1 - p))
    assert run(SigmoidFocal(gamma=2, alpha=0.25)) == pytest.approx(focal, rel=1e-6)
    assert run(SigmoidFocal(gamma=0, alpha=None)) == pytest.approx(bce, rel=1e-6)
    # The focusing term is the classification focal loss's: two classes' softmax = one logit's sigmoid.
    assert focal_term(torch.log(torch.tensor(0.8)), 2.0).item() == pytest.approx(-(0.2**2) * math.log(0.8))
    two = FocalLoss(gamma=2.0)(torch.tensor([[0.0, 0.5]]), torch.tensor([1]))
    assert float(two) == pytest.approx(run_one(SigmoidFocal(gamma=2, alpha=None), 0.5, 1), rel=1e-6)


def run_one(loss, z: float, y: int) -> float:
    return float(loss(torch.tensor([[z]]), torch.tensor([[float(y)]])))


def _data(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    return X, np.stack([X[:, 0] > 0, X[:, 1] > 0.8, X[:, 2] + X[:, 3] > 0], axis=1).astype(np.int64)


def test_a_loss_is_a_task_option_trained_through_the_loop_and_recorded(tmp_path):
    X, Y = _data()
    kw = dict(backbone="identity", strategy="head", epochs=3, lr=1e-2, cache=False, progress=False)
    clf = TransferClassifier(**kw, task_options={"loss": "asymmetric", "gamma_neg": 2}).fit(X[:120], Y[:120])
    assert clf.targets_["loss"] == "asymmetric (gamma_neg=2, gamma_pos=0, clip=0.05)"
    assert clf.targets_["loss_options"] == {"loss": "asymmetric", "gamma_neg": 2.0, "gamma_pos": 0.0, "clip": 0.05}
    assert len(clf.history_) == 3 and clf.evaluate(X[120:], Y[120:], resamples=0)["micro_f1"] > 0.6
    clf.save(tmp_path / "run")
    assert json.loads((tmp_path / "run" / "config.json").read_text())["targets"]["loss_options"]["loss"] == "asymmetric"
    with pytest.raises(HeadstartError, match="has no option 'pos_weight' with loss 'focal'"):
        TransferClassifier(**kw, task_options={"loss": "focal", "pos_weight": "balanced"}).fit(X, Y)
    with pytest.raises(HeadstartError, match="unknown multi-label loss 'asymetric'; did you mean 'asymmetric'"):
        TransferClassifier(**kw, task_options={"loss": "asymetric"}).fit(X, Y)
    with pytest.raises(HeadstartError, match=r"clip must be a number in \[0, 1\)"):
        TransferClassifier(**kw, task_options={"loss": "asymmetric", "clip": 1.5}).fit(X, Y)
    with pytest.raises(HeadstartError, match="alpha must be None or a number"):
        TransferClassifier(**kw, task_options={"loss": "focal", "alpha": 2}).fit(X, Y)
    with pytest.raises(HeadstartError, match="'focal' trains through the loop; the linear probe"):
        TransferClassifier(backbone="identity", cache=False, progress=False, task_options={"loss": "focal"}).fit(X, Y)
