"""Imbalanced classes (``headstart.imbalance``): samplers, losses, resampling,
post-hoc changes, two-stage, auto, metrics, and the one-line errors.

Fast: tabular data from ``headstart.from_arrays`` (the probe on "features"),
the tiny random BERT from conftest for the fine-tuning hooks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import assert_one_error_line, cli, make_texts

import headstart as hs
from headstart.errors import HeadstartError
from headstart.imbalance import (
    METHODS,
    ClassBalancedBatches,
    FocalLoss,
    LogitAdjustedLoss,
    WeightedCrossEntropy,
    class_balanced_indices,
    class_weights,
    list_methods,
    make_method,
    oversample_indices,
    tune_threshold,
    undersample_indices,
)
from headstart.metrics import classification_metrics
from headstart.strategies.linear_probe import LinearProbe


# ------------------------------------------------------------------ helpers
def skewed(n_major: int = 300, n_minor: int = 15, d: int = 6, shift: float = 1.2, seed: int = 0):
    """Two Gaussian classes, class 1 rare; ``(X, y)``."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, 1, (n_major, d)), rng.normal(shift, 1, (n_minor, d))]).astype(np.float32)
    return X, np.array([0] * n_major + [1] * n_minor)


def balanced_test(d: int = 6, shift: float = 1.2, n: int = 400, seed: int = 1):
    return skewed(n, n, d, shift, seed)


def fit(X, y, method, **kw):
    return hs.TransferClassifier(backbone="identity", strategy="linear-probe", imbalance=method, **kw).fit(X, y)


def in_csv(path: Path, texts, labels) -> Path:
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def skewed_texts(n_neg: int = 30, n_pos: int = 6, seed: int = 0):
    texts, labels = make_texts(2 * max(n_neg, n_pos), seed=seed)
    neg = [i for i, y in enumerate(labels) if y == "neg"][:n_neg]
    pos = [i for i, y in enumerate(labels) if y == "pos"][:n_pos]
    idx = sorted(neg + pos)
    return [texts[i] for i in idx], [labels[i] for i in idx]


# ------------------------------------------------------------------ sampler
LABELS = np.array([0] * 600 + [1] * 90 + [2] * 10)


@pytest.mark.parametrize("q", [0.0, 0.5])
@pytest.mark.parametrize("replicas", [1, 2])
def test_balanced_sampler_frequencies_within_5_percent_of_target(q, replicas):
    counts = np.bincount(LABELS)
    target = counts**q / (counts**q).sum()
    for rank in range(replicas):
        sampler = ClassBalancedBatches(LABELS, 16, seed=3, q=q, num_replicas=replicas, rank=rank)
        sampler.set_epoch(2)
        seen = np.concatenate([LABELS[b] for b in sampler])
        freq = np.bincount(seen, minlength=3) / len(seen)
        np.testing.assert_allclose(sampler.target(), target)
        assert np.all(np.abs(freq - target) <= 0.05 * target), (freq, target)
        assert len(seen) >= len(LABELS) / replicas  # an epoch keeps its natural size


def test_balanced_sampler_ranks_see_disjoint_rows():
    ranks = [ClassBalancedBatches(LABELS, 16, seed=0, q=0.0, num_replicas=2, rank=r) for r in (0, 1)]
    for epoch in (0, 1):
        rows = []
        for s in ranks:
            s.set_epoch(epoch)
            rows.append({i for batch in s for i in batch})
        assert rows[0].isdisjoint(rows[1])
        rare = set(np.flatnonzero(LABELS == 2))
        assert rare <= rows[0] | rows[1]  # the over-sampled rare rows: every one, on one process
        assert len(list(ranks[0])) == len(list(ranks[1]))  # same number of steps on both


