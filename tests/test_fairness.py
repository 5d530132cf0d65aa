"""headstart.fairness: the per-group audit with bootstrap CIs, the counterfactual
audit, before vs after, debiasing through the training loop, and the CLI.

Fast: synthetic predictions for the audit; a linear head on synthetic
features (the ``identity`` backbone, through ``headstart.train.train``) for
the debiasing effect; the tiny BERT of conftest for the text paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import assert_one_error_line, cli, make_texts

import headstart as hs
from headstart.errors import HeadstartError
from headstart.fairness import (
    GroupThreshold,
    audit_before_after,
    audit_predictions,
    batch_gap,
    counterfactual_audit,
    group_cells,
    make_method,
    split_targets,
    train_head,
    with_groups,
)
from headstart.fairness.bootstrap import bootstrap_confusions, confusions, rates
from headstart.train.grl import GradientReversal, dann_schedule, reverse_gradient


# ------------------------------------------------------------------ data
def biased_predictions(n: int = 600, shift: float = 0.25, seed: int = 0):
    """Labels independent of the group; predictions that select group 'b' ``shift`` more often."""
    rng = np.random.default_rng(seed)
    g = np.where(rng.random(n) < 0.5, "a", "b")
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    flip = (g == "b") & (pred == 0) & (rng.random(n) < 2 * shift)
    pred[flip] = 1
    return y, pred, g


def shortcut_features(n: int, correlated: bool, seed: int):
    """x0: the label, noisily; x1: the group, cleanly. Training rows: group and label agree 90% of the
    time (a shortcut); test rows: independent."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    g = np.where(rng.random(n) < 0.9, y, 1 - y) if correlated else rng.integers(0, 2, n)
    X = np.stack([y + rng.normal(0, 0.8, n), g + rng.normal(0, 0.1, n)], 1).astype(np.float32)
    return X, y, g


def fit_head(X, y, g, method: str | None, seed: int = 0, **options):
    """A linear head on fixed features through the one training loop, with a debiasing method's hooks."""
    head = train_head(X, y, g, method, options, epochs=25, lr=0.05, seed=seed, progress=False)
    return torch.nn.Sequential(head)


def dp_gap(model, X, g) -> float:
    with torch.no_grad():
        pred = model(torch.from_numpy(X)).argmax(1).numpy()
    return abs(pred[g == 1].mean() - pred[g == 0].mean())


def accuracy(model, X, y) -> float:
    with torch.no_grad():
        return float((model(torch.from_numpy(X)).argmax(1).numpy() == y).mean())


# ------------------------------------------------------------------ the reversal layer
def test_grl_is_the_identity_forward_and_reverses_gradients_by_its_coefficient():
    x = torch.randn(4, 3, requires_grad=True)
    layer = GradientReversal(coeff=0.3)
    out = layer(x)
    assert torch.equal(out, x)
    (out * 2.0).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, -0.6))
    layer.set_coeff(2.0)
    x.grad = None
    layer(x).sum().backward()
    assert torch.allclose(x.grad, torch.full_like(x, -2.0))
    y = torch.ones(2, requires_grad=True)
    reverse_gradient(y, 0.0).sum().backward()
    assert torch.equal(y.grad, torch.zeros(2))
    assert dann_schedule(0.0) == 0.0 and 0.99 < dann_schedule(1.0) < 1.0


# ------------------------------------------------------------------ the audit
def test_a_constructed_gap_is_detected_with_a_ci_excluding_zero():
    y, pred, g = biased_predictions(shift=0.25)
    r = audit_predictions(y, pred, {"g": g}, ["0", "1"], resamples=500)
    dp = r["groups"]["g"]["gaps"]["demographic_parity_difference"]
    assert dp["significant"] and dp["ci"][0] > 0 and "real gap" in dp["reading"]
    assert dp["between"] == ["b", "a"] and dp["value"] > 0.15
    assert r["groups"]["g"]["gaps"]["demographic_parity_ratio"]["significant"]


