"""headstart.stats against scipy, and figures pinned from the code it replaced."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy import stats as sp

import headstart.fairness.bootstrap
import headstart.metrics
import headstart.stats
from headstart.stats import (
    MeanCI,
    bootstrap_counts,
    bootstrap_statistic,
    critical_value,
    mean_ci,
    paired_t,
    percentile_ci,
    welch_t,
)


@pytest.mark.parametrize("module", [headstart.stats, headstart.metrics, headstart.fairness.bootstrap])
def test_doctests(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 2 and result.failed == 0


# ------------------------------------------------------------------ mean and its CI
def test_critical_value_matches_scipy() -> None:
    for level in (0.9, 0.95, 0.99):
        for df in (1, 4, 9, 599):
            assert critical_value(level, df) == sp.t.ppf(0.5 + level / 2, df)
    assert critical_value(0.95, 4) == sp.t.ppf(0.975, 4)  # compare's 1 - 0.05 / 2: the same double
    assert critical_value(0.95) == 1.96
    assert critical_value(0.9) == pytest.approx(sp.norm.ppf(0.95))
    assert critical_value(0.95, 0) == math.inf
    with pytest.raises(ValueError):
        critical_value(1.5)


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_mean_ci_t_is_scipys_t_interval(level: float) -> None:
    x = np.random.default_rng(0).normal(0.8, 0.05, 7)
    m = mean_ci(x, level)
    lo, hi = sp.t.interval(level, len(x) - 1, loc=x.mean(), scale=sp.sem(x))
    assert isinstance(m, MeanCI) and m.mean == pytest.approx(x.mean())
    assert (m.low, m.high) == pytest.approx((lo, hi), rel=1e-12)


def test_mean_ci_normal_and_small_samples() -> None:
    x = np.random.default_rng(1).random(600)
    m = mean_ci(x, method="normal")
    assert m.half_width == 1.96 * np.std(x, ddof=1) / np.sqrt(600)  # the few-shot formula, to the bit
    lo, hi = sp.norm.interval(0.95, loc=x.mean(), scale=sp.sem(x))
    assert (m.low, m.high) == pytest.approx((lo, hi), rel=1e-4)
    # 600 episodes: Student t is 0.2% wider
    assert mean_ci(x).half_width / m.half_width == pytest.approx(sp.t.ppf(0.975, 599) / 1.96)
    assert mean_ci([0.7]) == (0.7, math.inf)
    assert mean_ci([0.5, 0.5, 0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError):
        mean_ci([])
    with pytest.raises(ValueError):
        mean_ci([1.0, 2.0], method="z")


def test_mean_ci_along_an_axis() -> None:
    a = np.random.default_rng(2).random((10, 3))
    m = mean_ci(a, axis=0)
    assert m.mean.shape == m.half_width.shape == (3,)
    for j in range(3):
        lo, hi = sp.t.interval(0.95, 9, loc=a[:, j].mean(), scale=sp.sem(a[:, j]))
        assert (m.low[j], m.high[j]) == pytest.approx((lo, hi), rel=1e-12)
    assert np.isinf(mean_ci(a[:1], axis=0).half_width).all()


# ------------------------------------------------------------------ t-tests
def test_paired_t_is_scipys_ttest_rel() -> None:
    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 10, 40):
        a = rng.random(n)
        b = a - rng.normal(0.02, 0.05, n)
        ref = sp.ttest_rel(a, b)
        assert paired_t(a, b) == (float(ref.statistic), float(ref.pvalue))  # to the bit
        one = sp.ttest_1samp(a - b, 0.0)
        assert paired_t(a - b) == (float(one.statistic), float(one.pvalue))
    t, p = paired_t([0.9, 0.8, 0.85, 0.95], [0.5, 0.45, 0.52, 0.49])
    assert t > 10 and p < 0.001


def test_paired_t_where_scipy_has_no_answer() -> None:
    assert paired_t([0.5, 0.6], [0.5, 0.6]) == (0.0, 1.0)  # no difference
    assert paired_t([0.1, 0.2, 0.3], [0.2, 0.3, 0.4]) == (-math.inf, 0.0)  # the same difference, rounding aside
    assert paired_t([0.3], [0.1]) == (math.inf, 0.0)  # one pair
    assert paired_t(np.zeros(4)) == (0.0, 1.0)
    with pytest.raises(ValueError):
        paired_t([])


def test_welch_t_is_scipys_and_welchs_formula() -> None:
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.8, 0.02, 10), rng.normal(0.78, 0.05, 4)
    ref = sp.ttest_ind(a, b, equal_var=False)
    assert welch_t(a, b) == (float(ref.statistic), float(ref.pvalue))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))  # Welch-Satterthwaite
    assert welch_t(a, b) == pytest.approx((t, 2 * sp.t.sf(abs(t), df)), rel=1e-10)
    assert welch_t(list(a), list(b)) == welch_t(a, b)


# ------------------------------------------------------------------ the bootstrap
def test_bootstrap_counts_plain_and_stratified() -> None:
    cm = np.array([[30, 5], [8, 57]])
    reps = bootstrap_counts(cm, 4000, seed=0)
    assert reps.shape == (4000, 2, 2) and reps.dtype == np.int64
    assert (reps.sum(axis=(1, 2)) == 100).all()
    assert reps.mean(0) == pytest.approx(cm, abs=0.5)  # unbiased: E[replicate] = counts
    # one multinomial stream: drawn in chunks from one generator, the same replicates
    rng = np.random.default_rng(0)
    chunks = np.concatenate([bootstrap_counts(cm, m, rng) for m in (1, 999, 3000)])
    assert (chunks == reps).all()
    strata = np.array([[4, 1, 0], [0, 0, 0], [10, 10, 5]])
    reps = bootstrap_counts(strata, 500, seed=1, stratified=True)
    assert reps.shape == (500, 3, 3)
    assert (reps.sum(2) == strata.sum(1)).all()  # every stratum keeps its size; the empty one stays empty
    # stratum by stratum from one stream
    rng = np.random.default_rng(1)
    first = rng.multinomial(5, strata[0] / 5, size=500)
    third = rng.multinomial(25, strata[2] / 25, size=500)
    assert (reps[:, 0] == first).all() and (reps[:, 2] == third).all()
    assert bootstrap_counts(np.zeros((0, 4), dtype=int), 3, stratified=True).shape == (3, 0, 4)
    with pytest.raises(ValueError):
        bootstrap_counts([1, 2], 3, stratified=True)


def test_bootstrap_statistic_against_scipy_bootstrap() -> None:
    """The counts bootstrap of accuracy vs scipy's row bootstrap of the same rows (other draws: close, not equal)."""
    correct = np.r_[np.ones(170), np.zeros(30)]
    cm = np.array([[170, 0], [30, 0]])  # a "confusion" of (correct, wrong) cells

    def accuracy(c: np.ndarray) -> np.ndarray:
        return c[:, 0, 0] / c.sum(axis=(1, 2))

    reps = bootstrap_statistic(cm, accuracy, resamples=5000, seed=0)
    chunked = bootstrap_statistic(cm, accuracy, resamples=5000, seed=0, max_cells=4 * 7)
    assert reps.shape == (5000,) and (chunked == reps).all()
    ref = sp.bootstrap((correct,), np.mean, n_resamples=5000, method="percentile", rng=0).confidence_interval
    lo, hi = percentile_ci(reps)
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=0.01)
    assert reps.mean() == pytest.approx(0.85, abs=0.002)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_confusion_scores_are_classification_metrics() -> None:
    """The report's bootstrap scores each resample like headstart.metrics (sklearn) scores the rows."""
    from headstart.metrics import classification_metrics, confusion_scores

    rng = np.random.default_rng(6)
    y = rng.integers(0, 5, 400)
    pred = np.where(rng.random(400) < 0.6, y, rng.integers(0, 6, 400))  # class 5: predicted, never true
    m = classification_metrics(y, pred, classes=list(range(6)))
    s = confusion_scores(np.asarray(m["confusion_matrix"]))
    for key in s:
        assert float(s[key]) == pytest.approx(m[key], rel=1e-12), key
    stack = np.stack([np.asarray(m["confusion_matrix"])] * 3)
    assert confusion_scores(stack, np.asarray(m["confusion_matrix"]).sum(1) > 0)["macro_f1"].shape == (3,)
    with pytest.raises(ValueError):
        confusion_scores(stack)


