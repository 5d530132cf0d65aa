"""The fine-tuning loop (``headstart.train``) and its strategies.

Fast: the tiny random BERT from conftest, a few dozen rows, 1-4 epochs. The
SIGKILL / resume and multi-process tests run ``train_script.py`` in
subprocesses, each once: they start in the background when the module starts
(only if a selected test needs them) and module-scoped fixtures wait for them;
their uninterrupted / one-process baselines run ``train_script.main`` in-process.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import assert_one_error_line, cli, make_image_folder, make_texts

from headstart import TransferClassifier
from headstart.backbones import load_backbone
from headstart.data import from_arrays, load_image_folder
from headstart.errors import HeadstartError
from headstart.strategies import L2SP, STRATEGIES, LoRA, list_strategies, make_strategy
from headstart.strategies.discriminative import Discriminative
from headstart.strategies.full import Full
from headstart.train import TrainConfig, TransferModel, train
from headstart.train.data import Rows

TESTS = Path(__file__).resolve().parent
SCRIPT = TESTS / "train_script.py"
VENV_BIN = Path(sys.executable).parent
FINE_TUNING = ["head", "partial", "full", "gradual", "discriminative", "l2sp", "lora", "auto"]
# The tiny BERT's transformer blocks; its parameter groups are read from param_groups() (input to output:
# "stem" = embeddings, one group per block, then "top", today the pooler, which mean pooling never uses).
BLOCKS = ["model.encoder.layer.0", "model.encoder.layer.1"]


# ------------------------------------------------------------------ helpers
def fresh_model(spec: str, seed: int = 0) -> TransferModel:
    """A freshly loaded tiny BERT (never the shared fixture: training changes it) and a seeded head."""
    backbone = load_backbone(spec)
    torch.manual_seed(seed)
    return TransferModel(backbone, 2)


def text_rows(model: TransferModel, n: int, seed: int, train_rows: bool = True) -> Rows:
    texts, labels = make_texts(n, seed=seed)
    codes = np.array([int(label == "pos") for label in labels])
    return Rows(from_arrays(texts, labels), model.backbone, codes, train=train_rows, augment=False, max_length=None)


def group_names(model: TransferModel) -> list[str]:
    return [g.name for g in model.backbone.param_groups()]


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def changed(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> set[str]:
    return {k for k in before if k in after and not torch.equal(before[k], after[k])}


def group_keys(model: TransferModel) -> dict[str, set[str]]:
    """State-dict keys of each backbone parameter group, and of the head."""
    names = {id(p): n for n, p in model.named_parameters()}
    out = {g.name: {names[id(p)] for p in g.params} for g in model.backbone.param_groups()}
    out["head"] = {f"head.{n}" for n, _ in model.head.named_parameters()}
    return out


def fit_low(spec: str, strategy, epochs: int = 1, lr: float = 1e-2, n: int = 24, **config):
    """Train a fresh tiny-BERT TransferModel with the low-level loop; returns (model, before, result)."""
    model = fresh_model(spec)
    before = snapshot(model)
    cfg = TrainConfig(epochs=epochs, lr=lr, batch_size=8, precision="no", **config)
    result = train(model, strategy, text_rows(model, n, seed=1), None, cfg, progress=False)
    return model, before, result


def write_text_csv(path: Path, n: int = 30, seed: int = 1) -> Path:
    texts, labels = make_texts(n, seed=seed)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def script_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HEADSTART_PROGRESS="0", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(TESTS), env.get("PYTHONPATH", "")] if p)
    return env


def script(bert: Path, run_dir: Path, out: Path, *args: object) -> list[str]:
    return [sys.executable, str(SCRIPT), str(bert), str(run_dir), str(out), *map(str, args)]


def check(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


# ------------------------------------------------- every strategy, end to end
def test_the_parametrised_list_covers_every_registered_fine_tuning_strategy():
    # The probes on cached features (linear-probe, attentive-probe) are tested in their own files.
    assert sorted(s for s in list_strategies() if not STRATEGIES[s].uses_cached_features) == sorted(FINE_TUNING)
    assert all(not STRATEGIES[s].uses_cached_features for s in FINE_TUNING)


@pytest.mark.parametrize("name", FINE_TUNING)
def test_every_strategy_fits_and_predicts(name, hf_text_spec):
    texts, labels = make_texts(40, seed=1)
    # auto's probe check (tests/test_recipe.py) could keep the probe: val_size=0 turns it off here.
    clf = TransferClassifier(
        backbone=hf_text_spec,
        strategy=name,
        epochs=2,
        lr=1e-3,
        train_batch_size=8,
        progress=False,
        val_size=0.0 if name == "auto" else 0.1,
    ).fit(texts, labels)
    assert len(clf.history_) == 2 and all(np.isfinite(h["train_loss"]) for h in clf.history_)
    assert clf.best_epoch_ in ((1, 2) if name != "auto" else (-1,))  # no validation rows: the last epoch
    assert clf.fine_tuned_ == (name != "head")
    new, _ = make_texts(16, seed=5)
    pred = clf.predict(new)
    assert pred.shape == (16,) and set(pred) <= {"pos", "neg"}
    assert clf.predict_proba(new).shape == (16, 2)
    assert (clf.predict(texts) == np.asarray(labels)).mean() >= 0.75  # separable: the words say the label
    # LoRA's adapters are merged: what remains is a plain transformers model.
    assert not any("lora_" in k for k in clf.backbone_.state_dict())
    assert not any(p.requires_grad for p in clf.backbone_.parameters())


# ---------------------------------------------------- which parameters train
def test_head_changes_only_the_head(hf_text_spec):
    model, before, _ = fit_low(hf_text_spec, make_strategy("head"))
    keys = group_keys(model)
    assert changed(before, snapshot(model)) == keys["head"]


def test_partial_k1_changes_nothing_below_the_top_group(hf_text_spec):
    model, before, _ = fit_low(hf_text_spec, make_strategy("partial", k=1))
    keys = group_keys(model)
    moved = changed(before, snapshot(model))
    assert keys["head"] <= moved
    assert moved <= keys[group_names(model)[-1]] | keys["head"]


@pytest.mark.parametrize("name, options", [("partial", {"k": 1}), ("full", {})])
def test_every_group_a_strategy_trains_changes(hf_text_spec, name, options):
    strategy = make_strategy(name, **options)
    model, before, _ = fit_low(hf_text_spec, strategy)
    keys = group_keys(model)
    moved = changed(before, snapshot(model))
    names = group_names(model)
    n = len(names)
    for group in names[n - strategy.trainable_groups(n, 0) :]:
        assert keys[group] & moved, f"{name}: group {group} did not change"


def test_partial_k2_changes_the_top_two_groups_only(hf_text_spec):
    model, before, _ = fit_low(hf_text_spec, make_strategy("partial", k=2))
    keys = group_keys(model)
    names = group_names(model)
    moved = changed(before, snapshot(model))
    top_two = keys[names[-1]] | keys[names[-2]]
    assert keys["head"] <= moved and moved & top_two  # the head and some backbone weights trained
    assert moved <= top_two | keys["head"]  # nothing below the top two groups
    assert not moved & keys["stem"]


def test_full_changes_every_group_that_computes_the_features(hf_text_spec):
    model, before, _ = fit_low(hf_text_spec, make_strategy("full"))
    keys = group_keys(model)
    assert group_names(model)[: len(BLOCKS) + 1] == ["stem", *BLOCKS]
    moved = changed(before, snapshot(model))
    for group in ["stem", *BLOCKS, "head"]:
        assert keys[group] & moved, group


def test_gradual_keeps_the_backbone_frozen_in_the_first_epoch(hf_text_spec):
    model, before, _ = fit_low(hf_text_spec, make_strategy("gradual", every=1), epochs=1)
    keys = group_keys(model)
    assert changed(before, snapshot(model)) == keys["head"]


@pytest.mark.parametrize(
    "name, options, expected",
    [
        ("gradual", {"every": 1}, lambda n: [min(e, n) for e in range(6)]),
        ("gradual", {"every": 2}, lambda n: [min(e // 2, n) for e in range(6)]),
        ("auto", {"freeze_epochs": 2}, lambda n: [0, 0] + [n] * 4),
        ("partial", {"k": 2}, lambda n: [2] * 6),
        ("head", {}, lambda n: [0] * 6),
        ("full", {}, lambda n: [n] * 6),
    ],
)
def test_apply_unfreezes_groups_from_the_top(hf_text_spec, name, options, expected):
    model = fresh_model(hf_text_spec)
    strategy = make_strategy(name, **options)
    groups = model.backbone.param_groups()
    for epoch, k in enumerate(expected(len(groups))):
        strategy.apply(model, epoch)
        trainable = [all(p.requires_grad for p in g.params) for g in groups]
        frozen = [not any(p.requires_grad for p in g.params) for g in groups]
        assert trainable == [i >= len(groups) - k for i in range(len(groups))], (epoch, trainable)
        assert [a or b for a, b in zip(trainable, frozen, strict=True)] == [True] * len(groups)
        assert all(p.requires_grad for p in model.head.parameters())
        assert model.backbone_trainable() == (k > 0)


@dataclass
class InspectedLoRA(LoRA):
    """LoRA that records, just before merging, the frozen weights and the merge it expects."""

    seen: dict | None = None

    def finalize(self, model) -> None:
        peft_model = model.backbone.model
        base = {
            n.replace("base_model.model.", "").replace(".base_layer", ""): p.detach().clone()
            for n, p in peft_model.named_parameters()
            if "lora_" not in n
        }
        merged = {}
        for name, module in peft_model.named_modules():
            if hasattr(module, "lora_A") and hasattr(module, "base_layer") and "default" in module.lora_A:
                a, b = module.lora_A["default"].weight, module.lora_B["default"].weight
                delta = module.scaling["default"] * (b @ a)
                merged[name.replace("base_model.model.", "") + ".weight"] = (module.base_layer.weight + delta).detach()
        self.seen = {"base": base, "merged": merged}
        super().finalize(model)


def test_lora_trains_adapters_only_and_merges_them(hf_text_spec):
    strategy = InspectedLoRA(r=4, alpha=8, dropout=0.0)
    model, before, _ = fit_low(hf_text_spec, strategy, epochs=1, lr=2e-2)
    original = {k[len("backbone.model.") :]: v for k, v in before.items() if k.startswith("backbone.model.")}
    # During training the pretrained weights stayed frozen (only lora_A / lora_B and the head moved).
    assert set(strategy.seen["base"]) == set(original)
    for name, value in strategy.seen["base"].items():
        assert torch.equal(value, original[name]), f"{name} changed during LoRA training"
    # 2 layers x (query, key, value) adapted; the merge put a non-zero update into exactly those.
    targets = set(strategy.seen["merged"])
    assert len(targets) == 6 and all(n.split(".")[-2] in ("query", "key", "value") for n in targets)
    inner = model.backbone.model
    assert type(inner).__name__ == "BertModel"  # unwrapped from PEFT
    final = {k: v for k, v in inner.state_dict().items()}
    assert set(final) == set(original)
    for name in original:
        if name in targets:
            assert not torch.equal(final[name], original[name]), f"{name}: no update merged"
            torch.testing.assert_close(final[name], strategy.seen["merged"][name], atol=1e-6, rtol=1e-5)
        else:
            assert torch.equal(final[name], original[name]), f"{name} changed but is not a LoRA target"


def test_discriminative_learning_rates_decay_from_the_top(hf_text_spec):
    model = fresh_model(hf_text_spec)
    groups = Discriminative(lr_decay=0.5).optimizer_groups(model, 1e-3, 1e-2, 0.01)
    lr = {g["name"]: g["lr"] for g in groups}
    names = group_names(model)
    expected = {name: 1e-3 * 0.5 ** (len(names) - 1 - i) for i, name in enumerate(names)}
    assert expected[names[-1]] == 1e-3 and expected["stem"] == 1e-3 * 0.5 ** (len(names) - 1)
    for name, value in expected.items():
        assert lr[name] == pytest.approx(value) and lr[f"{name}/no-decay"] == pytest.approx(value)
    assert lr["head"] == pytest.approx(1e-2)
    for g in groups:
        if g["name"].endswith("/no-decay"):
            assert g["weight_decay"] == 0.0 and all(p.ndim <= 1 for p in g["params"])
        else:
            assert g["weight_decay"] == 0.01 and all(p.ndim > 1 for p in g["params"])
    # Every parameter in exactly one group.
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) and set(ids) == {id(p) for p in model.parameters()}
    assert make_strategy("discriminative").lr_decay == 0.8 and make_strategy("full").lr_decay == 1.0


def test_lr_decay_must_be_in_range(hf_text_spec):
    with pytest.raises(HeadstartError, match=r"lr_decay must be in \(0, 1\], got 1.5"):
        Full(lr_decay=1.5).optimizer_groups(fresh_model(hf_text_spec), 1e-3, 1e-2, 0.0)


def test_l2sp_penalty_is_zero_at_start_and_grows_as_weights_move(hf_text_spec):
    model = fresh_model(hf_text_spec)
    pull = L2SP(alpha=0.01, beta=0.0)
    groups = pull.optimizer_groups(model, 1e-3, 1e-2, 0.01)
    pull.apply(model, 0)
    assert all(g["weight_decay"] == 0.0 for g in groups)  # the penalty replaces decay
    assert float(pull.extra_loss(model).detach()) == 0.0
    with_head = L2SP(alpha=0.01, beta=0.5)
    with_head.optimizer_groups(model, 1e-3, 1e-2, 0.01)
    expected = 0.25 * float((model.head.weight.detach() ** 2).sum())
    assert float(with_head.extra_loss(model).detach()) == pytest.approx(expected)

    strategy = L2SP(alpha=0.01, beta=0.0)
    model, before, _ = fit_low(hf_text_spec, strategy, epochs=1, lr=1e-2)
    penalty = strategy.extra_loss(model)
    assert penalty.requires_grad and float(penalty.detach()) > 0
    drift = sum(float(((v - before[k]) ** 2).sum()) for k, v in snapshot(model).items() if k.startswith("backbone."))
    assert float(penalty.detach()) == pytest.approx(0.005 * drift, rel=1e-4)


# ------------------------------------------------------------------- errors
def test_partial_with_too_many_groups(hf_text_spec):
    n = len(group_names(fresh_model(hf_text_spec)))
    texts, labels = make_texts(20, seed=1)
    clf = TransferClassifier(
        backbone=hf_text_spec, strategy="partial", strategy_options={"k": 9}, epochs=1, progress=False
    )
    with pytest.raises(
        HeadstartError, match=rf"partial: k=9 but backbone '.*' has {n} parameter groups \(use 1..{n}\)"
    ):
        clf.fit(texts, labels)
    with pytest.raises(HeadstartError, match="k=0"):
        make_strategy("partial", k=0).optimizer_groups(fresh_model(hf_text_spec), 1e-3, 1e-2, 0.0)


def test_lora_on_a_backbone_that_is_not_a_transformer(tmp_path):
    backbone = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    with pytest.raises(HeadstartError, match="lora needs a transformer text backbone.*'timm:test_efficientnet'"):
        make_strategy("lora").optimizer_groups(TransferModel(backbone, 2), 1e-3, 1e-2, 0.0)
    images = load_image_folder(make_image_folder(tmp_path / "images"))
    clf = TransferClassifier(
        backbone="timm:test_efficientnet", pretrained=False, strategy="lora", epochs=1, progress=False
    )
    with pytest.raises(HeadstartError, match="lora needs a transformer text backbone"):
        clf.fit(images)


def test_lora_with_targets_the_model_lacks(hf_text_spec):
    with pytest.raises(HeadstartError, match=r"none of the target modules \('q_proj',\) exist"):
        make_strategy("lora", targets=("q_proj",)).optimizer_groups(fresh_model(hf_text_spec), 1e-3, 1e-2, 0.0)


def test_unknown_strategy_lists_the_valid_ones(hf_text_spec):
    with pytest.raises(HeadstartError) as info:
        make_strategy("ful")
    message = str(info.value)
    assert "unknown strategy 'ful'" in message and "did you mean 'full'" in message
    for name in ["linear-probe", *FINE_TUNING]:
        assert name in message
    texts, labels = make_texts(20, seed=1)
    with pytest.raises(HeadstartError, match="unknown strategy 'nope'"):
        TransferClassifier(backbone=hf_text_spec, strategy="nope").fit(texts, labels)


def test_unknown_strategy_option(hf_text_spec):
    with pytest.raises(HeadstartError, match=r"strategy 'partial' has no option 'kk'; did you mean 'k'\? \(options: "):
        make_strategy("partial", kk=2)
    with pytest.raises(HeadstartError, match="strategy 'lora' has no option 'rank'"):
        make_strategy("lora", rank=4)
    texts, labels = make_texts(20, seed=1)
    clf = TransferClassifier(backbone=hf_text_spec, strategy="gradual", strategy_options={"evry": 2})
    with pytest.raises(HeadstartError, match="strategy 'gradual' has no option 'evry'; did you mean 'every'"):
        clf.fit(texts, labels)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """CLI runs without --out would write ./runs: keep it in the test's folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_unknown_strategy(in_tmp, capsys, hf_text_spec):
    data = write_text_csv(in_tmp / "t.csv")
    line = assert_one_error_line(cli(capsys, "fit", data, "-b", hf_text_spec, "--strategy", "parital"))
    assert "unknown strategy 'parital'" in line and "did you mean 'partial'" in line
    assert all(name in line for name in FINE_TUNING)