def test_no_gap_gives_a_ci_that_includes_zero():
    y, pred, g = biased_predictions(shift=0.0, seed=3)
    r = audit_predictions(y, pred, {"g": g}, ["0", "1"], resamples=500)
    for key in ("demographic_parity_difference", "equalized_odds_difference", "accuracy_difference"):
        gap = r["groups"]["g"]["gaps"][key]
        assert gap["ci"][0] <= 0 <= gap["ci"][1] and not gap["significant"], (key, gap)
        assert "within noise" in gap["reading"]
    ratio = r["groups"]["g"]["gaps"]["demographic_parity_ratio"]
    assert ratio["ci"][0] <= 1 <= ratio["ci"][1]


def test_point_estimates_match_fairlearn_and_the_bootstrap_keeps_group_sizes():
    from fairlearn.metrics import demographic_parity_difference, demographic_parity_ratio, equalized_odds_difference

    y, pred, g = biased_predictions(n=300, shift=0.15, seed=1)
    gaps = audit_predictions(y, pred, {"g": g}, ["0", "1"], resamples=200)["groups"]["g"]["gaps"]
    assert gaps["demographic_parity_difference"]["value"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=g)
    )
    assert gaps["demographic_parity_ratio"]["value"] == pytest.approx(
        demographic_parity_ratio(y, pred, sensitive_features=g)
    )
    assert gaps["equalized_odds_difference"]["value"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=g)
    )
    codes = (g == "b").astype(int)
    boot = bootstrap_confusions(y, [pred, 1 - pred], codes, 2, 2, resamples=50, seed=0)
    sizes = np.bincount(codes)
    for conf in boot:
        assert (conf.sum(axis=(2, 3)) == sizes).all()  # stratified: every group keeps its size
    # Paired: the true-class margins of both models are the same resampled rows.
    assert (boot[0].sum(-1) == boot[1].sum(-1)).all()
    point = rates(confusions(y, [pred], codes, 2, 2)[0])
    assert point["accuracy"][0] == pytest.approx(np.mean(y[codes == 0] == pred[codes == 0]))


def test_a_group_under_30_rows_is_flagged_unreliable_not_printed_bare():
    y, pred, g = biased_predictions(n=300)
    g = g.astype(object)
    g[:12] = "tiny"
    r = audit_predictions(y, pred, {"g": g}, ["0", "1"], resamples=200)
    rows = {row["group"]: row for row in r["groups"]["g"]["by_group"]}
    assert "only 12 rows" in rows["tiny"]["unreliable"] and rows["a"]["unreliable"] is None
    assert r["groups"]["g"]["unreliable_groups"] == ["tiny"]
    flagged = [gap for gap in r["groups"]["g"]["gaps"].values() if "tiny" in str(gap.get("between", gap.get("group")))]
    assert flagged and all("unreliable" in gap for gap in flagged)


def test_multiclass_audit_is_one_vs_rest_and_unlabelled_data_gives_parity_only():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    pred = np.where(rng.random(400) < 0.7, y, rng.integers(0, 3, 400))
    g = np.repeat(["a", "b"], 200)
    r = audit_predictions(y, pred, {"g": g, "h": rng.choice(["x", "y"], 400)}, ["p", "q", "r"], resamples=100)
    assert set(r["groups"]) == {"g", "h", "g x h"}
    assert set(r["groups"]["g"]["by_group"][0]["selection_rate"]) == {"p", "q", "r"}
    assert r["groups"]["g"]["gaps"]["demographic_parity_difference"]["on"].startswith("selection rate of '")
    r = audit_predictions(None, pred, {"g": g}, ["p", "q", "r"], resamples=100)
    assert set(r["groups"]["g"]["gaps"]) == {"demographic_parity_difference", "demographic_parity_ratio"}
    assert "accuracy" not in r["groups"]["g"]["by_group"][0]


def test_blank_groups_are_left_out_and_counted():
    y, pred, g = biased_predictions(n=200)
    g = g.astype(object)
    g[:20] = ""
    r = audit_predictions(y, pred, {"g": g}, ["0", "1"], resamples=100)
    assert r["groups"]["g"]["missing_rows"] == 20 and r["groups"]["g"]["rows"] == 180


