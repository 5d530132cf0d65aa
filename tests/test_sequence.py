"""Sequences (issue 23): time series and audio in, masks and pooling, the GE2E encoder.

Synthetic and tiny: WAV files written to tmp_path, a few series, a small ``.ts`` file
written here. The real-data rows (FSDD clips, the bundled UCR sets) are marked ``real``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import assert_one_error_line, cli, make_texts, shared

from headstart.data import Dataset, at_rate, from_series, load, load_ts, read_wav
from headstart.data.sequences import pad, resample
from headstart.errors import HeadstartError
from headstart.pooling import POOLS, Pooling

TS_HEADER = (
    "@problemName toy\n@timestamps false\n@missing false\n@univariate true\n@equalLength false\n"
    "@classLabel true up down\n@data\n"
)


def write_wav(path, samples: np.ndarray, rate: int = 8000) -> None:
    from scipy.io import wavfile

    path.parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(path, rate, samples)


def tone(freq: float, n: int, rate: int = 8000) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(n) / rate) * 32767).astype(np.int16)


def toy_series(n: int = 48, seed: int = 0, channels: int = 2) -> Dataset:
    """Rising vs falling ramps (plus noise), lengths 5 to 30."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        t = np.linspace(0, 1, int(rng.integers(5, 31)))
        sign = 1 if i % 2 else -1
        rows.append(np.stack([sign * t + 0.1 * rng.normal(size=len(t))] * channels, 1))
        labels.append("up" if sign > 0 else "down")
    return from_series(rows, labels, source="toy")


# ------------------------------------------------------------------ loaders
def test_a_ts_folder_loads_train_and_test_with_their_lengths(tmp_path):
    (tmp_path / "toy_TRAIN.ts").write_text(TS_HEADER + "1,2,3:up\n3,2:down\n1,2,3,4:up\n")
    (tmp_path / "toy_TEST.ts").write_text(TS_HEADER + "5,6:up\n")
    d = load(tmp_path)
    assert d.modality == "timeseries" and [x.shape for x in d.inputs] == [(3, 1), (2, 1), (4, 1), (2, 1)]
    assert d.split.tolist() == ["train", "train", "train", "test"] and d.labels.tolist()[:2] == ["up", "down"]
    assert load(tmp_path / "toy_TEST.ts").inputs[0][:, 0].tolist() == [5.0, 6.0]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("1,2,3:up\n:down\n", "series 2 of"),  # zero length
        ("1,2,3:up\n4,x:down\n", "cannot read"),
    ],
)
def test_bad_ts_files_are_one_line(tmp_path, body, fragment):
    path = tmp_path / "bad.ts"
    path.write_text(TS_HEADER + body)
    with pytest.raises(HeadstartError, match=fragment):
        load(path)


def test_a_ts_file_without_a_header_and_channels_that_differ(tmp_path):
    (tmp_path / "a.ts").write_text("1,2,3:up\n")
    with pytest.raises(HeadstartError, match="has no @problemName or @data"):
        load(tmp_path / "a.ts")
    (tmp_path / "b.ts").write_text(TS_HEADER.replace("univariate true", "univariate false") + "1,2:3,4:up\n5,6:down\n")
    with pytest.raises(HeadstartError, match="series 2 of .* different number of channels"):
        load(tmp_path / "b.ts")
    with pytest.raises(HeadstartError, match="row 2 of x has 3 channels but the first row has 2"):
        from_series([np.zeros((4, 2)), np.zeros((4, 3))], source="x")
    with pytest.raises(HeadstartError, match="zero-length series"):
        from_series([np.zeros((4, 2)), np.zeros((0, 2))])