def test_cli_unknown_strategy_option(in_tmp, capsys, hf_text_spec):
    data = write_text_csv(in_tmp / "t.csv")
    args = ["fit", data, "-b", hf_text_spec, "-s", "lora", "--option", "rank=4", "-o", in_tmp / "run"]
    assert_one_error_line(cli(capsys, *args), "strategy 'lora' has no option 'rank'", "r, alpha, dropout, targets")
    args = ["fit", data, "-b", hf_text_spec, "-s", "lora", "--option", "r4", "-o", in_tmp / "run"]
    assert_one_error_line(cli(capsys, *args), "--option takes KEY=VALUE, got 'r4'")


def test_cli_partial_with_too_many_groups(in_tmp, capsys, hf_text_spec):
    data = write_text_csv(in_tmp / "t.csv")
    n = len(group_names(fresh_model(hf_text_spec)))
    args = ["fit", data, "-b", hf_text_spec, "-s", "partial", "--option", "k=9", "--epochs", "1", "-o", in_tmp / "r"]
    assert_one_error_line(cli(capsys, *args), "partial: k=9", f"has {n} parameter groups (use 1..{n})")


def test_cli_lora_on_an_image_backbone(in_tmp, capsys):
    folder = make_image_folder(in_tmp / "images", per_class=5)
    args = ["fit", folder, "-b", "timm:test_efficientnet", "--scratch", "-s", "lora", "--epochs", "1", "-o", "run"]
    assert_one_error_line(cli(capsys, *args), "lora needs a transformer text backbone", "timm:test_efficientnet")