def test_balanced_sampler_is_a_pure_function_of_seed_epoch_and_rank():
    def batches(seed, epoch, rank):
        s = ClassBalancedBatches(LABELS, 16, seed=seed, q=0.0, num_replicas=2, rank=rank)
        s.set_epoch(epoch)
        return list(s)

    assert batches(1, 3, 0) == batches(1, 3, 0)
    assert batches(1, 3, 0) != batches(1, 4, 0)
    assert batches(1, 3, 0) != batches(2, 3, 0)
    assert batches(1, 3, 0) != batches(1, 3, 1)


def test_unsharded_balanced_sampler_interleaves_the_ranks_for_accelerate():
    """Accelerate hands process r the batches r, r + P, ...: those must be rank r's own."""
    whole = ClassBalancedBatches(LABELS, 16, seed=5, num_replicas=2)
    whole.set_epoch(1)
    out = list(whole)
    assert len(out) == len(whole)
    for r in (0, 1):
        mine = ClassBalancedBatches(LABELS, 16, seed=5, num_replicas=2, rank=r)
        mine.set_epoch(1)
        assert out[r::2] == list(mine)


def test_balanced_sampler_length_buckets_text_batches():
    lengths = np.random.default_rng(0).integers(1, 60, len(LABELS))
    sampler = ClassBalancedBatches(LABELS, 16, seed=0, lengths=lengths)
    spreads = [np.ptp(lengths[b]) for b in sampler]
    assert np.mean(spreads) < 0.5 * np.ptp(lengths)  # rows of like length share a batch


def test_class_balanced_indices_for_the_probe():
    idx = class_balanced_indices(LABELS, 0.0, seed=0)
    assert len(idx) == len(LABELS)
    np.testing.assert_array_equal(np.bincount(LABELS[idx]), [234, 233, 233])
    rare = idx[LABELS[idx] == 2]
    assert np.bincount(rare)[600 + 90 :].min() >= 23  # the 10 rare rows repeat evenly (23-24 times)


def test_random_over_and_under_sampling():
    np.testing.assert_array_equal(np.bincount(LABELS[oversample_indices(LABELS, 0)]), [600, 600, 600])
    under = undersample_indices(LABELS, 0)
    np.testing.assert_array_equal(np.bincount(LABELS[under]), [10, 10, 10])
    assert len(set(under)) == len(under)


# ------------------------------------------------------------------ losses
def test_class_weights_balanced_and_effective_number():
    counts = np.array([90, 10])
    w = class_weights(counts)
    np.testing.assert_allclose(w, [100 / 180, 100 / 20])
    assert np.isclose((w * counts).sum(), counts.sum())  # mean row weight 1
    eff = class_weights(counts, "effective", beta=0.99)
    raw = (1 - 0.99) / (1 - 0.99**counts)
    np.testing.assert_allclose(eff / eff[0], raw / raw[0])
    assert 1 < eff[1] / eff[0] < w[1] / w[0]  # flatter than inverse frequency
    np.testing.assert_allclose(class_weights(counts, "effective", beta=0.0), [1.0, 1.0])
    with pytest.raises(HeadstartError, match="balanced"):
        class_weights(counts, "inverse")


def test_focal_loss_is_cross_entropy_at_gamma_0_and_spares_easy_rows():
    logits = torch.randn(20, 3)
    labels = torch.randint(0, 3, (20,))
    assert torch.allclose(FocalLoss(0.0)(logits, labels), F.cross_entropy(logits, labels))
    easy, hard = torch.tensor([[4.0, 0.0]]), torch.tensor([[0.2, 0.0]])
    y = torch.tensor([0])
    ratio_easy = FocalLoss(2.0)(easy, y) / F.cross_entropy(easy, y)
    ratio_hard = FocalLoss(2.0)(hard, y) / F.cross_entropy(hard, y)
    assert ratio_easy < 0.01 < 0.2 < ratio_hard
    weighted = FocalLoss(0.0, np.array([1.0, 3.0]))(torch.zeros(1, 2), torch.tensor([1]))
    assert torch.isclose(weighted, 3 * F.cross_entropy(torch.zeros(1, 2), torch.tensor([1])))


