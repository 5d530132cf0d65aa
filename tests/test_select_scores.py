"""Transferability scores: LogME against a literal Algorithm 1, known answers for
LEEP / NCE / H-score / kNN, ordering (informative > random), and the error lines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from logme_reference import logme_literal  # tests/ is on sys.path (pytest's rootdir-relative import)
from sklearn.covariance import LedoitWolf
from threadpoolctl import threadpool_limits

from headstart.errors import HeadstartError
from headstart.select import hscore, knn_accuracy, leep, list_scores, logme, nce, needs_source_probs, transferability


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrices: one BLAS thread is as fast on an idle machine and many times faster on a
    busy one (OpenBLAS threads spin-wait for each other)."""
    with threadpool_limits(1):
        yield


def data(n: int, d: int, c: int, signal: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian features plus ``signal`` times a random class mean; labels 0..c-1 at random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = rng.normal(size=(n, d)) + signal * rng.normal(size=(c, d))[y]
    return X, y


# ---------------------------------------------------------------------- LogME
@pytest.mark.parametrize(
    "n, d, c, signal",
    [
        (50, 200, 2, 0.0),  # D > N, random
        (50, 200, 10, 0.3),  # D > N, weakly informative
        (50, 200, 10, 1.0),  # D > N, the labels can be interpolated (beta -> inf)
        (300, 20, 2, 0.0),  # N > D, random (alpha -> inf, slowly)
        (300, 20, 10, 1.0),  # N > D, informative
        (120, 120, 3, 0.5),  # N = D
        (200, 16, 10, 0.2),
    ],
)
def test_logme_equals_literal_algorithm_1(n, d, c, signal):
    X, y = data(n, d, c, signal, seed=n + d + c)
    ours, literal = logme(X, y), logme_literal(X, y)
    assert ours == pytest.approx(literal, rel=1e-4, abs=1e-8)


def test_logme_float32_features_and_label_names_do_not_matter():
    X, y = data(150, 12, 3, 0.5)
    names = np.array(["cat", "dog", "emu"])[y]
    assert logme(X.astype(np.float32), names) == pytest.approx(logme(X, y), rel=1e-5)
    # Relabelling the classes permutes the per-class evidences: the mean is unchanged.
    assert logme(X, (y + 1) % 3) == pytest.approx(logme(X, y), rel=1e-12)


def test_logme_prefers_informative_features():
    X, y = data(400, 32, 5, 1.0)
    noise = np.random.default_rng(1).normal(size=X.shape)
    weak, _ = data(400, 32, 5, 0.2)
    assert logme(X, y) > logme(weak, y) + 0.1 > logme(noise, y) + 0.1
    # The uninformative limit (alpha -> inf): 1/2 log(beta / 2 pi) - 1/2 per class, beta = N / N_c.
    p = np.bincount(y) / y.size
    limit = np.mean(0.5 * np.log(1 / p / (2 * np.pi)) - 0.5)
    assert logme(noise, y) == pytest.approx(limit, abs=0.02)


def test_logme_of_all_zero_features_is_the_uninformative_limit():
    y = np.array([0, 0, 1, 1, 1, 2])
    p = np.bincount(y) / y.size
    with np.errstate(all="raise"):
        assert logme(np.zeros((6, 3)), y) == pytest.approx(np.mean(0.5 * np.log(1 / p / (2 * np.pi)) - 0.5))


def test_logme_d_greater_than_n_counts_the_zero_eigenvalues():
    # Duplicating every feature column doubles D (40 -> 80 > N = 30) but not the rank. The
    # evidence is that of y ~ N(0, I / beta + F F^T / alpha), and [F, F][F, F]^T = 2 F F^T, so
    # alpha -> 2 alpha gives the same maximum. Only with the D - N zero eigenvalues of F^T F
    # counted in log|A| ((D - k) log alpha) do the two agree.
    X, y = data(30, 40, 3, 1.0)
    X2 = np.hstack([X, X])
    assert logme(X2, y) == pytest.approx(logme(X, y), rel=1e-6)
    assert logme(X2, y) == pytest.approx(logme_literal(X2, y), rel=1e-4)


# ---------------------------------------------------------------------- LEEP / NCE
def test_leep_and_nce_known_answers():
    y = np.array([0, 0, 1, 1])
    aligned = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    assert leep(aligned, y) == 0.0
    assert nce(aligned, y) == 0.0
    # Independent of the labels: both equal -H(Y) = -log 2.
    assert leep(np.full((4, 3), 1 / 3), y) == pytest.approx(-math.log(2), abs=1e-12)
    independent = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
    assert nce(independent, y) == pytest.approx(-math.log(2), abs=1e-12)


def test_leep_hand_computed():
    theta = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    y = np.array(["a", "a", "b"])
    # P(y, z) * 3 = [[1.4, 0.6], [0.3, 0.7]]; P(z) * 3 = [1.7, 1.3].
    p = [
        0.8 * 1.4 / 1.7 + 0.2 * 0.6 / 1.3,
        0.6 * 1.4 / 1.7 + 0.4 * 0.6 / 1.3,
        0.3 * 0.3 / 1.7 + 0.7 * 0.7 / 1.3,
    ]
    assert leep(theta, y) == pytest.approx(np.mean(np.log(p)), abs=1e-12)


def test_nce_hand_computed():
    # z = argmax = [0, 0, 0, 1]; P(y, z) = {(0,0): 1/2, (1,0): 1/4, (1,1): 1/4}.
    theta = np.array([[0.6, 0.4], [0.7, 0.3], [0.9, 0.1], [0.2, 0.8]])
    y = np.array([0, 0, 1, 1])
    expected = 0.5 * math.log(2 / 3) + 0.25 * math.log(1 / 3) + 0.25 * math.log(1.0)
    assert nce(theta, y) == pytest.approx(expected, abs=1e-12)


def test_leep_and_nce_rank_a_related_source_above_an_unrelated_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 500)
    z_related = np.where(rng.random(500) < 0.8, y * 2, rng.integers(0, 8, 500))  # mostly 2 * y
    logits = rng.normal(size=(500, 8))
    related = logits.copy()
    related[np.arange(500), z_related] += 4.0
    soft = np.exp(related) / np.exp(related).sum(1, keepdims=True)
    unrelated = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert leep(soft, y) > leep(unrelated, y) + 0.3
    assert nce(soft, y) > nce(unrelated, y) + 0.3


