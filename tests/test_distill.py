"""Distillation: the losses' formulas, the students, and teacher -> student runs
through the one training loop (tiny random BERT, a few dozen rows)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from conftest import assert_one_error_line, cli, make_texts

from headstart import TransferClassifier
from headstart.backbones import load_backbone
from headstart.classifier import load_run
from headstart.data import Dataset, from_arrays
from headstart.distill import FeatureKD, LogitKD, Outputs, SelfDistill, distill, list_methods, make_method
from headstart.distill.base import UNLABELLED, DistillModel, ensemble_logits, hard_loss
from headstart.distill.students import evenly_spaced, make_student, parse_layers, same_inputs
from headstart.errors import HeadstartError


# ------------------------------------------------------------------ fixtures
def fit_teacher(folder, hf_text_spec, rows_seed: int, seed: int = 0):
    """A tiny BERT fine-tuned on the sentiment words: a teacher that knows something."""
    texts, labels = make_texts(80, seed=rows_seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before conftest's one-thread fixture
    try:
        clf = TransferClassifier(backbone=hf_text_spec, strategy="full", epochs=3, lr=2e-3, seed=seed, progress=False)
        clf.fit(texts, labels)
    finally:
        torch.set_num_threads(threads)
    clf.save(folder, data={"source": "memory"})
    return folder


@pytest.fixture(scope="module")
def teacher_run(tmp_path_factory, hf_text_spec):
    return fit_teacher(tmp_path_factory.mktemp("teacher") / "run", hf_text_spec, rows_seed=11)


@pytest.fixture(scope="module")
def second_teacher_run(tmp_path_factory, hf_text_spec):
    """Another teacher like ``teacher_run`` (other rows, seed 1): with it, an ensemble of two."""
    return fit_teacher(tmp_path_factory.mktemp("teacher2") / "run", hf_text_spec, rows_seed=12, seed=1)


@pytest.fixture
def data():
    texts, labels = make_texts(60, seed=3)
    return from_arrays(texts, labels)


def write_csv(path, n=60, seed=3):
    texts, labels = make_texts(n, seed=seed)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def mean_kl(teacher, student, texts) -> float:
    """KL(teacher || student) of the class probabilities, averaged over texts."""
    p = torch.from_numpy(teacher.predict_proba(texts)).double()
    q = torch.from_numpy(student.predict_proba(texts)).double()
    return float((p * (p.log() - q.log())).sum(1).mean())


# --------------------------------------------------------------- the losses
def test_logit_kd_is_hintons_formula():
    torch.manual_seed(0)
    zs, zt = torch.randn(6, 3), torch.randn(6, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    f = torch.zeros(6, 4)
    T, alpha = 3.0, 0.3
    pt = F.softmax(zt / T, 1)
    kl = (pt * (pt.log() - F.log_softmax(zs / T, 1))).sum(1).mean()
    expected = (1 - alpha) * F.cross_entropy(zs, y) + alpha * T**2 * kl
    got = LogitKD(temperature=T, alpha=alpha)(Outputs(zs, f), Outputs(zt, f), y)
    assert torch.allclose(got, expected, atol=1e-6)
    # alpha = 0: the labels alone; identical logits and alpha = 1: nothing to learn.
    assert torch.allclose(LogitKD(alpha=0.0)(Outputs(zs, f), Outputs(zt, f), y), F.cross_entropy(zs, y))
    assert LogitKD(alpha=1.0)(Outputs(zt, f), Outputs(zt, f), y).abs() < 1e-6


def test_t_squared_keeps_the_soft_gradient_on_the_same_scale():
    # Without T^2 the soft term's gradient shrinks like 1/T^2; with it, it stays of the same order.
    torch.manual_seed(0)
    zt, y, f = torch.randn(64, 5) * 0.5, torch.zeros(64, dtype=torch.long), torch.zeros(64, 2)
    norms = []
    for T in (2.0, 8.0):
        zs = (torch.randn(64, 5) * 0.5).requires_grad_(True)
        LogitKD(temperature=T, alpha=1.0)(Outputs(zs, f), Outputs(zt, f), y).backward()
        norms.append(zs.grad.norm().item())
    assert 0.5 < norms[1] / norms[0] < 2.0, norms


def test_unlabelled_rows_only_feel_the_teacher():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [5.0, -5.0]])
    labels = torch.tensor([0, 1, UNLABELLED])
    assert torch.allclose(hard_loss(logits, labels), F.cross_entropy(logits[:2], labels[:2]))
    assert hard_loss(logits, torch.full((3,), UNLABELLED)).item() == 0.0


def test_feature_kd_projection_starts_as_identity_and_learns_other_widths():
    loss = FeatureKD(alpha=1.0, beta=2.0)
    loss.setup(4, 4)
    f = torch.randn(5, 4)
    assert torch.allclose(loss.project(f), f)
    z = torch.randn(5, 2)
    assert loss(Outputs(z, loss.project(f)), Outputs(z, f), torch.zeros(5, dtype=torch.long)).abs() < 1e-6
    wide = FeatureKD(beta=1.0)
    wide.setup(4, 6)
    assert wide.project(f).shape == (5, 6)
    # The hint term is relative to the teacher features' energy: scale-free.
    s, t = torch.randn(5, 6), torch.randn(5, 6)
    a = FeatureKD(alpha=1.0)(Outputs(z, s), Outputs(z, t), torch.zeros(5, dtype=torch.long))
    b = FeatureKD(alpha=1.0)(Outputs(z, 10 * s), Outputs(z, 10 * t), torch.zeros(5, dtype=torch.long))
    assert torch.allclose(a, b, rtol=1e-5)


def test_methods_and_their_options():
    assert list_methods() == ["logits", "features", "self", "none"]
    assert make_method("none") is None
    assert isinstance(make_method("self"), SelfDistill) and make_method("self").temperature == 1.0
    with pytest.raises(HeadstartError, match="unknown distillation method 'logit'; did you mean 'logits'"):
        make_method("logit")
    with pytest.raises(HeadstartError, match="method 'logits' has no option 'temp'"):
        make_method("logits", temp=2)
    with pytest.raises(HeadstartError, match="temperature must be > 0"):
        make_method("logits", temperature=0)
    with pytest.raises(HeadstartError, match=r"alpha must be in \[0, 1\]"):
        make_method("features", alpha=2)


# --------------------------------------------------------------- the students
def test_layers_are_evenly_spaced_like_distilbert():
    assert evenly_spaced(6, 3) == [0, 2, 4]
    assert evenly_spaced(12, 6) == [0, 2, 4, 6, 8, 10]
    assert parse_layers("half", 6) == [0, 2, 4]
    assert parse_layers("1,3", 6) == [1, 3]
    for bad in ("6", "0", "3,1", "0,9", "x"):
        with pytest.raises(HeadstartError, match="layers"):
            parse_layers(bad, 6)


def test_truncated_student_starts_from_the_teachers_layers(teacher_run, tmp_path, data):
    teacher = load_run(teacher_run)
    student = make_student("layers:1", teacher)
    assert student.layers == [0] and student.kind == "layers"
    s_layers, t_layers = student.backbone.model.encoder.layer, teacher.backbone_.model.encoder.layer
    assert len(s_layers) == 1 and len(t_layers) == 2  # the teacher is untouched
    for (name, p), (_, q) in zip(s_layers[0].named_parameters(), t_layers[0].named_parameters(), strict=True):
        assert torch.equal(p, q), name
        assert p.data_ptr() != q.data_ptr()  # a copy, not shared
    assert torch.equal(student.head.weight, teacher.head_.weight)
    assert student.backbone.model.config.num_hidden_layers == 1
    assert teacher.backbone_.model.config.num_hidden_layers == 2
    assert same_inputs(student.backbone, teacher.backbone_)
    trained = distill(teacher_run, data, student="layers:1", epochs=1, lr=1e-4, progress=False)
    assert trained.distilled_["student_layers"] == [0]
    assert trained.distilled_["student_parameters"] < trained.distilled_["teacher_parameters"]
    # It saves and reloads like any backbone.
    student.backbone.save(tmp_path / "bb")
    again = load_backbone(f"local:{tmp_path / 'bb'}")
    batch = again.preprocess(["good film", "awful day"])
    with torch.no_grad():
        assert torch.allclose(again.forward_features(batch), student.backbone.forward_features(batch), atol=1e-6)


def test_self_student_is_the_teachers_architecture_from_pretrained_weights(teacher_run, hf_text_spec):
    teacher = load_run(teacher_run)
    student = make_student("self", teacher)
    pretrained = load_backbone(hf_text_spec)
    s, p, t = student.backbone.state_dict(), pretrained.state_dict(), teacher.backbone_.state_dict()
    assert s.keys() == t.keys()
    assert all(torch.equal(s[k], p[k]) for k in s)
    assert any(not torch.equal(s[k], t[k]) for k in s)  # not the fine-tuned weights
    assert student.head is None


# -------------------------------------------------------- teacher -> student
def test_distillation_pulls_the_student_towards_the_teacher(teacher_run, data):
    # A born-again student (pretrained weights, fresh head) trained on the teacher's targets
    # alone (alpha = 1) ends much closer to the teacher than where it started (lr = 0: the same
    # code path, no update).
    teacher = load_run(teacher_run)
    texts = list(data.inputs)
    unlabelled = from_arrays(make_texts(60, seed=21)[0])
    kw = dict(student="self", method="logits", method_options={"alpha": 1.0, "temperature": 1.0}, val_size=0)
    kw.update(progress=False, cache=False, transfer=unlabelled)
    before = distill(teacher_run, data, epochs=1, lr=0.0, **kw)
    after = distill(teacher_run, data, epochs=5, lr=2e-3, **kw)
    assert mean_kl(teacher, after, texts) < 0.7 * mean_kl(teacher, before, texts)
    info = after.distilled_
    assert info["transfer_rows"] == 60 and info["labelled_rows"] == 60 and info["student_kind"] == "self"


def test_where_the_students_head_starts(teacher_run, data):
    teacher = load_run(teacher_run)
    kw = dict(student="layers:1", epochs=1, lr=0.0, progress=False)
    copied = distill(teacher_run, data, head_init="teacher", **kw)
    assert torch.equal(copied.head_.weight, teacher.head_.weight)
    probed = distill(teacher_run, data, **kw)  # default: a linear probe on the student's own features
    assert probed.distilled_["head_init"] == "probe"
    assert not torch.equal(probed.head_.weight, teacher.head_.weight)
    assert probed.evaluate(data)["accuracy"] >= copied.evaluate(data)["accuracy"]
    with pytest.raises(HeadstartError, match="only a layers:K student can"):
        distill(teacher_run, data, student="self", head_init="teacher", epochs=1, progress=False)
    with pytest.raises(HeadstartError, match="head_init must be one of"):
        distill(teacher_run, data, student="self", head_init="zeros", epochs=1, progress=False)


def test_features_method_trains_its_projection_through_the_loop(teacher_run, data, tmp_path):
    student = distill(
        teacher_run, data, student="layers:1", method="features", epochs=1, lr=1e-3, progress=False, run_dir=tmp_path
    )
    assert student.distilled_["loss"].startswith("features")
    # The one loop wrote its history and checkpoint; the checkpoint holds the projection too.
    assert json.loads((tmp_path / "history.json").read_text())[0]["epoch"] == 1
    from safetensors.torch import load_file

    ckpt = next((tmp_path / "checkpoints").glob("step-*"))
    keys = load_file(str(ckpt / "model.safetensors")).keys()
    assert "loss.projection.weight" in keys and any(k.startswith("student.backbone.") for k in keys)
    assert not any(k.startswith(("_teacher", "teacher")) for k in keys)  # never checkpointed


def test_a_student_with_other_preprocessing_gets_its_own_batches(teacher_run, data, tiny_st_dir):
    # The sentence-transformers layout of the tiny BERT cuts texts at 16 tokens: another preprocessing.
    teacher = load_run(teacher_run)
    other = load_backbone(f"hf:{tiny_st_dir}")
    assert not same_inputs(other, teacher.backbone_)
    student = distill(teacher, data, student=f"hf:{tiny_st_dir}", epochs=1, lr=1e-3, progress=False)
    assert student.distilled_["shared_batch"] is False and student.distilled_["student_kind"] == "spec"
    assert student.predict(["good fun"]).shape == (1,)


def test_self_distillation_default_student(teacher_run, data):
    student = distill(teacher_run, data, method="self", epochs=1, lr=1e-3, progress=False)
    assert student.distilled_["student"] == "self" and student.distilled_["student_kind"] == "self"
    assert student.distilled_["student_parameters"] == student.distilled_["teacher_parameters"]


def test_ensemble_logits_are_the_log_of_the_mean_probability():
    torch.manual_seed(0)
    za, zb = torch.randn(5, 3), torch.randn(5, 3)
    mean = 0.5 * (F.softmax(za, 1) + F.softmax(zb, 1))
    assert torch.allclose(ensemble_logits([za, zb]).exp(), mean, atol=1e-6)
    assert ensemble_logits([za]) is za  # one teacher: its own logits, untouched


def test_an_ensemble_of_teachers_targets_their_mean_prediction(teacher_run, second_teacher_run, data):
    from torch import nn

    from headstart.train import TransferModel

    teachers = [load_run(teacher_run), load_run(second_teacher_run)]
    texts = list(data.inputs)[:8]
    made = make_student("layers:1", teachers[0])
    model = TransferModel(made.backbone, 2)
    model.head = made.head
    members = [nn.ModuleDict({"backbone": t.backbone_, "head": t.head_}) for t in teachers]
    net = DistillModel(model, members, LogitKD()).train()
    items, _ = made.backbone.prepare(texts)
    net(made.backbone.collate(items))
    kept = net._kept[1].logits
    mean = sum(torch.from_numpy(t.predict_proba(texts)) for t in teachers) / 2
    assert torch.allclose(kept.exp(), mean.float(), atol=1e-4)
    assert not torch.allclose(mean.float(), torch.from_numpy(teachers[0].predict_proba(texts)).float(), atol=1e-3)

    kw = dict(student="layers:1", epochs=1, lr=1e-3, progress=False, cache=False)
    student = distill([teacher_run, second_teacher_run], data, **kw)
    info = student.distilled_
    assert info["teachers"] == 2 and info["teacher"] == f"{teacher_run}, {second_teacher_run}"
    single = distill(teacher_run, data, **kw).distilled_
    assert info["teacher_parameters"] == 2 * single["teacher_parameters"] and single["teachers"] == 1
    with pytest.raises(HeadstartError, match="feature distillation matches one teacher"):
        distill([teacher_run, second_teacher_run], data, method="features", **kw)
    other = load_run(second_teacher_run)
    other.classes_ = np.asarray(["no", "yes"])
    with pytest.raises(HeadstartError, match="ensemble teachers must share their classes"):
        distill([teachers[0], other], data, **kw)


def test_cached_teacher_outputs_train_the_same_student(teacher_run, second_teacher_run, data, tmp_path):
    """cache_teacher=True looks the teachers' features up instead of running them per batch: the same
    student to float rounding (a 20% validation split and a transfer set make the row mapping matter),
    while a student of another teacher ends visibly elsewhere; the table is extracted once, then reused."""
    unlabelled = from_arrays(make_texts(40, seed=21)[0])
    kw = dict(student="layers:1", method_options={"alpha": 1.0, "temperature": 1.0}, val_size=0.2, epochs=2)
    kw.update(lr=2e-3, progress=False, transfer=unlabelled, cache_dir=tmp_path / "cache")
    texts = make_texts(30, seed=5)[0]
    per_batch = distill([teacher_run, second_teacher_run], data, **kw).predict_proba(texts)
    looked_up = distill([teacher_run, second_teacher_run], data, cache_teacher=True, **kw)
    assert looked_up.distilled_["cache_teacher"] is True
    np.testing.assert_allclose(looked_up.predict_proba(texts), per_batch, atol=1e-4)
    other = distill(second_teacher_run, data, **kw).predict_proba(texts)
    assert np.abs(other - per_batch).max() > 1e-2
    everything = Dataset(list(data.inputs) + list(unlabelled.inputs), None, "text").fingerprint()[:32]
    tables = sorted((tmp_path / "cache" / "features").rglob(f"{everything}.safetensors"))
    assert len(tables) == 2  # one per teacher: every labelled row and the transfer set
    stamps = [t.stat().st_mtime_ns for t in tables]
    again = distill([teacher_run, second_teacher_run], data, cache_teacher=True, seed=1, **kw)
    assert again.distilled_["cache_teacher"] is True
    # Another seed (another validation split) reads the same tables.
    assert sorted((tmp_path / "cache" / "features").rglob(f"{everything}.safetensors")) == tables
    assert [t.stat().st_mtime_ns for t in tables] == stamps


# ----------------------------------------------------------------------- CLI
def test_cli_distill_writes_a_normal_run_folder(tmp_path, capsys, teacher_run):
    train, test = write_csv(tmp_path / "train.csv"), write_csv(tmp_path / "test.csv", n=30, seed=8)
    extra = tmp_path / "extra.csv"
    pd.DataFrame({"text": make_texts(20, seed=9)[0]}).to_csv(extra, index=False)
    out = tmp_path / "student"
    args = ["distill", teacher_run, train, "--student", "layers:1", "--eval", test, "--transfer", extra]
    code, stdout, err = cli(capsys, *args, "--epochs", "1", "--option", "temperature=2", "-o", out)
    assert code == 0, err
    assert "of the teacher's" in stdout and "+ 20 unlabelled transfer rows" in stdout
    info = json.loads((out / "distill.json").read_text())
    assert info["method_options"] == {"temperature": 2.0, "alpha": 0.5}
    assert {"teacher_accuracy", "student_accuracy", "retained"} <= info.keys()
    assert (out / "backbone").is_dir() and (out / "metrics.json").is_file()
    code, _, err = cli(capsys, "predict", out, test, "-o", tmp_path / "p.csv")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 30
    code, _, err = cli(capsys, "evaluate", out, test)
    assert code == 0, err
    assert load_run(out).backbone_.model.config.num_hidden_layers == 1


def test_cli_distill_from_an_ensemble(tmp_path, capsys, teacher_run, second_teacher_run):
    train, test = write_csv(tmp_path / "train.csv"), write_csv(tmp_path / "test.csv", n=30, seed=8)
    out = tmp_path / "student"
    args = ["distill", teacher_run, train, "--ensemble", second_teacher_run, "--student", "layers:1", "--eval", test]
    code, _, err = cli(capsys, *args, "--epochs", "1", "--cache-teacher", "--cache-dir", tmp_path / "cache", "-o", out)
    assert code == 0, err
    info = json.loads((out / "distill.json").read_text())
    assert info["teachers"] == 2 and str(second_teacher_run) in info["teacher"] and info["cache_teacher"] is True
    # The teacher's accuracy reported is the ensemble's: the class of highest mean probability.
    frame = pd.read_csv(test)
    teachers = [load_run(teacher_run), load_run(second_teacher_run)]
    mean = sum(t.predict_proba(list(frame["text"])) for t in teachers) / 2
    truth = teachers[0]._encode(list(frame["label"]), "test")
    assert info["teacher_accuracy"] == pytest.approx(float((mean.argmax(1) == truth).mean()))


def test_cli_distill_errors_are_one_line(tmp_path, capsys, teacher_run):
    train = write_csv(tmp_path / "train.csv")
    out = ["-o", tmp_path / "s"]
    base = ["distill", teacher_run, train]
    assert_one_error_line(cli(capsys, *base, "--student", "layers:1", "--method", "fitnet", *out), "unknown distil")
    assert_one_error_line(cli(capsys, *base, "--student", "layers:2", *out), "the teacher has 2 blocks")
    assert_one_error_line(cli(capsys, *base, *out), "choose a student")
    assert_one_error_line(
        cli(capsys, *base, "--student", "layers:1", "--method", "none", "--transfer", train, *out), "transfer set"
    )
    assert_one_error_line(cli(capsys, "distill", tmp_path / "nope", train, "--student", "self", *out), "no such run")
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["good", "bad", "fine"], "label": ["pos", "neg", "meh"]}).to_csv(bad, index=False)
    assert_one_error_line(cli(capsys, "distill", teacher_run, bad, "--student", "self", "--val-size", "0", *out), "meh")


def test_layers_student_needs_a_hugging_face_teacher(tmp_path):
    from conftest import make_image_folder

    root = make_image_folder(tmp_path / "img", per_class=3)
    clf = TransferClassifier(backbone="timm:test_efficientnet", pretrained=False, strategy="linear-probe")
    clf.fit(from_arrays(sorted(str(p) for p in root.rglob("*.png")), ["blue"] * 3 + ["red"] * 3))
    with pytest.raises(HeadstartError, match="a layers:K student copies a Hugging Face teacher"):
        make_student("layers:1", clf)


# ------------------------------------------------ regression and multi-label teachers
def numbers(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Texts and a number per text: its length in words, plus 2 when it is positive."""
    texts, labels = make_texts(n, seed=seed)
    return texts, np.array([len(t.split()) + (2.0 if s == "pos" else 0.0) for t, s in zip(texts, labels, strict=True)])