def test_percentile_ci_is_numpys_percentile() -> None:
    x = np.random.default_rng(5).random(1000)
    for level in (0.9, 0.95):
        tail = (1.0 - level) / 2 * 100
        assert percentile_ci(x, level) == tuple(np.percentile(x, [tail, 100 - tail]))
    assert percentile_ci(x) == pytest.approx(tuple(sp.scoreatpercentile(x, [2.5, 97.5])), rel=1e-12)
    assert percentile_ci(np.r_[x, np.nan, np.inf]) == percentile_ci(x)
    assert percentile_ci([np.nan]) == (None, None)


# ------------------------------------------------------------------ pinned: the figures before the change
# Computed with the code that headstart.stats replaced (report/sections/metrics.py's own multinomial loop,
# fairness/bootstrap.py's, select/compare.py's mean_ci and paired_t, fewshot/episodes.py's 1.96 formula,
# fairness/counterfactual.py's t-interval and scipy t-test). Same seeds, same draw order: the same numbers.
def test_pinned_report_bootstrap_ci() -> None:
    from headstart.report.sections.metrics import bootstrap_ci

    cm = np.array([[50, 6, 3], [4, 38, 9], [2, 7, 31]])
    before = {
        "accuracy": (0.7266666666666667, 0.86),
        "balanced_accuracy": (0.720268266818625, 0.8546958411058704),
        "macro_f1": (0.7170414974130206, 0.8528572647731422),
    }
    big = np.full((150, 150), 1) + np.diag(np.arange(150))  # 150 classes: the draws come in chunks
    before_big = {
        "accuracy": (0.3314157386785449, 0.3410757238307349),
        "balanced_accuracy": (0.30557317392613015, 0.31431131629203796),
        "macro_f1": (0.3050855098336685, 0.31400011161287894),
    }
    for now, then in ((bootstrap_ci(cm), before), (bootstrap_ci(big, resamples=300, seed=2), before_big)):
        for key, (lo, hi) in then.items():
            # The replicates are the same; the 2.5% point is percentile_ci's (1 - 0.95) / 2 * 100
            # = 2.500000000000002 (the fairness audit's), not 2.5: a last-bit difference at most.
            assert now[key] == pytest.approx((lo, hi), rel=1e-14, abs=0)
            assert f"{now[key][0]:.3f}–{now[key][1]:.3f}" == f"{lo:.3f}–{hi:.3f}"