def test_cli_resume_needs_out(in_tmp, capsys, hf_text_spec):
    data = write_text_csv(in_tmp / "t.csv")
    assert_one_error_line(
        cli(capsys, "fit", data, "-b", hf_text_spec, "-s", "head", "--resume"), "--resume needs --out"
    )


# ------------------------------------------------------------------- resume
def test_resume_refused_when_the_config_changed(tmp_path, hf_text_spec):
    texts, labels = make_texts(30, seed=1)
    options = dict(backbone=hf_text_spec, strategy="partial", strategy_options={"k": 2}, train_batch_size=8)
    run_dir = tmp_path / "run"
    TransferClassifier(epochs=1, lr=1e-3, progress=False, **options).fit(texts, labels, run_dir=run_dir)
    assert (run_dir / "checkpoints" / "latest").is_file() and (run_dir / "train_config.json").is_file()
    stamp = json.loads((run_dir / "train_config.json").read_text())
    with pytest.raises(HeadstartError, match=r"cannot resume .*the configuration changed \(lr: 0.001 -> 0.002\)"):
        TransferClassifier(epochs=1, lr=2e-3, **options).fit(texts, labels, run_dir=run_dir, resume=True)
    with pytest.raises(HeadstartError, match=r"epochs: 1 -> 2"):
        TransferClassifier(epochs=2, lr=1e-3, **options).fit(texts, labels, run_dir=run_dir, resume=True)
    other = {**options, "strategy_options": {"k": 3}}
    with pytest.raises(HeadstartError, match="strategy changed"):
        TransferClassifier(epochs=1, lr=1e-3, **other).fit(texts, labels, run_dir=run_dir, resume=True)
    more, more_labels = make_texts(32, seed=1)
    with pytest.raises(HeadstartError, match="data changed"):
        TransferClassifier(epochs=1, lr=1e-3, **options).fit(more, more_labels, run_dir=run_dir, resume=True)
    # A refused resume leaves the run folder as it was.
    assert json.loads((run_dir / "train_config.json").read_text()) == stamp