def test_logit_adjusted_and_weighted_cross_entropy():
    logits, labels = torch.randn(10, 2), torch.randint(0, 2, (10,))
    prior = np.array([0.8, 0.2])
    expected = F.cross_entropy(logits + torch.log(torch.tensor(prior, dtype=torch.float32)), labels)
    assert torch.isclose(LogitAdjustedLoss(prior)(logits, labels), expected)
    w = np.array([0.5, 2.0])
    expected = F.cross_entropy(logits, labels, weight=torch.tensor(w, dtype=torch.float32))
    assert torch.isclose(WeightedCrossEntropy(w)(logits, labels), expected)


def test_probe_with_a_loss_hook_reaches_the_fused_solution():
    X, y = skewed(200, 60)
    fused = LinearProbe(C=1.0).fit(X, y, 2).head_
    hooked = LinearProbe(C=1.0, loss=F.cross_entropy).fit(X, y, 2).head_
    Xt = torch.from_numpy(X)
    assert torch.allclose(fused(Xt), hooked(Xt), atol=2e-2)


# ------------------------------------------------------------------ the probe, every method
PROBE_METHODS = [m for m in list_methods() if m != "threshold"]


@pytest.mark.parametrize("method", PROBE_METHODS)
def test_every_method_fits_predicts_and_records_what_it_did(method):
    X, y = skewed(n_major=160, n_minor=12, seed=2)
    clf = fit(X, y, method, seed=1)
    assert clf.predict(X).shape == (len(y),)
    assert clf.imbalance_["requested"] == method
    assert clf.imbalance_["method"] in METHODS
    assert clf.imbalance_["class_counts"] == {"0": 160, "1": 12}


@pytest.mark.parametrize("method", ["weighted", "effective", "la-loss", "oversample", "smote", "logit-adjust"])
def test_corrections_beat_plain_training_on_balanced_accuracy(method):
    X, y = skewed(seed=3)
    Xt, yt = balanced_test()
    plain = fit(X, y, None, C=1.0).evaluate(Xt, yt)
    fixed = fit(X, y, method, C=1.0).evaluate(Xt, yt)
    assert fixed["balanced_accuracy"] > plain["balanced_accuracy"] + 0.05
    assert fixed["per_class"]["1"]["recall"] > plain["per_class"]["1"]["recall"]


def test_logit_adjustment_shifts_the_bias_by_tau_log_prior():
    X, y = skewed()
    plain = fit(X, y, None, C=1.0).head_.bias.detach().numpy()
    adjusted = fit(X, y, "logit-adjust", C=1.0, imbalance_options={"tau": 2.0}).head_.bias.detach().numpy()
    prior = np.array([300, 15]) / 315
    np.testing.assert_allclose(adjusted - plain, -2.0 * np.log(prior), rtol=1e-5)


def test_threshold_tuning():
    margin = np.array([-3.0, -2.0, -1.5, -1.0, 0.3, 2.0])
    y = np.array([0, 0, 1, 0, 1, 1])
    # Two cuts tie at balanced accuracy 5/6: above -1.5 (all positives, one false alarm) or
    # above 0.3 (no false alarm, one positive missed). Either is taken, never the cut between.
    assert tune_threshold(margin, y, "balanced_accuracy") in (-1.75, -0.35)
    assert tune_threshold(margin[[0, 1, 2, 4, 5]], y[[0, 1, 2, 4, 5]], "macro_f1") == -1.75
    # Catching the third positive costs 4 false alarms among 24 negatives: worth it
    # for balanced accuracy (0.917 vs 0.833), not for macro-F1 (0.75 vs 0.89).
    margin = np.array([2.0, 1.5, 1.0, 0.9, 0.8, 0.7, 0.5] + list(np.linspace(-1, -3, 20)))
    y = np.array([1, 1, 0, 0, 0, 0, 1] + [0] * 20)
    assert tune_threshold(margin, y, "balanced_accuracy") == pytest.approx(-0.25)
    assert tune_threshold(margin, y, "macro_f1") == pytest.approx(1.25)
    with pytest.raises(HeadstartError, match="threshold metric"):
        tune_threshold(margin, y, "accuracy")
    X, y = skewed(seed=4)
    clf = fit(X, y, "threshold", C=1.0)
    plain = fit(X, y, None, C=1.0)
    delta = (clf.head_.bias - plain.head_.bias).detach().numpy()
    assert delta[0] == 0 and delta[1] != 0
    assert "held-out rows" in clf.imbalance_["note"]


