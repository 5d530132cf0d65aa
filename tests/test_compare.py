"""Scratch vs transfer: statistics, budgets, verdicts, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_error_line, cli, make_texts

from headstart.data import from_arrays
from headstart.errors import HeadstartError
from headstart.select.compare import (
    BudgetResult,
    compare,
    make_budgets,
    mean_ci,
    overall_verdict,
    paired_t,
    plot_learning_curves,
)


def test_mean_ci_matches_student_t():
    m, ci = mean_ci([0.8, 0.9, 1.0])
    assert m == pytest.approx(0.9)
    assert ci == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-5)  # t(0.975, 2) = 4.3027


def test_paired_t_signs_and_ties():
    t, p = paired_t([0.9, 0.8, 0.85, 0.95], [0.5, 0.45, 0.52, 0.49])
    assert t > 10 and p < 0.001
    assert paired_t([0.5, 0.6], [0.5, 0.6]) == (0.0, 1.0)
    t, p = paired_t([0.1, 0.2, 0.3], [0.2, 0.3, 0.4])  # a constant difference: certain
    assert t == -np.inf and p == 0.0


def _budget(label, verdict):
    return BudgetResult(label, 10, {"transfer": [0.5, 0.6], "scratch": [0.5, 0.6]}, {}, verdict=verdict)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (["transfer helps", "transfer helps"], "transfer helps"),
        (["negative transfer", "negative transfer"], "negative transfer"),
        (["no significant difference"] * 2, "no significant difference"),
        (["transfer helps", "no significant difference"], "transfer helps at b0; no significant difference elsewhere"),
        (["transfer helps", "negative transfer"], "mixed: transfer helps at b0, hurts at b1"),
    ],
)
def test_overall_verdict(verdicts, expected):
    assert overall_verdict([_budget(f"b{i}", v) for i, v in enumerate(verdicts)])[0] == expected


def test_budgets_are_stratified_nested_sizes_and_reproducible():
    labels = np.array(["a"] * 30 + ["b"] * 10)
    plan = make_budgets(labels, [0.25, 1.0], [0, 1])
    assert [len(r) for r in plan[0].rows] == [10, 10] and [len(r) for r in plan[1].rows] == [40, 40]
    assert sorted(labels[plan[0].rows[0]].tolist()).count("b") == 2  # class shares kept (25% of 10 rows ~ 2-3)
    assert not np.array_equal(plan[0].rows[0], plan[0].rows[1])
    assert np.array_equal(make_budgets(labels, [0.25], [0])[0].rows[0], plan[0].rows[0])
    shots = make_budgets(labels, [3], [0], per_class=True)[0]
    assert shots.label == "3/class" and sorted(labels[shots.rows[0]].tolist()) == ["a"] * 3 + ["b"] * 3
    with pytest.raises(HeadstartError, match="fraction"):
        make_budgets(labels, [1.5], [0])


def _blobs(n: int, seed: int, informative: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 6)).astype(np.float32)
    if informative:
        X[:, 0] += 3.0 * (2 * y - 1)
    return X, y


def test_compare_on_tables_runs_every_arm_and_writes_a_plot(tmp_path):
    # Tabular data: the backbone is the identity, so transfer and scratch are the same
    # features: the verdict must be "no significant difference", never a win.
    X, y = _blobs(80, 0, True)
    Xt, yt = _blobs(40, 1, True)
    result = compare(from_arrays(X, y), from_arrays(Xt, yt), "identity", budgets=[0.5, 1.0], seeds=3)
    assert result.arms == ["transfer", "scratch", "classic"]
    assert result.verdict == "no significant difference"
    for b in result.budgets:
        assert len(b.accuracy["transfer"]) == 3 and b.summary("transfer")[0] > 0.9
    assert result.time_to_target["transfer"]["rows"] == 40
    png = plot_learning_curves(result, tmp_path / "lc.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    json.dumps(result.to_dict())


def test_compare_text_pretrained_vs_random(hf_text_spec):
    texts, labels = make_texts(60, seed=3)
    test_texts, test_labels = make_texts(30, seed=4)
    train, test = from_arrays(texts, labels), from_arrays(test_texts, test_labels)
    result = compare(train, test, hf_text_spec, budgets=[1.0], seeds=2, mitigations=["layers"])
    assert result.arms[:2] == ["transfer", "scratch"] and result.arms[-1] == "classic"
    assert any(a.startswith("remedy: block") for a in result.arms)
    assert result.notes and "LogME" in result.notes[0]


def test_compare_command(tmp_path, capsys, hf_text_spec):
    texts, labels = make_texts(60, seed=5)
    import pandas as pd

    path = tmp_path / "d.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    code, out, err = cli(
        capsys, "compare", path, "-b", hf_text_spec, "--budgets", "0.5,1", "--seeds", "2", "-o", tmp_path / "run"
    )
    assert code == 0, err
    assert "verdict:" in out and "transfer - scratch" in out and "Δ" in out
    saved = json.loads((tmp_path / "run" / "compare.json").read_text())
    assert [b["label"] for b in saved["budgets"]] == ["50%", "100%"]
    assert (tmp_path / "run" / "learning_curve.png").is_file()


def test_compare_errors_are_one_line(tmp_path, capsys, hf_text_spec, text_csv):
    assert_one_error_line(cli(capsys, "compare", text_csv, "-b", hf_text_spec, "--budgets", "0,x"), "--budgets")
    assert_one_error_line(cli(capsys, "compare", text_csv, "-b", hf_text_spec, "--budgets", "2"), "(0, 1]")
    assert_one_error_line(cli(capsys, "compare", text_csv, "-b", hf_text_spec, "--mitigate", "prayer"), "layers, l2sp")
    assert_one_error_line(cli(capsys, "compare", text_csv, "-b", hf_text_spec, "--mitigate", "l2sp"), "fine-tun")
    assert_one_error_line(cli(capsys, "compare", text_csv, "-s", "linear-prob"), "linear-probe")


def test_compare_fine_tuning_arms_with_the_l2sp_remedy(hf_text_spec):
    texts, labels = make_texts(40, seed=6)
    test_texts, test_labels = make_texts(20, seed=7)
    result = compare(
        from_arrays(texts, labels),
        from_arrays(test_texts, test_labels),
        hf_text_spec,
        budgets=[1.0],
        seeds=2,
        strategy="full",
        classic=False,
        mitigations=["l2sp"],
        fit_options={"epochs": 1, "lr": 1e-3, "val_size": 0.0},
    )
    assert result.arms == ["transfer", "scratch", "remedy: l2sp"]
    accs = result.budgets[0].accuracy
    assert all(len(v) == 2 and all(0.0 <= a <= 1.0 for a in v) for v in accs.values())
    assert result.budgets[0].seconds["remedy: l2sp"][0] > 0


def _skewed(n_major: int, n_minor: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(0.0, 1.0, (n_major, 4)), rng.normal(1.2, 1.0, (n_minor, 4))]).astype("float32")
    return X, np.array(["common"] * n_major + ["rare"] * n_minor)


def test_compare_with_an_imbalance_method_scores_every_arm_by_balanced_accuracy(tmp_path):
    X, y = _skewed(300, 12, 0)
    Xt, yt = _skewed(200, 200, 1)  # scored where the rare class counts as much as the common one
    train, test = from_arrays(X, y), from_arrays(Xt, yt)
    plain = compare(train, test, "identity", budgets=[1.0], seeds=2, metric="balanced_accuracy")
    fixed = compare(train, test, "identity", budgets=[1.0], seeds=2, metric="balanced_accuracy", imbalance="weighted")
    assert fixed.metric == "balanced_accuracy" and fixed.imbalance == "weighted"
    for arm in ("transfer", "classic"):  # the classic baseline trains with the method too
        assert fixed.budgets[0].summary(arm)[0] > plain.budgets[0].summary(arm)[0] + 0.05
    saved = fixed.to_dict()
    assert saved["metric"] == "balanced_accuracy" and saved["imbalance"] == "weighted"
    png = plot_learning_curves(fixed, tmp_path / "lc.png")
    assert png.stat().st_size > 5000
    with pytest.raises(HeadstartError, match="balanced_accuracy"):
        compare(train, test, "identity", budgets=[1.0], seeds=2, metric="f1")
    with pytest.raises(HeadstartError, match="two classes|2 classes|threshold"):
        Xm, ym = np.vstack([X, X[:30] + 3]), np.concatenate([y, ["third"] * 30])
        compare(from_arrays(Xm, ym), from_arrays(Xm, ym), "identity", budgets=[1.0], seeds=2, imbalance="threshold")


def test_compare_command_with_imbalance(tmp_path, capsys):
    import pandas as pd

    X, y = _skewed(200, 10, 2)
    path = tmp_path / "d.csv"
    pd.DataFrame({**{f"f{i}": X[:, i] for i in range(4)}, "label": y}).to_csv(path, index=False)
    args = ["compare", path, "-b", "identity", "--budgets", "1", "--seeds", "2", "--test-size", "0.5"]
    code, out, err = cli(capsys, *args, "--imbalance", "auto", "--metric", "balanced_accuracy", "-o", tmp_path / "r")
    assert code == 0, err
    assert "balanced accuracy" in out and "imbalance auto" in out
    assert json.loads((tmp_path / "r" / "compare.json").read_text())["metric"] == "balanced_accuracy"
    assert_one_error_line(cli(capsys, *args, "--imbalance", "magic"), "magic")
    assert_one_error_line(cli(capsys, *args, "--imbalance-option", "gamma=1"), "--imbalance")
    assert_one_error_line(cli(capsys, *args, "--metric", "f1"), "--metric")