def test_a_long_table_is_one_series_per_id_ordered_by_time(tmp_path):
    df = pd.DataFrame(
        {
            "id": ["a", "a", "a", "b", "b"],
            "time": [2, 0, 1, 0, 1],
            "x": [3.0, 1.0, 2.0, 9.0, 8.0],
            "y": [0.0, 0.0, 0.0, 1.0, 1.0],
            "label": ["p", "p", "p", "q", "q"],
        }
    )
    df.to_csv(tmp_path / "long.csv", index=False)
    d = load(tmp_path / "long.csv")
    assert d.modality == "timeseries" and d.ids.tolist() == ["a", "b"] and d.labels.tolist() == ["p", "q"]
    assert d.inputs[0][:, 0].tolist() == [1.0, 2.0, 3.0] and d.inputs[0].shape == (3, 2)
    df.loc[4, "label"] = "p"
    df.to_parquet(tmp_path / "long.parquet")
    with pytest.raises(HeadstartError, match="series 'b' .* 2 values in column 'label'"):
        load(tmp_path / "long.parquet")


def test_a_wav_folder_and_a_table_of_wav_paths(tmp_path, capsys):
    for label, freq in (("low", 300.0), ("high", 1500.0)):
        for i in range(3):
            write_wav(tmp_path / "clips" / label / f"{i}.wav", tone(freq, 800 + 100 * i))
    write_wav(tmp_path / "clips" / "high" / "fast.wav", tone(1500.0, 1600, 16000), 16000)
    d = load(tmp_path / "clips")
    assert d.modality == "audio" and d.sample_rate == 8000 and len(d) == 7
    assert "1 at 16000 Hz resampled to 8000 Hz" in capsys.readouterr().err
    assert {len(x) for x in d.inputs} >= {800, 1000} and d.labels.tolist().count("high") == 4
    pd.DataFrame({"path": ["clips/low/0.wav", "clips/high/1.wav"], "label": ["low", "high"]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    t = load(tmp_path / "t.csv")
    assert t.modality == "audio" and t.inputs[1].shape == (900,)


def test_bad_wav_files(tmp_path):
    (tmp_path / "text.wav").write_text("not audio at all")
    with pytest.raises(HeadstartError, match="not a readable WAV file"):
        read_wav(tmp_path / "text.wav")
    write_wav(tmp_path / "stereo.wav", np.zeros((100, 2), np.int16))
    with pytest.raises(HeadstartError, match="2 channels: headstart reads mono audio; mix it down"):
        read_wav(tmp_path / "stereo.wav")
    write_wav(tmp_path / "empty.wav", np.zeros(0, np.int16))
    with pytest.raises(HeadstartError, match="zero-length audio"):
        read_wav(tmp_path / "empty.wav")


def test_resampling_to_the_encoder_rate_is_said(capsys):
    d = Dataset(inputs=[np.ones(800, np.float32)], labels=None, modality="audio", sample_rate=8000, source="s")
    out = at_rate(d, 16000)
    assert out[0].shape == (1600,) and "resampled from 8000 Hz to 16000 Hz" in capsys.readouterr().err
    assert at_rate(d, 8000)[0] is d.inputs[0]
    assert resample(np.ones(441), 44100, 16000).shape == (160,)


# ------------------------------------------------------------------ pooling and masks
@pytest.mark.parametrize("kind", POOLS)
def test_every_pooling_ignores_the_padding(kind):
    torch.manual_seed(0)
    pool = Pooling(kind, 4)
    if kind == "attention":
        torch.nn.init.normal_(pool.score.weight)  # not the mean it starts as
    x = torch.randn(1, 5, 4)
    padded = torch.cat([x, 1e3 * torch.randn(1, 3, 4)], 1)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    assert torch.allclose(pool(x, torch.ones(1, 5, dtype=torch.bool)), pool(padded, mask), atol=1e-5)
    if kind == "attention":
        w = pool.weights(padded, mask)
        assert torch.all(w[:, 5:] == 0) and torch.allclose(w.sum(1), torch.ones(1))


def test_pad_and_tsconv_give_a_series_the_same_features_alone_or_in_a_batch():
    from headstart.backbones import load_backbone

    bb = load_backbone("scratch:tsconv?pool=attention", in_channels=2, seed=0)
    short, long = np.random.default_rng(0).normal(size=(6, 2)), np.random.default_rng(1).normal(size=(20, 2))
    with torch.no_grad():
        alone = bb.forward_features(bb.preprocess([short]))
        both = bb.forward_features(bb.preprocess([short, long]))
    assert torch.allclose(alone[0], both[0], atol=1e-5)
    x, m = pad([short, long])
    assert x.shape == (2, 20, 2) and m.sum(1).tolist() == [6, 20]
    assert [g.name for g in bb.param_groups()][-1] == "pool"


def test_backbone_options_in_the_name_and_bad_pooling():
    from headstart.backbones import load_backbone

    assert load_backbone("scratch:tsconv?pool=max&width=8", in_channels=1).feature_dim == 8
    with pytest.raises(HeadstartError, match="unknown pooling 'mea'; did you mean 'mean'"):
        load_backbone("scratch:tsconv?pool=mea", in_channels=1)
    with pytest.raises(HeadstartError, match="not KEY=VALUE"):
        load_backbone("scratch:tsconv?pool")


# ------------------------------------------------------------------ training, saving, predicting
def test_fit_predict_save_load_on_variable_length_series(tmp_path):
    from headstart import TransferClassifier, load_run

    train, test = toy_series(48, 0), toy_series(20, 1)
    clf = TransferClassifier(
        "scratch:tsconv?pool=attention&width=16", strategy="head", epochs=3, lr=1e-2, head_init="random",
        precision="no", progress=False, train_batch_size=8,
    ).fit(train)  # fmt: skip
    assert clf.evaluate(test)["accuracy"] >= 0.5
    query = clf.backbone_.pool.score.weight
    assert query.abs().sum() > 0, "the attention query trained with the head (strategy head)"
    clf.save(tmp_path / "run")
    again = load_run(tmp_path / "run")
    assert (again.predict(test) == clf.predict(test)).all()
    with pytest.raises(HeadstartError, match="learned with the head: use --strategy head"):
        TransferClassifier("scratch:tsconv?pool=attention", strategy="linear-probe").fit(train)


def test_cli_fit_and_predict_on_a_ts_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(24):
        n = int(rng.integers(4, 12))
        sign = 1 if i % 2 else -1
        values = ",".join(f"{sign * v + 0.05 * rng.normal():.3f}" for v in np.linspace(0, 1, n))
        lines.append(f"{values}:{'up' if sign > 0 else 'down'}")
    (tmp_path / "toy_TRAIN.ts").write_text(TS_HEADER + "\n".join(lines[:18]) + "\n")
    (tmp_path / "toy_TEST.ts").write_text(TS_HEADER + "\n".join(lines[18:]) + "\n")
    code, out, err = cli(
        capsys, "fit", tmp_path, "-b", "scratch:tsconv?width=8", "-s", "full", "--epochs", "2", "-o", tmp_path / "r"
    )
    assert code == 0, err
    code, out, err = cli(capsys, "predict", tmp_path / "r", tmp_path / "toy_TEST.ts", "-o", tmp_path / "p.csv")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 6


def test_cli_refuses_a_stereo_wav_in_one_line(tmp_path, capsys):
    write_wav(tmp_path / "d" / "a" / "x.wav", np.zeros((100, 2), np.int16))
    write_wav(tmp_path / "d" / "b" / "y.wav", np.zeros((100, 2), np.int16))
    assert_one_error_line(cli(capsys, "fit", tmp_path / "d", "-o", tmp_path / "r"), "x.wav has 2 channels", "ffmpeg")


# ------------------------------------------------------------------ GE2E
@pytest.fixture(scope="module")
def ge2e():
    import importlib.util

    if importlib.util.find_spec("resemblyzer") is None:  # found, never imported: its weights are read as tensors
        pytest.skip("resemblyzer (the GE2E weights) is not installed")
    pytest.importorskip("librosa")
    from headstart.backbones import load_backbone

    return load_backbone("ge2e")


def test_ge2e_is_resemblyzers_lstm_and_linear(ge2e):
    """Our single-layer LSTMs give what nn.LSTM(40, 256, 3) with the wheel's tensors gives."""
    from headstart.backbones.ge2e import weights_path

    state = torch.load(weights_path(), map_location="cpu", weights_only=True)["model_state"]
    ref = torch.nn.LSTM(40, 256, 3, batch_first=True)
    ref.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("lstm.")})
    x = torch.rand(2, 12, 40)
    with torch.no_grad():
        _, (h, _) = ref(x)
        e = torch.relu(torch.nn.functional.linear(h[-1], state["linear.weight"], state["linear.bias"]))
        ours = ge2e.forward_features({"x": x, "mask": torch.ones(2, 12, dtype=torch.bool)})
    assert torch.allclose(e / e.norm(dim=1, keepdim=True), ours, atol=1e-5)