# ------------------------------------------------------------------ counterfactual
def test_counterfactual_pairs_detect_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    sets = np.repeat(np.arange(60), 4).astype(str)
    groups = np.tile(["f", "f", "m", "m"], 60)
    base = np.repeat(rng.random(60), 4) + rng.normal(0, 0.01, 240)
    shifted = counterfactual_audit(base + 0.03 * (groups == "f"), groups, sets, "gender")
    pair = shifted["pairs"][0]
    assert pair["a"] == "f" and pair["sets"] == 60 and pair["significant"]
    assert pair["ci"][0] > 0 and pair["mean"] == pytest.approx(0.03, abs=0.01)
    assert pair["t_test"]["p_value"] < 0.05 and pair["wilcoxon"]["p_value"] < 0.05
    fair = counterfactual_audit(base, groups, sets, "gender")["pairs"][0]
    assert not fair["significant"] and fair["ci"][0] < 0 < fair["ci"][1]
    few = counterfactual_audit(base[:20], groups[:20], sets[:20], "gender")["pairs"][0]
    assert "unreliable" in few


# ------------------------------------------------------------------ before vs after
def test_before_after_says_whether_fine_tuning_amplified_or_reduced_a_gap():
    y, before, g = biased_predictions(shift=0.25)
    _, after, _ = biased_predictions(shift=0.0)
    r = audit_before_after(y, before, after, {"g": g}, ["0", "1"], resamples=300)
    assert r["change"]["g"]["demographic_parity_difference"]["verdict"] == "reduced"
    back = audit_before_after(y, after, before, {"g": g}, ["0", "1"], resamples=300)
    assert back["change"]["g"]["demographic_parity_difference"]["verdict"] == "amplified"
    same = audit_before_after(y, before, before, {"g": g}, ["0", "1"], resamples=100)
    assert same["change"]["g"]["demographic_parity_difference"]["verdict"] == "no detectable change"
    # A gap of about the same size on the other side: the size barely changed, the signed difference did.
    rng = np.random.default_rng(5)
    base, coin = np.where(rng.random(len(y)) < 0.8, y, 1 - y), rng.random(len(y)) < 0.5
    to_b, to_a = base.copy(), base.copy()
    to_b[(g == "b") & (base == 0) & coin] = 1
    to_a[(g == "a") & (base == 0) & coin] = 1
    turned = audit_before_after(y, to_b, to_a, {"g": g}, ["0", "1"], resamples=300)["change"]["g"]
    signed = turned["selection_rate_difference"]
    assert signed["difference"] == "a - b" and signed["before"] < 0 < signed["after"]
    assert signed["reversed"] and signed["verdict"] == "moved" and signed["ci"][0] > 0
    assert not same["change"]["g"]["selection_rate_difference"]["reversed"]


# ------------------------------------------------------------------ mitigation pieces
def test_targets_carry_groups_and_split_back():
    t = with_groups(np.array([0, 1, 1]), np.array([2, 0, 1]))
    assert t.y.tolist() == [0, 1, 1] and t.group.tolist() == [2, 0, 1] and t.domain is None
    y, g = split_targets(t)
    assert y.tolist() == [0, 1, 1] and g.tolist() == [2, 0, 1]
    assert split_targets(torch.tensor([1, 0]))[1] is None
    with pytest.raises(HeadstartError, match="3 class codes but 2 group codes"):
        with_groups(np.array([0, 1, 1]), np.array([2, 0]))


def test_batch_gap_is_zero_when_fair_and_its_gradient_closes_the_gap():
    y = torch.tensor([1, 0, 1, 0])
    g = torch.tensor([0, 0, 1, 1])
    same = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    for target in ("demographic_parity", "equalized_odds"):
        assert float(batch_gap(same, y, g, 2, target)) == pytest.approx(0.0, abs=1e-6)
    logits = torch.tensor([[0.0, 2.0], [0.0, 2.0], [0.0, -2.0], [0.0, -2.0]], requires_grad=True)
    gap = batch_gap(logits, y, g, 2, "demographic_parity")
    gap.backward()
    stepped = (logits - 0.5 * logits.grad).detach()
    assert batch_gap(stepped, y, g, 2, "demographic_parity").item() < gap.item()


