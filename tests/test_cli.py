"""The ``headstart`` command, run in-process: happy paths and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_error_line, cli, make_image_folder, make_texts

from headstart.cli import run


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Commands that default to ./runs or ./predictions.csv write into the test's folder."""
    monkeypatch.chdir(tmp_path)


def write_csv(path: Path, **columns) -> Path:
    pd.DataFrame(columns).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, hf_text_spec) -> tuple[Path, Path]:
    """One fitted text run (tiny BERT), shared by the predict / evaluate tests: (run folder, data)."""
    folder = tmp_path_factory.mktemp("text-run")
    texts, labels = make_texts(40, seed=2)
    data = write_csv(folder / "reviews.csv", text=texts, label=labels)
    code = run(["fit", str(data), "--backbone", hf_text_spec, "--out", str(folder / "run"), "--C", "1"])
    assert code == 0
    return folder / "run", data


# ----------------------------------------------------------------- fit
def test_fit_on_a_csv_writes_a_run_folder(tmp_path, capsys, hf_text_spec):
    texts, labels = make_texts(30, seed=4)
    data = write_csv(tmp_path / "small.csv", text=texts, label=labels)
    code, out, err = cli(capsys, "fit", data, "--backbone", hf_text_spec, "--out", tmp_path / "run")
    assert code == 0, err
    run_dir = tmp_path / "run"
    for name in ("config.json", "model.safetensors", "labels.json", "metrics.json"):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["accuracy"] <= 1.0
    assert metrics["n"] == 6  # a stratified 20% hold-out of 30 rows
    assert "majority_baseline" in metrics and "hold-out" in metrics["evaluated_on"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["params"]["backbone"] == hf_text_spec
    assert config["columns"]["text"] == "text"
    assert config["data"]["train_rows"] == 24
    assert json.loads((run_dir / "labels.json").read_text()) == ["neg", "pos"]
    assert "run saved" in out


def test_fit_with_sample_and_seed(tmp_path, capsys, hf_text_spec):
    texts, labels = make_texts(40, seed=5)
    data = write_csv(tmp_path / "d.csv", text=texts, label=labels)
    code, _, err = cli(
        capsys,
        "fit",
        data,
        "-b",
        hf_text_spec,
        "-o",
        tmp_path / "run",
        "--sample",
        "10",
        "--C",
        "1",
        "-s",
        "linear-probe",
    )
    assert code == 0, err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["train_rows"] == 10 and config["n_train"] == 10
    assert config["chosen"]["C"] == 1.0


def test_fit_reports_on_eval_data_or_the_split_column(tmp_path, capsys, hf_text_spec):
    texts, labels = make_texts(30, seed=7)
    split = ["train"] * 20 + ["validation"] * 10
    data = write_csv(tmp_path / "d.csv", text=texts, label=labels, split=split)
    assert cli(capsys, "fit", data, "-b", hf_text_spec, "-o", tmp_path / "r1", "--C", "1")[0] == 0
    metrics = json.loads((tmp_path / "r1" / "metrics.json").read_text())
    assert metrics["n"] == 10 and "'val' split" in metrics["evaluated_on"]

    held = write_csv(tmp_path / "held.csv", text=texts[:7], label=labels[:7])
    args = ("fit", data, "-b", hf_text_spec, "-o", tmp_path / "r2", "--C", "1", "--eval", held)
    assert cli(capsys, *args)[0] == 0
    metrics = json.loads((tmp_path / "r2" / "metrics.json").read_text())
    assert metrics["n"] == 7 and "held.csv" in metrics["evaluated_on"]
    assert json.loads((tmp_path / "r2" / "config.json").read_text())["n_train"] == 20  # the train split only


def test_fit_on_an_image_folder_with_train_val_layout(tmp_path, capsys):
    root = tmp_path / "imgs"
    make_image_folder(root, per_class=5, split="train")
    make_image_folder(root, per_class=3, split="val")
    args = ("fit", root, "--backbone", "timm:test_efficientnet", "--scratch", "--out", tmp_path / "run")
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n"] == 6  # the val/ rows
    assert "'val' split" in metrics["evaluated_on"]
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["params"]["pretrained"] is False
    assert config["data"]["train_rows"] == 10

    # The from-scratch backbone is rebuilt from its seed: evaluate reproduces fit's figures.
    val = tmp_path / "val-only"
    make_image_folder(val, per_class=3, split="val")
    code, _, err = cli(capsys, "evaluate", tmp_path / "run", val / "val", "-o", tmp_path / "eval.json")
    assert code == 0, err
    again = json.loads((tmp_path / "eval.json").read_text())
    assert again["accuracy"] == metrics["accuracy"]
    assert again["confusion_matrix"] == metrics["confusion_matrix"]


def test_fit_on_a_tabular_csv_then_predict(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] > 0, "up", "down")
    data = write_csv(tmp_path / "t.csv", a=X[:, 0], b=X[:, 1], c=X[:, 2], label=y)
    assert cli(capsys, "fit", data, "-o", tmp_path / "run")[0] == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["backbone"]["spec"] == "identity"
    assert config["columns"]["features"] == ["a", "b", "c"]
    new = write_csv(tmp_path / "new.csv", c=[0.0, 1.0], a=[2.0, -2.0], b=[0.0, 0.0])  # other column order
    code, _, err = cli(capsys, "predict", tmp_path / "run", new, "-o", tmp_path / "p.csv")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "p.csv")["prediction"].tolist() == ["up", "down"]