def test_resuming_a_finished_run_changes_nothing(tmp_path, hf_text_spec):
    texts, labels = make_texts(30, seed=1)
    options = dict(backbone=hf_text_spec, strategy="full", epochs=2, lr=1e-3, train_batch_size=8, progress=False)
    first = TransferClassifier(**options).fit(texts, labels, run_dir=tmp_path / "run")
    again = TransferClassifier(**options).fit(texts, labels, run_dir=tmp_path / "run", resume=True)
    assert again.history_ == first.history_ and again.best_epoch_ == first.best_epoch_
    new, _ = make_texts(12, seed=7)
    np.testing.assert_allclose(again.predict_proba(new), first.predict_proba(new), atol=1e-6)


def test_resume_without_a_checkpoint(tmp_path, hf_text_spec):
    texts, labels = make_texts(20, seed=1)
    clf = TransferClassifier(backbone=hf_text_spec, strategy="head", epochs=1, progress=False)
    with pytest.raises(HeadstartError, match="nothing to resume in .*empty: no train_config.json"):
        clf.fit(texts, labels, run_dir=tmp_path / "empty", resume=True)
    # A run killed before its first checkpoint: the config is there, no checkpoint yet.
    model = fresh_model(hf_text_spec)
    cfg = TrainConfig(epochs=1, batch_size=8, precision="no")
    run_dir = tmp_path / "killed"
    train(model, make_strategy("head"), text_rows(model, 16, seed=1), None, cfg, run_dir=run_dir, progress=False)
    shutil.rmtree(run_dir / "checkpoints")
    model = fresh_model(hf_text_spec)
    with pytest.raises(HeadstartError, match="nothing to resume in .*killed: no checkpoint yet"):
        train(model, make_strategy("head"), text_rows(model, 16, 1), None, cfg, run_dir, resume=True, progress=False)