def test_group_sampling_balances_every_group_by_class_cell():
    y = np.array([1] * 90 + [0] * 10 + [0] * 90 + [1] * 10)
    g = np.repeat([0, 1], 100)
    make = make_method("group-sampling").batch_sampler(y, g)

    class FakeRows:
        lengths = None

    sampler = make(FakeRows(), 20, 0, 1)
    drawn = np.concatenate(list(sampler))
    cells = np.bincount(group_cells(y, g, 2, "group_label")[drawn], minlength=4)
    assert cells.min() >= 45 and cells.max() <= 55  # 200 rows, 4 cells: 50 each


def test_threshold_optimizer_equalizes_true_positive_rates_across_groups():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    g = np.repeat(["a", "b"], 1000)
    s = np.clip(0.4 * y + 0.25 * (g == "a") + rng.normal(0.2, 0.15, 2000), 0, 1)
    plain = (s > 0.5).astype(int)

    def tpr_gap(pred):
        return abs(pred[(g == "a") & (y == 1)].mean() - pred[(g == "b") & (y == 1)].mean())

    post = GroupThreshold("equalized_odds").fit(s, y, g)
    assert tpr_gap(post.predict(s, g)) < 0.5 * tpr_gap(plain)
    with pytest.raises(HeadstartError, match="was not seen"):
        post.predict(s[:3], np.array(["a", "b", "c"]))


def test_unknown_method_option_and_target_are_clear_errors():
    with pytest.raises(HeadstartError, match="unknown debiasing method 'adversary'; did you mean 'adversarial'"):
        make_method("adversary")
    with pytest.raises(HeadstartError, match="has no option 'coef'"):
        make_method("adversarial", coef=1.0)
    from headstart.strategies import make_strategy

    with pytest.raises(HeadstartError, match="target must be"):
        make_method("penalty", target="parity").check(make_strategy("full"))
    with pytest.raises(HeadstartError, match="on=features needs a backbone that trains"):
        make_method("adversarial", on="features").check(make_strategy("head"))


# ------------------------------------------------------------------ debiasing works (through the loop)
@pytest.fixture(scope="module")
def shortcut():
    """Training rows with a group shortcut, test rows without, and the plain head that learnt the shortcut."""
    X, y, g = shortcut_features(800, correlated=True, seed=0)
    Xt, yt, gt = shortcut_features(2000, correlated=False, seed=1)
    return X, y, g, Xt, yt, gt, fit_head(X, y, g, None)


@pytest.mark.parametrize("method", ["adversarial", "penalty", "group-sampling"])
def test_debiasing_shrinks_a_constructed_shortcut_gap_by_half(method, shortcut):
    X, y, g, Xt, yt, gt, plain = shortcut
    fair = fit_head(X, y, g, method)
    before, after = dp_gap(plain, Xt, gt), dp_gap(fair, Xt, gt)
    assert before > 0.3, before  # the shortcut was learnt
    assert after < 0.5 * before, (before, after)
    assert accuracy(fair, Xt, yt) > accuracy(plain, Xt, yt) - 0.02


def test_audit_classifier_on_a_tabular_probe_detects_its_shortcut_and_refuses_unseen_groups():
    from headstart.fairness import audit_classifier

    X, y, g = shortcut_features(600, correlated=True, seed=0)
    Xt, yt, gt = shortcut_features(600, correlated=False, seed=1)
    names = np.where(g == 1, "b", "a")
    clf = hs.TransferClassifier(backbone="identity", strategy="linear-probe").fit(hs.from_arrays(X, y, group=names))
    assert clf.groups_ == {"group": ["a", "b"]}
    test = hs.from_arrays(Xt, yt)
    r = audit_classifier(clf, test, {"group": np.where(gt == 1, "b", "a")}, resamples=300)
    gap = r["groups"]["group"]["gaps"]["demographic_parity_difference"]
    assert gap["significant"] and gap["between"] == ["b", "a"]
    with pytest.raises(HeadstartError, match="'c' of column 'group'.*never appears in the training rows"):
        audit_classifier(clf, test, {"group": np.where(gt == 1, "b", "c")})


# ------------------------------------------------------------------ TransferClassifier and the CLI
def grouped_texts(n: int = 48, seed: int = 0):
    texts, labels = make_texts(n, seed)
    groups = np.where(np.arange(n) % 4 < 2, "x", "y")
    return texts, labels, groups