# ------------------------------------------------------- predict / evaluate
def test_predict_writes_one_row_per_input(text_run, tmp_path, capsys):
    run_dir, _ = text_run
    texts, _ = make_texts(7, seed=9)
    new = write_csv(tmp_path / "new.csv", text=texts)  # no label column
    code, out, err = cli(capsys, "predict", run_dir, new, "-o", tmp_path / "preds.csv")
    assert code == 0, err
    preds = pd.read_csv(tmp_path / "preds.csv")
    assert len(preds) == 7
    assert preds["id"].tolist() == list(range(1, 8))
    assert preds["input"].tolist() == texts
    assert set(preds["prediction"]) <= {"neg", "pos"}
    proba = preds[["p_neg", "p_pos"]].to_numpy()
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert (preds["prediction"] == np.where(proba[:, 1] > proba[:, 0], "pos", "neg")).all()
    assert "7 predictions" in " ".join(out.split())  # rich may wrap stdout


def test_predict_matches_the_python_api(text_run, tmp_path, capsys):
    from headstart import load_run

    run_dir, data = text_run
    assert cli(capsys, "predict", run_dir, data, "-o", tmp_path / "p.csv")[0] == 0
    preds = pd.read_csv(tmp_path / "p.csv")
    texts = pd.read_csv(data)["text"].tolist()
    proba = load_run(run_dir).predict_proba(texts)
    np.testing.assert_allclose(preds[["p_neg", "p_pos"]].to_numpy(), proba, atol=1e-5)


def test_evaluate_writes_json_with_accuracy(text_run, capsys):
    run_dir, data = text_run
    code, out, err = cli(capsys, "evaluate", run_dir, data)
    assert code == 0, err
    report = json.loads((run_dir / "eval-reviews.json").read_text())
    assert 0.0 <= report["accuracy"] <= 1.0
    assert report["n"] == 40
    assert report["data"] == str(data)
    assert "eval-reviews.json" in out


def test_evaluate_with_an_unseen_label(text_run, tmp_path, capsys):
    run_dir, _ = text_run
    data = write_csv(tmp_path / "e.csv", text=["good film", "bad film"], label=["pos", "meh"])
    assert_one_error_line(cli(capsys, "evaluate", run_dir, data), "label 'meh' was not seen in training")


def test_evaluate_without_labels(text_run, tmp_path, capsys):
    run_dir, _ = text_run
    data = write_csv(tmp_path / "e.csv", text=["good film", "bad film"])
    assert_one_error_line(cli(capsys, "evaluate", run_dir, data), "label column 'label' not in", "e.csv")


def test_predict_on_a_folder_that_is_not_a_run(tmp_path, capsys, text_csv):
    (tmp_path / "not-a-run").mkdir()
    line = assert_one_error_line(cli(capsys, "predict", tmp_path / "not-a-run", text_csv, "-o", tmp_path / "p.csv"))
    assert "not a headstart run folder" in line and "headstart fit" in line
    assert_one_error_line(cli(capsys, "predict", tmp_path / "missing", text_csv), "no such run folder")


def test_predict_on_data_lacking_the_text_column(text_run, tmp_path, capsys):
    run_dir, _ = text_run
    data = write_csv(tmp_path / "other.csv", review=["good film", "bad film"])
    line = assert_one_error_line(cli(capsys, "predict", run_dir, data, "-o", tmp_path / "p.csv"))
    assert "lacks column 'text'" in line and "review" in line
    assert not (tmp_path / "p.csv").exists()


def test_predict_with_another_modality(text_run, tmp_path, capsys, image_folder):
    run_dir, _ = text_run
    assert_one_error_line(cli(capsys, "predict", run_dir, image_folder, "-o", tmp_path / "p.csv"), "takes text inputs")


