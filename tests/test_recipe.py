"""The default recipe (headstart.recipe): options left at None are chosen from the training rows,
options the user set are kept, and `auto` falls back to the probe when fine-tuning does not beat it."""

from __future__ import annotations

import numpy as np
from conftest import kill_paused_run, make_texts

from headstart import TransferClassifier, recipe
from headstart.data import as_dataset


def test_the_recipe_fills_what_was_left_at_none_and_keeps_what_was_set(hf_text_backbone):
    texts, labels = make_texts(60, seed=2)
    data = as_dataset(texts, labels)
    params = {"strategy": "auto", "epochs": None, "lr": None, "train_batch_size": 8, "max_length": None}
    chosen = recipe.choose(params, data, hf_text_backbone)
    # 60 rows of text: the small-data epochs, the text learning rate; the batch size was set.
    assert chosen.values["epochs"] == 5 and chosen.values["lr"] == 5e-5
    assert "train_batch_size" not in chosen.values
    counts = [len(ids) for ids in hf_text_backbone.tokenizer(texts)["input_ids"]]
    want = max(16, 8 * int(np.ceil(np.percentile(counts, 99) / 8)))
    assert chosen.values["max_length"] == min(want, hf_text_backbone.max_length)
    assert chosen.probe_check and len(chosen.reasons) == 3
    assert chosen.refit  # under recipe.REFIT_ROWS rows
    out = recipe.filled(params, chosen)
    assert out["train_batch_size"] == 8 and out["epochs"] == 5
    # Set by the user: nothing chosen, and no probe check for an explicit strategy.
    fixed = {"strategy": "full", "epochs": 2, "lr": 1e-3, "train_batch_size": 8, "max_length": 32}
    none = recipe.choose(fixed, data, hf_text_backbone)
    assert none.values == {} and not none.probe_check
    # 1,000 rows or more of text: 3 epochs; images: 5 epochs at lr 1e-4, batch 16.
    many = as_dataset(["good film"] * 500 + ["bad film"] * 500, ["pos"] * 500 + ["neg"] * 500)
    assert recipe.choose(params, many, hf_text_backbone).values["epochs"] == 3
    big = as_dataset(["good film"] * 1500 + ["bad film"] * 1500, ["pos"] * 1500 + ["neg"] * 1500)
    assert not recipe.choose(params, big, hf_text_backbone).refit


def test_auto_keeps_the_probe_when_fine_tuning_does_not_beat_it(hf_text_spec):
    texts, labels = make_texts(60, seed=3)
    # lr 0: fine-tuning cannot move, so its first epoch ties the probe's head and must lose to the margin.
    clf = TransferClassifier(backbone=hf_text_spec, lr=0.0, train_batch_size=8, progress=False).fit(texts, labels)
    chosen = clf.extras_["recipe"]
    assert chosen["kept_probe"] is True and chosen["margin"] == 1.5 / 6
    assert len(clf.history_) == 0 and not clf.fine_tuned_ and clf.C_ is not None  # the probe, on every row
    probe = TransferClassifier(backbone=hf_text_spec, strategy="linear-probe", progress=False).fit(texts, labels)
    assert np.allclose(clf.decision_function(texts), probe.decision_function(texts), atol=1e-5)


def test_auto_fine_tunes_when_it_beats_the_probe(hf_text_spec):
    texts, labels = make_texts(80, seed=4)
    # A strongly regularised probe head (C=0.01) on a random backbone: fine-tuning beats it by 2+ rows.
    clf = TransferClassifier(
        backbone=hf_text_spec, lr=3e-3, epochs=3, train_batch_size=8, val_size=0.3, C=0.01, progress=False
    ).fit(texts, labels)
    chosen = clf.extras_["recipe"]
    assert chosen["kept_probe"] is False and chosen["margin"] == 1.5 / 24
    assert clf.fine_tuned_ and len(clf.history_) == 3 and clf.best_epoch_ >= 1
    best = clf.history_[clf.best_epoch_ - 1]["val_accuracy"]
    assert best >= chosen["start"]["val_accuracy"] + chosen["margin"]


def test_after_the_check_passes_the_model_is_the_refit_on_every_row(hf_text_spec):
    """The refit is the same fine-tune from the pretrained weights on all rows for the best epoch's
    count: the model equals a fit with no validation rows (val_size=0) for that many epochs."""
    texts, labels = make_texts(80, seed=4)
    options = {"lr": 3e-3, "train_batch_size": 8, "C": 0.01, "progress": False}
    clf = TransferClassifier(backbone=hf_text_spec, epochs=3, val_size=0.3, **options).fit(texts, labels)
    chosen = clf.extras_["recipe"]
    assert chosen["kept_probe"] is False and chosen["refitted"]["rows"] == 80
    epochs = chosen["refitted"]["epochs"]
    assert epochs == clf.best_epoch_ >= 1 and len(chosen["refitted"]["history"]) == epochs
    assert "val_accuracy" not in chosen["refitted"]["history"][-1] and len(clf.history_) == 3
    plain = TransferClassifier(backbone=hf_text_spec, epochs=epochs, val_size=0.0, **options).fit(texts, labels)
    assert not plain.extras_["recipe"]["refit"]  # no validation rows: no check, no refit
    np.testing.assert_allclose(clf.decision_function(texts), plain.decision_function(texts), atol=1e-5)


def test_a_kill_during_the_refit_then_resume_gives_the_same_model(hf_text_spec, tmp_path):
    import os
    import subprocess
    import sys

    import pandas as pd

    texts, labels = make_texts(80, seed=4)
    train, held = tmp_path / "train.csv", tmp_path / "held.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(train, index=False)
    pd.DataFrame({"text": texts[:40], "label": labels[:40]}).to_csv(held, index=False)
    env = {**os.environ, "HEADSTART_PROGRESS": "0", "HF_HUB_OFFLINE": "1"}
    base = ["fit", str(train), "-b", hf_text_spec, "--eval", str(held), "--epochs", "3", "--lr", "0.003"]
    base += ["--train-batch-size", "8", "--val-size", "0.3", "--C", "0.01"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    command = [sys.executable, "-m", "headstart", *base]
    subprocess.run([*command, "-o", str(whole)], env=env, check=True, capture_output=True)
    assert (whole / "refit").is_dir()  # the check passed, so the model is the refit
    pointer = killed / "refit" / "checkpoints" / "latest"
    kill_paused_run(["4", *base, "-o", str(killed)], pointer, env, "the refit's first checkpoint")
    assert not (killed / "metrics.json").is_file()
    subprocess.run([*command, "-o", str(killed), "--resume"], env=env, check=True, capture_output=True)
    a = TransferClassifier.load(whole).decision_function(texts)
    b = TransferClassifier.load(killed).decision_function(texts)
    np.testing.assert_allclose(a, b, atol=1e-5)