def label_sets(n: int, seed: int) -> tuple[list[str], list[list[str]]]:
    """Texts and a label set per text: its sentiment, and ``long`` when it has more than 5 words."""
    texts, labels = make_texts(n, seed=seed)
    return texts, [[s] + (["long"] if len(t.split()) > 5 else []) for t, s in zip(texts, labels, strict=True)]


def fit_task_teacher(folder, hf_text_spec, task: str):
    """A linear probe on the tiny BERT for ``task``: a teacher in seconds."""
    texts, y = (numbers if task == "regression" else label_sets)(80, 11)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clf = TransferClassifier(backbone=hf_text_spec, strategy="linear-probe", task=task, cache=False, progress=False)
        clf.fit(texts, y)
    finally:
        torch.set_num_threads(threads)
    return clf.save(folder, data={"source": "memory"})


@pytest.fixture(scope="module")
def regression_teacher(tmp_path_factory, hf_text_spec):
    return fit_task_teacher(tmp_path_factory.mktemp("reg-teacher") / "run", hf_text_spec, "regression")


@pytest.fixture(scope="module")
def multilabel_teacher(tmp_path_factory, hf_text_spec):
    return fit_task_teacher(tmp_path_factory.mktemp("ml-teacher") / "run", hf_text_spec, "multilabel")


