"""Zero-shot: label text, ConSE, CLIP (tiny random config saved locally),
ESZSL / DAP on a constructed attribute data set with a known answer, and the
generalized zero-shot figures with calibrated stacking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from headstart.errors import HeadstartError
from headstart.zeroshot import (
    DAP,
    ESZSL,
    CLIPZeroShot,
    ConSE,
    LabelTextZeroShot,
    attribute_matrix,
    calibrate,
    gzsl_scores,
    imagenet_class_names,
    read_attributes,
    seen_unseen_curve,
)
from headstart.zeroshot.text import label_prompts

# ------------------------------------------------------------------ attributes
# 10 classes, 6 binary attributes; 7 seen (their signatures span all 6 attributes: with s6 = [0, 0, 1, 1, 1, 0]
# they spanned 5, u0 - u1 was orthogonal to every seen row, and ESZSL's u0 and u1 scores tied to 1e-13), 3 unseen.
SIGNATURES = {
    "s0": [1, 0, 0, 1, 0, 0],
    "s1": [0, 1, 0, 0, 1, 0],
    "s2": [0, 0, 1, 0, 0, 1],
    "s3": [1, 1, 0, 0, 0, 1],
    "s4": [0, 1, 1, 1, 0, 0],
    "s5": [1, 0, 0, 0, 1, 1],
    "s6": [0, 0, 1, 1, 1, 1],
    "u0": [1, 0, 1, 0, 1, 0],
    "u1": [0, 0, 0, 1, 1, 1],
    "u2": [1, 1, 1, 0, 0, 0],
}
SEEN = ["s0", "s1", "s2", "s3", "s4", "s5", "s6"]
UNSEEN = ["u0", "u1", "u2"]


def attribute_data(per: int = 40, noise: float = 0.3, seed: int = 0):
    """Features = a fixed linear map of the class's attributes + noise: a linear
    attribute model is the true model, so unseen classes are recoverable."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(6, 20))
    y = np.repeat(list(SIGNATURES), per)
    X = np.array([SIGNATURES[c] for c in y], dtype=float) @ A + noise * rng.normal(size=(len(y), 20))
    return X, y


@pytest.mark.parametrize(
    "method",
    [
        ESZSL(normalize=False),
        DAP(),
    ],
)
def test_attribute_methods_recover_unseen_classes(method):
    X, y = attribute_data()
    seen = np.isin(y, SEEN)
    method.fit(X[seen], y[seen], SIGNATURES)
    acc = np.mean(method.predict(X[~seen], UNSEEN) == y[~seen])
    assert acc > 0.95, acc
    scores = method.decision_function(X[~seen], UNSEEN)
    assert scores.shape == ((~seen).sum(), 3)


def test_gzsl_calibrated_stacking_lifts_the_harmonic_mean():
    X, y = attribute_data(noise=0.8, seed=1)
    seen = np.isin(y, SEEN)
    rng = np.random.default_rng(0)
    train_rows = np.flatnonzero(seen)[rng.random(seen.sum()) < 0.6]
    rest = np.setdiff1d(np.arange(len(y)), train_rows)
    val, test = rest[::2], rest[1::2]
    model = ESZSL(normalize=False).fit(X[train_rows], y[train_rows], SIGNATURES)
    classes = list(SIGNATURES)
    plain = gzsl_scores(model.decision_function(X[test], classes), y[test], classes, SEEN)
    best = calibrate(model.decision_function(X[val], classes), y[val], classes, SEEN)
    tuned = gzsl_scores(model.decision_function(X[test], classes), y[test], classes, SEEN, best.gamma)
    assert plain.acc_seen > plain.acc_unseen  # the seen-class bias calibration removes
    assert best.gamma > 0 and tuned.harmonic > plain.harmonic + 0.05, (plain, tuned)
    curve = seen_unseen_curve(model.decision_function(X[test], classes), y[test], classes, SEEN)
    assert 0 < curve["ausuc"] <= 1


def test_gzsl_figures_on_a_hand_made_case():
    classes = ["a", "b", "c"]  # a, b seen; c unseen
    y = np.array(["a", "a", "b", "c", "c"])
    scores = np.array(
        [
            [2.0, 0.0, 1.0],  # a: right
            [0.0, 2.0, 1.0],  # a: wrong (b)
            [0.0, 2.0, 0.0],  # b: right
            [2.0, 0.0, 1.5],  # c: wrong (a) unless gamma > 0.5
            [0.0, 0.0, 1.0],  # c: right
        ]
    )
    r = gzsl_scores(scores, y, classes, ["a", "b"])
    assert (r.acc_seen, r.acc_unseen) == (0.75, 0.5)  # per-class mean: (1/2 + 1) / 2
    assert r.harmonic == pytest.approx(2 * 0.75 * 0.5 / 1.25)
    r = gzsl_scores(scores, y, classes, ["a", "b"], gamma=0.6)
    assert r.acc_unseen == 1.0
    with pytest.raises(HeadstartError, match="both seen and unseen"):
        gzsl_scores(scores, y, classes, classes)


