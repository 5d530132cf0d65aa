"""Domain adaptation (issue 7): each loss's gradient reaches the features, each
raises target accuracy on a toy two-Gaussian shift, target labels never reach
training, the batches mix the domains, the CLI writes its run folder, and
pretrained text and image backbones train through the same path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from headstart.adapt import DomainBatches, adapt_loss, domain_targets, list_methods, make_method
from headstart.adapt.cross_attention import pseudo_labels
from headstart.adapt.run import adapt
from headstart.data import from_arrays
from headstart.errors import HeadstartError
from headstart.train.targets import Targets

ADAPTING = [m for m in list_methods() if m != "source-only"]


def test_registry_lists_every_method_and_rejects_unknown_options():
    assert list_methods() == ["source-only", "dann", "dan", "coral", "cdan", "cdan-e", "cross-attention"]
    with pytest.raises(HeadstartError, match="no option 'cof'.*coeff"):
        make_method("dann", cof=1)
    with pytest.raises(HeadstartError, match="unknown adaptation method 'dnn'"):
        make_method("dnn")


@pytest.mark.parametrize("name", ADAPTING)
def test_each_loss_sends_a_gradient_to_the_features_of_both_domains(name):
    torch.manual_seed(0)
    loss = make_method(name).build(feature_dim=6, n_classes=3)
    loss.total_steps, loss.step = 10, torch.tensor(5)  # mid-training: the reversal coefficient is > 0
    f_s = torch.randn(16, 6, requires_grad=True)
    f_t = (torch.randn(16, 6) + 2.0).requires_grad_(True)
    value = loss(f_s, f_t, torch.randn(16, 3), torch.randn(16, 3))
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    for f in (f_s, f_t):
        assert f.grad is not None and torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


def test_dann_reverses_the_discriminators_gradient_into_the_features():
    """The discriminator descends its loss; what reaches the features is -lambda x
    the plain gradient of that loss (the gradient reversal layer)."""
    from headstart.adapt.base import domain_bce

    torch.manual_seed(0)
    loss = make_method("dann", hidden=8).build(feature_dim=4, n_classes=2)
    loss.total_steps, loss.step = 4, torch.tensor(1)  # progress 1/4: lambda = dann_schedule(0.25)
    f_s, f_t = torch.randn(8, 4, requires_grad=True), torch.randn(8, 4)
    loss(f_s, f_t, torch.randn(8, 2), torch.randn(8, 2)).backward()
    reversed_grad = f_s.grad.clone()
    f_s.grad = None
    d = loss.discriminator(torch.cat([f_s, f_t]))  # no reversal layer
    domain_bce(d[:8], d[8:]).backward()
    assert 0 < loss.lambda_() < 1
    assert torch.allclose(reversed_grad, -loss.lambda_() * f_s.grad, atol=1e-6)


def test_coral_and_mmd_are_zero_for_identical_batches_and_grow_with_shift():
    from headstart.adapt.coral import coral_loss
    from headstart.adapt.dan import mk_mmd

    x = torch.randn(64, 5)
    assert float(coral_loss(x, x, means=True)) == pytest.approx(0.0, abs=1e-7)
    assert float(mk_mmd(x, x)) == pytest.approx(0.0, abs=1e-6)
    assert float(coral_loss(x, 2 * x + 1, True)) > float(coral_loss(x, 1.1 * x, True))
    assert float(mk_mmd(x, x + 2)) > float(mk_mmd(x, x + 0.2))


def two_gaussians(shift: tuple[float, float], n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two classes in 2-D, at (-1, 0) and (1, 0) (std 0.35), moved by ``shift``."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = np.stack([np.where(y == 1, 1.0, -1.0), np.zeros(n)], 1) + 0.35 * rng.normal(size=(n, 2))
    return (x + np.asarray(shift)).astype(np.float32), y


TOY = dict(backbone="scratch:mlp", epochs=30, lr=1e-2, batch_size=64, select="last", progress=False)
# Toy-sized discriminators; DANN at full lambda from the start (30 epochs of 5 steps leave the
# ramped schedule too few adversarial steps on this toy; the digits benchmark keeps the ramp).
TOY_OPTIONS = {"dann": {"hidden": 32, "schedule": False}, "cdan": {"hidden": 32}, "cdan-e": {"hidden": 32}}


@pytest.fixture(scope="module")
def toy_source_only():
    xs, ys = two_gaussians((0.0, 0.0), seed=0)
    xt, yt = two_gaussians((0.8, 0.8), seed=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a module fixture runs before conftest's one-thread fixture
    try:
        r = adapt(from_arrays(xs, ys), from_arrays(xt, yt), method="source-only", **TOY)
    finally:
        torch.set_num_threads(threads)
    return xs, ys, xt, yt, r.target_accuracy


@pytest.mark.parametrize("name", ADAPTING)
def test_each_method_raises_target_accuracy_on_a_two_gaussian_shift(name, toy_source_only):
    xs, ys, xt, yt, base = toy_source_only
    assert base < 0.8  # the shift hurts: the source boundary cuts through a target class
    r = adapt(from_arrays(xs, ys), from_arrays(xt, yt), method=name, options=TOY_OPTIONS.get(name), **TOY)
    assert r.target_accuracy > base + 0.1, (name, r.target_accuracy, base)


def test_target_labels_never_reach_training():
    """The same target rows with true labels, shuffled labels or none train the
    very same weights; the labels only change the reported accuracy."""
    xs, ys = two_gaussians((0.0, 0.0), n=80, seed=0)
    xt, yt = two_gaussians((1.0, 1.0), n=80, seed=1)
    opts = dict(backbone="scratch:mlp", epochs=2, lr=1e-2, batch_size=16, progress=False)
    runs = [adapt(from_arrays(xs, ys), from_arrays(xt, labels), method="dann", **opts) for labels in (yt, 1 - yt, None)]
    weights = [r.model.state_dict() for r in runs]
    for other in weights[1:]:
        assert all(torch.equal(weights[0][k], other[k]) for k in weights[0])
    assert runs[0].target_accuracy == pytest.approx(1 - runs[1].target_accuracy)
    assert runs[2].target_accuracy is None and runs[2].target_metrics is None


def test_domain_targets_and_batches_mix_the_domains():
    t = domain_targets(np.array([2, 0, 1]), 4)
    assert t.y.tolist() == [2, 0, 1, -1, -1, -1, -1] and t.domain.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert t.group is None and t.labelled.tolist() == [True] * 3 + [False] * 4
    sampler = DomainBatches(n_source=10, n_target=3, batch_size=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 5
    assert sorted(i for b in batches for i in b[:2]) == list(range(10))  # every source row once
    assert all(min(b[2:]) >= 10 for b in batches)  # the rest are target rows
    assert list(sampler) == batches  # a pure function of (seed, epoch)
    sampler.set_epoch(1)
    assert list(sampler) != batches


def test_loss_ignores_target_class_codes_and_counts_steps():
    method = make_method("dan").build(4, 2)
    loss = adapt_loss(method, 2)
    out = torch.randn(6, 2 + 4, requires_grad=True)
    targets = Targets.of([0, 1, 1, -1, -1, -1], domain=[0, 0, 0, 1, 1, 1])
    value = loss(out, targets)
    value.backward()
    assert torch.isfinite(value) and int(method.step) == 1
    assert out.grad[3:, :2].abs().sum() == 0  # no class gradient from target rows


def test_scratch_backbones_shapes_and_masks():
    from headstart.backbones import load_backbone
    from headstart.backbones.scratch import pad_sequences

    lenet = load_backbone("scratch:lenet", size=16)
    assert lenet.forward_features(lenet.preprocess([np.zeros((28, 28), np.uint8)] * 2)).shape == (2, 500)
    seq = load_backbone("scratch:seqconv", channels=8).eval()
    a = pad_sequences([[1.0, 2.0, 3.0], [4.0] * 7])
    b = pad_sequences([[1.0, 2.0, 3.0], [4.0] * 7], width=20)  # more padding: the same features
    with torch.no_grad():
        fa, fb = seq.forward_features(seq.preprocess(a)), seq.forward_features(seq.preprocess(b))
    assert fa.shape == (2, 16) and torch.allclose(fa, fb, atol=1e-6)


def test_cli_adapt_writes_run_folder_and_reports_target_accuracy(tmp_path, capsys):
    from headstart.cli import run
    from headstart.report.build import collect_sections

    xs, ys = two_gaussians((0.0, 0.0), n=120, seed=0)
    xt, yt = two_gaussians((1.0, 1.0), n=120, seed=1)
    pd.DataFrame({"a": xs[:, 0], "b": xs[:, 1], "label": ys}).to_csv(tmp_path / "src.csv", index=False)
    pd.DataFrame({"a": xt[:, 0], "b": xt[:, 1]}).to_csv(tmp_path / "tgt.csv", index=False)
    out = tmp_path / "run"
    argv = ["adapt", str(tmp_path / "src.csv"), str(tmp_path / "tgt.csv"), "--method", "dann"]
    argv += ["--backbone", "scratch:mlp", "--epochs", "2", "--out", str(out), "--feature-cols", "a,b"]
    assert run(argv) == 0
    a = json.loads((out / "adapt.json").read_text())
    assert a["target_labelled"] is False and a["result"]["target_accuracy"] is None
    assert a["baseline"]["method"] == "source-only"
    assert "SOURCE validation" in a["selection_rule"]
    assert (out / "projection.png").stat().st_size > 1000 and (out / "model.safetensors").is_file()
    assert len(a["projection"]["panels"]) == 2
    # The adapted model is a run folder that `headstart predict` reads.
    preds = tmp_path / "predictions.csv"
    assert run(["predict", str(out), str(tmp_path / "tgt.csv"), "--out", str(preds)]) == 0
    assert len(pd.read_csv(preds)) == 120
    section = next(s for s in collect_sections(out) if s.title == "Domain adaptation")
    assert "source-only" in section.markdown and "data:image/png;base64" in section.html
    assert (
        run(["adapt", str(tmp_path / "src.csv"), str(tmp_path / "tgt.csv"), "--method", "dan", "--option", "x=1"]) == 2
    )


def test_cli_adapt_resumes_after_sigkill_and_matches_an_uninterrupted_run(tmp_path):
    """`headstart adapt ... --resume` after a SIGKILL during DANN's training: the finished
    source-only run is reloaded, DANN continues from its last checkpoint, and the saved
    model is byte-identical to an uninterrupted run's."""
    import signal
    import subprocess
    import sys
    import time

    xs, ys = two_gaussians((0.0, 0.0), n=400, seed=0)
    xt, _ = two_gaussians((1.0, 1.0), n=400, seed=1)
    pd.DataFrame({"a": xs[:, 0], "b": xs[:, 1], "label": ys}).to_csv(tmp_path / "src.csv", index=False)
    pd.DataFrame({"a": xt[:, 0], "b": xt[:, 1]}).to_csv(tmp_path / "tgt.csv", index=False)

    def command(out: str) -> list[str]:
        argv = [sys.executable, "-m", "headstart", "adapt", str(tmp_path / "src.csv"), str(tmp_path / "tgt.csv")]
        return argv + [
            "--backbone",
            "scratch:mlp",
            "--epochs",
            "60",
            "--feature-cols",
            "a,b",
            "--out",
            str(tmp_path / out),
        ]

    reference = subprocess.run(command("A"), capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr
    proc = subprocess.Popen(command("B"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pointer = tmp_path / "B" / "training" / "dann" / "checkpoints" / "latest"
    deadline = time.time() + 240
    while not pointer.is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert pointer.is_file() and proc.returncode == -signal.SIGKILL, "the run ended before DANN's first checkpoint"
    assert not (tmp_path / "B" / "adapt.json").exists()
    resumed = subprocess.run(command("B") + ["--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr and resumed.stderr.count("resuming from") == 2  # both runs
    saved = {
        run: sorted(p.relative_to(tmp_path / run) for p in (tmp_path / run).rglob("*.safetensors")) for run in "AB"
    }
    saved = {run: [p for p in files if p.parts[0] != "training"] for run, files in saved.items()}  # not checkpoints
    assert Path("model.safetensors") in saved["A"] and saved["A"] == saved["B"]
    for name in saved["A"]:  # the adapted model: head and backbone
        assert (tmp_path / "A" / name).read_bytes() == (tmp_path / "B" / name).read_bytes(), name
    a, b = (json.loads((tmp_path / run / "adapt.json").read_text()) for run in ("A", "B"))
    from headstart.cli import run

    assert run(["adapt", str(tmp_path / "src.csv"), str(tmp_path / "tgt.csv"), "--resume"]) == 2  # needs --out
    for part in ("result", "baseline"):  # the same figures; only the time taken differs
        assert {k: v for k, v in a[part].items() if k != "seconds"} == {
            k: v for k, v in b[part].items() if k != "seconds"
        }


def test_cli_target_file_label_column_never_leaks_into_training(tmp_path):
    """A TARGET file with a label column: the true labels and flipped labels train
    byte-identical models; the column only changes the reported accuracy."""
    from headstart.classifier import load_run
    from headstart.cli import run

    xs, ys = two_gaussians((0.0, 0.0), n=100, seed=0)
    xt, yt = two_gaussians((1.0, 1.0), n=100, seed=1)
    pd.DataFrame({"a": xs[:, 0], "b": xs[:, 1], "label": ys}).to_csv(tmp_path / "src.csv", index=False)
    results = []
    for name, labels in (("true", yt), ("flipped", 1 - yt)):
        pd.DataFrame({"a": xt[:, 0], "b": xt[:, 1], "label": labels}).to_csv(tmp_path / f"{name}.csv", index=False)
        out = tmp_path / name
        argv = ["adapt", str(tmp_path / "src.csv"), str(tmp_path / f"{name}.csv"), "--method", "coral"]
        argv += ["--backbone", "scratch:mlp", "--epochs", "2", "--no-baseline", "--out", str(out)]
        assert run(argv + ["--feature-cols", "a,b", "--label-col", "label"]) == 0
        a = json.loads((out / "adapt.json").read_text())
        assert a["target_labelled"] is True
        weights = b"".join(f.read_bytes() for f in sorted(out.rglob("*.safetensors")))  # head + backbone
        results.append((a["result"]["target_accuracy"], weights))
        # The saved run reproduces the reported target accuracy.
        target = from_arrays(np.stack([xt[:, 0], xt[:, 1]], 1), labels)
        assert load_run(out).evaluate(target)["accuracy"] == pytest.approx(a["result"]["target_accuracy"])
    assert len(results[0][1]) > 1000 and results[0][1] == results[1][1]
    assert results[0][0] == pytest.approx(1 - results[1][0])


def _moved(before: dict[str, torch.Tensor], model: torch.nn.Module) -> bool:
    """Whether any backbone weight changed from ``before`` (the weights adapt() starts from, seed 0)."""
    after = model.backbone.state_dict()
    return any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point())


def test_dann_trains_a_pretrained_text_backbone_on_variable_length_texts(tiny_bert_dir):
    from conftest import make_texts

    from headstart.backbones import load_backbone

    spec = f"hf:{tiny_bert_dir}"
    before = {k: v.clone() for k, v in load_backbone(spec, seed=0).state_dict().items()}
    xs, ys = make_texts(24, seed=0)
    xt, yt = make_texts(16, seed=1)
    target = [t.upper() for t in xt]  # a systematic surface shift; the lower-casing tokenizer undoes it
    r = adapt(from_arrays(xs, ys), from_arrays(target, yt), method="dann", backbone=spec, epochs=1, lr=1e-3,
              batch_size=8, val_size=0.0, select="last", progress=False)  # fmt: skip
    assert r.backbone == spec and r.n_target == 16 and 0.0 <= r.target_accuracy <= 1.0
    assert _moved(before, r.model)


def test_dann_trains_a_pretrained_image_backbone(tmp_path):
    from conftest import make_image_folder

    from headstart.backbones import load_backbone
    from headstart.data import load

    src = load(make_image_folder(tmp_path / "src", per_class=4))
    tgt = load(make_image_folder(tmp_path / "tgt", per_class=3, split="val") / "val")
    options = {"pretrained": False}  # random weights through the pretrained-model code path (no download)
    start = load_backbone("timm:test_efficientnet", seed=0, **options)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    r = adapt(src, tgt, method="dann", backbone="timm:test_efficientnet", backbone_options=options, epochs=1,
              lr=1e-3, batch_size=4, val_size=0.0, select="last", progress=False)  # fmt: skip
    assert r.n_target == 6 and 0.0 <= r.target_accuracy <= 1.0
    assert _moved(before, r.model)


def test_cross_attention_bank_votes_with_true_source_labels_beyond_the_batch():
    """Target rows near class 1's source rows get pseudo-label 1 from the bank's true
    labels, even when the batch has no class-1 source row and the source predictions
    are wrong; the two-way filter drops rows the classifier disagrees with."""
    method = make_method("cross-attention", bank=16, vote="cosine", agree=True, adversarial=0)
    method = method.build(feature_dim=4, n_classes=2)
    loss = adapt_loss(method, 2)
    e0, e1 = torch.eye(4)[0], torch.eye(4)[1]
    f_s = torch.stack([e0, e0, e1, e1]) + 0.01 * torch.randn(4, 4)
    wrong = torch.tensor([[0.0, 5.0], [0.0, 5.0], [5.0, 0.0], [5.0, 0.0]])  # source predictions all wrong
    targets = Targets.of([0, 0, 1, 1, -1, -1], domain=[0, 0, 0, 0, 1, 1])
    f_t = torch.stack([e1, e1]) + 0.01
    loss(torch.cat([torch.cat([wrong, torch.zeros(2, 2)]), torch.cat([f_s, f_t])], 1), targets)
    assert sorted(method.bank.rows()[1].tolist()) == [0, 0, 1, 1]  # adapt_loss passed the true codes
    # Next batch: class-0 source rows only; the target rows still vote class 1 through the bank.
    only0 = torch.stack([e0, e0]) + 0.01 * torch.randn(2, 4)
    vote = method.bank_vote(f_t, only0, torch.tensor([0, 0]))
    assert vote.argmax(1).tolist() == [1, 1] and bool((vote.max(1).values > 0.9).all())
    label, keep = pseudo_labels(vote, torch.tensor([[0.0, 1.0], [1.0, 0.0]]), 0.8)
    assert label.tolist() == [1, 1] and keep.tolist() == [True, False]
    assert len(method.bank.rows()[1]) == 6
