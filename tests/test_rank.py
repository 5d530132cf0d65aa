"""``headstart rank`` and :func:`headstart.select.rank.rank`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import assert_one_error_line, cli

from headstart.data import load
from headstart.errors import HeadstartError
from headstart.select.rank import parse_candidate, rank, source_probs


def test_parse_candidate():
    c = parse_candidate(" random:minilm@block2 ")
    assert (c.spec, c.pretrained, c.text) == ("minilm@block2", False, "random:minilm@block2")
    assert parse_candidate("minilm").pretrained
    with pytest.raises(HeadstartError, match="names no backbone"):
        parse_candidate("random:")
    with pytest.raises(HeadstartError, match="unknown backbone"):
        parse_candidate("nosuchmodel")


def test_source_probs_is_the_softmax_of_the_source_head():
    from headstart.backbones.embedded import IdentityBackbone

    class WithHead(IdentityBackbone):
        @property
        def has_source_logits(self) -> bool:
            return True

        def source_logits(self, f: torch.Tensor) -> torch.Tensor:
            return f[:, :3] * 2

    feats = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    p = source_probs(WithHead(4), feats)
    assert np.allclose(p.sum(1), 1) and np.allclose(p, torch.softmax(torch.tensor(feats[:, :3] * 2.0), 1).numpy())
    assert source_probs(IdentityBackbone(4), feats) is None  # no source head: the default


def test_rank_sorts_by_the_first_score_and_skips_what_does_not_apply(text_csv, hf_text_spec):
    data = load(text_csv)
    rows = rank(data, [hf_text_spec, f"{hf_text_spec}@block1", f"random:{hf_text_spec}"], ["knn", "logme", "leep"])
    assert len(rows) == 3
    knn = [r.scores["knn"] for r in rows]
    assert knn == sorted(knn, reverse=True)
    assert all(r.scores["leep"] is None and "leep" not in r.seconds for r in rows)  # no source head
    assert all(np.isfinite(r.scores["logme"]) and r.seconds["logme"] >= 0 for r in rows)
    assert {r.candidate for r in rows} == {hf_text_spec, f"{hf_text_spec}@block1", f"random:{hf_text_spec}"}


def test_rank_command_prints_and_saves(text_csv, hf_text_spec, capsys, tmp_path):
    code, out, err = cli(
        capsys, "rank", text_csv, "-c", f"{hf_text_spec},random:{hf_text_spec}", "--scores", "logme,knn", "-o", tmp_path
    )
    assert code == 0, err
    assert "logme" in out and "random:" in out
    saved = json.loads((tmp_path / "rank.json").read_text())
    assert [r["candidate"] for r in saved["ranking"]] and saved["scores"] == ["logme", "knn"]
    first, second = saved["ranking"]
    assert first["scores"]["logme"] >= second["scores"]["logme"]


def test_rank_errors_are_one_line(text_csv, hf_text_spec, capsys):
    assert_one_error_line(cli(capsys, "rank", text_csv, "-c", hf_text_spec, "--scores", "logm"), "logme")
    assert_one_error_line(cli(capsys, "rank", text_csv, "-c", "minilmm"), "unknown backbone")
    assert_one_error_line(cli(capsys, "rank", text_csv, "-c", f"{hf_text_spec}@block9"), "@block1")