def test_the_teacher_terms_of_a_regression_and_a_multilabel_target():
    from headstart.train.targets import Targets

    torch.manual_seed(0)
    f = torch.zeros(4, 2)
    zs, zt = torch.randn(4, 1), torch.randn(4, 1)
    y = torch.tensor([0.5, -1.0, float("nan"), 2.0])  # row 3: a transfer-set row (no label)
    kd = LogitKD(alpha=0.3)
    kd.task = "regression"
    lab = ~torch.isnan(y)
    expected = 0.7 * F.mse_loss(zs[lab, 0], y[lab]) + 0.3 * F.mse_loss(zs[:, 0], zt[:, 0])
    assert torch.allclose(kd(Outputs(zs, f), Outputs(zt, f), Targets.values(y)), expected)
    assert kd.options() == {"alpha": 0.3} and "MSE on the teacher's standardised outputs" in kd.describe()
    zs, zt = torch.randn(4, 3), torch.randn(4, 3)
    Y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [float("nan")] * 3, [1.0, 1.0, 0.0]])
    kd.task = "multilabel"
    soft = F.binary_cross_entropy_with_logits(zs, torch.sigmoid(zt))
    expected = 0.7 * F.binary_cross_entropy_with_logits(zs[lab], Y[lab]) + 0.3 * soft
    assert torch.allclose(kd(Outputs(zs, f), Outputs(zt, f), Targets.values(Y)), expected)
    # Ensembles: the mean output; each label's mean probability.
    za, zb = torch.randn(5, 3), torch.randn(5, 3)
    assert torch.allclose(ensemble_logits([za[:, :1], zb[:, :1]], "regression"), (za[:, :1] + zb[:, :1]) / 2)
    mean = (torch.sigmoid(za) + torch.sigmoid(zb)) / 2
    assert torch.allclose(torch.sigmoid(ensemble_logits([za, zb], "multilabel")), mean, atol=1e-5)


