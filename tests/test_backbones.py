"""Backbones: one contract for every registered source, local round trips, the registry's errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import make_texts, write_image
from PIL import Image

from headstart.backbones import Backbone, list_embedded, list_sources, load_backbone
from headstart.errors import HeadstartError

# name -> (spec or fixture-built spec, load options, expected modality, expected feature_dim)
CASES = {
    "hf-text": (None, {}, "text", 32),
    "hf-vision": (None, {}, "image", 32),
    "timm-efficientnet": ("timm:test_efficientnet", {"pretrained": False}, "image", 256),
    "timm-vit": ("timm:test_vit", {"pretrained": False}, "image", 64),
    "torchvision-mobilenet": ("torchvision:mobilenet_v3_small", {"pretrained": False}, "image", 1024),
    "identity": ("identity", {"feature_dim": 6}, "tabular", 6),
}
RANDOM_INIT = ["hf-text", "hf-vision", "timm-efficientnet", "timm-vit", "torchvision-mobilenet"]


@pytest.fixture(scope="session")
def specs(tiny_bert_dir, tiny_vit_dir) -> dict[str, str]:
    out = {name: spec for name, (spec, *_rest) in CASES.items()}
    out["hf-text"] = f"hf:{tiny_bert_dir}"
    out["hf-vision"] = f"hf:{tiny_vit_dir}"
    return out


def load_case(name: str, specs: dict[str, str], seed: int = 0) -> Backbone:
    return load_backbone(specs[name], seed=seed, **CASES[name][1])


@pytest.fixture(scope="module")
def raw_inputs(tmp_path_factory) -> dict[str, list]:
    """A batch of raw inputs per modality; images come in every accepted form."""
    folder = tmp_path_factory.mktemp("raw-images")
    rng = np.random.default_rng(0)
    images = [
        str(write_image(folder / "a.png", (200, 40, 40), seed=1)),  # a path
        Image.fromarray(rng.integers(0, 255, size=(20, 28, 3), dtype=np.uint8)),  # a PIL image (not square)
        rng.integers(0, 255, size=(16, 16, 3), dtype=np.uint8),  # an HxWxC uint8 array
        rng.uniform(0, 16, size=(8, 8)),  # an HxW float array, like sklearn's digits
    ]
    texts, _ = make_texts(5)
    texts[2] = "unknownword " + texts[2]  # out-of-vocabulary words become [UNK]
    return {"text": texts, "image": images, "tabular": rng.normal(size=(4, 6)).astype(np.float32)}


def features(backbone: Backbone, raw) -> torch.Tensor:
    with torch.no_grad():
        return backbone.forward_features(backbone.preprocess(raw))


def get_backbone(name: str, via: str, specs, tmp_path) -> Backbone:
    backbone = load_case(name, specs)
    if via == "local":
        folder = backbone.save(tmp_path / "saved")
        backbone = load_backbone(f"local:{folder}")
    return backbone


# ----------------------------------------------------------------- contract
CONTRACT = [pytest.param(name, via, id=f"{name}-{via}") for name in CASES for via in ("direct", "local")]


@pytest.mark.parametrize(("name", "via"), CONTRACT)
def test_contract_features(name, via, specs, raw_inputs, tmp_path):
    backbone = get_backbone(name, via, specs, tmp_path)
    _, _, modality, dim = CASES[name]
    assert isinstance(backbone, Backbone)
    assert backbone.modality == modality
    assert backbone.feature_dim == dim
    assert not backbone.training  # loaded for inference
    raw = raw_inputs[modality]
    out = features(backbone, raw)
    assert isinstance(out, torch.Tensor)
    assert out.shape == (len(raw), dim)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    described = backbone.describe()
    assert described["modality"] == modality and described["feature_dim"] == dim
    assert isinstance(backbone.cache_key(), str) and len(backbone.cache_key()) == 24


def first_call_order(backbone: Backbone, batch) -> dict[int, int]:
    """Run one forward pass; map id(module) -> the order in which it was first called.

    Forward *pre*-hooks on every module that owns parameters directly: for leaf
    modules that is their call order, and it also covers parameters registered
    on a container (ViT's cls_token / position embeddings), which a leaf-only
    hook would miss.
    """
    order: dict[int, int] = {}

    def record(module, args) -> None:  # returns None: the inputs pass unchanged
        order.setdefault(id(module), len(order))

    handles = [
        module.register_forward_pre_hook(record)
        for module in backbone.modules()
        if next(module.parameters(recurse=False), None) is not None
    ]
    try:
        with torch.no_grad():
            backbone.forward_features(batch)
    finally:
        for h in handles:
            h.remove()
    return order


@pytest.mark.parametrize(("name", "via"), CONTRACT)
def test_contract_param_groups_cover_every_parameter_input_to_output(name, via, specs, raw_inputs, tmp_path):
    backbone = get_backbone(name, via, specs, tmp_path)
    groups = backbone.param_groups()
    trainable = {id(p) for p in backbone.parameters() if p.requires_grad}
    seen = Counter(id(p) for g in groups for p in g.params)
    assert all(count == 1 for count in seen.values()), "a parameter is in two groups"
    assert set(seen) == trainable
    assert all(g.params for g in groups), "an empty group"
    assert len({g.name for g in groups}) == len(groups), "group names repeat"
    if not trainable:  # identity: nothing to group
        assert groups == []
        return
    assert len(groups) >= 3  # stem/blocks/top, or one per top-level child

    order = first_call_order(backbone, backbone.preprocess(raw_inputs[backbone.modality]))
    owner = {id(p): id(m) for m in backbone.modules() for p in m.parameters(recurse=False)}
    firsts = []
    for g in groups:
        # Parameters whose module never ran in forward_features (e.g. a pooler a
        # model keeps but the backbone does not use) carry no ordering evidence:
        # they are skipped, and a group made only of them is skipped too.
        calls = [order[owner[id(p)]] for p in g.params if owner[id(p)] in order]
        if calls:
            firsts.append((g.name, min(calls)))
    assert len(firsts) >= 3
    indices = [i for _, i in firsts]
    assert indices == sorted(indices), f"groups are not ordered input -> output: {firsts}"


@pytest.mark.parametrize("name", list(CASES))
def test_local_roundtrip_gives_identical_features(name, specs, raw_inputs, tmp_path):
    backbone = load_case(name, specs)
    folder = backbone.save(tmp_path / "bb")
    assert (folder / "backbone.json").is_file()
    reloaded = load_backbone(f"local:{folder}")
    assert type(reloaded) is type(backbone)
    assert reloaded.spec == backbone.spec
    assert reloaded.source == backbone.source
    assert reloaded.feature_dim == backbone.feature_dim
    raw = raw_inputs[backbone.modality]
    assert torch.allclose(features(backbone, raw), features(reloaded, raw), atol=1e-6)


@pytest.mark.parametrize("name", RANDOM_INIT)
def test_random_init_is_deterministic_per_seed(name, specs):
    spec, options = specs[name], {**CASES[name][1], "pretrained": False}
    a = load_backbone(spec, seed=7, **options).state_dict()
    b = load_backbone(spec, seed=7, **options).state_dict()
    c = load_backbone(spec, seed=8, **options).state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_hf_pretrained_false_differs_from_the_folder_weights(specs):
    loaded = load_backbone(specs["hf-text"]).state_dict()
    random = load_backbone(specs["hf-text"], pretrained=False, seed=123).state_dict()  # the folder used seed 0
    key = next(k for k in loaded if k.endswith("word_embeddings.weight"))
    assert not torch.equal(loaded[key], random[key])


# --------------------------------------------------------- hf text recipes
def test_plain_hf_folder_uses_mean_pooling(hf_text_backbone, tiny_bert_dir):
    from transformers import AutoModel, AutoTokenizer

    cfg = hf_text_backbone.pretrained_config
    assert cfg["pooling"] == "mean" and cfg["normalize"] is False
    assert hf_text_backbone.max_length == 64  # max_position_embeddings
    texts = ["good film", "a very very long and boring film with a bad plot"]
    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    model = AutoModel.from_pretrained(tiny_bert_dir).eval()
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    expected = (states * mask).sum(1) / mask.sum(1)
    assert torch.allclose(features(hf_text_backbone, texts), expected, atol=1e-5)


def test_sentence_transformers_recipe_is_honoured(tiny_st_dir):
    from transformers import AutoModel, AutoTokenizer

    backbone = load_backbone(f"hf:{tiny_st_dir}")
    assert backbone.pretrained_config["pooling"] == "cls"
    assert backbone.pretrained_config["normalize"] is True
    assert backbone.max_length == 16
    long_text = " ".join(["the good film"] * 20)  # 60 words: must be cut to 16 tokens
    texts = ["good film", long_text, "bad boring film"]
    batch = backbone.preprocess(texts)
    assert batch["input_ids"].shape[1] == 16
    out = features(backbone, texts)

    tok = AutoTokenizer.from_pretrained(tiny_st_dir)
    model = AutoModel.from_pretrained(tiny_st_dir).eval()
    enc = tok(texts, padding=True, truncation=True, max_length=16, return_tensors="pt")
    with torch.no_grad():
        cls = model(**enc).last_hidden_state[:, 0]
    assert torch.allclose(out, F.normalize(cls, dim=-1), atol=1e-5)
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)


def test_sentence_transformers_recipe_survives_local_roundtrip(tiny_st_dir, tmp_path):
    backbone = load_backbone(f"hf:{tiny_st_dir}")
    reloaded = load_backbone(f"local:{backbone.save(tmp_path / 'st')}")
    for key in ("pooling", "normalize", "max_length"):
        assert reloaded.pretrained_config[key] == backbone.pretrained_config[key]
    texts = ["good film", " ".join(["bad"] * 40)]
    assert torch.allclose(features(backbone, texts), features(reloaded, texts), atol=1e-6)


def test_explicit_pooling_overrides_the_recipe(tiny_st_dir):
    backbone = load_backbone(f"hf:{tiny_st_dir}", pooling="max", normalize=False, max_length=8)
    assert backbone.pretrained_config["pooling"] == "max"
    assert backbone.max_length == 8
    out = features(backbone, ["good film", "bad film with a dull plot"])
    assert not torch.allclose(out.norm(dim=1), torch.ones(2))


def test_unknown_pooling_is_an_error(tiny_bert_dir):
    with pytest.raises(HeadstartError, match="pooling must be one of"):
        load_backbone(f"hf:{tiny_bert_dir}", pooling="median")


# ------------------------------------------------------------------ registry
def test_registry_lists_sources_and_embedded_models():
    assert {s.prefix for s in list_sources()} >= {"hf", "timm", "torchvision", "local"}
    embedded = {e.name: e for e in list_embedded()}
    assert {"minilm", "efficientnet-lite0", "identity"} <= set(embedded)
    assert embedded["minilm"].modality == "text"
    assert embedded["efficientnet-lite0"].modality == "image"


def test_a_backbone_object_is_returned_as_is(hf_text_backbone):
    assert load_backbone(hf_text_backbone) is hf_text_backbone


def test_auto_picks_identity_for_tabular_and_needs_a_modality():
    backbone = load_backbone("auto", modality="tabular", feature_dim=3)
    assert backbone.spec == "identity" and backbone.feature_dim == 3
    with pytest.raises(HeadstartError, match="modality"):
        load_backbone("auto")


def test_identity_checks_the_number_of_columns():
    backbone = load_backbone("identity", feature_dim=3)
    with pytest.raises(HeadstartError, match="expected 3 feature columns, got 4"):
        backbone.preprocess(np.ones((2, 4)))


def test_modality_mismatch_is_an_error(specs):
    with pytest.raises(HeadstartError, match="takes text inputs but the data is image"):
        load_backbone(specs["hf-text"], modality="image")


@pytest.mark.parametrize("spec", ["", "   ", None, 3])
def test_blank_or_non_string_spec_is_an_error(spec):
    with pytest.raises(HeadstartError, match="a backbone is a name"):
        load_backbone(spec)


def test_unknown_backbone_lists_close_matches():
    with pytest.raises(HeadstartError) as info:
        load_backbone("minilmm")
    message = str(info.value)
    assert "unknown backbone 'minilmm'" in message
    assert "did you mean 'minilm'" in message
    assert "headstart models" in message


def test_unknown_source_prefix_suggests_the_right_one():
    with pytest.raises(HeadstartError, match="unknown backbone 'tim:resnet18'; did you mean 'timm:'"):
        load_backbone("tim:resnet18")


def test_source_without_a_name_is_an_error():
    with pytest.raises(HeadstartError, match="names no model after 'timm:'"):
        load_backbone("timm:")


def test_hf_model_not_in_cache_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HeadstartError) as info:
        load_backbone("hf:some-org/definitely-not-cached")
    message = str(info.value)
    assert "'some-org/definitely-not-cached' is not in the local cache" in message
    assert "HF_HUB_OFFLINE=1" in message
    assert "hf download some-org/definitely-not-cached" in message  # how to get it
    assert "\n" not in message


def test_hf_missing_local_folder(tmp_path):
    with pytest.raises(HeadstartError, match="no such model folder"):
        load_backbone(f"hf:{tmp_path / 'nope'}")


def test_hf_folder_that_is_not_a_model(tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(HeadstartError, match="not a transformers model folder"):
        load_backbone(f"hf:{tmp_path / 'junk'}")


def test_timm_pretrained_weights_not_cached_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HeadstartError) as info:
        load_backbone("timm:resnet18")  # pretrained=True is the default
    message = str(info.value)
    assert "'resnet18' has no pretrained weights in the local cache" in message
    assert "HF_HUB_OFFLINE=1" in message
    assert "timm.create_model('resnet18', pretrained=True)" in message


def test_torchvision_pretrained_weights_not_cached_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    with pytest.raises(HeadstartError, match=r"torchvision weights for 'resnet18' are not in .*offline"):
        load_backbone("torchvision:resnet18")


def test_unknown_timm_model():
    with pytest.raises(HeadstartError, match="unknown timm model 'resnet_18'; did you mean 'resnet18'"):
        load_backbone("timm:resnet_18", pretrained=False)


def test_unknown_torchvision_model_pretrained():
    with pytest.raises(HeadstartError, match="unknown torchvision model 'mobilenet_v3_smal'.*'mobilenet_v3_small'"):
        load_backbone("torchvision:mobilenet_v3_smal")


def test_unknown_torchvision_model_from_scratch():
    with pytest.raises(HeadstartError, match="unknown torchvision model 'mobilenet_v3_smal'"):
        load_backbone("torchvision:mobilenet_v3_smal", pretrained=False)


def test_local_folder_without_backbone_json(tmp_path):
    with pytest.raises(HeadstartError, match="not a saved headstart backbone"):
        load_backbone(f"local:{tmp_path}")


def test_local_folder_with_unknown_loader(tmp_path):
    (tmp_path / "backbone.json").write_text('{"loader": "onnx"}')
    with pytest.raises(HeadstartError, match="unknown loader 'onnx'"):
        load_backbone(f"local:{tmp_path}")


def test_unreadable_image_at_preprocess_names_the_file(specs, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\x00garbage" * 50)
    backbone = load_case("timm-efficientnet", specs)
    with pytest.raises(HeadstartError, match=r"cannot read image .*broken\.jpg"):
        backbone.preprocess([str(broken)])


def test_bad_image_array_shape_is_an_error(specs):
    backbone = load_case("timm-efficientnet", specs)
    with pytest.raises(HeadstartError, match="HxW or HxWxC"):
        backbone.preprocess([np.zeros((2, 2, 2, 2))])


def test_source_logits_absent_without_a_source_head(specs):
    backbone = load_case("timm-efficientnet", specs)
    assert backbone.source_logits(torch.zeros(1, backbone.feature_dim)) is None


def test_saved_folder_is_complete(specs, tmp_path):
    folder = Path(load_case("timm-vit", specs).save(tmp_path / "vit"))
    assert (folder / "weights.safetensors").is_file()
    import json

    meta = json.loads((folder / "backbone.json").read_text())
    assert meta["loader"] == "timm" and meta["spec"] == "timm:test_vit" and meta["feature_dim"] == 64


def test_random_initialisation_leaves_the_global_rng_alone():

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_backbone("timm:test_efficientnet", pretrained=False, seed=7)
    assert torch.equal(torch.rand(3), expected)
