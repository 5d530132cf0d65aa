"""The linear probe: the same optimum as scikit-learn, C selection, folding, class weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from headstart.errors import HeadstartError
from headstart.strategies import list_strategies, make_strategy
from headstart.strategies.linear_probe import DEFAULT_CS, LinearProbe, class_weights, fit_logistic


def blobs(n: int, k: int, d: int = 10, spread: float = 1.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``k`` overlapping Gaussian classes in ``d`` dimensions, offset and scaled unevenly."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d))
    y = np.arange(n) % k
    rng.shuffle(y)
    X = centers[y] + rng.normal(size=(n, d)) * spread
    X = X * rng.uniform(0.1, 10, size=d) + rng.normal(size=d) * 5  # not standardised
    return X.astype(np.float32), y


def standardise(X: np.ndarray) -> torch.Tensor:
    # Population standard deviation, as the probe and sklearn's StandardScaler use.
    Xt = torch.from_numpy(X)
    return (Xt - Xt.mean(0)) / Xt.std(0, correction=0).clamp_min(1e-6)


def multinomial_objective(Z: torch.Tensor, y: torch.Tensor, W: torch.Tensor, b: torch.Tensor, C: float) -> float:
    """mean CE + ||W||^2 / (2 C n): scikit-learn's objective divided by C n."""
    Z, W, b = Z.double(), W.double(), b.double()
    logits = Z @ W.T + b
    nll = torch.logsumexp(logits, 1) - logits.gather(1, y[:, None]).squeeze(1)
    return (nll.mean() + 0.5 * (W * W).sum() / (C * len(y))).item()


def binomial_objective(Z: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: float, C: float) -> float:
    """scikit-learn's binary objective (one weight vector), divided by C n."""
    z = Z.double() @ w.double() + b
    nll = torch.nn.functional.softplus(z) - y.double() * z
    return (nll.mean() + 0.5 * (w.double() @ w.double()) / (C * len(y))).item()


@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_fit_logistic_matches_sklearn_multinomial(C):
    X, y = blobs(400, 3)
    Z, y_t = standardise(X), torch.from_numpy(y)
    W, b, evals = fit_logistic(Z, y_t, 3, C)
    assert evals > 1
    sk = LogisticRegression(C=C, tol=1e-8, max_iter=5000).fit(Z.double().numpy(), y)
    ours = (Z @ W.T + b).argmax(1).numpy()
    assert np.mean(ours == sk.predict(Z.double().numpy())) >= 0.99
    f_ours = multinomial_objective(Z, y_t, W, b, C)
    f_sk = multinomial_objective(Z, y_t, torch.from_numpy(sk.coef_), torch.from_numpy(sk.intercept_), C)
    assert abs(f_ours - f_sk) <= 1e-3 * abs(f_sk)
    assert f_ours <= f_sk * (1 + 1e-3)


def test_linear_probe_at_fixed_C_matches_sklearn_on_standardised_features():
    X, y = blobs(300, 4, seed=1)
    probe = LinearProbe(C=0.5).fit(X, y, n_classes=4)
    assert probe.C_ == 0.5 and probe.val_scores_ == {}
    Z = standardise(X).double().numpy()
    sk = LogisticRegression(C=0.5, tol=1e-8, max_iter=5000).fit(Z, y)
    ours = probe.head_(torch.from_numpy(X)).argmax(1).numpy()
    assert np.mean(ours == sk.predict(Z)) >= 0.99


def test_fit_logistic_matches_sklearn_binary_objective_at_the_same_C():
    C = 0.01
    X, y = blobs(400, 2, seed=2)
    Z, y_t = standardise(X), torch.from_numpy(y)
    W, b, _ = fit_logistic(Z, y_t, 2, C)
    sk = LogisticRegression(C=C, tol=1e-8, max_iter=5000).fit(Z.double().numpy(), y)
    # The softmax head as one logit: class-1 minus class-0.
    f_ours = binomial_objective(Z, y_t, W[1] - W[0], (b[1] - b[0]).item(), C)
    f_sk = binomial_objective(Z, y_t, torch.from_numpy(sk.coef_[0]), float(sk.intercept_[0]), C)
    assert abs(f_ours - f_sk) <= 1e-3 * abs(f_sk)


def test_binary_predictions_agree_with_sklearn():
    X, y = blobs(400, 2, seed=2)
    Z = standardise(X)
    W, b, _ = fit_logistic(Z, torch.from_numpy(y), 2, 1.0)
    sk = LogisticRegression(C=1.0, tol=1e-8, max_iter=5000).fit(Z.double().numpy(), y)
    assert np.mean((Z @ W.T + b).argmax(1).numpy() == sk.predict(Z.double().numpy())) >= 0.99


def test_C_is_chosen_from_the_grid_and_scores_are_recorded():
    X, y = blobs(300, 3, spread=2.5, seed=3)
    probe = LinearProbe().fit(X, y, n_classes=3)
    assert probe.C_ in DEFAULT_CS
    assert len(probe.val_scores_) >= 3
    assert set(probe.val_scores_) <= set(DEFAULT_CS)
    assert all(0.0 <= s <= 1.0 for s in probe.val_scores_.values())
    # The chosen C has the best held-out score (however ties are broken).
    assert probe.val_scores_[probe.C_] == max(probe.val_scores_.values())
    # The grid is walked from strong to weak regularisation, in order.
    walked = list(probe.val_scores_)
    assert walked == sorted(DEFAULT_CS)[: len(walked)]