def test_smote_makes_rows_between_minority_neighbours():
    Z = torch.cat([torch.randn(50, 3), torch.randn(8, 3) + 10])
    y = torch.tensor([0] * 50 + [1] * 8)
    for name in ("smote", "borderline-smote", "adasyn"):
        Zr, yr = make_method(name).probe_options(np.array([50, 8]))["resample"](Z, y, 0)
        assert torch.bincount(yr).tolist()[0] == 50 and len(yr) >= 58
        synthetic = Zr[58:]
        lo, hi = Z[50:].min(0).values, Z[50:].max(0).values
        assert bool(((synthetic >= lo - 1e-4) & (synthetic <= hi + 1e-4)).all())


def test_resampling_happens_inside_each_fold_only():
    """The held-out rows of C selection are never resampled (no synthetic copy of a held-out row)."""
    seen = []

    def resample(Z, y, seed):
        seen.append(len(y))
        return Z, y

    X, y = skewed(100, 20)
    LinearProbe(resample=resample, cv=5, cv_repeats=1).fit(X, y, 2)
    assert seen[:5] == [96] * 5 and seen[-1] == 120  # 5 training folds (4/5 of 120), then all rows


# ------------------------------------------------------------------ auto
def test_auto_leaves_balanced_classes_alone_and_says_why(capsys):
    X, y = skewed(100, 90)
    clf = fit(X, y, "auto")
    assert clf.imbalance_["method"] == "none"
    assert "imbalance ratio 1.1" in clf.imbalance_["why"]
    assert "imbalance ratio" in capsys.readouterr().err


def test_auto_on_imbalanced_classes_picks_by_its_rule_and_says_why(capsys):
    X, y = skewed(seed=5)
    clf = fit(X, y, "auto")
    assert clf.imbalance_["method"] == "smote"
    assert "imbalance ratio 20.0 ('0' 300 / '1' 15) >= 1.5" in clf.imbalance_["why"]
    assert "imbalance ratio 20.0" in capsys.readouterr().err
    assert fit(X, y, "auto", imbalance_options={"min_ratio": 25}).imbalance_["method"] == "none"


def test_auto_fine_tuning_balances_the_batches_unless_debiasing_samples_them():
    from headstart.imbalance import Auto

    X, y = skewed(seed=5)
    names = ["0", "1"]
    assert Auto().choose(X, y, 2, {}, names, fine_tuning=True)[0].name == "balanced-sampling"
    method, why = Auto().choose(X, y, 2, {}, names, fine_tuning=True, batches_taken=True)
    assert method.name == "weighted" and "sampled by group" in why


# ------------------------------------------------------------------ rare and missing classes
def test_a_class_with_one_example_warns_naming_it_and_still_fits(capsys):
    X, y = skewed(60, 1)
    y = np.where(y == 1, 7, y)
    for method in ("weighted", "balanced-sampling", "logit-adjust", "auto"):
        clf = fit(X, y, method)
        assert clf.predict(X).shape == (61,)
        err = capsys.readouterr().err
        assert "'7' (1)" in err and "fewer than 5" in err
    assert fit(X, y, "auto").imbalance_["method"] == "weighted"  # nothing to interpolate SMOTE with