def test_a_regression_student_learns_its_teachers_numbers_and_exports(regression_teacher, tmp_path):
    from headstart.export import export_run
    from headstart.runtime import Predictor

    teacher = load_run(regression_teacher)
    texts, y = numbers(60, 3)
    data = from_arrays(texts, y)
    kw = dict(student="layers:1", head_init="random", method_options={"alpha": 1.0}, progress=False, cache=False)
    before = distill(regression_teacher, data, epochs=1, lr=0.0, **kw)
    after = distill(regression_teacher, data, epochs=3, lr=3e-3, **kw)
    gap = [float(np.mean((s.predict(texts) - teacher.predict(texts)) ** 2)) for s in (before, after)]
    assert gap[1] < 0.6 * gap[0], gap  # the student moved towards the teacher's numbers
    assert after.task_ == "regression" and after.distilled_["task"] == "regression"
    assert after.targets_["mean"] == pytest.approx(np.mean(y), abs=1.0)  # the training rows' (90% of them)
    assert abs(after.predict(texts).mean() - y.mean()) < 2 * y.std()  # saved in the target's units
    assert "history" not in after.distilled_ and "val_r2" in after.history_[0]
    run = after.save(tmp_path / "student")
    assert json.loads((run / "config.json").read_text())["task"] == "regression"
    back = load_run(run)
    assert np.allclose(back.predict(texts), after.predict(texts), atol=1e-4)
    report = export_run(run, eval_data=from_arrays(texts, after.predict(texts)), repeats=1, batch_sizes=(1,))
    assert report["task"] == "regression" and report["parity"]["onnx-fp32"]["max_abs_diff"] < 1e-3
    assert np.allclose(Predictor(run / "export").predict(texts), after.predict(texts), atol=1e-3)
    with pytest.raises(HeadstartError, match="a regression teacher's outputs are matched as they are"):
        distill(regression_teacher, data, student="layers:1", method_options={"temperature": 2.0}, progress=False)