def test_cli_fit_with_options_then_resume_with_another_lr(in_tmp, capsys, hf_text_spec):
    data = write_text_csv(in_tmp / "t.csv", n=30)
    base = ["fit", data, "-b", hf_text_spec, "-s", "partial", "--option", "k=2", "--epochs", "1", "-o", in_tmp / "run"]
    code, out, err = cli(capsys, *base, "--train-batch-size", "8", "--lr", "0.001")
    assert code == 0, err
    flat = " ".join(out.split())  # rich wraps stdout at 80 columns
    assert "partial fine-tuning, 1 epochs" in flat and "run saved" in flat
    assert "partial: top 2 of " in err and " backbone groups + head train" in err
    stamp = json.loads((in_tmp / "run" / "train_config.json").read_text())
    assert stamp["identity"]["strategy"] == "partial {'k': 2}"
    assert stamp["config"]["lr"] == 0.001 and stamp["config"]["batch_size"] == 8
    assert len(json.loads((in_tmp / "run" / "history.json").read_text())) == 1
    result = cli(capsys, *base, "--train-batch-size", "8", "--lr", "0.002", "--resume")
    assert_one_error_line(result, "cannot resume", "lr: 0.001 -> 0.002", "use the same options or a new --out")


# ------------------------------------------------ checkpoints and exact resume
def test_checkpoint_every_dividing_the_epoch(tmp_path, hf_text_spec):
    """``checkpoint_every=1`` (or any divisor of the steps per epoch) makes the last step's checkpoint and the
    epoch-end checkpoint share one step number."""
    model = fresh_model(hf_text_spec)
    cfg = TrainConfig(epochs=2, lr=1e-3, batch_size=8, precision="no", checkpoint_every=1)
    result = train(model, make_strategy("full"), text_rows(model, 16, 1), None, cfg, tmp_path / "run", progress=False)
    assert len(result.history) == 2