@pytest.mark.parametrize("method", ["smote", "threshold"])
def test_a_method_that_needs_two_examples_names_the_class(method):
    X, y = skewed(60, 1)
    labels = np.where(y == 1, "rare", "common")
    with pytest.raises(HeadstartError, match="class 'rare' has 1"):
        fit(X, labels, method)


def test_threshold_on_more_than_two_classes_is_a_clear_error():
    X = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    with pytest.raises(HeadstartError, match="two classes; this data has 3"):
        fit(X, np.arange(30) % 3, "threshold")


def test_unknown_method_and_option_and_class_weight_clash():
    with pytest.raises(HeadstartError, match="did you mean 'smote'"):
        make_method("smoet")
    with pytest.raises(HeadstartError, match="no option 'gama'.*did you mean 'gamma'"):
        make_method("focal", gama=1)
    X, y = skewed(40, 10)
    with pytest.raises(HeadstartError, match="class_weight and imbalance"):
        fit(X, y, "weighted", class_weight="balanced")


# ------------------------------------------------------------------ metrics
def test_metrics_pr_auc_for_two_classes():
    from sklearn.metrics import average_precision_score

    y = np.array(["a", "a", "a", "b", "b"])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.3])
    m = classification_metrics(y, np.where(scores > 0.5, "b", "a"), ["a", "b"], scores, positive="b")
    assert m["pr_auc"] == pytest.approx(average_precision_score(y == "b", scores))
    assert m["positive_class"] == "b"
    assert m["per_class"]["b"]["recall"] == 0.5
    assert "pr_auc" not in classification_metrics(y, y, ["a", "b"])


def test_evaluate_reports_pr_auc_of_the_rare_training_class():
    X, y = skewed()
    labels = np.where(y == 1, "a-rare", "b-common")  # the rare class sorts first
    Xt, yt = balanced_test()
    m = fit(X, labels, "weighted").evaluate(Xt, np.where(yt == 1, "a-rare", "b-common"))
    assert m["positive_class"] == "a-rare" and 0.5 < m["pr_auc"] <= 1.0


# ------------------------------------------------------------------ fine-tuning hooks
def test_the_loop_trains_with_the_loss_and_batch_sampler_hooks(hf_text_spec):
    from headstart.backbones import load_backbone
    from headstart.strategies import make_strategy
    from headstart.train import TrainConfig, TransferModel, train
    from headstart.train.data import Rows

    texts, labels = skewed_texts(40, 4)
    codes = np.array([int(v == "pos") for v in labels])
    backbone = load_backbone(hf_text_spec)
    model = TransferModel(backbone, 2)
    rows = Rows(hs.from_arrays(texts, labels), backbone, codes, train=True, augment=False, max_length=None)
    seen: list[int] = []

    def loss_fn(logits, y):
        seen.extend(y.tolist())
        return F.cross_entropy(logits, y)

    method = make_method("balanced-sampling")
    config = TrainConfig(epochs=2, batch_size=8, precision="no", seed=0)
    train(model, make_strategy("head"), rows, None, config, loss_fn=loss_fn, batch_sampler=method.batch_sampler(None))
    assert len(seen) == 2 * 48  # 44 rows -> 6 whole batches of 8 per epoch
    assert abs(np.mean(seen) - 0.5) <= 0.05  # the 4 rare rows make half of every epoch


FINE_TUNING = ["focal", "la-loss", "sqrt-sampling", "oversample", "logit-adjust", "threshold", "auto"]


@pytest.mark.parametrize("method", FINE_TUNING)
def test_fine_tuning_with_a_method(method, hf_text_spec):
    texts, labels = skewed_texts(30, 8)
    clf = hs.TransferClassifier(
        backbone=hf_text_spec, strategy="partial", epochs=1, train_batch_size=8, val_size=0.25, imbalance=method
    ).fit(texts, labels)
    assert clf.fine_tuned_ and clf.imbalance_["method"] == (method if method != "auto" else "balanced-sampling")
    assert set(clf.predict(texts)) <= {"neg", "pos"}


