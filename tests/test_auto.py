"""`headstart auto`: every step recorded with its time, a time limit that skips optional steps,
a kill -9 during the fit followed by --resume that ends with the same figures, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import assert_one_error_line, cli, kill_paused_run, make_texts


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    texts, labels = make_texts(80, seed=1)
    path = tmp_path_factory.mktemp("auto") / "reviews.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def steps(run: Path) -> dict:
    return json.loads((run / "auto.json").read_text())["steps"]


def test_auto_records_every_step_and_a_time_limit_skips_the_optional_ones(table, tmp_path, capsys, hf_text_spec):
    run = tmp_path / "run"
    # A limit of a microsecond: spent before the first step (writing auto.json takes longer), so every
    # optional step is skipped whatever the machine's speed; the fit and the report always run.
    args = ("auto", table, "-o", run, "-c", f"{hf_text_spec},{hf_text_spec}@block1", "--time-limit", "0.000001s")
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    done = steps(run)
    assert list(done) == ["rank", "fit", "compare", "audit", "export", "report"]
    assert done["fit"]["status"] == "done" and done["report"]["status"] == "done"
    for name in ("rank", "compare", "audit", "export"):
        assert done[name]["status"] == "skipped" and "time left" in done[name]["why"], done[name]
    assert (run / "report.html").is_file() and (run / "model.safetensors").is_file()
    record = json.loads((run / "auto.json").read_text())
    assert record["verdict"] in (run / "report.html").read_text() and "Skipped: rank (skipped: its" in record["verdict"]
    assert steps(run)["fit"]["result"]["backbone"] == hf_text_spec  # no ranking: the first candidate
    assert "OVER its" in out
    # A non-empty folder is refused unless resuming; a resume of a finished run redoes nothing.
    assert_one_error_line(cli(capsys, *args), "is not empty", "--resume")
    code, out, err = cli(capsys, *args, "--resume")
    assert code == 0 and "[fit] done before" in err


def test_a_kill_during_the_fit_then_resume_gives_the_same_figures(table, tmp_path, hf_text_spec):
    env = {**os.environ, "HEADSTART_PROGRESS": "0", "HF_HUB_OFFLINE": "1"}
    base = ["auto", str(table), "-c", hf_text_spec, "--time-limit", "0.000001s"]  # the fit and the report only
    whole = tmp_path / "whole"
    subprocess.run(
        [sys.executable, "-m", "headstart", *base, "-o", str(whole)], env=env, check=True, capture_output=True
    )
    killed = tmp_path / "killed"
    # paused_cli sleeps after each checkpoint: the SIGKILL lands while one exists and the fit is not over.
    kill_paused_run(
        ["30", *base, "-o", str(killed)], killed / "checkpoints" / "latest", env, "its first checkpoint", 120
    )
    assert "fit" not in steps(killed)  # killed during the fit
    subprocess.run(
        [sys.executable, "-m", "headstart", *base, "-o", str(killed), "--resume"],
        env=env,
        check=True,
        capture_output=True,
    )
    a, b = steps(whole)["fit"]["result"], steps(killed)["fit"]["result"]
    assert a["metrics"] == b["metrics"] and a["kept_probe"] == b["kept_probe"]
    assert (
        json.loads((whole / "metrics.json").read_text())["accuracy"]
        == json.loads((killed / "metrics.json").read_text())["accuracy"]
    )


def test_the_candidates_are_the_network_and_two_blocks_below_its_top(hf_text_spec):
    from headstart.backbones import load_backbone
    from headstart.pipeline import candidates

    n = len(load_backbone("timm:test_efficientnet", pretrained=False).model.blocks)
    spec = "timm:test_efficientnet"
    assert candidates("image", spec) == [spec, f"{spec}@block{n - 1}", f"{spec}@block{n - 2}"] and n >= 3
    assert candidates("text", hf_text_spec) == [hf_text_spec, f"{hf_text_spec}@block1"]  # 2 layers: one below
    assert candidates("tabular") == ["identity"]


def test_bad_input_is_one_line(table, tmp_path, capsys):
    assert_one_error_line(cli(capsys, "auto", table, "-o", tmp_path / "r", "--time-limit", "soon"), "--time-limit")
    assert_one_error_line(cli(capsys, "auto", table, "-o", tmp_path / "r", "-c", "nosuch:thing"), "nosuch")
    assert_one_error_line(cli(capsys, "auto", table, "-o", tmp_path / "r2", "--resume"), "nothing to resume")


def test_the_python_api_takes_datasets(tmp_path, hf_text_spec):
    import headstart as hs

    texts, labels = make_texts(60, seed=2)
    data = hs.from_arrays(texts, labels, modality="text")
    record = hs.auto(data, tmp_path / "run", candidates=[hf_text_spec], time_limit=1e-6, say=lambda _: None)
    assert record["data"]["train_rows"] == 48 and record["data"]["test_rows"] == 12  # a 20% hold-out, seed 0
    assert record["steps"]["fit"]["status"] == "done" and (tmp_path / "run" / "report.html").is_file()
    assert hs.load_run(tmp_path / "run").predict(texts[:3]).shape == (3,)
