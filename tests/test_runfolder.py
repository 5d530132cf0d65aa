"""The run folder's one schema (RunState): fit, from_trained and load set the same fitted
state, and what a save writes a load gives back (best epoch, history, extras)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import make_texts

from headstart import TransferClassifier, from_arrays, load_run
from headstart.runfolder import RunState, read_run, state_fields


def _fields(clf: TransferClassifier) -> dict:
    state = clf.state()
    out = dataclasses.asdict(state)
    out.pop("timings")  # a load does not bring back how long the fit took
    out["params"].pop("progress", None)
    out["val_scores"] = {str(k): v for k, v in out["val_scores"].items()}  # JSON keys are strings
    return out


@pytest.fixture(scope="module")
def fine_tuned(hf_text_spec):
    texts, labels = make_texts(40, seed=5)
    clf = TransferClassifier(backbone=hf_text_spec, strategy="full", epochs=2, lr=2e-3, seed=0, progress=False)
    return clf.fit(texts, labels)


def test_save_load_round_trips_every_field_of_a_fine_tuned_run(fine_tuned, tmp_path):
    loaded = load_run(fine_tuned.save(tmp_path / "run"))
    assert loaded.best_epoch_ == fine_tuned.best_epoch_ is not None  # load_run once dropped it
    assert loaded.fine_tuned_ is True and (tmp_path / "run" / "backbone").is_dir()
    assert _fields(loaded) == _fields(fine_tuned)
    texts, _ = make_texts(8, seed=9)
    np.testing.assert_allclose(loaded.predict_proba(texts), fine_tuned.predict_proba(texts), atol=1e-6)


def test_a_probe_run_round_trips_and_keeps_no_backbone(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5)).astype("float32")
    y = np.where(X[:, 0] > 0, "pos", "neg")
    clf = TransferClassifier(backbone="identity", strategy="linear-probe", progress=False).fit(from_arrays(X, y))
    loaded = load_run(clf.save(tmp_path / "probe"))
    assert not (tmp_path / "probe" / "backbone").exists() and loaded.fine_tuned_ is False
    assert loaded.C_ == clf.C_ and loaded.history_ == [] and loaded.best_epoch_ is None
    assert _fields(loaded) == _fields(clf)
    assert (loaded.predict(X) == clf.predict(X)).all()


def test_from_trained_extras_are_saved_and_loaded(fine_tuned, tmp_path):
    texts, labels = make_texts(20, seed=6)
    info = {"teacher": "runs/t", "student_layers": [0, 1]}
    clf = TransferClassifier.from_trained(
        fine_tuned.backbone_,
        fine_tuned.head_,
        fine_tuned.classes_,
        from_arrays(texts, labels),
        history=[{"epoch": 1}],
        best_epoch=1,
        seconds=0.5,
        extras={"distill": info},
    )
    assert clf.distilled_ is clf.extras_["distill"]
    clf.distilled_["student_accuracy"] = 0.9  # what `headstart distill` adds before saving
    state, _ = read_run(clf.save(tmp_path / "student"))
    assert state.extras == {"distill": {**info, "student_accuracy": 0.9}} and state.best_epoch == 1
    loaded = load_run(tmp_path / "student")
    assert loaded.distilled_ == state.extras["distill"] and loaded.history_ == [{"epoch": 1}]


def test_the_classifier_maps_every_state_field():
    """A RunState field the classifier does not hold would be dropped by save: none is."""
    mapped = set(TransferClassifier._STATE) | {"params", "backbone", "class_counts"}
    assert mapped == set(state_fields())
    assert RunState.__dataclass_fields__.keys() == set(state_fields())