def test_C_selection_is_deterministic_per_seed():
    X, y = blobs(200, 2, spread=3.0, seed=4)
    a = LinearProbe(seed=1).fit(X, y, 2)
    b = LinearProbe(seed=1).fit(X, y, 2)
    assert a.C_ == b.C_ and a.val_scores_ == b.val_scores_
    assert torch.equal(a.head_.weight, b.head_.weight)


def test_folded_head_gives_the_logits_of_the_standardised_model():
    X, y = blobs(250, 3, seed=5)
    probe = LinearProbe(C=2.0).fit(X, y, n_classes=3)
    Z = standardise(X)
    W, b, _ = fit_logistic(Z, torch.from_numpy(y), 3, 2.0, max_iter=probe.max_iter)
    with torch.no_grad():
        raw_logits = probe.head_(torch.from_numpy(X))
    assert probe.head_.weight.shape == (3, 10)
    assert not probe.head_.weight.requires_grad
    torch.testing.assert_close(raw_logits, Z @ W.T + b, atol=1e-4, rtol=1e-4)


def test_balanced_class_weight_raises_minority_recall():
    rng = np.random.default_rng(6)
    n_major, n_minor = 400, 40
    X = np.concatenate([rng.normal(0.0, 1.0, size=(n_major, 5)), rng.normal(1.0, 1.0, size=(n_minor, 5))])
    y = np.array([0] * n_major + [1] * n_minor)
    X = X.astype(np.float32)

    def minority_recall(probe: LinearProbe) -> float:
        pred = probe.head_(torch.from_numpy(X)).argmax(1).numpy()
        return float(np.mean(pred[y == 1] == 1))

    plain = minority_recall(LinearProbe(C=1.0).fit(X, y, 2))
    balanced = minority_recall(LinearProbe(C=1.0, class_weight="balanced").fit(X, y, 2))
    assert balanced > plain + 0.2


def test_class_weights():
    y = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(class_weights(y, 2, "balanced"), [4 / 6, 4 / 2])
    assert class_weights(y, 2, None) is None
    np.testing.assert_allclose(class_weights(y, 3, {1: 5.0}), [1.0, 5.0, 1.0])
    with pytest.raises(HeadstartError, match="class_weight"):
        class_weights(y, 2, "inverse")


def test_many_classes():
    X, y = blobs(500, 5, spread=0.5, seed=7)
    probe = LinearProbe(C=10.0).fit(X, y, n_classes=5)
    pred = probe.head_(torch.from_numpy(X)).argmax(1).numpy()
    assert set(pred) == set(range(5))
    assert np.mean(pred == y) > 0.9


@pytest.mark.parametrize(
    ("X", "y"),
    [
        (np.random.default_rng(0).normal(size=(8, 3)), np.array([0, 1] * 4)),  # under 10 rows
        (np.random.default_rng(0).normal(size=(30, 3)), np.array([0] * 29 + [1])),  # a class with one row
    ],
    ids=["few-rows", "singleton-class"],
)
def test_too_few_rows_to_hold_out_uses_C_1(X, y):
    probe = LinearProbe().fit(X.astype(np.float32), y, n_classes=2)
    assert probe.C_ == 1.0
    assert probe.val_scores_ == {}
    assert probe.head_ is not None


def test_constant_feature_does_not_break_standardisation():
    X, y = blobs(60, 2, seed=8)
    X[:, 3] = 7.0
    probe = LinearProbe(C=1.0).fit(X, y, 2)
    assert torch.isfinite(probe.head_.weight).all() and torch.isfinite(probe.head_.bias).all()


@pytest.mark.parametrize("C", [0.0, -1.0])
def test_non_positive_C_is_an_error(C):
    X, y = blobs(40, 2)
    with pytest.raises(HeadstartError, match="C"):
        LinearProbe(C=C).fit(X, y, 2)


def test_bad_shapes_are_an_error():
    with pytest.raises(HeadstartError, match="features must be"):
        LinearProbe(C=1.0).fit(np.zeros((5, 2)), np.zeros(4, dtype=int), 2)


def test_strategy_registry():
    assert "linear-probe" in list_strategies()
    probe = make_strategy("linear-probe", C=3.0, seed=2)
    assert isinstance(probe, LinearProbe) and probe.C == 3.0 and probe.seed == 2
    with pytest.raises(HeadstartError, match="unknown strategy 'linear-prob'; did you mean 'linear-probe'"):
        make_strategy("linear-prob")


def test_large_inputs_stored_as_float16_give_the_same_model():
    # Above COMPACT_BYTES the CPU solver keeps Z as float16; the fit must match the float32 one.
    from headstart.strategies import linear_probe as lp

    X, y = blobs(6000, 3, d=400, spread=4.0, seed=7)
    Z = standardise(X)
    assert Z.numel() * Z.element_size() > lp.COMPACT_BYTES
    y_t = torch.from_numpy(y)
    W16, b16, _ = fit_logistic(Z, y_t, 3, 0.1)
    W32, b32, _ = fit_logistic(Z[:3000], y_t[:3000], 3, 0.1)  # below the threshold: float32 path
    W16h, b16h, _ = fit_logistic(Z[:3000].half().float(), y_t[:3000], 3, 0.1)
    # Same data rounded to float16 -> same solution up to the rounding.
    torch.testing.assert_close(W32, W16h, atol=2e-3, rtol=2e-2)
    pred16 = (Z @ W16.T + b16).argmax(1)
    ref = LogisticRegression(C=0.1, tol=1e-8, max_iter=5000).fit(Z.numpy(), y)
    agree = (pred16.numpy() == ref.predict(Z.numpy())).mean()
    assert agree >= 0.99, agree