def test_pinned_fairness_bootstrap() -> None:
    from headstart.fairness.bootstrap import bootstrap_confusions, percentile_ci, rates

    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 0, 1] * 10)
    p1 = np.array([0, 1, 2, 0, 2, 2, 1, 1, 2, 0, 1, 1] * 10)
    p2 = np.array([0, 0, 2, 1, 1, 2, 0, 1, 0, 0, 0, 2] * 10)
    g = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0] * 10)  # group 3 has no rows
    b1, b2 = bootstrap_confusions(y, [p1, p2], g, 4, 3, resamples=100, seed=3)
    assert b1[0].tolist() == [
        [[15, 0, 0], [0, 20, 0], [0, 0, 15]],
        [[10, 8, 0], [0, 0, 12], [0, 0, 0]],
        [[0, 9, 0], [0, 11, 0], [0, 0, 20]],
        [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
    ]
    assert b1[57, 2].tolist() == [[0, 9, 0], [0, 12, 0], [0, 0, 19]]
    assert b2[99, 1].tolist() == [[9, 9, 0], [0, 12, 0], [0, 0, 0]]
    acc = rates(b1)["accuracy"]
    assert percentile_ci(acc[:, 0] - acc[:, 1]) == (0.5, 0.8)
    assert percentile_ci(acc[:, 2], 0.9) == (0.64875, 0.8262499999999999)


def test_pinned_means_and_tests() -> None:
    from headstart.fairness.counterfactual import paired_stats
    from headstart.fewshot.episodes import EpisodeResult
    from headstart.select import compare

    assert compare.mean_ci([0.61, 0.64, 0.59, 0.7, 0.66]) == (0.64, 0.05340598792462705)
    assert compare.paired_t([0.61, 0.64, 0.59, 0.7, 0.66], [0.6, 0.66, 0.55, 0.69, 0.6]) == (
        1.4509525002200228,
        0.22041453616151452,
    )
    assert EpisodeResult("m", 5, 1, 15, np.linspace(0.2, 0.9, 600) ** 2).ci95 == 0.018070502821660325
    assert math.isnan(EpisodeResult("m", 5, 1, 15, np.array([0.5])).ci95)
    d = np.array([0.05, -0.02, 0.03, 0.01, 0.04, -0.01, 0.02, 0.06, 0.0, 0.03, -0.03, 0.02])
    s = paired_stats(d)
    assert s["ci"] == [-0.0009606570316882702, 0.03429399036502161]
    assert s["t_test"] == {"statistic": 2.0810354781736238, "p_value": 0.061587825001411425}
    assert paired_stats(d, 0.9)["ci"] == [0.0022837241560776326, 0.031049609177255702]
    assert paired_stats(np.full(5, 0.25))["t_test"] == {"statistic": None, "p_value": 0.0}
    assert paired_stats(np.zeros(5))["t_test"] == {"statistic": None, "p_value": 1.0}


def test_demo_verdict_is_the_paired_t_test() -> None:
    from headstart.demo import DemoRow

    def row(pre: list[float], scratch: list[float]) -> DemoRow:
        return DemoRow("t", "b", 5, 100, np.array(pre), np.array(scratch), "c", np.zeros(len(pre)), 0.0)

    word, gain, t = row([0.9, 0.92, 0.95, 0.91, 0.93], [0.3, 0.35, 0.32, 0.31, 0.4]).verdict()
    assert word == "transfer helps" and gain == pytest.approx(0.586) and f"{t:.1f}" == "34.7"
    word, _, t = row([0.3, 0.35, 0.32, 0.31, 0.4], [0.9, 0.92, 0.95, 0.91, 0.93]).verdict()
    assert word == "negative transfer" and t < 0
    assert row([0.6, 0.52, 0.65, 0.61, 0.63], [0.6, 0.55, 0.62, 0.61, 0.6]).verdict()[0] == "no significant difference"
    assert row([0.6, 0.7], [0.6, 0.7]).verdict() == ("no significant difference", 0.0, 0.0)