# ----------------------------------------------------------------- models
def test_models_lists_the_embedded_backbones(capsys):
    code, out, _ = cli(capsys, "models")
    assert code == 0
    for name in ("minilm", "efficientnet-lite0", "identity", "hf:", "timm:", "torchvision:", "local:"):
        assert name in out
    assert "linear-probe" in out


def test_no_arguments_shows_help(capsys):
    code, out, err = cli(capsys)
    assert code in (0, 2)
    assert "fit" in out + err and "Traceback" not in out + err


# ------------------------------------------------------------- bad input
@pytest.fixture
def good_csv(tmp_path) -> Path:
    texts, labels = make_texts(20, seed=6)
    return write_csv(tmp_path / "good.csv", text=texts, label=labels)


def test_error_missing_file(tmp_path, capsys, hf_text_spec):
    missing = tmp_path / "nowhere.csv"
    assert_one_error_line(cli(capsys, "fit", missing, "-b", hf_text_spec), "no such file or folder", str(missing))


def test_error_misspelt_column(good_csv, capsys, hf_text_spec):
    line = assert_one_error_line(cli(capsys, "fit", good_csv, "-b", hf_text_spec, "--label-col", "lable"))
    assert "'lable'" in line and "did you mean 'label'" in line


def test_error_one_class(tmp_path, capsys, hf_text_spec):
    data = write_csv(tmp_path / "one.csv", text=["good film", "bad film", "fine film"], label=["x", "x", "x"])
    assert_one_error_line(cli(capsys, "fit", data, "-b", hf_text_spec), "only 1 class ('x')")


def test_error_empty_texts_under_strict(tmp_path, capsys, hf_text_spec):
    data = tmp_path / "gaps.csv"
    data.write_text('text,label\ngood film,pos\n"  ",neg\nbad film,neg\n')
    assert_one_error_line(cli(capsys, "fit", data, "-b", hf_text_spec, "--strict"), "1 rows", "empty text", "rows 2")


def test_empty_texts_without_strict_are_skipped(tmp_path, capsys, hf_text_spec):
    texts, labels = make_texts(20, seed=8)
    texts[3] = "   "
    data = write_csv(tmp_path / "gaps.csv", text=texts, label=labels)
    code, _, err = cli(capsys, "fit", data, "-b", hf_text_spec, "-o", tmp_path / "run", "--C", "1")
    assert code == 0
    assert "warning:" in err and "skipped" in err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["train_rows"] == 15  # 19 rows, 20% out


def test_error_unreadable_image_under_strict(tmp_path, capsys):
    root = make_image_folder(tmp_path / "imgs", per_class=2)
    (root / "red" / "corrupt.jpg").write_bytes(b"definitely not a jpeg" * 8)
    args = ("fit", root, "-b", "timm:test_efficientnet", "--scratch", "--strict")
    assert_one_error_line(cli(capsys, *args), "cannot read image", "corrupt.jpg", "--strict")


def test_error_unknown_backbone(good_csv, capsys):
    assert_one_error_line(cli(capsys, "fit", good_csv, "--backbone", "minilmm"), "did you mean 'minilm'")


def test_error_nan_in_numeric_features(tmp_path, capsys):
    data = tmp_path / "n.csv"
    data.write_text("a,b,label\n1,2,x\n3,,y\n5,6,x\n7,8,y\n")
    assert_one_error_line(cli(capsys, "fit", data), "NaN", "row 2, column 'b'")


def test_error_missing_label_values(tmp_path, capsys):
    data = tmp_path / "m.csv"
    data.write_text("text,label\ngood film,pos\nbad film,\nfine film,pos\n")
    assert_one_error_line(cli(capsys, "fit", data), "no value in label column 'label'", "rows 2")