def test_ge2e_mel_frames_and_features_at_16k(ge2e):
    mel = ge2e.frontend(np.zeros(16000, np.float32) + 0.01)
    assert mel.shape == (101, 40) and mel.dtype == np.float32
    from headstart.features import extract

    d = Dataset(inputs=[tone(300, 800) / 32768.0, tone(900, 1200) / 32768.0], labels=None, modality="audio")
    d.sample_rate = 8000
    assert extract(ge2e, d, cache=False, progress=False).features.shape == (2, 256)


# ------------------------------------------------------------------ real data
@pytest.mark.real
def test_japanese_vowels_keeps_every_length():
    from headstart.data import bundled_ucr

    train = load_ts(bundled_ucr("JapaneseVowels", "train"))
    lengths = [len(x) for x in train.inputs]
    assert len(train) == 270 and min(lengths) == 7 and max(lengths) <= 29 and train.inputs[0].shape[1] == 12


@pytest.mark.real
def test_fsdd_clips_read_as_8k_mono():
    folder = shared("audio", "fsdd", "recordings")
    x, rate = read_wav(folder / "3_george_0.wav")
    assert rate == 8000 and x.ndim == 1 and np.abs(x).max() <= 1.0


def test_split_time_trains_on_the_earliest_series_and_pool_is_a_backbone_option(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(30):
        sign = 1 if i % 2 else -1
        for t in range(int(rng.integers(4, 9))):
            rows.append({"id": f"s{i}", "time": 100 * (29 - i) + t, "x": sign * t + 0.1 * rng.normal(), "label": sign})
    pd.DataFrame(rows).to_csv(tmp_path / "long.csv", index=False)
    d = load(tmp_path / "long.csv")
    train, test = d.time_split(0.2)
    assert max(train.time) < min(test.time) and len(test) == 6
    code, out, err = cli(
        capsys, "fit", tmp_path / "long.csv", "-b", "scratch:tsconv?width=8", "--pool", "max", "--split", "time",
        "-s", "full", "--epochs", "1", "-o", tmp_path / "r",
    )  # fmt: skip
    assert code == 0, err
    assert "latest 6 rows by 'time'" in " ".join(out.split())
    import json

    assert "pool=max" in json.loads((tmp_path / "r" / "config.json").read_text())["params"]["backbone"]


def write_ts(path, data: Dataset) -> None:
    lines = [",".join(f"{v:.4f}" for v in x[:, 0]) + f":{y}" for x, y in zip(data.inputs, data.labels, strict=True)]
    path.write_text(TS_HEADER + "\n".join(lines) + "\n")


def test_shift_and_adapt_commands_on_series(tmp_path, capsys):
    source, target = toy_series(40, 0, channels=1), toy_series(40, 1, channels=1)
    target.inputs = [3 * x + 1 for x in target.inputs]  # another sensor: gain and offset
    write_ts(tmp_path / "src.ts", source)
    write_ts(tmp_path / "tgt.ts", target)
    code, out, err = cli(capsys, "shift", tmp_path / "src.ts", tmp_path / "tgt.ts", "-b", "scratch:tsconv?width=8")
    assert code == 0, err
    assert "MMD" in out
    code, out, err = cli(
        capsys, "adapt", tmp_path / "src.ts", tmp_path / "tgt.ts", "-m", "dann", "-b", "scratch:tsconv?width=8",
        "--epochs", "1", "-o", tmp_path / "a",
    )  # fmt: skip
    assert code == 0, err
    assert (tmp_path / "a" / "config.json").is_file()


def test_cli_fit_on_a_wav_folder_with_ge2e_says_it_resampled(tmp_path, capsys, ge2e):
    for label, freq in (("low", 200.0), ("high", 2000.0)):
        for i in range(6):
            write_wav(tmp_path / "clips" / label / f"{i}.wav", tone(freq * (1 + 0.05 * i), 1200))
    code, out, err = cli(capsys, "fit", tmp_path / "clips", "-b", "ge2e?layers=1", "-s", "linear-probe", "--C", "1",
                         "-o", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    assert "resampled from 8000 Hz to 16000 Hz, the encoder's rate" in " ".join(err.split())


def test_an_option_a_backbone_does_not_take_is_one_line():
    from headstart.backbones import load_backbone

    with pytest.raises(HeadstartError, match="backbone 'identity' does not take the option.*pool is for sequence"):
        load_backbone("identity?pool=attention", feature_dim=3)


# ------------------------------------------------------------------ pooling on text backbones
@pytest.mark.parametrize("kind", ["last", "meanmax", "attention"])
def test_text_backbones_take_every_pooling_and_ignore_the_padding(hf_text_spec, kind):
    from headstart.backbones import load_backbone

    bb = load_backbone(f"{hf_text_spec}?pool={kind}")
    dim = bb.model.config.hidden_size
    assert bb.feature_dim == (2 * dim if kind == "meanmax" else dim) and bb.pretrained_config.pooling == kind
    texts = ["a short one", "a somewhat longer sentence with more words in it"]
    with torch.no_grad():
        alone = bb.forward_features(bb.preprocess(texts[:1]))
        both = bb.forward_features(bb.preprocess(texts))
        mean = load_backbone(hf_text_spec).forward_features(bb.preprocess(texts))
    assert torch.allclose(alone[0], both[0], atol=1e-5)  # the padding of the longer text changes nothing
    if kind == "attention":  # starts as the mean; its query is the `pool` group, trained with the head
        assert torch.allclose(both, mean, atol=1e-5)
        assert [g.name for g in bb.param_groups()][-1] == "pool"
    assert sorted(id(p) for g in bb.param_groups() for p in g.params) == sorted(id(p) for p in bb.parameters())


def test_text_attention_pooling_trains_with_the_head_and_survives_save_and_load(hf_text_spec, tmp_path):
    from headstart import TransferClassifier, load_run

    texts, labels = make_texts(40, seed=3)
    clf = TransferClassifier(
        f"{hf_text_spec}?pool=attention", strategy="head", epochs=3, lr=1e-2, head_init="random",
        precision="no", progress=False, train_batch_size=8,
    ).fit(texts, labels)  # fmt: skip
    assert clf.backbone_.pool.score.weight.abs().sum() > 0, "the query trained with the head"
    clf.save(tmp_path / "run")
    again = load_run(tmp_path / "run")
    assert torch.equal(again.backbone_.pool.score.weight, clf.backbone_.pool.score.weight)
    np.testing.assert_allclose(again.decision_function(texts[:8]), clf.decision_function(texts[:8]), atol=1e-5)
    with pytest.raises(HeadstartError, match="learned with the head: use --strategy head"):
        TransferClassifier(f"{hf_text_spec}?pool=attention", strategy="linear-probe").fit(texts, labels)


def test_gaf_draws_the_angular_field_of_each_channel_and_shortens_long_series():
    from headstart.backbones import load_backbone
    from headstart.backbones.gaf import gramian_angular_field, paa

    x = np.array([3.0, 1.0, 2.0, 5.0])
    phi = np.arccos(2 * (x - 1) / 4 - 1)
    np.testing.assert_allclose(gramian_angular_field(x), np.cos(phi[:, None] + phi[None, :]), atol=1e-12)
    np.testing.assert_allclose(gramian_angular_field(x, "difference"), np.sin(phi[:, None] - phi[None, :]), atol=1e-12)
    assert paa(np.arange(10.0), 4).tolist() == [0.5, 3.0, 5.5, 8.0] and len(paa(np.arange(3.0), 4)) == 3
    bb = load_backbone("gaf:timm:test_efficientnet?size=16", pretrained=False)
    items, lengths = bb.prepare([np.arange(40.0), np.stack([x, x[::-1]], 1)])  # (a field of -x is that of x)
    assert items[0].shape == (3, 16, 16) and items[1].shape == (3, 4, 4) and lengths.tolist() == [40, 4]
    assert np.array_equal(items[1][0], items[1][2]) and not np.array_equal(items[1][0], items[1][1])
    assert bb.collate(items).shape == (2, 3, 16, 16)
    with pytest.raises(HeadstartError, match="up to 3 channels"):
        bb.prepare([np.zeros((5, 4))])


def test_segments_pooling_keeps_where_along_the_series_and_a_saved_encoder_takes_another_pooling(tmp_path):
    from headstart.backbones import load_backbone
    from headstart.pooling import SEGMENTS

    steps = torch.arange(16.0).view(1, 16, 1)
    out = Pooling("segments", 1)(torch.cat([steps, torch.zeros(1, 4, 1)], 1), torch.tensor([[True] * 16 + [False] * 4]))
    assert out.shape == (1, SEGMENTS) and out[0].tolist() == [0.5 + 2 * k for k in range(SEGMENTS)]
    rising, falling = np.linspace(-1, 1, 40), np.linspace(1, -1, 40)
    folder = load_backbone("scratch:tsconv", in_channels=1, width=4, seed=0).save(tmp_path / "enc")
    seg = load_backbone(f"local:{folder}?pool=segments")
    assert seg.feature_dim == 4 * SEGMENTS and seg.pretrained_config.pooling == "segments"
    with torch.no_grad():
        mean = load_backbone(f"local:{folder}").forward_features(seg.preprocess([rising, falling]))
        both = seg.forward_features(seg.preprocess([rising, falling]))
    # The same encoder's states (40 steps: 8 stretches of 5, whose means average to the mean) ...
    assert torch.allclose(mean, both.view(2, SEGMENTS, 4).mean(1), atol=1e-5)
    assert not torch.allclose(both[0, :4], both[0, -4:], atol=1e-3)  # ... and the start differs from the end
    assert load_backbone(f"local:{folder}?pool=attention").feature_dim == 4


# ------------------------------------------------------------------ scratch:fcn (Wang et al. 2017)
def test_masked_batch_norm_is_batch_norm_on_unpadded_rows_and_ignores_padding():
    from headstart.backbones.fcn import MaskedBatchNorm

    torch.manual_seed(0)
    ours, theirs = MaskedBatchNorm(3), torch.nn.BatchNorm1d(3)
    theirs.load_state_dict(ours.state_dict())
    h = torch.randn(4, 3, 10) * 2 + 1
    full = torch.ones(4, 10, dtype=torch.bool)
    for _ in range(2):  # the running statistics move the same way
        assert torch.allclose(ours(h, full), theirs(h), atol=1e-6)
    assert torch.allclose(ours.running_mean, theirs.running_mean)
    assert torch.allclose(ours.running_var, theirs.running_var)
    # Padded: the statistics are those of the valid steps only, whatever the padding holds.
    mask = full.clone()
    mask[0, 6:] = False
    garbage = h.clone()
    garbage[0, :, 6:] = 1e3
    ours.train()
    out = ours(garbage, mask)
    valid = torch.cat([h[0, :, :6], h[1:].permute(1, 0, 2).reshape(3, -1)], 1)  # (C, valid steps)
    expected = (h[1] - valid.mean(1, keepdim=True)) / torch.sqrt(valid.var(1, unbiased=False, keepdim=True) + 1e-5)
    assert torch.allclose(out[1], expected * ours.weight[:, None] + ours.bias[:, None], atol=1e-5)


def test_fcn_gives_a_series_the_same_features_alone_or_in_a_batch_and_survives_save_and_load(tmp_path):
    from headstart.backbones import load_backbone

    bb = load_backbone("scratch:fcn?pool=max&widths=[8,16,8]", in_channels=2, seed=0)
    assert bb.feature_dim == 8 and [g.name for g in bb.param_groups()] == ["blocks.0", "blocks.1", "blocks.2"]
    bb.train()
    bb.forward_features(bb.preprocess([np.random.default_rng(2).normal(size=(12, 2)) for _ in range(4)]))
    bb.eval()  # running statistics, not the batch's: a row is its own whatever it is batched with
    short, long = np.random.default_rng(0).normal(size=(6, 2)), np.random.default_rng(1).normal(size=(20, 2))
    with torch.no_grad():
        alone = bb.forward_features(bb.preprocess([short]))
        both = bb.forward_features(bb.preprocess([short, long]))
    assert torch.allclose(alone[0], both[0], atol=1e-5)
    folder = bb.save(tmp_path / "fcn")
    again = load_backbone(f"local:{folder}")
    again.eval()
    with torch.no_grad():
        assert torch.allclose(again.forward_features(again.preprocess([short, long])), both, atol=1e-6)
    with pytest.raises(HeadstartError, match="scratch:fcn was built for 2 channels, a row has 3"):
        bb.preprocess([np.zeros((5, 3))])
    with pytest.raises(HeadstartError, match="three positive channel counts"):
        load_backbone("scratch:fcn?widths=[8,8]", in_channels=1)


def test_fcn_learns_rising_from_falling_series_of_any_length():
    from headstart import TransferClassifier

    train, test = toy_series(48, 0, channels=1), toy_series(30, 1, channels=1)
    clf = TransferClassifier(
        "scratch:fcn?widths=[8,16,8]", strategy="full", epochs=15, lr=1e-2, head_init="random",
        precision="no", progress=False, train_batch_size=8,
    ).fit(train)  # fmt: skip
    assert clf.backbone_.in_channels == 1  # taken from the data
    assert clf.evaluate(test)["accuracy"] >= 0.8
    # trained from scratch, its batch norms normalised the batches (they were not frozen at
    # their initial statistics, mean 0 and variance 1): the running mean moved
    norms = [m for m in clf.backbone_.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert norms and all(m.running_mean.abs().sum() > 0 for m in norms)


def test_batch_norm_is_frozen_only_where_it_holds_statistics_of_data(tmp_path):
    from headstart.backbones import load_backbone
    from headstart.train import TransferModel

    def training_norms(backbone, **kw):
        model = TransferModel(backbone, 2, **kw).train()
        return {m.training for m in model.backbone.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}

    random_arch = load_backbone("timm:test_efficientnet", pretrained=False, seed=0)
    assert training_norms(random_arch) == {True}  # pretrained=False: the architecture's initial statistics
    random_arch.pretrained = True  # as weights loaded from a pretrained folder are
    assert training_norms(random_arch) == {False}
    assert training_norms(random_arch, freeze_bn=False) == {True}
    fcn = load_backbone("scratch:fcn?widths=[8,16,8]", in_channels=1, seed=0)
    assert training_norms(fcn) == {True}  # scratch: no batch seen yet
    fcn.train()
    fcn.forward_features(fcn.preprocess([np.random.default_rng(0).normal(size=(12, 1)) for _ in range(4)]))
    folder = fcn.eval().save(tmp_path / "fcn")
    assert training_norms(load_backbone(f"local:{folder}")) == {False}  # pretrained by headstart: its source's
    from headstart import TransferClassifier

    def running_means(batch_norm):
        clf = TransferClassifier(
            f"local:{folder}", strategy="full", epochs=2, lr=1e-2, precision="no", progress=False,
            train_batch_size=8, batch_norm=batch_norm, val_size=0.0,
        ).fit(toy_series(24, 0, channels=1))  # fmt: skip
        return torch.cat([m.running_mean for m in clf.backbone_.modules() if isinstance(m, torch.nn.BatchNorm1d)])

    kept = torch.cat([m.running_mean for m in load_backbone(f"local:{folder}").modules()
                      if isinstance(m, torch.nn.BatchNorm1d)])  # fmt: skip
    assert torch.equal(running_means("auto"), kept) and torch.equal(running_means("freeze"), kept)
    assert not torch.allclose(running_means("update"), kept)  # re-estimated on the target's batches
    with pytest.raises(HeadstartError, match="batch_norm must be one of 'auto', 'freeze', 'update', got 'on'"):
        TransferClassifier(f"local:{folder}", batch_norm="on").fit(toy_series(24, 0, channels=1))