class RecordedRows(Rows):
    """Rows that log which row each batch asked for (text rows load in-process)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[int] = []

    def __getitem__(self, i: int):
        self.log.append(int(i))
        return super().__getitem__(i)


@dataclass
class MarkEpochs(Full):
    """``full``, noting where each epoch starts in ``rows.log``; raises when epoch ``stop_epoch`` starts
    (as a kill between two epochs would, after the first one's checkpoint)."""

    rows: RecordedRows | None = None
    stop_epoch: int = -1
    marks: dict | None = None

    def apply(self, model, epoch: int) -> None:
        if epoch == self.stop_epoch:
            raise KeyboardInterrupt
        self.marks[epoch] = len(self.rows.log)
        super().apply(model, epoch)


def _epoch_orders(spec: str, run_dir: Path, stop_epoch: int = -1, resume: bool = False) -> dict[int, list[int]]:
    """The rows each epoch read, in order (epochs that read none are left out)."""
    model = fresh_model(spec)
    texts, labels = make_texts(16, seed=1)
    codes = np.array([int(label == "pos") for label in labels])
    rows = RecordedRows(from_arrays(texts, labels), model.backbone, codes, train=True, augment=False, max_length=None)
    strategy = MarkEpochs(rows=rows, stop_epoch=stop_epoch, marks={})
    cfg = TrainConfig(epochs=3, lr=1e-3, batch_size=4, precision="no")
    try:
        train(model, strategy, rows, None, cfg, run_dir, resume=resume, progress=False)
    except KeyboardInterrupt:
        pass
    starts = sorted(strategy.marks.items(), key=lambda kv: (kv[1], kv[0]))
    ends = [start for _, start in starts[1:]] + [len(rows.log)]
    return {epoch: rows.log[start:end] for (epoch, start), end in zip(starts, ends, strict=True) if end > start}


def test_resume_between_epochs_keeps_each_epochs_batch_order(tmp_path, hf_text_spec):
    whole = _epoch_orders(hf_text_spec, tmp_path / "a")
    assert sorted(whole) == [0, 1, 2] and whole[0] != whole[1]
    first = _epoch_orders(hf_text_spec, tmp_path / "b", stop_epoch=1)
    assert sorted(first) == [0] and first[0] == whole[0]
    rest = _epoch_orders(hf_text_spec, tmp_path / "b", resume=True)
    assert sorted(rest) == [1, 2]
    assert rest[1] == whole[1] and rest[2] == whole[2]


# ------------------------------------- subprocess runs (SIGKILL + resume, 2 processes)
STEPS_PER_EPOCH = 12  # 48 rows, batch 4
# Every 5 steps: 5, 10, 15, 20 ... never an epoch end (12, 24, 36), so the test of exact resumption does not
# also trip over the step-collision bug above.
KILL_ARGS = ["--rows", 48, "--batch-size", 4, "--epochs", 3, "--checkpoint-every", 5]
DIST_ARGS = ["--rows", 64, "--val-rows", 32, "--batch-size", 8, "--epochs", 4, "--lr", 1e-3, "--checkpoint-every", 0]
# One epoch, class-balanced batches over 32 "neg" and 8 "pos" rows, each process writing the rows it read.
BALANCED_ARGS = ["--rows", 64, "--batch-size", 4, "--epochs", 1, "--checkpoint-every", 0, "--balanced"]
BALANCED_ARGS += ["--minority-every", 4]


def _latest_step(run_dir: Path) -> int | None:
    try:
        return int((run_dir / "checkpoints" / "latest").read_text().strip().split("-")[1])
    except (OSError, ValueError, IndexError):
        return None


def _in_process(*argv: object) -> None:
    """``train_script.main`` in this process (the baselines: no interpreter start-up)."""
    import train_script

    threads = torch.get_num_threads()
    try:
        assert train_script.main([str(a) for a in argv]) == 0
    finally:
        torch.set_num_threads(threads)


class KillAndResume(threading.Thread):
    """Start run B, SIGKILL it once ``checkpoints/latest`` names a step checkpoint inside epoch 2 or 3, then
    rerun it with ``--resume`` (in a thread, so that it overlaps the in-process tests). Under load this thread
    can miss epoch 2's checkpoints (it waits for the GIL); epoch 3 gives it another chance."""

    def __init__(self, bert: Path, root: Path) -> None:
        super().__init__(daemon=True)
        self.bert, self.root, self.run_dir = bert, root, root / "B"
        self.killed_at: int | None = None
        self.returncode: int | None = None
        self.resumed: subprocess.CompletedProcess | None = None
        self.error: BaseException | None = None
        self.proc: subprocess.Popen | None = None

    def run(self) -> None:
        try:
            out = self.root / "B.safetensors"
            self.proc = subprocess.Popen(
                script(self.bert, self.run_dir, out, *KILL_ARGS, "--slow", 0.1),
                env=script_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 180
            while self.proc.poll() is None and time.monotonic() < deadline:
                step = _latest_step(self.run_dir)
                if step is not None and step > STEPS_PER_EPOCH and step % STEPS_PER_EPOCH:  # mid-epoch 2 or 3
                    self.proc.send_signal(signal.SIGKILL)
                    self.killed_at = step
                    break
                time.sleep(0.005)
            if self.proc.poll() is None and self.killed_at is None:
                self.proc.kill()
            self.returncode = self.proc.wait(timeout=60)
            self.resumed = subprocess.run(
                script(self.bert, self.run_dir, out, *KILL_ARGS, "--resume"),
                env=script_env(),
                capture_output=True,
                text=True,
                timeout=180,
            )
        except BaseException as e:  # re-raised by the fixture
            self.error = e


def _launch_two_processes(bert: Path, root: Path, name: str = "two", extra: tuple = ()) -> subprocess.Popen:
    # `accelerate launch --cpu --num_processes 2` starts ONE process (multi-CPU needs mpirun); the
    # multi-process launcher with ACCELERATE_USE_CPU=1 starts two, on CPU, with gloo.
    launch = [str(VENV_BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    launch += ["--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1"]
    launch += ["--main_process_port", str(free_port())]
    metrics = ["--metrics", root / f"{name}.json"]
    args = script(bert, root / name, root / f"{name}.safetensors", *(extra or DIST_ARGS), *metrics)
    return subprocess.Popen(
        launch + args[1:],
        env={**script_env(), "ACCELERATE_USE_CPU": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module", autouse=True)
def subprocess_runs(request, tmp_path_factory, tiny_bert_dir):
    """Start the subprocess runs that the selected tests need when this module starts, so that their
    interpreter start-ups overlap the in-process tests; the fixtures below wait for them."""
    wanted = {n for item in request.session.items if item.module is request.module for n in item.fixturenames}
    root = tmp_path_factory.mktemp("subprocess-runs")
    jobs: dict = {"root": root}
    if "one_and_two_processes" in wanted:
        jobs["two"] = _launch_two_processes(tiny_bert_dir, root)
    if "balanced_two_processes" in wanted:
        extra = (*BALANCED_ARGS, "--seen", root / "balanced-seen")
        jobs["balanced"] = _launch_two_processes(tiny_bert_dir, root, "balanced", extra)
    if "killed_and_resumed" in wanted:
        jobs["kill"] = KillAndResume(tiny_bert_dir, root)
        jobs["kill"].start()
    yield jobs
    for proc in [jobs.get("two"), jobs.get("balanced"), getattr(jobs.get("kill"), "proc", None)]:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def killed_and_resumed(subprocess_runs, tiny_bert_dir):
    """Run A uninterrupted (in-process); run B killed (SIGKILL) mid-epoch 2 or 3, then resumed with --resume."""
    root, job = subprocess_runs["root"], subprocess_runs["kill"]
    _in_process(tiny_bert_dir, root / "A", root / "A.safetensors", *KILL_ARGS)
    job.join(timeout=400)
    assert not job.is_alive(), "the SIGKILL / resume run did not finish"
    if job.error is not None:
        raise job.error
    check(job.resumed)
    return {
        "A": root / "A",
        "B": job.run_dir,
        "killed_at": job.killed_at,
        "returncode": job.returncode,
        "resumed": job.resumed,
        "weights": (root / "A.safetensors", root / "B.safetensors"),
    }


def test_sigkilled_run_resumes_mid_epoch_and_completes(killed_and_resumed):
    run = killed_and_resumed
    assert run["returncode"] == -signal.SIGKILL
    step = run["killed_at"]
    assert step is not None and STEPS_PER_EPOCH < step < 3 * STEPS_PER_EPOCH and step % STEPS_PER_EPOCH, step
    # Resumed from the checkpoint `latest` named when the kill came, in the middle of epoch 2 or 3.
    said = re.search(
        r"resuming from .*step-(\d+) \(epoch (\d+), batch (\d+)\)", " ".join(run["resumed"].stderr.split())
    )
    assert said, run["resumed"].stderr
    resumed_step, epoch, batch = map(int, said.groups())
    assert resumed_step == step and epoch == step // STEPS_PER_EPOCH + 1 and batch == step % STEPS_PER_EPOCH > 0
    history = json.loads((run["B"] / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert all(np.isfinite(h["train_loss"]) for h in history)
    assert (run["B"] / "checkpoints" / "latest").read_text().strip() == f"step-{3 * STEPS_PER_EPOCH}"
    assert not list((run["B"] / "checkpoints").glob(".tmp-*"))


def test_sigkilled_then_resumed_weights_equal_uninterrupted(killed_and_resumed):
    from safetensors.torch import load_file

    a, b = (load_file(str(p)) for p in killed_and_resumed["weights"])
    assert set(a) == set(b)
    bad = [k for k in a if not torch.allclose(a[k], b[k], atol=1e-6)]
    assert not bad, f"{len(bad)} of {len(a)} tensors differ, e.g. {bad[:3]}"


def test_sigkilled_then_resumed_history_equals_uninterrupted(killed_and_resumed):
    a = json.loads((killed_and_resumed["A"] / "history.json").read_text())
    b = json.loads((killed_and_resumed["B"] / "history.json").read_text())
    assert [h["epoch"] for h in a] == [h["epoch"] for h in b] == [1, 2, 3]
    for ha, hb in zip(a, b, strict=True):
        assert hb["train_loss"] == pytest.approx(ha["train_loss"], abs=1e-6), ha["epoch"]


def _finish(job: subprocess.Popen) -> None:
    """Wait for a launched run (killed after 300 s) and fail with its output unless it succeeded."""
    try:
        out, err = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    check(subprocess.CompletedProcess(job.args, job.returncode, out, err))


@pytest.fixture(scope="module")
def one_and_two_processes(subprocess_runs, tiny_bert_dir):
    """The same training in one process (in-process) and under ``accelerate launch`` with two CPU processes."""
    root, two = subprocess_runs["root"], subprocess_runs["two"]
    _in_process(tiny_bert_dir, root / "one", root / "one.safetensors", *DIST_ARGS, "--metrics", root / "one.json")
    _finish(two)
    return {k: json.loads((root / f"{k}.json").read_text()) | {"dir": root / k} for k in ("one", "two")}


def test_two_processes_train_and_report(one_and_two_processes):
    one, two = one_and_two_processes["one"], one_and_two_processes["two"]
    assert one["num_processes"] == 1 and two["num_processes"] == 2
    for result in (one, two):
        assert [h["epoch"] for h in result["history"]] == [1, 2, 3, 4]
        assert 0.0 <= result["val_accuracy"] <= 1.0
        assert (result["dir"] / "checkpoints" / "best.safetensors").is_file()
        assert (result["dir"] / "checkpoints" / "latest").is_file()
    assert one["best_score"] > 0.75


def test_two_processes_follow_the_same_lr_schedule(one_and_two_processes):
    one, two = one_and_two_processes["one"], one_and_two_processes["two"]
    lrs_one = [h["lr"] for h in one["history"]]
    lrs_two = [h["lr"] for h in two["history"]]
    assert lrs_two == pytest.approx(lrs_one, abs=1e-9)


def test_two_processes_reach_the_accuracy_of_one(one_and_two_processes):
    one, two = one_and_two_processes["one"], one_and_two_processes["two"]
    assert two["best_score"] > 0.6  # above chance (balanced classes)
    assert abs(two["val_accuracy"] - one["val_accuracy"]) <= 0.15


@pytest.fixture(scope="module")
def balanced_two_processes(subprocess_runs):
    """The class-balanced sampler under ``accelerate launch`` with two CPU processes: the rows each read."""
    root = subprocess_runs["root"]
    _finish(subprocess_runs["balanced"])
    return [json.loads((root / f"balanced-seen.rank{r}.json").read_text()) for r in (0, 1)]


def test_two_processes_under_balanced_sampling_read_disjoint_rows(balanced_two_processes):
    r0, r1 = balanced_two_processes
    assert r0["rows"] and len(r0["rows"]) == len(r1["rows"])  # the same number of steps on both
    assert set(r0["rows"]).isdisjoint(r1["rows"])  # no row is read by both processes in the epoch
    classes = r0["classes"] + r1["classes"]
    assert abs(sum(classes) / len(classes) - 0.5) <= 0.05  # balanced, from 8 "pos" among 40 rows
    minority = {row for r in (r0, r1) for row, c in zip(r["rows"], r["classes"], strict=True) if c == 1}
    assert len(minority) == 8  # every "pos" row is drawn (over-sampled), each on one process only


def test_a_checkpoint_left_unpointed_by_a_kill_is_replaced_when_the_step_is_redone(tmp_path):
    """Killed after ``step-N`` was renamed into place but before ``latest`` named it: the resumed
    run (from the older checkpoint) writes step N again over the leftover instead of failing."""
    from torch import nn

    from headstart.train import checkpoint

    model = nn.Linear(2, 2)
    checkpoint.save(tmp_path, 5, model, {"state": 5}, rank=0, main=True)
    leftover = tmp_path / "checkpoints" / "step-10"
    leftover.mkdir()
    (leftover / "training.pt").write_bytes(b"from the killed run")
    assert checkpoint.latest(tmp_path).name == "step-5"
    checkpoint.save(tmp_path, 10, model, {"state": 10}, rank=0, main=True)
    assert checkpoint.latest(tmp_path).name == "step-10"
    saved = torch.load(checkpoint.latest(tmp_path) / "training.pt", weights_only=True)
    assert saved == {"state": 10}  # the redone step, not the leftover
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["latest", "step-10"]