@pytest.mark.parametrize(
    ("method", "strategy"), [("adversarial", "full"), ("adversarial", "head"), ("penalty", "partial")]
)
def test_classifier_fine_tunes_with_debiasing_and_records_it(method, strategy, hf_text_spec, tmp_path):
    texts, labels, groups = grouped_texts()
    data = hs.from_arrays(texts, labels, group=groups)
    clf = hs.TransferClassifier(
        backbone=hf_text_spec, strategy=strategy, epochs=1, train_batch_size=8, debias=method
    ).fit(data, run_dir=tmp_path / "ckpt")
    assert clf.fairness_["method"] == method and clf.fairness_["groups"] == ["x", "y"]
    assert clf.groups_ == {"group": ["x", "y"]}
    assert set(clf.predict(texts)) <= {"neg", "pos"}
    if method == "adversarial":
        assert ("logits" if strategy == "head" else "features") in clf.fairness_["what"]
    clf.save(tmp_path / "run")
    loaded = hs.load_run(tmp_path / "run")
    assert loaded.fairness_["method"] == method and loaded.groups_ == {"group": ["x", "y"]}
    np.testing.assert_allclose(loaded.predict_proba(texts), clf.predict_proba(texts), atol=1e-5)


def test_classifier_debias_needs_groups_and_a_fine_tuning_strategy(hf_text_spec):
    texts, labels, groups = grouped_texts(16)
    with pytest.raises(HeadstartError, match="needs each training row's group"):
        hs.TransferClassifier(backbone=hf_text_spec, strategy="head", debias="penalty").fit(texts, labels)
    with pytest.raises(HeadstartError, match="trains through the fine-tuning loop"):
        hs.TransferClassifier(backbone=hf_text_spec, strategy="linear-probe", debias="penalty").fit(
            hs.from_arrays(texts, labels, group=groups)
        )


def table_csv(path: Path, texts, labels, **columns) -> Path:
    pd.DataFrame({"text": texts, "label": labels, **columns}).to_csv(path, index=False)
    return path


def test_cli_audit_writes_audit_json_and_the_report_shows_it(tmp_path, capsys, hf_text_spec):
    texts, labels, groups = grouped_texts(60)
    region = np.where(np.arange(60) < 50, "north", "south")  # 10 rows: unreliable
    train = table_csv(tmp_path / "train.csv", texts, labels)
    test = table_csv(tmp_path / "test.csv", texts, labels, g=groups, region=region)
    run = tmp_path / "run"
    assert cli(capsys, "fit", train, "-b", hf_text_spec, "-s", "linear-probe", "-o", run)[0] == 0
    code, out, err = cli(capsys, "audit", run, test, "--group", "g", "--group", "region", "--resamples", "200")
    assert code == 0, err
    result = json.loads((run / "audit.json").read_text())
    assert set(result["groups"]) == {"g", "region", "g x region"}
    assert result["groups"]["region"]["unreliable_groups"] == ["south"]
    flat = " ".join(out.split())  # rich wraps tables at the captured terminal's width
    assert "unreliable: 'south' has only 10 rows (< 30)" in flat and "demographic-parity difference" in flat
    from headstart.report import build_report

    html, md = build_report(run)
    page = html.read_text()
    assert "Bias audit" in page and "unreliable" in page
    assert "demographic-parity difference" in md.read_text()


