"""Attention for transfer (issue 24): token features, the attentive probe, cross-domain attention.

Tiny models only (the 2-layer BERT, timm's ``test_*`` models from scratch) and synthetic data.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_texts

from headstart.backbones import load_backbone
from headstart.backbones.attentive import AttentiveBackbone, AttentivePool, with_attention
from headstart.errors import HeadstartError
from headstart.features import extract, extract_tokens
from headstart.strategies.attentive_probe import AttentiveProbe, TokenRows


@pytest.fixture(scope="module")
def texts():
    return make_texts(48, seed=0)


def test_text_tokens_carry_the_padding_mask_and_pool_to_the_pooled_features(hf_text_backbone):
    bb = hf_text_backbone
    batch = bb.preprocess(["good film", "a very bad and boring movie with a plot"])
    with torch.no_grad():
        tokens, mask = bb.forward_tokens(batch)
        pooled = bb.forward_features(batch)
    assert bb.has_tokens and tokens.shape[:2] == mask.shape and tokens.shape[2] == bb.feature_dim
    assert mask[0].sum() < mask[1].sum() and mask[1].all()
    m = mask.unsqueeze(-1).float()
    torch.testing.assert_close((tokens * m).sum(1) / m.sum(1), pooled)  # plain BERT: mean pooling


@pytest.mark.parametrize("spec", ["timm:test_efficientnet", "timm:test_vit"])
def test_timm_tokens_are_patches_or_feature_map_positions(spec):
    bb = load_backbone(spec, pretrained=False)
    images = [np.random.default_rng(i).integers(0, 255, (40, 40, 3), dtype=np.uint8) for i in range(3)]
    batch = bb.preprocess(images)
    with torch.no_grad():
        tokens, mask = bb.forward_tokens(batch)
        raw = bb.model.forward_features(batch)
    assert tokens.shape[0] == 3 and mask.all() and tokens.shape[2] == bb.feature_dim
    if raw.ndim == 4:  # a conv map: H * W tokens, whose mean is the global-average-pooled feature
        assert tokens.shape[1] == raw.shape[2] * raw.shape[3]
        with torch.no_grad():
            torch.testing.assert_close(tokens.mean(1), bb.forward_features(batch), rtol=1e-4, atol=1e-4)
    else:
        assert tokens.shape[1] == raw.shape[1]


def test_a_backbone_without_tokens_says_so_in_one_line():
    bb = load_backbone("scratch:lenet")
    assert not bb.has_tokens
    with pytest.raises(HeadstartError, match="has no token or patch features") as e:
        extract_tokens(bb, [np.zeros((16, 16), dtype=np.uint8)] * 2, cache=False, progress=False)
    assert "\n" not in str(e.value)


def test_layer_tokens_are_the_blocks_hidden_states(hf_text_spec):
    bb = load_backbone(f"{hf_text_spec}@block1")
    ext = extract_tokens(bb, ["good film", "bad"], cache=False, progress=False)
    pooled = extract(bb, ["good film", "bad"], cache=False, progress=False).features
    tokens = ext.tokens.astype(np.float32)
    means = tokens.sum(1) / ext.lengths[:, None]
    np.testing.assert_allclose(means, pooled, atol=2e-3)


def test_token_features_are_cached_as_float16(hf_text_backbone, texts, tmp_path):
    first = extract_tokens(hf_text_backbone, texts[0], cache_dir=tmp_path, progress=False)
    again = extract_tokens(hf_text_backbone, texts[0], cache_dir=tmp_path, progress=False)
    assert not first.cached and again.cached and first.tokens.dtype == np.float16
    np.testing.assert_array_equal(first.tokens, again.tokens)
    np.testing.assert_array_equal(first.lengths, again.lengths)
    assert (first.tokens[~first.mask()] == 0).all()  # padding is zero


def test_token_features_over_the_memory_budget_are_refused(hf_text_backbone, texts, monkeypatch):
    monkeypatch.setenv("HEADSTART_TOKEN_BYTES", "100")
    with pytest.raises(HeadstartError, match="over the .* limit"):
        extract_tokens(hf_text_backbone, texts[0], cache=False, progress=False)


def test_the_pool_ignores_padding_and_starts_as_mean_pooling():
    torch.manual_seed(0)
    pool = AttentivePool(8, queries=2)
    tokens = torch.randn(2, 5, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    out = pool(tokens, mask)
    mean = (tokens * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(out, torch.cat([mean, mean], 1))  # zero queries: uniform attention
    with torch.no_grad():
        pool.queries.normal_()
    changed = tokens.clone()
    changed[0, 3:] = 100.0  # what sits under the padding
    torch.testing.assert_close(pool(tokens, mask), pool(changed, mask))
    pool.keep_weights = True
    pool(tokens, mask)
    assert pool.weights_.shape == (2, 2, 5) and (pool.weights_[0, :, 3:] == 0).all()
    torch.testing.assert_close(pool.weights_.sum(-1), torch.ones(2, 2))


def test_token_rows_pad_each_batch_to_its_longest_row():
    tokens = np.ones((3, 6, 4), dtype=np.float16)
    rows = TokenRows(tokens, np.array([2, 4, 1]), np.array([0, 1, 0]))
    batch, targets = rows.collate([rows[0], rows[2]])
    assert batch["tokens"].shape == (2, 2, 4) and batch["mask"].tolist() == [[True, True], [True, False]]
    assert targets.y.tolist() == [0, 0]


def test_the_attentive_probe_learns_which_token_matters():
    """The label sits in one token whose position varies; the mean over 8 noisy tokens hides it."""
    rng = np.random.default_rng(0)
    n, t, d = 240, 8, 8
    tokens = rng.normal(size=(n, t, d)).astype(np.float32)
    y = rng.integers(0, 2, n)
    where = rng.integers(0, t, n)
    tokens[np.arange(n), where, 0] = 4.0  # a marker the keys can find
    tokens[np.arange(n), where, 1] = np.where(y == 1, 3.0, -3.0)
    probe = AttentiveProbe(queries=1, epochs=15, lr=3e-3, grid=False).fit(
        tokens.astype(np.float16), np.full(n, t), y, 2, progress=False
    )
    best = max(r["val_accuracy"] for r in probe.chosen_["tried"])
    first = probe.history_[0]["val_accuracy"]
    assert best >= 0.85 and best > first  # it learnt from where it started (the probe on the mean)


def test_fit_with_attentive_probe_saves_and_loads_with_the_same_predictions(hf_text_spec, texts, tmp_path):
    from headstart import TransferClassifier
    from headstart.data import from_arrays

    data = from_arrays(*texts, modality="text")
    options = {"epochs": 2, "grid": False, "queries": 2, "check": False}  # keep the attention, whatever it scores
    clf = TransferClassifier(backbone=hf_text_spec, strategy="attentive-probe", strategy_options=options).fit(data)
    assert isinstance(clf.backbone_, AttentiveBackbone) and clf.n_features_in_ == 2 * 32
    assert clf.extras_["attentive_probe"]["queries"] == 2
    clf.save(tmp_path / "run")
    loaded = TransferClassifier.load(tmp_path / "run")
    np.testing.assert_allclose(loaded.predict_proba(texts[0][:8]), clf.predict_proba(texts[0][:8]), atol=1e-5)


def test_attention_that_cannot_beat_its_start_keeps_the_start():
    """Every token of a row is the same vector: any attention reads the mean, and the probe on the
    mean already separates the classes, so no epoch can beat the start by one held-out row."""
    rng = np.random.default_rng(0)
    n, t, d = 120, 5, 6
    y = rng.integers(0, 2, n)
    row = rng.normal(size=(n, 1, d)) + 3.0 * (2 * y - 1)[:, None, None] * np.eye(d)[0]
    tokens = np.repeat(row, t, axis=1).astype(np.float16)
    probe = AttentiveProbe(queries=1, epochs=3, grid=False).fit(tokens, np.full(n, t), y, 2, progress=False)
    assert probe.kept_start_ and probe.chosen_["tried"][0]["kept_start"]
    unchecked = AttentiveProbe(queries=1, epochs=3, grid=False, check=False).fit(
        tokens, np.full(n, t), y, 2, progress=False
    )
    assert not unchecked.kept_start_


def test_an_attentive_probe_that_keeps_its_start_is_the_linear_probe(hf_text_spec, texts):
    """On the tiny random encoder the attention does not beat the probe on the held-out rows: the
    model ``fit`` returns is the linear probe on every training row, with the same predictions."""
    from headstart import TransferClassifier
    from headstart.data import from_arrays

    data = from_arrays(*texts, modality="text")
    options = {"epochs": 2, "grid": False, "queries": 2}
    clf = TransferClassifier(backbone=hf_text_spec, strategy="attentive-probe", strategy_options=options).fit(data)
    assert clf.extras_["attentive_probe"]["kept_probe"] and not isinstance(clf.backbone_, AttentiveBackbone)
    probe = TransferClassifier(backbone=hf_text_spec, strategy="linear-probe").fit(data)
    np.testing.assert_allclose(clf.predict_proba(texts[0][:8]), probe.predict_proba(texts[0][:8]), atol=1e-6)


def test_the_attention_head_fine_tunes_through_any_strategy(hf_text_backbone, texts):
    from headstart import TransferClassifier
    from headstart.data import from_arrays

    backbone = with_attention(load_backbone(hf_text_backbone.spec), queries=1)
    before = backbone.pool.key.weight.detach().clone()
    clf = TransferClassifier(backbone=backbone, strategy="head", epochs=1, head_init="random", lr=1e-2)
    clf.fit(from_arrays(*texts, modality="text"))
    assert [g.name for g in backbone.param_groups()][-1] == "attention"
    # 'head' trains the classifier only; the pool is the backbone's top group and stays
    torch.testing.assert_close(backbone.pool.key.weight, before)
    clf2 = TransferClassifier(
        backbone=with_attention(load_backbone(hf_text_backbone.spec)),
        strategy="partial",
        strategy_options={"k": 1},
        epochs=1,
        lr=1e-2,
    )
    clf2.fit(from_arrays(*texts, modality="text"))
    assert not torch.equal(clf2.backbone_.pool.queries, torch.zeros_like(clf2.backbone_.pool.queries))


def test_cross_domain_attention_weights_are_a_distribution_over_source_rows():
    from headstart.adapt import make_method

    loss = make_method("cross-attention", hidden=8, dim=4).build(feature_dim=6, n_classes=3)
    loss.total_steps, loss.step = 10, torch.tensor(5)
    value = loss(torch.randn(5, 6), torch.randn(7, 6), torch.randn(5, 3), torch.randn(7, 3))
    assert torch.isfinite(value) and loss.weights_.shape == (7, 5)
    torch.testing.assert_close(loss.weights_.sum(1), torch.ones(7))
    off = make_method("cross-attention", adversarial=0).build(feature_dim=6, n_classes=3)
    assert not hasattr(off, "discriminator")