def test_error_hf_model_not_cached(good_csv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf"))
    line = assert_one_error_line(cli(capsys, "fit", good_csv, "-b", "hf:some-org/definitely-not-cached"))
    assert "not in the local cache" in line and "hf download some-org/definitely-not-cached" in line


def test_error_timm_pretrained_offline(image_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf"))
    line = assert_one_error_line(cli(capsys, "fit", image_folder, "-b", "timm:resnet18"))
    assert "no pretrained weights in the local cache" in line


def test_error_unknown_timm_model(image_folder, capsys):
    args = ("fit", image_folder, "-b", "timm:efficientnet_b99", "--scratch")
    assert_one_error_line(cli(capsys, *args), "unknown timm model 'efficientnet_b99'")


def test_error_unknown_torchvision_model(image_folder, capsys):
    args = ("fit", image_folder, "-b", "torchvision:resnet181")
    assert_one_error_line(cli(capsys, *args), "unknown torchvision model 'resnet181'", "did you mean")


def test_error_unknown_torchvision_model_from_scratch(image_folder, capsys):
    args = ("fit", image_folder, "-b", "torchvision:resnet181", "--scratch")
    assert_one_error_line(cli(capsys, *args), "unknown torchvision model 'resnet181'")


def test_error_unknown_strategy(good_csv, capsys, hf_text_spec):
    line = assert_one_error_line(cli(capsys, "fit", good_csv, "-b", hf_text_spec, "--strategy", "fine-tune"))
    assert "unknown strategy 'fine-tune'" in line and "linear-probe" in line


def test_error_bad_class_weight(good_csv, capsys, hf_text_spec):
    assert_one_error_line(cli(capsys, "fit", good_csv, "-b", hf_text_spec, "--class-weight", "heavy"), "'heavy'")


def test_error_zero_C(good_csv, capsys, hf_text_spec):
    assert_one_error_line(cli(capsys, "fit", good_csv, "-b", hf_text_spec, "--C", "0"), "C")


def test_error_column_option_on_an_image_folder(image_folder, capsys):
    assert_one_error_line(cli(capsys, "fit", image_folder, "--text-col", "text"), "tables only")


@pytest.mark.parametrize("kind", ["path", "column"])
def test_error_messages_with_square_brackets_are_printed_verbatim(tmp_path, capsys, kind):
    if kind == "path":
        missing = tmp_path / "[draft]" / "data.csv"
        assert_one_error_line(cli(capsys, "fit", missing), str(missing))
    else:
        data = write_csv(tmp_path / "d.csv", text=["a b", "c d"], **{"[/x]": ["u", "v"]})
        assert_one_error_line(cli(capsys, "fit", data, "--label-col", "lable"), "[/x]")


# ------------------------------------------------------------ usage errors
@pytest.mark.parametrize(
    "args",
    [["fit"], ["fit", "data.csv", "--no-such-option"], ["fit", "data.csv", "--test-size", "5"], ["frobnicate"]],
    ids=["missing-argument", "unknown-option", "out-of-range", "unknown-command"],
)
def test_usage_errors_exit_2_without_traceback(capsys, args):
    code, out, err = cli(capsys, *args)
    assert code == 2
    assert "Traceback" not in out + err
    assert "Usage:" in err or "Error" in err


def test_unknown_backbone_fails_before_reading_data(tmp_path, capsys):
    # The data file does not exist: a misspelt backbone must be reported first.
    assert_one_error_line(
        cli(capsys, "fit", tmp_path / "missing.csv", "--backbone", "minilmm"),
        "unknown backbone 'minilmm'",
        "did you mean 'minilm'",
    )


def test_predict_on_a_flat_folder_of_unlabelled_images(tmp_path, capsys):
    root = make_image_folder(tmp_path / "imgs", per_class=3)
    out_run = tmp_path / "run"
    code = run(["fit", str(root), "--backbone", "timm:test_efficientnet", "--scratch", "--C", "1", "-o", str(out_run)])
    assert code == 0
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, p in enumerate(sorted(root.rglob("*.png"))[:4]):
        (flat / f"img{i}.png").write_bytes(p.read_bytes())
    preds = tmp_path / "p.csv"
    code, _, err = cli(capsys, "predict", str(out_run), str(flat), "-o", str(preds))
    assert code == 0, err
    table = pd.read_csv(preds)
    assert list(table["id"]) == [f"img{i}.png" for i in range(4)]
    assert set(table["prediction"]) <= {"red", "blue"}
    np.testing.assert_allclose(table[["p_blue", "p_red"]].sum(axis=1), 1.0, atol=1e-5)


def test_help_lists_the_commands_in_the_order_of_a_users_day(capsys):
    from headstart.cli.app import COMMAND_ORDER

    code, out, _ = cli(capsys, "--help")
    assert code == 0
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("│ ") and line[2:3].isalpha()]
    assert listed[:3] == ["fit", "predict", "evaluate"] and listed[-1] == "report"
    named = [c for c in listed if c in COMMAND_ORDER]
    assert named == [c for c in COMMAND_ORDER if c in listed]  # in the declared order
    assert {"rank", "compare", "export", "rl-train", "models"} <= set(listed)


def test_option_values_read_python_literals_and_json_words():
    from headstart.cli.common import parse_options

    parsed = parse_options(["a=false", "b=True", "c=null", "d=0.5", "e=[1, 2]", "f=mean"])
    assert parsed == {"a": False, "b": True, "c": None, "d": 0.5, "e": [1, 2], "f": "mean"}