def test_a_multilabel_student_learns_the_teachers_probabilities_and_tunes_its_thresholds(multilabel_teacher):
    teacher = load_run(multilabel_teacher)
    texts, sets = label_sets(60, 3)
    data = from_arrays(texts, sets)
    kw = dict(student="layers:1", head_init="random", method_options={"alpha": 1.0}, val_size=0.25)
    kw.update(progress=False, cache=False)
    before = distill(multilabel_teacher, data, epochs=1, lr=0.0, **kw)
    after = distill(multilabel_teacher, data, epochs=10, lr=3e-3, **kw)
    gap = [float(np.abs(s.predict_proba(texts) - teacher.predict_proba(texts)).mean()) for s in (before, after)]
    assert gap[1] < 0.6 * gap[0], gap
    assert after.task_ == "multilabel" and list(after.classes_) == list(teacher.classes_) == ["long", "neg", "pos"]
    assert after.targets_["thresholds_from"] == "tuned on 15 validation rows"  # 25% of the 60 training rows
    assert "val_mean_ap" in after.history_[0] and after.evaluate(texts, sets, resamples=0)["micro_f1"] > 0.5
    alone = distill(multilabel_teacher, data, student="layers:1", method="none", epochs=1, progress=False, cache=False)
    assert alone.distilled_["loss"] == "BCE on the label sets alone"