# ---------------------------------------------------------------------- H-score
def test_hscore_one_feature_is_between_over_total_variance():
    # f = [0, 1, 3, 4] centred: [-2, -1, 1, 2], variance 2.5; class means -1.5, 1.5: 2.25.
    f = np.array([[0.0], [1.0], [3.0], [4.0]])
    assert hscore(f, np.array([0, 0, 1, 1])) == pytest.approx(2.25 / 2.5, abs=1e-12)


def test_hscore_matches_its_formula_with_sklearn_ledoit_wolf():
    X, y = data(80, 120, 4, 0.7)  # D > N: the shrinkage is what makes this finite
    lw = LedoitWolf().fit(X)
    g = np.stack([X[y == c].mean(0) for c in range(4)])[y]
    cov_g = np.cov(g, rowvar=False, bias=True)
    expected = np.trace(np.linalg.pinv(lw.covariance_) @ ((1 - lw.shrinkage_) * cov_g))
    assert hscore(X, y) == pytest.approx(expected, rel=1e-8)


def test_hscore_higher_for_separable_features():
    X, y = data(300, 10, 3, 2.0)
    noise = np.random.default_rng(1).normal(size=X.shape)
    assert hscore(X, y) > 1.0 > 0.2 > hscore(noise, y) >= 0.0


