"""TransferClassifier: the scikit-learn contract, persistence, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_texts
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score
from sklearn.utils.validation import check_is_fitted

from headstart import TransferClassifier, from_arrays, load_run
from headstart.errors import HeadstartError


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400].astype(np.float32), y[:400]


@pytest.fixture(scope="module")
def texts():
    return make_texts(40, seed=3)


@pytest.fixture
def tabular_clf(digits, tmp_path):
    X, y = digits
    return TransferClassifier(strategy="linear-probe", C=1.0, cache_dir=str(tmp_path / "cache")).fit(X, y)


def test_constructor_only_stores_options():
    params = {"backbone": "identity", "C": 0.3, "class_weight": "balanced", "seed": 4, "batch_size": 8}
    clf = TransferClassifier(**params)
    assert set(vars(clf)) == set(clf.get_params())
    for key, value in params.items():
        assert getattr(clf, key) == value


def test_get_params_set_params_round_trip():
    clf = TransferClassifier(strategy="linear-probe", backbone="identity", C=2.0)
    params = clf.get_params()
    other = TransferClassifier(strategy="linear-probe").set_params(**params)
    assert other.get_params() == params
    assert clf.set_params(C=5.0) is clf and clf.C == 5.0


def test_clone_copies_options_not_state(tabular_clf):
    copy = clone(tabular_clf)
    assert copy.get_params() == tabular_clf.get_params()
    assert not hasattr(copy, "head_") and not hasattr(copy, "classes_")


def test_fit_returns_self_and_learned_state_ends_in_underscore(digits, tmp_path):
    X, y = digits
    clf = TransferClassifier(strategy="linear-probe", C=1.0, cache_dir=str(tmp_path))
    assert clf.fit(X, y) is clf
    check_is_fitted(clf)
    params = clf.get_params()
    learned = [k for k in vars(clf) if k not in params and not k.startswith("_")]
    assert learned, "fit learned nothing"
    assert all(k.endswith("_") for k in learned), learned
    assert {"classes_", "head_", "backbone_", "n_features_in_", "C_"} <= set(learned)
    assert clf.backbone_.spec == "identity"  # "auto" on tabular data
    assert clf.n_features_in_ == 64
    assert clf.classes_.tolist() == list(range(10))


def test_predict_shapes_probabilities_and_score(tabular_clf, digits):
    X, y = digits
    pred = tabular_clf.predict(X[:50])
    assert pred.shape == (50,)
    assert set(pred.tolist()) <= set(range(10))
    proba = tabular_clf.predict_proba(X[:50])
    assert proba.shape == (50, 10)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert np.all(proba >= 0)
    np.testing.assert_array_equal(tabular_clf.classes_[proba.argmax(1)], pred)
    assert tabular_clf.decision_function(X[:5]).shape == (5, 10)
    score = tabular_clf.score(X, y)
    assert score == pytest.approx(np.mean(tabular_clf.predict(X) == y))
    assert score > 0.9  # training accuracy of a logistic regression on digits


def test_string_labels_come_back_as_given(texts, hf_text_spec, tmp_path):
    X, y = texts
    clf = TransferClassifier(strategy="linear-probe", backbone=hf_text_spec, C=1.0, cache_dir=str(tmp_path)).fit(X, y)
    assert clf.classes_.tolist() == ["neg", "pos"]
    assert set(clf.predict(X).tolist()) <= {"neg", "pos"}
    assert clf.transform(X[:3]).shape == (3, 32)


def test_cross_val_score_on_tabular_data(digits):
    X, y = digits
    scores = cross_val_score(TransferClassifier(strategy="linear-probe", backbone="auto", cache=False), X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.mean() > 0.85


def test_refit_reuses_the_cached_features(texts, hf_text_spec, tmp_path):
    X, y = texts
    first = TransferClassifier(strategy="linear-probe", backbone=hf_text_spec, C=1.0, cache_dir=str(tmp_path)).fit(X, y)
    assert first.timings_["fit_features_cached"] is False
    second = clone(first).fit(X, y)
    assert second.timings_["fit_features_cached"] is True
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_refit_on_tabular_data_with_other_columns(digits):
    X, y = digits
    clf = TransferClassifier(strategy="linear-probe", C=1.0).fit(X, y)
    clf.fit(X[:, :10], y)
    assert clf.n_features_in_ == 10


def test_save_and_load_text_model_predicts_identically(texts, hf_text_spec, tmp_path):
    X, y = texts
    clf = TransferClassifier(strategy="linear-probe", backbone=hf_text_spec, cache=False).fit(X[:30], y[:30])
    folder = clf.save(tmp_path / "run")
    for name in ("config.json", "model.safetensors", "labels.json"):
        assert (folder / name).is_file()
    assert json.loads((folder / "labels.json").read_text()) == ["neg", "pos"]
    config = json.loads((folder / "config.json").read_text())
    assert config["params"]["backbone"] == hf_text_spec
    assert config["modality"] == "text"

    loaded = TransferClassifier.load(folder)
    assert isinstance(loaded, TransferClassifier)
    assert loaded.get_params() == {**clf.get_params(), "backbone": hf_text_spec}
    assert loaded.C_ == clf.C_
    np.testing.assert_array_equal(loaded.predict(X[30:]), clf.predict(X[30:]))
    np.testing.assert_allclose(loaded.predict_proba(X[30:]), clf.predict_proba(X[30:]), atol=1e-6)


def test_save_and_load_from_scratch_model_rebuilds_the_same_random_backbone(texts, hf_text_spec, tmp_path):
    X, y = texts
    clf = TransferClassifier(
        strategy="linear-probe", backbone=hf_text_spec, pretrained=False, seed=11, C=1.0, cache=False
    ).fit(X, y)
    loaded = load_run(clf.save(tmp_path / "run"))
    assert loaded.pretrained is False
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_save_and_load_tabular_model_predicts_identically(tabular_clf, digits, tmp_path):
    X, _ = digits
    loaded = TransferClassifier.load(tabular_clf.save(tmp_path / "run"))
    assert loaded.backbone_.spec == "identity" and loaded.n_features_in_ == 64
    np.testing.assert_array_equal(loaded.predict(X), tabular_clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), tabular_clf.predict_proba(X), atol=1e-6)
    assert loaded.classes_.tolist() == tabular_clf.classes_.tolist()


def test_save_writes_metrics_when_given(tabular_clf, tmp_path):
    folder = tabular_clf.save(tmp_path / "run", metrics={"accuracy": 0.5})
    assert json.loads((folder / "metrics.json").read_text()) == {"accuracy": 0.5}


def test_evaluate_returns_metrics(tabular_clf, digits):
    X, y = digits
    metrics = tabular_clf.evaluate(X, y)
    assert metrics["n"] == len(y)
    assert metrics["accuracy"] == pytest.approx(tabular_clf.score(X, y))
    assert set(metrics["per_class"]) == {str(c) for c in range(10)}
    assert np.asarray(metrics["confusion_matrix"]).sum() == len(y)


def test_evaluate_on_an_unseen_label_names_it(texts, hf_text_spec, tmp_path):
    X, y = texts
    clf = TransferClassifier(strategy="linear-probe", backbone=hf_text_spec, C=1.0, cache_dir=str(tmp_path)).fit(X, y)
    labels = list(y[:6])
    labels[4] = "meh"
    with pytest.raises(HeadstartError, match=r"row 5 .*label 'meh' was not seen in training"):
        clf.evaluate(X[:6], labels)


def test_evaluate_without_labels_is_an_error(tabular_clf, digits):
    with pytest.raises(HeadstartError, match="no labels"):
        tabular_clf.evaluate(digits[0][:5])


def test_wrong_number_of_features_is_an_error(tabular_clf, digits):
    X, _ = digits
    with pytest.raises(HeadstartError, match="has 63 features, the model was trained on 64"):
        tabular_clf.predict(X[:5, :63])


def test_not_fitted_before_fit(digits, tmp_path):
    clf = TransferClassifier(strategy="linear-probe")
    X, _ = digits
    for call in (clf.predict_proba, clf.decision_function, clf.transform):
        with pytest.raises(NotFittedError):
            call(X[:2])
    with pytest.raises(NotFittedError):
        clf.save(tmp_path / "run")
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


def test_predict_before_fit_raises_not_fitted(digits):
    with pytest.raises(NotFittedError):
        TransferClassifier(strategy="linear-probe").predict(digits[0][:2])


def test_one_class_is_an_error(digits):
    X, _ = digits
    with pytest.raises(HeadstartError, match="only 1 class"):
        TransferClassifier(strategy="linear-probe").fit(X[:10], np.zeros(10, dtype=int))


def test_labels_in_the_dataset_and_as_y_is_an_error(texts):
    X, y = texts
    with pytest.raises(HeadstartError, match="not both"):
        TransferClassifier(strategy="linear-probe").fit(from_arrays(X, y), y)


def test_backbone_modality_must_match_the_data(digits, hf_text_spec):
    X, y = digits
    with pytest.raises(HeadstartError, match="takes text inputs but the data is tabular"):
        TransferClassifier(strategy="linear-probe", backbone=hf_text_spec).fit(X, y)


def test_unknown_strategy_is_an_error(digits):
    X, y = digits
    with pytest.raises(HeadstartError, match="unknown strategy 'finetune'"):
        TransferClassifier(strategy="finetune").fit(X, y)


def test_load_of_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(HeadstartError, match="not a headstart run folder"):
        TransferClassifier.load(tmp_path)
    with pytest.raises(HeadstartError, match="no such run folder"):
        TransferClassifier.load(tmp_path / "missing")


def test_default_strategy_is_auto_which_is_the_probe_on_tables(digits):
    assert TransferClassifier().strategy == "auto"
    X, y = digits
    clf = TransferClassifier(C=1.0).fit(X[:200], y[:200])
    assert clf.C_ == 1.0 and not clf.fine_tuned_


def test_tta_averages_each_image_with_its_mirror():
    import torch

    from headstart.backbones import load_backbone
    from headstart.features import extract

    rng = np.random.default_rng(0)
    images = list(rng.integers(0, 256, size=(8, 32, 32, 3), dtype=np.uint8))  # not mirror-symmetric
    data = from_arrays(images, ["a", "b"] * 4, modality="image")
    bb = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    tta = extract(bb, data, cache=False, tta=True).features
    plain = extract(bb, data, cache=False).features
    x = bb.preprocess(images)
    with torch.no_grad():
        ref = 0.5 * (bb.forward_features(x) + bb.forward_features(x.flip(-1)))
    assert np.allclose(tta, ref.numpy(), atol=1e-5)
    assert np.abs(tta - plain).max() > 1e-4
    clf = TransferClassifier(backbone=bb, strategy="linear-probe", tta=True, C=1.0, cache=False).fit(data)
    assert clf.predict(data).shape == (len(data),)


def test_tta_on_text_is_one_clear_error(hf_text_spec):
    from headstart.backbones import load_backbone
    from headstart.features import extract

    with pytest.raises(HeadstartError, match="flips"):
        extract(load_backbone(hf_text_spec), ["a text", "another"], cache=False, tta=True)
