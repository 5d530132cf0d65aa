"""Batch targets: ``Targets(y, group, domain)`` through Rows, the DataLoader, a
device move and the training loop's loss hook."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from headstart.backbones.embedded import IdentityBackbone
from headstart.data import from_arrays
from headstart.train.data import Rows, loader
from headstart.train.targets import UNLABELLED, OnClasses, Targets, TargetsLoss, as_targets, targets_loss


def test_targets_index_stack_and_move():
    t = Targets.of([2, 0, UNLABELLED, 1], group=np.array([0, 1, 1, 0]))
    assert t.y.dtype == torch.long and t.domain is None and len(t) == 4
    assert t.labelled.tolist() == [True, True, False, True]
    row = t[1]
    assert row.y.ndim == 0 and int(row.y) == 0 and int(row.group) == 1
    batch = Targets.stack([t[i] for i in (3, 0)])
    assert batch.y.tolist() == [1, 2] and batch.group.tolist() == [0, 0] and batch.domain is None
    assert t[torch.tensor([0, 2])].y.tolist() == [2, UNLABELLED]
    moved = t.to("cpu", non_blocking=True)
    assert torch.equal(moved.y, t.y) and torch.equal(moved.group, t.group)
    assert as_targets(torch.tensor([1, 0])).y.tolist() == [1, 0] and as_targets(t) is t


def test_targets_refuse_codes_that_do_not_line_up():
    with pytest.raises(ValueError, match="group codes have shape"):
        Targets.of([0, 1, 1], group=[0, 1])
    with pytest.raises(ValueError, match="one per row"):
        Targets.of(np.zeros((3, 2)))  # the old packed (N, 2) form is not class codes


def test_accelerate_moves_targets_with_the_batch():
    from accelerate.utils import send_to_device

    batch = (torch.zeros(2, 3), Targets.of([0, 1], domain=[0, 1]))
    inputs, targets = send_to_device(batch, torch.device("cpu"))
    assert isinstance(targets, Targets) and targets.domain.tolist() == [0, 1]


def test_rows_yield_targets_batches_from_codes_or_targets():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    data = from_arrays(x, np.arange(6) % 2)
    backbone = IdentityBackbone(2)
    plain = Rows(data, backbone, np.arange(6) % 2, train=True, augment=False, max_length=None)
    assert plain.codes.tolist() == [0, 1, 0, 1, 0, 1]
    grouped = Rows(data, backbone, Targets.of(np.arange(6) % 2, group=np.arange(6) // 3), True, False, None)
    for rows, has_group in ((plain, False), (grouped, True)):
        dl, _ = loader(rows, batch_size=4, seed=0, shuffle=False, num_workers=0)
        (inputs, targets), (_, last) = list(dl)
        assert torch.equal(inputs, torch.from_numpy(x[:4]))
        assert targets.y.tolist() == [0, 1, 0, 1] and len(last) == 2
        assert (targets.group is not None) == has_group
        if has_group:
            assert targets.group.tolist() == [0, 0, 0, 1]


def test_the_loop_hands_a_targets_loss_the_targets_and_other_losses_the_class_codes():
    logits = torch.randn(4, 3)
    t = Targets.of([0, 2, 1, 2], group=[0, 1, 0, 1])
    # Default: cross-entropy on the class codes, the same number as before Targets existed.
    assert torch.equal(targets_loss(None)(logits, t), F.cross_entropy(logits, t.y))
    seen = []

    def on_codes(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append(y)
        return z.sum()

    assert isinstance(targets_loss(on_codes), OnClasses)
    targets_loss(on_codes)(logits, t)
    assert torch.equal(seen[-1], t.y)
    whole = TargetsLoss(lambda z, targets: z.sum() * 0 + targets.group.sum())
    assert targets_loss(whole) is whole and float(whole(logits, t)) == 2.0


def test_training_runs_with_a_targets_loss(tmp_path):
    from headstart.strategies import make_strategy
    from headstart.train import TrainConfig, TransferModel, train

    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    backbone = IdentityBackbone(3)
    torch.manual_seed(0)
    model = TransferModel(backbone, 2)
    rows = Rows(from_arrays(x, y), backbone, Targets.of(y, group=np.arange(24) % 3), True, False, None)
    seen: list[Targets] = []

    def loss(logits: torch.Tensor, targets: Targets) -> torch.Tensor:
        seen.append(targets)
        return F.cross_entropy(logits, targets.y)

    config = TrainConfig(epochs=1, lr=0.1, head_lr=0.1, batch_size=8, precision="no", seed=0)
    train(model, make_strategy("head"), rows, None, config, progress=False, loss_fn=TargetsLoss(loss))
    assert len(seen) == 3 and all(isinstance(t, Targets) and t.group is not None for t in seen)
    assert sorted(torch.cat([t.y for t in seen]).tolist()) == sorted(y.tolist())


# ------------------------------------------------------------------ task types (issue 18)
# Regression and multi-label targets: detection, the estimator, the loop's hooks, the run
# folder, the commands, and the commands that refuse them.

import json  # noqa: E402

import pandas as pd  # noqa: E402
from conftest import assert_one_error_line, cli, make_texts  # noqa: E402

from headstart import TransferClassifier  # noqa: E402
from headstart.data import Dataset, load  # noqa: E402
from headstart.data.targets import as_task, detect_task  # noqa: E402
from headstart.errors import HeadstartError  # noqa: E402


def _regression(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    return X, 50 + 8 * X[:, 0] - 4 * X[:, 1] + rng.normal(size=n)


def _multilabel(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0.8, X[:, 2] + X[:, 3] > 0], axis=1).astype(np.int64)
    return X, Y


@pytest.mark.parametrize(
    "labels, task",
    [
        (np.array([0.5, 1.25, 3.0, 2.75, 9.5]), "regression"),  # fractions
        (np.arange(18, 90), "regression"),  # ages: whole numbers, many values, not 0..K-1
        (np.arange(100), "classification"),  # class codes 0..99
        (np.arange(1, 31), "classification"),  # class codes 1..K
        (np.array([1, 5, 3, 5, 1]), "classification"),  # a few numbers
        (np.array([0.0, 0.5, 0.0, 0.5]), "classification"),  # two numbers
        (np.array(["cat", "dog", "cat"]), "classification"),
        (np.array(["joy|female", "anger", "fear|male"]), "multilabel"),
        (np.array(["a;b", "b"]), "multilabel"),
        (np.array(["New York, NY", "Paris"]), "classification"),  # a comma is not a tag separator unless forced
        (np.zeros((4, 3), dtype=int), "multilabel"),
    ],
)
def test_the_task_is_detected_from_the_label_column(labels, task):
    assert detect_task(labels)[0] == task


def test_labels_in_the_form_of_their_task():
    d = Dataset(inputs=["a", "b", "c"], labels=np.array(["x|y", "y", "z|x"]), modality="text")
    ml = as_task(d)
    assert ml.task == "multilabel" and ml.label_names == ["x", "y", "z"]
    assert ml.labels.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]] and ml.classes == ["x", "y", "z"]
    assert as_task(d, names=["y", "x", "z"]).labels.tolist()[0] == [1, 1, 0]
    with pytest.raises(HeadstartError, match="row 3 of <memory>: label 'z' was not seen in training"):
        as_task(d, "multilabel", names=["x", "y"])
    forced = as_task(Dataset(inputs=["a", "b"], labels=np.array(["p,q", "q"]), modality="text"), "multilabel")
    assert forced.label_names == ["p", "q"]
    reg = as_task(Dataset(inputs=["a", "b", "c"], labels=np.array([1, 2, 3]), modality="text"), "regression")
    assert reg.labels.dtype == np.float64 and reg.task == "regression" and reg.class_counts() == {"label": 3}
    with pytest.raises(HeadstartError, match="row 1 of <memory>: label 'x|y' in column 'label' is not a number"):
        as_task(d, "regression")
    with pytest.raises(HeadstartError, match="several labels per row"):
        as_task(ml, "classification")
    with pytest.raises(HeadstartError, match="--task must be"):
        as_task(d, "ranking")
    # splits of numbers and label sets are random (nothing to stratify by), and seeded
    tr, te = as_task(Dataset(inputs=list("abcdefghij"), labels=np.arange(10) * 1.5, modality="text")).train_test_split(
        0.3, seed=1
    )
    assert len(te) == 3 and len(tr) == 7


def test_label_columns_lists_and_tag_lists_load_as_a_label_matrix(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f"], "joy": [1, 0, 1], "male": [0, 0, 1]}).to_csv(path, index=False)
    d = load(path, label_col="joy,male")
    assert d.task == "multilabel" and d.label_names == ["joy", "male"] and d.labels.tolist() == [[1, 0], [0, 0], [1, 1]]
    assert d.modality == "text" and d.columns["label"] == "joy,male"  # the label columns are not inputs
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["a", "b"], "joy": [1, 2], "male": [0, 1]}).to_csv(bad, index=False)
    with pytest.raises(HeadstartError, match="row 2 of .*bad.csv: label column 'joy' holds 2"):
        load(bad, label_col="joy,male")
    jl = tmp_path / "t.jsonl"
    pd.DataFrame({"text": ["a", "b"], "tags": [["x", "y"], []]}).to_json(jl, orient="records", lines=True)
    m = as_task(load(jl, label_col="tags"))
    assert m.task == "multilabel" and m.labels.tolist() == [[1, 1], [0, 0]]
    from headstart.data import from_arrays

    assert as_task(from_arrays(["a", "b"], [["x"], ["x", "y"]])).labels.tolist() == [[1, 0], [1, 1]]


def test_regression_probe_is_ridge_chosen_by_cv_and_predicts_in_the_targets_units(tmp_path):
    X, y = _regression()
    clf = TransferClassifier(backbone="identity", cache=False, progress=False).fit(X[:120], y[:120])
    assert clf.task_ == "regression" and list(clf.classes_) == ["label"]
    assert clf.targets_["alpha"] in __import__("headstart.heads", fromlist=["x"]).RIDGE_ALPHAS
    pred = clf.predict(X[120:])
    assert pred.shape == (40,) and abs(pred.mean() - y[120:].mean()) < 2  # un-standardised
    m = clf.evaluate(X[120:], y[120:], resamples=200)
    assert m["task"] == "regression" and m["r2"] > 0.9 and clf.score(X[120:], y[120:]) == pytest.approx(m["r2"])
    for key in ("mae", "rmse", "r2", "spearman"):
        lo, hi = m["ci"][key]
        assert lo <= m[key] <= hi, key
    with pytest.raises(HeadstartError, match="not probabilities"):
        clf.predict_proba(X[:2])
    back = TransferClassifier.load(clf.save(tmp_path / "run"))
    assert back.task_ == "regression" and np.allclose(back.predict(X[120:]), pred, atol=1e-4)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["task"] == "regression"


def test_multilabel_probe_tunes_thresholds_on_rows_cut_from_training():
    X, Y = _multilabel()
    clf = TransferClassifier(backbone="identity", cache=False, progress=False, val_size=0.2).fit(X[:150], Y[:150])
    assert clf.task_ == "multilabel" and clf.predict(X[150:]).shape == (50, 3)
    assert clf.targets_["thresholds_from"] == "tuned on 30 validation rows"  # 20% of the 150 training rows
    probs = clf.predict_proba(X[150:])
    assert np.array_equal(clf.predict(X[150:]), (probs >= np.asarray(clf.targets_["thresholds"])).astype(int))
    m = clf.evaluate(X[150:], Y[150:], resamples=200)
    assert m["micro_f1"] > 0.8 and m["mean_ap"] > 0.9 and set(m["per_label"]) == {"label0", "label1", "label2"}
    assert 0 <= m["subset_accuracy"] <= m["micro_f1"] + 0.2 and "threshold" in m["per_label"]["label0"]
    fixed = TransferClassifier(backbone="identity", cache=False, progress=False, C=1.0, task_options={"threshold": 0.3})
    assert fixed.fit(X[:150], Y[:150]).targets_["thresholds"] == [0.3, 0.3, 0.3]
    with pytest.raises(HeadstartError, match="label 'label1' is on no row"):
        Z = Y[:150].copy()
        Z[:, 1] = 0
        TransferClassifier(backbone="identity", cache=False, progress=False, task="multilabel").fit(X[:150], Z)


def test_forcing_the_task_and_options_that_do_not_fit_it_are_one_line():
    X, y = _regression(60)
    with pytest.raises(HeadstartError, match="has no option 'gamma'"):
        TransferClassifier(backbone="identity", task_options={"gamma": 1}).fit(X, y)
    with pytest.raises(HeadstartError, match="regression loss must be one of mse, huber"):
        TransferClassifier(backbone="identity", task_options={"loss": "l1"}).fit(X, y)
    with pytest.raises(HeadstartError, match="--imbalance works on classes; the task is regression"):
        TransferClassifier(backbone="identity", imbalance="weighted").fit(X, y)
    with pytest.raises(HeadstartError, match="are for regression or multilabel"):
        TransferClassifier(backbone="identity", task_options={"loss": "mse"}).fit(X, (y > 50).astype(int))
    with pytest.raises(HeadstartError, match="task must be one of"):
        TransferClassifier(backbone="identity", task="ranking").fit(X, y)


def test_the_loss_and_validation_hooks():
    from headstart.train import tasks

    out, y = torch.tensor([[0.0], [3.0]]), torch.tensor([0.0, 0.0])
    assert tasks.regression_loss("mse")(out, y).item() == pytest.approx(4.5)
    assert tasks.regression_loss("huber", delta=1.0)(out, y).item() == pytest.approx(1.25)  # (0 + 2.5) / 2
    logits, truth = torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    plain = tasks.multilabel_loss()(logits, truth).item()
    weighted = tasks.multilabel_loss(np.array([3.0, 1.0]))(logits, truth).item()
    assert weighted == pytest.approx(2 * plain)  # the positive terms count three times
    assert tasks.positive_weights(np.array([[1, 0], [0, 0], [0, 1], [0, 0]]), "balanced").tolist() == [3.0, 3.0]
    v = tasks.multilabel_validation(torch.tensor([[2.0, -1.0], [-2.0, 1.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert v["val_mean_ap"] == 1.0 and v["val_loss"] > 0


@pytest.mark.parametrize("task", ["regression", "multilabel"])
def test_fine_tuning_goes_through_the_one_loop_with_the_tasks_hooks(task, hf_text_spec, tmp_path):
    texts, sentiment = make_texts(40, seed=3)
    if task == "regression":
        pairs = zip(texts, sentiment, strict=True)
        y: object = np.array([len(t.split()) + (2.0 if s == "pos" else 0.0) for t, s in pairs])
    else:
        y = [[s] + (["long"] if len(t.split()) > 5 else []) for t, s in zip(texts, sentiment, strict=True)]
    clf = TransferClassifier(
        backbone=hf_text_spec, strategy="full", epochs=2, val_size=0.25, cache_dir=str(tmp_path), progress=False,
        task=task,  # the regression target has a few whole values: detected as classes unless forced
        task_options={"loss": "huber"} if task == "regression" else {"pos_weight": "balanced"},
    )  # fmt: skip
    clf.fit(texts, y, run_dir=tmp_path / "ft")
    monitor = "val_r2" if task == "regression" else "val_mean_ap"
    assert clf.task_ == task and len(clf.history_) == 2 and monitor in clf.history_[0] and clf.best_epoch_ >= 1
    assert clf.fine_tuned_ and clf.head_.out_features == (1 if task == "regression" else 3)
    if task == "regression":
        assert abs(clf.predict(texts).mean() - np.mean(y)) < 3 * np.std(y)  # back in the target's units
    else:
        assert clf.classes_.tolist() == ["long", "neg", "pos"] and len(clf.targets_["pos_weight"]) == 3
    back = TransferClassifier.load(clf.save(tmp_path / "run"))
    assert np.allclose(back.predict(texts), clf.predict(texts), atol=1e-4)


def _tables(tmp_path):
    X, y = _regression(80)
    reg = tmp_path / "reg.csv"
    pd.DataFrame({**{f"f{i}": X[:, i] for i in range(6)}, "price": y}).to_csv(reg, index=False)
    X, Y = _multilabel(120)
    ml = tmp_path / "ml.csv"
    pd.DataFrame({**{f"f{i}": X[:, i] for i in range(6)}, "a": Y[:, 0], "b": Y[:, 1], "c": Y[:, 2]}).to_csv(
        ml, index=False
    )
    return reg, ml


def test_fit_predict_evaluate_on_the_command_line(tmp_path, capsys):
    reg, ml = _tables(tmp_path)
    feats = "f0,f1,f2,f3,f4,f5"
    code, out, err = cli(
        capsys, "fit", reg, "--label-col", "price", "--feature-cols", feats, "-o", tmp_path / "r", "--report"
    )
    assert code == 0, err
    assert "regression target 'price'" in out and "r2" in out and "training mean" in out
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["r2"] > 0.8 and len(metrics["pairs"]["pred"]) == metrics["n"]  # the report's scatter plot
    report = (tmp_path / "r" / "report.md").read_text()
    assert "regression of 'price'" in report and "| R² |" in report and "training-mean baseline" in report
    assert 'alt="scatter plot of predicted against true values"' in (tmp_path / "r" / "report.html").read_text()
    assert cli(capsys, "predict", tmp_path / "r", reg, "-o", tmp_path / "p.csv")[0] == 0
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["id", "prediction"] and table["prediction"].dtype == float
    code, out, err = cli(capsys, "evaluate", tmp_path / "r", reg)
    assert code == 0 and "spearman" in out, err
    code, out, err = cli(capsys, "fit", ml, "--label-col", "a,b,c", "--feature-cols", feats, "-o", tmp_path / "m")
    assert code == 0 and "multilabel, 3 labels" in out and "mean ap" in out, err
    assert json.loads((tmp_path / "m" / "config.json").read_text())["task"] == "multilabel"
    assert cli(capsys, "predict", tmp_path / "m", ml, "-o", tmp_path / "q.csv")[0] == 0
    table = pd.read_csv(tmp_path / "q.csv", keep_default_na=False)
    assert list(table.columns) == ["id", "prediction", "p_a", "p_b", "p_c"]
    assert set("|".join(table["prediction"]).split("|")) <= {"a", "b", "c", ""}
    code, out, err = cli(capsys, "evaluate", tmp_path / "m", ml)
    assert code == 0 and "subset accuracy" in out, err
    # --task classification on the numbers: every number a class, which the class check refuses
    assert_one_error_line(
        cli(
            capsys,
            "fit",
            reg,
            "--label-col",
            "price",
            "--feature-cols",
            feats,
            "--task",
            "classification",
            "-o",
            tmp_path / "c",
        ),  # fmt: skip
        "has only 1 row",
    )
    assert not (tmp_path / "c").exists()


def test_commands_that_do_classification_refuse_other_tasks_in_one_line(tmp_path, capsys):
    reg, ml = _tables(tmp_path)
    feats = "f0,f1,f2,f3,f4,f5"
    assert cli(capsys, "fit", reg, "--label-col", "price", "--feature-cols", feats, "-o", tmp_path / "r")[0] == 0
    refused = [
        (["fewshot-eval", ml, "--label-col", "a,b,c"], "multilabel"),
        (["meta-train", reg, "--label-col", "price", "-o", tmp_path / "meta"], "regression"),
        (["adapt", reg, reg, "--label-col", "price", "--feature-cols", feats], "regression"),
        (["audit", tmp_path / "r", reg, "--group", "f0"], "regression run"),
    ]
    for argv, task in refused:
        line = assert_one_error_line(cli(capsys, *argv), "does classification", task)
        assert f"`headstart {argv[0]}`" in line, line


def test_a_tampered_task_or_threshold_is_one_line(tmp_path):
    from headstart.runfolder import read_run

    X, Y = _multilabel(80)
    run = TransferClassifier(backbone="identity", cache=False, progress=False, C=1.0).fit(X, Y).save(tmp_path / "m")
    config = json.loads((run / "config.json").read_text())
    config["targets"]["thresholds"] = [0.5]
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(HeadstartError, match="without one threshold in \\[0, 1\\] per label"):
        read_run(run)
    config["task"] = "ranking"
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(HeadstartError, match="names task 'ranking'"):
        read_run(run)


@pytest.mark.parametrize("task", ["multilabel"])  # regression's head is the same linear layer (folded): not rerun
def test_export_and_the_torch_free_runtime_predict_like_the_run(task, hf_text_spec, tmp_path):
    from headstart.export import export_run
    from headstart.runtime import Predictor

    texts, sentiment = make_texts(30, seed=5)
    if task == "regression":
        y: object = np.array([len(t) / 3 for t in texts])
    else:
        y = [[s] + (["long"] if len(t.split()) > 5 else []) for t, s in zip(texts, sentiment, strict=True)]
    clf = TransferClassifier(backbone=hf_text_spec, task=task, cache_dir=str(tmp_path), progress=False).fit(texts, y)
    run = clf.save(tmp_path / "run")
    from headstart.data import from_arrays

    own = clf.predict(texts)  # scored against the run's own predictions: R^2 / micro-F1 1
    truth = own if task == "regression" else [[str(c) for c, v in zip(clf.classes_, r, strict=True) if v] for r in own]
    report = export_run(run, eval_data=from_arrays(texts, truth), repeats=1, batch_sizes=(1,))
    assert report["task"] == task and report["parity"]["onnx-fp32"]["max_abs_diff"] < 1e-4
    assert report["metric"] == {"regression": "r2", "multilabel": "micro_f1"}[task]
    assert report["table"][1]["accuracy"] == pytest.approx(1.0, abs=1e-6)
    predictor = Predictor(run / "export")
    assert np.allclose(predictor.predict(texts), clf.predict(texts), atol=1e-4)


def test_rank_scores_numbers_and_label_sets_with_logme(tmp_path, capsys):
    from headstart.select.logme import logme_targets

    X, y = _regression(120)
    rng = np.random.default_rng(1)
    assert logme_targets(X, y) > logme_targets(rng.normal(size=X.shape), y)  # informative features win
    _, Y = _multilabel(120)
    assert logme_targets(X[:, :3], Y) > logme_targets(X[:, 3:], Y)  # the labels depend on columns 0-3
    reg, _ = _tables(tmp_path)
    argv = ["rank", reg, "--label-col", "price", "--feature-cols", "f0,f1,f2,f3,f4,f5", "-c", "identity"]
    code, out, err = cli(capsys, *argv)
    assert code == 0 and "regression target 'price'" in out and "logme" in out, err
    assert_one_error_line(cli(capsys, *argv, "--scores", "hscore"), "score 'hscore' scores class labels",
                          "the task is regression")  # fmt: skip


def test_compare_scores_a_regression_by_r2(tmp_path, capsys):
    reg, _ = _tables(tmp_path)
    argv = ["compare", reg, "--label-col", "price", "--feature-cols", "f0,f1,f2,f3,f4,f5", "-b", "identity"]
    code, out, err = cli(capsys, *argv, "--budgets", "0.5,1", "--seeds", "2", "-o", tmp_path / "cmp")
    assert code == 0, err
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert result["metric"] == "r2" and result["arms"] == ["transfer", "scratch", "classic"]
    full = result["budgets"][-1]["arms"]
    assert min(full["transfer"]["accuracy"]) > 0.8  # identity features: the probe is ridge on the columns
    assert full["transfer"]["accuracy"] == pytest.approx(full["classic"]["accuracy"])  # and so is the baseline
    assert_one_error_line(cli(capsys, *argv, "--shots", "2"), "--shots (rows per class) works on classes")


def test_compare_scores_a_multilabel_target_by_micro_f1_in_the_same_loop(tmp_path, capsys):
    _, ml = _tables(tmp_path)
    argv = ["compare", ml, "--label-col", "a,b,c", "--feature-cols", "f0,f1,f2,f3,f4,f5", "-b", "identity"]
    code, out, err = cli(capsys, *argv, "--budgets", "1", "--seeds", "2", "-o", tmp_path / "cmp")
    assert code == 0, err
    result = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert result["metric"] == "micro_f1" and result["arms"] == ["transfer", "scratch", "classic"]
    full = result["budgets"][-1]["arms"]
    # identity features: the probe is fit's per-label probes on the columns, the baseline one-vs-rest LR on them
    assert min(full["transfer"]["accuracy"]) > 0.75 and min(full["classic"]["accuracy"]) > 0.75
    assert full["transfer"]["accuracy"] == full["scratch"]["accuracy"]  # identity has no weights to randomise
    assert "micro f1" in out and "micro-F1" in err
    assert_one_error_line(cli(capsys, *argv, "--budgets", "0.02"), "budget 2%: label", "use larger --budgets")
    assert_one_error_line(cli(capsys, *argv, "--metric", "r2"), "a multilabel target is scored by micro_f1")