def test_attribute_matrix_errors_and_table(tmp_path):
    with pytest.raises(HeadstartError, match="class 'zz' has no row"):
        attribute_matrix(SIGNATURES, ["s0", "zz"])
    path = tmp_path / "attrs.csv"
    path.write_text("class,furry,stripes\ncat,1,0\nzebra,0,1\n")
    table = read_attributes(path)
    assert attribute_matrix(table, ["zebra", "cat"]).tolist() == [[0, 1], [1, 0]]


# ------------------------------------------------------------------ label text
def test_label_text_prompts_and_prediction(hf_text_spec):
    prompts = label_prompts(["spam", "ham"], {"ham": "a personal message"}, ("{label}", "This is {label}."))
    assert prompts == [["spam", "This is spam."], ["a personal message", "This is a personal message."]]
    with pytest.raises(HeadstartError, match="must contain"):
        label_prompts(["a"], None, ("no placeholder",))
    zs = LabelTextZeroShot(hf_text_spec, templates=("{label}",)).fit(["happy", "terrible", "music"])
    # A text equal to a label's only prompt has cosine 1 with it.
    assert zs.predict(["terrible", "music", "happy"]).tolist() == ["terrible", "music", "happy"]
    several = LabelTextZeroShot(hf_text_spec).fit(["happy", "terrible"])
    assert several.label_embeddings_.shape[0] == 2
    assert np.allclose(np.linalg.norm(several.label_embeddings_, axis=1), 1, atol=1e-5)
    assert several.decision_function(["happy day", "terrible day"]).shape == (2, 2)


# ------------------------------------------------------------------ ConSE
def colour_backbone():
    """An image "backbone" whose features are the mean R, G, B and whose source
    head has three classes: red, green, blue."""
    from torchvision import transforms as T

    from headstart.backbones.vision import ImageBackbone

    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    bb = ImageBackbone(model, T.ToTensor(), 3, "colours", "test", {})
    bb._source_head = (torch.eye(3) * 20, torch.zeros(3))
    return bb


def test_imagenet_class_names_ship_offline():
    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench" and "ant" in names and "bee" in names


def test_conse_maps_source_classes_to_target_labels(hf_text_spec):
    from headstart.backbones import load_backbone

    text = load_backbone(hf_text_spec)
    # Source classes named by three words of the tiny vocabulary; the targets are two of them.
    zs = ConSE(colour_backbone(), text, top_t=2, templates=("{label}",), source_names=["happy", "music", "cold"])
    zs.fit(["cold", "happy"])
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((8, 8, 3), np.uint8)
    blue[..., 2] = 255
    assert zs.predict([red, blue]).tolist() == ["happy", "cold"]
    p = zs.source_probabilities([red])
    assert p.shape == (1, 3) and p[0].argmax() == 0
    with pytest.raises(HeadstartError, match="source class names"):
        ConSE(colour_backbone(), text, source_names=["a", "b"]).fit(["cold"])


# ------------------------------------------------------------------ CLIP
@pytest.fixture(scope="module")
def tiny_clip_dir(tmp_path_factory, tiny_bert_dir):
    import shutil

    from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel

    folder = tmp_path_factory.mktemp("tiny-clip") / "model"
    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    text = {
        "vocab_size": len(tok),
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "max_position_embeddings": 32,
        "eos_token_id": tok.sep_token_id,
    }
    vision = {
        "image_size": 32,
        "patch_size": 8,
        "hidden_size": 32,
        "intermediate_size": 37,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
    }
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval().save_pretrained(folder)
    for f in tiny_bert_dir.iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special")):
            shutil.copy(f, folder / f.name)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_clip_code_path_on_a_tiny_random_model(tiny_clip_dir):
    zs = CLIPZeroShot(str(tiny_clip_dir), templates=("{label}", "a photo of a {label}.")).fit(
        ["cold", "happy", "music"]
    )
    assert zs.label_embeddings_.shape == (3, 16)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, size=(40, 40, 3), dtype=np.uint8) for _ in range(3)]
    scores = zs.decision_function(images)
    assert scores.shape == (3, 3) and np.isfinite(scores).all()
    assert set(zs.predict(images)) <= {"cold", "happy", "music"}


def test_clip_refuses_a_text_only_model(tiny_bert_dir):
    with pytest.raises(HeadstartError):
        CLIPZeroShot(str(tiny_bert_dir)).fit(["a", "b"])