# ---------------------------------------------------------------------- kNN
def on_circle(degrees: list[float]) -> np.ndarray:
    a = np.radians(degrees)
    return np.stack([np.cos(a), np.sin(a)], 1)


CIRCLE = on_circle([0, 10, 25, 33, 90, 100])
CIRCLE_Y = np.array(["a", "a", "a", "b", "b", "b"])


def test_knn_leave_one_out_hand_made():
    # 1-NN: 25 -> 33 (b, wrong), 33 -> 25 (a, wrong), the other four right.
    assert knn_accuracy(CIRCLE, CIRCLE_Y) == pytest.approx(4 / 6)
    # 3-NN: 25 -> {33, 10, 0} votes a (right); 33 -> {25, 10, 0} votes a (wrong).
    assert knn_accuracy(CIRCLE, CIRCLE_Y, k=3) == pytest.approx(5 / 6)
    # Cosine: scaling a row changes nothing (Euclidean 1-NN would change here).
    scaled = CIRCLE * np.array([1, 5, 0.2, 3, 1, 7])[:, None]
    assert knn_accuracy(scaled, CIRCLE_Y) == pytest.approx(4 / 6)


def test_knn_ties_go_to_the_nearer_class():
    # 2-NN of 25 degrees: 33 (b, 8 degrees away) and 10 (a, 15 away): a tie that b, nearer, wins.
    assert knn_accuracy(CIRCLE, CIRCLE_Y, k=2) == pytest.approx(4 / 6)


def test_knn_chunks_and_a_brute_force_loop_agree():
    X, y = data(97, 6, 2, 0.8)  # 2 classes and odd k: no ties
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    right = 0
    for i in range(len(X)):
        sim = Xn @ Xn[i]
        sim[i] = -np.inf
        nn = np.argsort(-sim)[:5]
        right += np.bincount(y[nn], minlength=2).argmax() == y[i]
    assert knn_accuracy(X, y, k=5, chunk=10) == pytest.approx(right / len(X))
    X3, y3 = data(97, 6, 3, 0.8)
    assert knn_accuracy(X3, y3, k=1, chunk=7) == knn_accuracy(X3, y3, k=1, chunk=4096)


# ---------------------------------------------------------------------- registry and errors
def test_registry():
    assert set(list_scores()) == {"logme", "leep", "nce", "hscore", "knn"}
    assert [s for s in list_scores() if needs_source_probs(s)] == ["leep", "nce"]
    X, y = data(60, 5, 3, 1.0)
    labels = np.array(["x", "y", "z"])[y]
    assert transferability("logme", X, labels) == logme(X, y)
    assert transferability("knn", X, labels) == knn_accuracy(X, y)
    probs = np.full((60, 4), 0.25)
    assert transferability("leep", None, labels, source_probs=probs) == pytest.approx(leep(probs, y))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda X, y: transferability("logme", X[:-1], y), "has 59 rows but there are 60 labels"),
        (lambda X, y: transferability("hscore", X, np.zeros(60)), "at least 2 classes"),
        (lambda X, y: transferability("knn", np.where(np.eye(60, 5, -7) > 0, np.nan, X), y), "NaN"),
        (lambda X, y: transferability("leep", X, y), "efficientnet-lite0"),
        (lambda X, y: transferability("logm", X, y), "did you mean 'logme'"),
        (lambda X, y: transferability("leep", X, y, source_probs=X), "apply a softmax"),
        (lambda X, y: transferability("logme", X, y.reshape(20, 3)), "1-d"),
        (lambda X, y: transferability("logme", None, y), "needs features"),
    ],
)
def test_error_lines(call, message):
    X, y = data(60, 5, 3, 1.0)
    with pytest.raises(HeadstartError) as err:
        call(X, y)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_nan_error_names_the_row():
    X, y = data(20, 4, 2, 1.0)
    X[7, 2] = np.nan
    with pytest.raises(HeadstartError, match=r"row 7, column 2"):
        transferability("logme", X, y)