def test_two_stage_fine_tuning_retrains_the_head_class_balanced(hf_text_spec):
    texts, labels = skewed_texts(30, 6)
    clf = hs.TransferClassifier(
        backbone=hf_text_spec, strategy="partial", epochs=1, train_batch_size=8, imbalance="two-stage"
    ).fit(texts, labels)
    assert "stage 2" in clf.imbalance_["note"] and clf.C_ is not None
    features = clf.transform(texts)
    refit = make_method("two-stage").retrain(features, np.array([int(v == "pos") for v in labels]), 2, {"seed": 0})
    assert torch.allclose(clf.head_.weight, refit.head_.weight, atol=1e-5)


def test_smote_with_fine_tuning_is_a_clear_error(hf_text_spec):
    texts, labels = skewed_texts(20, 5)
    with pytest.raises(HeadstartError, match="--strategy linear-probe"):
        hs.TransferClassifier(backbone=hf_text_spec, strategy="full", imbalance="smote").fit(texts, labels)


# ------------------------------------------------------------------ the command line
def test_cli_fit_with_imbalance_writes_what_it_did(tmp_path, capsys, hf_text_spec):
    texts, labels = skewed_texts(40, 10)
    data = in_csv(tmp_path / "t.csv", texts, labels)
    out = tmp_path / "run"
    code, stdout, err = cli(
        capsys, "fit", data, "-b", hf_text_spec, "-s", "linear-probe", "--imbalance", "auto", "-o", out
    )
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["params"]["imbalance"] == "auto" and "imbalance ratio 4.0" in config["imbalance"]["why"]
    assert "imbalance ratio" in err and "imbalance" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["positive_class"] == "pos" and 0 <= metrics["pr_auc"] <= 1
    loaded = hs.load_run(out)
    np.testing.assert_array_equal(loaded.predict(texts), hs.TransferClassifier.load(out).predict(texts))


def test_cli_unknown_imbalance_method(tmp_path, capsys, hf_text_spec):
    data = in_csv(tmp_path / "t.csv", *skewed_texts())
    line = assert_one_error_line(cli(capsys, "fit", data, "-b", hf_text_spec, "--imbalance", "smoet"))
    assert "unknown imbalance method 'smoet'" in line and "did you mean 'smote'" in line


def test_cli_smote_on_a_class_with_one_example(tmp_path, capsys, hf_text_spec):
    texts, labels = skewed_texts(20, 1)
    data = in_csv(tmp_path / "t.csv", texts, labels)
    evals = in_csv(tmp_path / "e.csv", *skewed_texts(4, 2, seed=3))
    args = ["fit", data, "-b", hf_text_spec, "-s", "linear-probe", "--imbalance", "smote", "--eval", evals]
    assert_one_error_line(cli(capsys, *args), "class 'pos' has 1")


def test_cli_class_in_the_held_out_rows_but_never_in_training(tmp_path, capsys, hf_text_spec):
    data = in_csv(tmp_path / "t.csv", *skewed_texts(20, 5))
    evals = in_csv(tmp_path / "e.csv", ["good film", "awful day", "the plot"], ["pos", "neg", "meh"])
    line = assert_one_error_line(cli(capsys, "fit", data, "-b", hf_text_spec, "--eval", evals))
    assert "class 'meh'" in line and "never appears in the training rows" in line


def test_cli_imbalance_option_needs_a_method(tmp_path, capsys, hf_text_spec):
    data = in_csv(tmp_path / "t.csv", *skewed_texts())
    args = ["fit", data, "-b", hf_text_spec, "--imbalance-option", "gamma=1"]
    assert_one_error_line(cli(capsys, *args), "--imbalance-option needs --imbalance")
