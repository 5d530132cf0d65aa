"""FewShotClassifier, the fewshot / fewshot-eval / zeroshot commands and the
report's few-shot section, on tiny offline data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import assert_one_error_line, cli

import headstart as hs
from headstart.errors import HeadstartError
from headstart.fewshot import FewShotClassifier


def clusters(n_classes: int = 6, per: int = 12, dim: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.repeat([f"c{k}" for k in range(n_classes)], per)
    centres = rng.normal(size=(n_classes, dim)) * 4
    X = centres[np.repeat(np.arange(n_classes), per)] + rng.normal(size=(len(y), dim))
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(dim)])
    df["label"] = y
    return df


def test_classifier_fit_predict_evaluate_on_tabular_clusters():
    df = clusters()
    support = df.groupby("label").head(3)
    query = df.drop(support.index)
    feats = [c for c in df.columns if c.startswith("f")]
    clf = FewShotClassifier(method="protonet").fit(support[feats].to_numpy(), support["label"].to_numpy())
    pred = clf.predict(query[feats].to_numpy())
    assert np.mean(pred == query["label"].to_numpy()) > 0.95
    m = clf.evaluate(hs.from_arrays(query[feats].to_numpy(), query["label"].to_numpy()))
    assert m["accuracy"] > 0.95 and "macro_f1" in m
    with pytest.raises(HeadstartError, match="not fitted"):
        FewShotClassifier().predict(query[feats].to_numpy())
    assert hs.FewShotClassifier is FewShotClassifier  # the public API


def test_classifier_on_text_with_a_tiny_model(hf_text_spec):
    clf = FewShotClassifier(hf_text_spec, method="nearest-neighbour")
    clf.fit(["happy", "terrible", "music"], ["a", "b", "c"])
    assert clf.predict(["terrible", "happy"]).tolist() == ["b", "a"]


def test_fewshot_command_writes_predictions(tmp_path, capsys):
    df = clusters()
    support = df.groupby("label").head(2)
    support.to_csv(tmp_path / "support.csv", index=False)
    df.drop(support.index).to_csv(tmp_path / "query.csv", index=False)
    out = tmp_path / "pred.csv"
    code, stdout, err = cli(capsys, "fewshot", tmp_path / "support.csv", tmp_path / "query.csv", "--out", out)
    assert code == 0, err
    pred = pd.read_csv(out)
    assert list(pred.columns) == ["id", "prediction"] and len(pred) == len(df) - len(support)
    assert "accuracy" in stdout


def test_fewshot_eval_command_and_report(tmp_path, capsys):
    clusters(per=20).to_csv(tmp_path / "data.csv", index=False)
    run = tmp_path / "run"
    args = ("fewshot-eval", tmp_path / "data.csv", "--ways", 5, "--shots", 1, "--episodes", 40, "--out", run)
    code, stdout, err = cli(capsys, *args, "--methods", "protonet,nearest-neighbour", "--report")
    assert code == 0, err
    saved = json.loads((run / "fewshot.json").read_text())
    assert [r["method"] for r in saved["results"]] == ["protonet", "nearest-neighbour"]
    assert all(r["episodes"] == 40 and r["accuracy"] > 0.9 for r in saved["results"])
    html = (run / "report.html").read_text()
    assert "Few-shot evaluation" in html and "5-way 1-shot" in html
    assert "Few-shot evaluation" in (run / "report.md").read_text()


def test_fewshot_eval_refuses_unknown_method_and_too_many_ways(tmp_path, capsys):
    clusters().to_csv(tmp_path / "data.csv", index=False)
    r = cli(capsys, "fewshot-eval", tmp_path / "data.csv", "--methods", "protonett")
    assert_one_error_line(r, "unknown few-shot method 'protonett'")
    r = cli(capsys, "fewshot-eval", tmp_path / "data.csv", "--ways", 7)
    assert_one_error_line(r, "need at least 7")


def test_zeroshot_command_on_text(tmp_path, capsys, hf_text_spec):
    pd.DataFrame(
        {"text": ["happy", "terrible", "happy", "music"], "label": ["happy", "terrible", "happy", "music"]}
    ).to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "zs.csv"
    args = ("zeroshot", tmp_path / "t.csv", "--backbone", hf_text_spec, "--templates", "{label}", "--out", out)
    code, stdout, err = cli(capsys, *args)
    assert code == 0, err
    assert pd.read_csv(out)["prediction"].tolist() == ["happy", "terrible", "happy", "music"]
    assert "accuracy 1.0000" in stdout and "majority class" in stdout
    desc = tmp_path / "d.json"
    desc.write_text(json.dumps({"pos": "happy", "neg": "terrible"}))
    code, stdout, err = cli(capsys, "zeroshot", tmp_path / "t.csv", "--backbone", hf_text_spec, "-d", desc, "-o", out)
    assert code == 0, err
    assert set(pd.read_csv(out)["prediction"]) <= {"pos", "neg"}


@pytest.mark.parametrize(("method", "option"), [("eszsl", "normalize=False"), ("dap", "C=1.0")])
def test_zeroshot_command_with_an_attribute_method(tmp_path, capsys, method, option):
    """ESZSL and DAP from the command line: fitted on the seen classes' rows, they name rows of
    classes known only by their attributes."""
    signatures = {"a": [1, 0, 0], "b": [0, 1, 0], "c": [0, 0, 1], "d": [1, 1, 0], "e": [0, 1, 1]}
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 6))

    def rows(classes: list[str], per: int) -> pd.DataFrame:
        y = np.repeat(classes, per)
        X = np.array([signatures[k] for k in y]) @ A + 0.05 * rng.normal(size=(len(y), 6))
        return pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(label=y)

    rows(["a", "b", "c"], 20).to_csv(tmp_path / "seen.csv", index=False)
    rows(["d", "e"], 5).to_csv(tmp_path / "unseen.csv", index=False)
    table = pd.DataFrame([[k, *v] for k, v in signatures.items()], columns=["class", "x", "y", "z"])
    table.to_csv(tmp_path / "attributes.csv", index=False)
    out = tmp_path / "pred.csv"
    args = ("zeroshot", tmp_path / "unseen.csv", "--method", method, "--attributes", tmp_path / "attributes.csv")
    code, stdout, err = cli(capsys, *args, "--seen", tmp_path / "seen.csv", "--option", option, "-o", out)
    assert code == 0, err
    assert pd.read_csv(out)["prediction"].tolist() == ["d"] * 5 + ["e"] * 5
    said = " ".join(stdout.split())  # rich wraps at 80 columns
    assert "2 labels, 10 predictions" in said and "accuracy 1.0000" in said
    assert_one_error_line(cli(capsys, *args), "needs --attributes FILE", "--seen")
    assert_one_error_line(cli(capsys, *args, "--seen", tmp_path / "seen.csv", "--option", "gama=1"), "no option 'gama'")
    r = cli(capsys, "zeroshot", tmp_path / "unseen.csv", "--method", "eszs")
    assert_one_error_line(r, "unknown zero-shot method 'eszs'; did you mean 'eszsl'")