def test_cli_audit_before_after_and_counterfactual_pairs(tmp_path, capsys, hf_text_spec):
    people = {"she": "f", "he": "m", "my sister": "f", "my brother": "m"}
    rows = []
    for template, word in [(tp, w) for tp in ("{} feels {}", "{} is {}") for w in ("good", "bad")] + [("{} is {}", "")]:
        for person, gender in people.items():
            rows.append({"Sentence": template.format(person, word), "Template": template, "Word": word, "G": gender})
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "eec.csv", index=False)
    texts, labels = make_texts(40, 2)
    train = table_csv(tmp_path / "train.csv", texts, labels)
    probe, tuned = tmp_path / "probe", tmp_path / "tuned"
    assert cli(capsys, "fit", train, "-b", hf_text_spec, "-s", "linear-probe", "-o", probe)[0] == 0
    assert cli(capsys, "fit", train, "-b", hf_text_spec, "-s", "full", "--epochs", "1", "-o", tuned)[0] == 0
    code, out, err = cli(
        capsys, "audit", tuned, tmp_path / "eec.csv", "--text-col", "Sentence", "--group", "G",
        "--pair-on", "Template", "--pair-on", "Word", "--before", probe, "--resamples", "100",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads((tuned / "audit.json").read_text())
    assert not result["labelled"] and result["before"]["model"]["strategy"] == "linear-probe"
    assert set(result["change"]["G"]) == {
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "selection_rate_difference",
    }
    pair = result["counterfactual"]["by_class"]["pos"]["G"]["pairs"][0]
    assert pair["sets"] == 5 and {"t_test", "wilcoxon", "ci"} <= set(pair)  # a blank word is a set of its own
    flat = " ".join(out.split())
    assert "counterfactual pairs by G" in flat and "before -> after" in flat


def test_cli_missing_group_column_is_one_clear_line(tmp_path, capsys, hf_text_spec):
    texts, labels, groups = grouped_texts(40)
    data = table_csv(tmp_path / "d.csv", texts, labels, gender=groups)
    run = tmp_path / "run"
    assert cli(capsys, "fit", data, "-b", hf_text_spec, "-s", "linear-probe", "-o", run)[0] == 0
    assert_one_error_line(cli(capsys, "audit", run, data, "--group", "gendr"), "'gendr'", "did you mean 'gender'")
    assert_one_error_line(
        cli(capsys, "fit", data, "-b", hf_text_spec, "--group-col", "sex", "-o", tmp_path / "r2"), "sex"
    )
    assert_one_error_line(
        cli(capsys, "fit", data, "-b", hf_text_spec, "-s", "head", "--debias", "penalty", "-o", tmp_path / "r3"),
        "--group-col",
    )


def test_cli_a_group_only_in_the_test_rows_is_one_clear_line(tmp_path, capsys, hf_text_spec):
    texts, labels, groups = grouped_texts(40)
    train = table_csv(tmp_path / "train.csv", texts, labels, g=groups)
    test = table_csv(tmp_path / "test.csv", texts, labels, g=np.where(groups == "y", "z", groups))
    run = tmp_path / "run"
    line = assert_one_error_line(
        cli(capsys, "fit", train, "-b", hf_text_spec, "-s", "linear-probe", "--group-col", "g", "--eval", test,
            "-o", run),
        "'z'", "never appears in the training rows",
    )  # fmt: skip
    assert "training groups: x, y" in line
    assert not run.exists()  # refused before any training
    code, out, err = cli(capsys, "fit", train, "-b", hf_text_spec, "-s", "linear-probe", "--group-col", "g", "-o", run)
    assert code == 0, err
    assert (run / "audit.json").is_file() and "groups by g" in " ".join(out.split())  # fit audits its held-out rows
    assert_one_error_line(cli(capsys, "audit", run, test, "--group", "g"), "'z'", "never appears in the training rows")


def test_cli_fit_with_debias_records_what_it_did_and_audits_the_held_out_rows(tmp_path, capsys, hf_text_spec):
    texts, labels, groups = grouped_texts(60)
    data = table_csv(tmp_path / "d.csv", texts, labels, g=groups)
    run = tmp_path / "run"
    args = ("fit", data, "-b", hf_text_spec, "-s", "head", "--epochs", "1", "--group-col", "g")
    code, out, err = cli(capsys, *args, "--debias", "adversarial", "--debias-option", "coeff=0.5", "-o", run)
    assert code == 0, err
    config = json.loads((run / "config.json").read_text())
    assert config["fairness"]["method"] == "adversarial" and config["fairness"]["options"]["coeff"] == 0.5
    assert config["groups"] == {"g": ["x", "y"]} and "debias" in out
    assert json.loads((run / "audit.json").read_text())["model"]["debias"]["method"] == "adversarial"
    assert_one_error_line(cli(capsys, *args, "--debias", "adversarial", "--debias-option", "coef=1"), "coef")
    assert_one_error_line(cli(capsys, *args, "--debias-option", "coeff=1"), "--debias-option needs --debias")
