"""``SPEC@blockK``: a backbone cut after an intermediate block."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from headstart.backbones import load_backbone
from headstart.errors import HeadstartError


def test_text_layer_matches_hidden_state_mean(hf_text_spec, tiny_bert_dir):
    bb = load_backbone(f"{hf_text_spec}@block1")
    texts = ["a short one", "a somewhat longer sentence with more words in it"]
    with torch.no_grad():
        ours = bb.forward_features(bb.preprocess(texts))
        tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
        model = AutoModel.from_pretrained(tiny_bert_dir).eval()
        batch = tok(texts, padding=True, return_tensors="pt")
        h = model(**batch, output_hidden_states=True).hidden_states[1]  # after block 1
        m = batch["attention_mask"].unsqueeze(-1).float()
        ref = (h * m).sum(1) / m.sum(1)
    if bb.inner.pretrained_config.get("normalize"):
        ref = torch.nn.functional.normalize(ref, dim=-1)
    assert torch.allclose(ours, ref, atol=1e-5)
    assert bb.spec.endswith("@block1") and bb.feature_dim == ref.shape[1]


def test_image_layer_pools_the_block_output():
    bb = load_backbone("timm:test_efficientnet@block2", pretrained=False, seed=0)
    full = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        inner = full.model
        h = inner.bn1(inner.conv_stem(x))
        h = inner.blocks[1](inner.blocks[0](h))
        ref = h.mean(dim=(2, 3))
        ours = bb.forward_features(x)
    assert ours.shape == ref.shape and bb.feature_dim == ref.shape[1]
    assert torch.allclose(ours, ref, atol=1e-5)
    assert bb.feature_dim != full.feature_dim


def test_layer_features_differ_between_blocks(hf_text_spec):
    texts = ["one text", "another text entirely"]
    feats = []
    for k in (1, 2):
        bb = load_backbone(f"{hf_text_spec}@block{k}")
        with torch.no_grad():
            feats.append(bb.forward_features(bb.preprocess(texts)).numpy())
    assert not np.allclose(feats[0], feats[1])


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [("timm:test_efficientnet@block99", "@block1 .."), ("timm:test_efficientnet@layer2", "NAME@blockK")],
)
def test_bad_layer_is_one_clear_error(spec, fragment):
    with pytest.raises(HeadstartError, match=fragment.replace(".", r"\.")):
        load_backbone(spec, pretrained=False)


def test_layer_backbone_saves_and_reloads(tmp_path):
    bb = load_backbone("timm:test_efficientnet@block2", pretrained=False, seed=1)
    bb.save(tmp_path / "bb")
    again = load_backbone(f"local:{tmp_path / 'bb'}")
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(bb.forward_features(x), again.forward_features(x), atol=1e-6)
    assert again.spec.endswith("@block2")
