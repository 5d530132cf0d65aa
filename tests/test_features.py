"""headstart.features: batched extraction, row order, and the on-disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_texts
from torch import nn

from headstart.backbones import Backbone, load_backbone
from headstart.data import from_arrays, load
from headstart.errors import HeadstartError
from headstart.features import cache_path, default_cache_dir, extract, extract_features


class CountingTextBackbone(Backbone):
    """A tiny text backbone (letter counts -> linear) that records how it is called."""

    modality = "text"
    source = "test"

    def __init__(self, seed: int = 0, dim: int = 8) -> None:
        super().__init__()
        self.spec = "test:counting"
        self.feature_dim = dim
        self.proj = nn.Linear(27, dim)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.proj.weight.copy_(torch.randn(dim, 27, generator=generator))
            self.proj.bias.copy_(torch.randn(dim, generator=generator))
        self.forward_calls = 0
        self.batches: list[list[str]] = []

    @staticmethod
    def encode(text: str) -> np.ndarray:
        v = np.zeros(27, dtype=np.float32)
        for ch in text.lower():
            if "a" <= ch <= "z":
                v[ord(ch) - ord("a")] += 1
        v[26] = len(text)
        return v

    def preprocess(self, raw):
        self.batches.append(list(raw))
        return torch.from_numpy(np.stack([self.encode(t) for t in raw]))

    def forward_features(self, batch: torch.Tensor) -> torch.Tensor:
        self.forward_calls += 1
        return self.proj(batch)

    def expected(self, texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            return self.proj(torch.from_numpy(np.stack([self.encode(t) for t in texts]))).numpy()


TEXTS, LABELS = make_texts(23, seed=5)


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_result_shape_and_values(tmp_path):
    backbone = CountingTextBackbone()
    result = extract(backbone, from_arrays(TEXTS, LABELS), batch_size=4, cache_dir=tmp_path)
    assert result.features.shape == (len(TEXTS), 8)
    assert result.features.dtype == np.float32
    assert result.cached is False
    np.testing.assert_allclose(result.features, backbone.expected(TEXTS), rtol=1e-5, atol=1e-5)
    assert backbone.forward_calls == 6  # ceil(23 / 4)


def test_plain_lists_are_accepted(tmp_path):
    backbone = CountingTextBackbone()
    feats = extract_features(backbone, TEXTS[:5], cache_dir=tmp_path)
    np.testing.assert_allclose(feats, backbone.expected(TEXTS[:5]), rtol=1e-5, atol=1e-5)


def test_second_call_reads_the_cache_without_running_the_backbone(tmp_path):
    backbone = CountingTextBackbone()
    first = extract(backbone, from_arrays(TEXTS, LABELS), cache_dir=tmp_path)
    calls = backbone.forward_calls
    assert calls > 0 and first.cached is False
    assert first.path is not None and first.path.is_file()
    assert first.path.is_relative_to(tmp_path / "features" / backbone.cache_key())

    # Same inputs, other labels, a fresh object with the same weights: still a hit.
    again = CountingTextBackbone()
    second = extract(again, from_arrays(TEXTS, LABELS[::-1]), cache_dir=tmp_path)
    assert second.cached is True
    assert again.forward_calls == 0
    assert second.path == first.path
    np.testing.assert_array_equal(second.features, first.features)
    assert backbone.forward_calls == calls


def test_other_inputs_are_not_a_cache_hit(tmp_path):
    backbone = CountingTextBackbone()
    extract(backbone, TEXTS, cache_dir=tmp_path)
    other = extract(backbone, TEXTS[:-1] + ["a different last text"], cache_dir=tmp_path)
    assert other.cached is False
    assert len(files_under(tmp_path)) == 2


def test_other_weights_change_the_cache_key(tmp_path):
    a, b = CountingTextBackbone(seed=0), CountingTextBackbone(seed=1)
    assert a.cache_key() != b.cache_key()
    first = extract(a, TEXTS, cache_dir=tmp_path)
    second = extract(b, TEXTS, cache_dir=tmp_path)
    assert second.cached is False and b.forward_calls > 0
    assert first.path != second.path
    assert not np.allclose(first.features, second.features)


def test_random_and_loaded_weights_have_different_keys(tiny_bert_dir):
    loaded = load_backbone(f"hf:{tiny_bert_dir}")
    random = load_backbone(f"hf:{tiny_bert_dir}", pretrained=False, seed=1)
    assert loaded.cache_key() != random.cache_key()


def test_changing_weights_in_place_changes_the_cache_key(tmp_path):
    backbone = CountingTextBackbone()
    before = extract(backbone, TEXTS, cache_dir=tmp_path)
    key = backbone.cache_key()
    with torch.no_grad():
        backbone.proj.weight.mul_(-2.0)
    assert backbone.cache_key() != key
    after = extract(backbone, TEXTS, cache_dir=tmp_path)
    assert after.cached is False
    assert not np.allclose(after.features, before.features)


def test_rows_come_back_in_input_order_whatever_the_batching(tmp_path):
    backbone = CountingTextBackbone()
    feats = extract_features(backbone, TEXTS, batch_size=5, cache=False)
    assert backbone.forward_calls == 5  # ceil(23 / 5)
    np.testing.assert_allclose(feats, backbone.expected(TEXTS), rtol=1e-5, atol=1e-5)


def test_sorted_batches_match_one_by_one_with_a_real_tokenizer(hf_text_backbone):
    texts = TEXTS + ["film", "a really very long and quite boring film with a dull plot and a sad song"]
    batched = extract_features(hf_text_backbone, texts, batch_size=3, cache=False)
    single = extract_features(hf_text_backbone, texts, batch_size=1, cache=False)
    assert batched.shape == (len(texts), hf_text_backbone.feature_dim)
    np.testing.assert_allclose(batched, single, atol=1e-5)
    # Not trivially equal: different texts give different rows.
    assert not np.allclose(batched[0], batched[1])


def test_max_length_cuts_texts_as_training_does_and_has_its_own_cache_file(hf_text_backbone, tmp_path):
    long = "a really very long and quite boring film with a dull plot and a sad song"
    texts = ["film", long]
    full = extract(hf_text_backbone, texts, cache_dir=tmp_path)
    cut = extract(hf_text_backbone, texts, cache_dir=tmp_path, max_length=5)
    assert cut.cached is False and cut.path != full.path and "-len5" in cut.path.name
    # The short text is unchanged, the long one is cut: its features are those of its first tokens.
    np.testing.assert_allclose(cut.features[0], full.features[0], atol=1e-5)
    assert not np.allclose(cut.features[1], full.features[1], atol=1e-3)
    items, _ = hf_text_backbone.prepare([long], max_length=5)
    with torch.no_grad():
        expected = hf_text_backbone.forward_features(hf_text_backbone.collate(items)).numpy()
    np.testing.assert_allclose(cut.features[1], expected[0], atol=1e-5)
    assert extract(hf_text_backbone, texts, cache_dir=tmp_path, max_length=5).cached is True


def test_corrupted_cache_file_is_recomputed(tmp_path):
    backbone = CountingTextBackbone()
    first = extract(backbone, TEXTS, cache_dir=tmp_path)
    first.path.write_bytes(b"\x00not a safetensors file" * 10)
    calls = backbone.forward_calls
    second = extract(backbone, TEXTS, cache_dir=tmp_path)
    assert second.cached is False
    assert backbone.forward_calls > calls
    np.testing.assert_allclose(second.features, first.features, rtol=1e-6)
    # ...and the damaged file was replaced by a good one.
    third = extract(backbone, TEXTS, cache_dir=tmp_path)
    assert third.cached is True


def test_cache_file_with_the_wrong_row_count_is_recomputed(tmp_path):
    from headstart.io import save_tensors

    backbone = CountingTextBackbone()
    data = from_arrays(TEXTS)
    save_tensors(cache_path(backbone, data, tmp_path), {"features": torch.zeros(3, 8)})
    result = extract(backbone, data, cache_dir=tmp_path)
    assert result.cached is False
    np.testing.assert_allclose(result.features, backbone.expected(TEXTS), rtol=1e-5, atol=1e-5)


def test_cache_false_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADSTART_CACHE", str(tmp_path / "env-cache"))
    backbone = CountingTextBackbone()
    for _ in range(2):
        result = extract(backbone, TEXTS, cache=False, cache_dir=tmp_path / "explicit")
        assert result.cached is False and result.path is None
    assert files_under(tmp_path) == []
    assert backbone.forward_calls == 2 * 1  # 23 rows in one batch of 64, twice


def test_default_cache_dir_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADSTART_CACHE", str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    result = extract(CountingTextBackbone(), TEXTS)
    assert result.path.is_relative_to(tmp_path / "env-cache")


def test_session_cache_is_not_the_home_cache(feature_cache):
    assert default_cache_dir() == feature_cache
    assert not str(default_cache_dir()).startswith(str(Path.home() / ".cache"))


def test_modality_mismatch_is_an_error(tmp_path):
    images = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(HeadstartError, match="takes text inputs.*is image"):
        extract(CountingTextBackbone(), from_arrays(images), cache_dir=tmp_path)


def test_bad_batch_size_is_an_error(tmp_path):
    with pytest.raises(HeadstartError, match="batch size"):
        extract(CountingTextBackbone(), TEXTS, batch_size=0, cache_dir=tmp_path)


def test_tabular_features_are_not_cached(tmp_path):
    X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    result = extract(load_backbone("identity", feature_dim=4), from_arrays(X), cache_dir=tmp_path)
    np.testing.assert_array_equal(result.features, X)
    assert result.path is None and files_under(tmp_path) == []


def test_training_mode_is_restored(tmp_path):
    backbone = CountingTextBackbone().train()
    extract(backbone, TEXTS, cache=False)
    assert backbone.training


def test_image_folder_features_are_cached(image_folder, tmp_path):
    backbone = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    data = load(image_folder)
    first = extract(backbone, data, batch_size=3, cache_dir=tmp_path)
    second = extract(backbone, data, batch_size=3, cache_dir=tmp_path)
    assert first.features.shape == (8, backbone.feature_dim)
    assert (first.cached, second.cached) == (False, True)
    np.testing.assert_array_equal(first.features, second.features)


def test_unreadable_image_fails_at_extraction_with_its_name(tmp_path):
    import pandas as pd

    (tmp_path / "broken.jpg").write_bytes(b"garbage bytes, not an image" * 10)
    table = tmp_path / "index.csv"
    pd.DataFrame({"image": ["broken.jpg"], "label": ["a"]}).to_csv(table, index=False)
    data = load(table)  # tables only check that the file exists
    backbone = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    with pytest.raises(HeadstartError, match=r"cannot read image .*broken\.jpg"):
        extract(backbone, data, cache=False)


# ------------------------------------------- one pass for many layers, parallel decoding
def _block_calls(backbone: Backbone) -> list[int]:
    """Counts the images through the first block (the batch-norm folding check adds 2 x 2)."""
    from headstart.backbones.base import find_blocks

    seen = [0]
    find_blocks(backbone)[1][0].register_forward_hook(lambda m, a, out: seen.__setitem__(0, seen[0] + len(out)))
    return seen


def test_layers_of_one_network_share_one_pass_and_match_their_own_extraction(image_folder, tmp_path):
    from headstart.backbones import load_backbones
    from headstart.features import extract_many

    specs = ["timm:test_efficientnet", "timm:test_efficientnet@block1", "timm:test_efficientnet@block2"]
    backbones = load_backbones(specs, pretrained=False, seed=0)
    assert backbones[1].inner is backbones[0] and backbones[2].inner is backbones[0]
    data = load(image_folder)
    seen = _block_calls(backbones[0])
    many = extract_many(backbones, data, batch_size=3, cache_dir=tmp_path / "a")
    assert len(data) <= seen[0] < 2 * len(data)  # one pass (and the folding check), not one per layer
    for spec, ext in zip(specs, many, strict=True):
        alone = extract(load_backbone(spec, pretrained=False, seed=0), data, batch_size=3, cache_dir=tmp_path / "b")
        np.testing.assert_allclose(ext.features, alone.features, rtol=1e-5, atol=1e-6)
        assert not ext.cached and ext.path.name == alone.path.name and ext.path.parent.name == alone.path.parent.name
    again = extract_many(backbones, data, batch_size=3, cache_dir=tmp_path / "a")
    assert [e.cached for e in again] == [True, True, True] and seen[0] < 2 * len(data)


def test_layers_only_stop_after_the_highest_block_needed(image_folder):
    from headstart.backbones import load_backbones
    from headstart.backbones.base import find_blocks
    from headstart.features import extract_many

    full, low, high = load_backbones(
        ["timm:test_efficientnet", "timm:test_efficientnet@block1", "timm:test_efficientnet@block2"],
        pretrained=False,
        seed=0,
    )
    blocks = find_blocks(full)[1]
    ran = [0] * len(blocks)
    for i, block in enumerate(blocks):
        block.register_forward_hook(lambda *_, i=i: ran.__setitem__(i, ran[i] + 1))
    extract_many([low, high], load(image_folder), batch_size=8, cache=False)
    assert min(ran[:2]) >= 1 and sum(ran[2:]) == 0


def test_images_decoded_in_worker_processes_give_the_same_features(image_folder):
    backbone = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    data = load(image_folder)
    here = extract(backbone, data, batch_size=3, cache=False, num_workers=0)
    workers = extract(backbone, data, batch_size=3, cache=False, num_workers=2)
    np.testing.assert_allclose(here.features, workers.features, rtol=1e-5, atol=1e-6)
    # channels-last and batch norms folded only for the pass: the backbone's own weights are as they were
    assert all(p.is_contiguous() for p in backbone.parameters())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in backbone.modules())


def test_unreadable_image_in_a_worker_process_is_still_one_line(tmp_path, image_folder):
    import pandas as pd

    (tmp_path / "broken.jpg").write_bytes(b"garbage bytes, not an image" * 10)
    good = sorted(str(p) for p in Path(image_folder).rglob("*.png"))
    table = tmp_path / "index.csv"
    pd.DataFrame({"image": [*good, str(tmp_path / "broken.jpg")], "label": ["a"] * (len(good) + 1)}).to_csv(
        table, index=False
    )
    backbone = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    with pytest.raises(HeadstartError, match=r"^cannot read image .*broken\.jpg[^\n]*$"):
        extract(backbone, load(table), batch_size=4, cache=False, num_workers=2)


def test_decode_workers_default():
    from headstart.features import PARALLEL_DECODE_ROWS, decode_workers

    image = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    assert decode_workers(image, PARALLEL_DECODE_ROWS - 1, None) == 0
    assert decode_workers(image, PARALLEL_DECODE_ROWS, None) == min(4, max(1, torch.get_num_threads() - 1))
    assert decode_workers(image, 10, 3) == 3
    assert decode_workers(CountingTextBackbone(), 10_000, 3) == 0


def test_batch_norm_folding_matches_the_network_and_leaves_it_unchanged():
    from headstart.backbones.fold import fold_batchnorm

    backbone = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    model = backbone.model.eval()
    for m in model.modules():  # running statistics that are not the identity
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded, count = fold_batchnorm(model)
    assert count > 0 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-5)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_a_folding_that_changes_the_features_is_not_used(image_folder):
    """Children registered in an order their forward does not follow: the check on the first batch
    sees the folded copy disagree and keeps the network as it is."""

    class Shuffled(torch.nn.Module):  # registers conv, bn but applies bn before conv
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(3)
            with torch.no_grad():
                self.bn.running_mean.fill_(0.7)
                self.bn.running_var.fill_(3.0)
            self.num_features = 3

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(self.bn(x)).mean(dim=(2, 3))

    backbone = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    data = load(image_folder)
    backbone.model = Shuffled().eval()
    backbone.feature_dim = 3
    with torch.no_grad():
        ref = backbone.model(backbone.preprocess(list(data.inputs)))
    got = extract(backbone, data, batch_size=4, cache=False, num_workers=0).features
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-4, atol=1e-5)