def test_cli_distill_does_the_teachers_task(tmp_path, capsys, multilabel_teacher, regression_teacher):
    texts, sets = label_sets(60, 3)
    pd.DataFrame({"text": texts, "tags": ["|".join(s) for s in sets]}).to_csv(tmp_path / "train.csv", index=False)
    texts, sets = label_sets(30, 8)
    pd.DataFrame({"text": texts, "tags": ["|".join(s) for s in sets]}).to_csv(tmp_path / "test.csv", index=False)
    out = tmp_path / "student"
    args = ["distill", multilabel_teacher, tmp_path / "train.csv", "--label-col", "tags", "--student", "layers:1"]
    code, stdout, err = cli(capsys, *args, "--eval", tmp_path / "test.csv", "--epochs", "1", "-o", out)
    assert code == 0, err
    assert "micro-f1 student" in stdout
    info = json.loads((out / "distill.json").read_text())
    assert info["task"] == "multilabel" and info["metric"] == "micro_f1" and 0 <= info["student_score"] <= 1
    assert info["teacher_score"] == pytest.approx(load_run(multilabel_teacher).evaluate(texts, sets)["micro_f1"])
    assert json.loads((out / "config.json").read_text())["task"] == "multilabel"
    code, _, err = cli(capsys, "predict", out, tmp_path / "test.csv", "-o", tmp_path / "p.csv")
    assert code == 0, err
    assert list(pd.read_csv(tmp_path / "p.csv").columns)[-4:] == ["prediction", "p_long", "p_neg", "p_pos"]
    assert_one_error_line(
        cli(
            capsys,
            "distill",
            regression_teacher,
            tmp_path / "train.csv",
            "--label-col",
            "tags",
            "--student",
            "layers:1",
            "-o",
            tmp_path / "s2",
        ),  # fmt: skip
        "is not a number",
    )
