"""Interrupts: Ctrl-C during ``fit``, SIGKILL at twenty points of a run, and a full disk.

- SIGINT: ``headstart fit`` in a subprocess (``paused_cli.py``: the real command, pausing a
  second after each checkpoint so that the signal lands mid-run on a loaded machine) gets
  SIGINT once its first checkpoint exists; it exits 130 with one line saying how to
  resume, and the command that line gives finishes the run, to the weights of an
  uninterrupted run.
- SIGKILL: ``kill_script.py`` (one subprocess, a fork per run) kills a tiny MLP run at 20
  points drawn from a seeded RNG over its 18 steps and 4 phases of a step (inside the
  step; inside the checkpoint after the weights, after the rename, after the pointer);
  each resumed run must end with the uninterrupted run's weights, bit for bit.
- A full disk: a checkpoint write that fails with ENOSPC (injected through ``fit``, and
  for real on a tiny tmpfs where the machine allows a mount) is one clear line; the
  previous checkpoint and the pointer to it are intact, and ``--resume`` finishes.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import cli, make_texts
from safetensors.torch import load_file

from headstart.errors import HeadstartError
from headstart.train import checkpoint

TESTS = Path(__file__).resolve().parent
KILLS = 20


def env() -> dict[str, str]:
    out = dict(os.environ)
    out.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HEADSTART_PROGRESS="0", OMP_NUM_THREADS="1")
    out["PYTHONPATH"] = os.pathsep.join(p for p in [str(TESTS), out.get("PYTHONPATH", "")] if p)
    return out


def same_weights(a: Path, b: Path) -> list[str]:
    """The names of the tensors that differ between two safetensors files (bit for bit)."""
    x, y = load_file(str(a)), load_file(str(b))
    assert set(x) == set(y)
    return [k for k in x if not torch.equal(x[k], y[k])]


# -------------------------------------------------------------------- SIGKILL
@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("kills")
    out = root / "report.json"
    done = subprocess.run(
        [sys.executable, str(TESTS / "kill_script.py"), str(root / "runs"), str(out), "--kills", str(KILLS)],
        env=env(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return {"root": root / "runs", **json.loads(out.read_text())}


def test_kill_points_are_twenty_distinct_points_over_the_run(killed_runs):
    points = [(r["step"], r["phase"]) for r in killed_runs["runs"]]
    assert len(points) == len(set(points)) == KILLS
    steps = {s for s, _ in points}
    assert min(steps) <= killed_runs["steps"] // 3 and max(steps) > 2 * killed_runs["steps"] // 3  # every epoch
    assert {p for _, p in points} == set(killed_runs["phases"])


def test_every_sigkilled_run_resumes_to_the_uninterrupted_weights_bit_for_bit(killed_runs):
    baseline = killed_runs["root"] / "baseline.safetensors"
    for r in killed_runs["runs"]:
        where = f"killed at step {r['step']} ({r['phase']})"
        assert r["killed"] == -signal.SIGKILL, where
        assert r["resumed"] == 0, f"{where}: the resumed run failed (exit {r['resumed']})"
        assert not same_weights(baseline, Path(r["weights"])), f"{where}: the weights differ"


def test_every_resumed_run_folder_is_complete_and_clean(killed_runs):
    final = f"step-{killed_runs['steps']}"
    baseline = json.loads((killed_runs["root"] / "baseline" / "history.json").read_text())
    for r in killed_runs["runs"]:
        folder = Path(r["folder"])
        where = f"killed at step {r['step']} ({r['phase']})"
        assert (folder / "checkpoints" / "latest").read_text().strip() == final, where
        names = sorted(p.name for p in (folder / "checkpoints").iterdir())
        assert names == ["best.safetensors", "latest", final], f"{where}: {names}"
        assert json.loads((folder / "history.json").read_text()) == baseline, where
        # A kill between a checkpoint's rename and its pointer leaves step-N unnamed; the resumed run
        # comes back to step N and must replace it (it crashed on it before).
        if r["phase"] == "save:rename":
            assert r["resumed_from"] == f"step-{r['step'] - 1}", where


# --------------------------------------------------------------------- SIGINT
def write_texts(path: Path, n: int = 16, seed: int = 3) -> Path:
    texts, labels = make_texts(n, seed=seed)
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    return path


def test_sigint_during_fit_says_how_to_resume_and_resume_finishes(tmp_path, capsys, monkeypatch, hf_text_spec):
    monkeypatch.chdir(tmp_path)
    write_texts(tmp_path / "t.csv")
    args = ["fit", "t.csv", "-b", hf_text_spec, "-s", "full", "--epochs", "3", "--train-batch-size", "4"]
    args += ["--lr", "0.001", "--C", "1"]
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "paused_cli.py"), "1.5", *args, "-o", "run"],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while checkpoint.latest(tmp_path / "run") is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before its first checkpoint"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in out + err
    last = [line for line in err.splitlines() if line.strip()][-1]
    said = re.fullmatch(r"interrupted: run keeps its checkpoint (step-\d+); continue with: headstart (.*)", last)
    assert said, last
    command = shlex.split(said.group(2))
    assert command == [*args, "-o", "run", "--resume"]
    assert not (tmp_path / "run" / "config.json").exists()  # interrupted: no run folder written yet

    code, _, err = cli(capsys, *command)  # the command the message gives
    assert code == 0, err
    assert f"resuming from run/checkpoints/{said.group(1)}" in " ".join(err.split())
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())) == 3
    assert (tmp_path / "run" / "config.json").is_file()
    assert cli(capsys, *args, "-o", "whole")[0] == 0  # uninterrupted
    for name in ("model.safetensors", "backbone/model.safetensors"):
        a, b = load_file(str(tmp_path / "run" / name)), load_file(str(tmp_path / "whole" / name))
        bad = [k for k in a if not torch.allclose(a[k], b[k], atol=1e-6)]
        assert not bad, f"{name}: {bad[:3]}"


def test_sigint_before_any_checkpoint_says_there_is_nothing_to_resume(tmp_path, capsys, monkeypatch):
    """In-process: Ctrl-C while the features of a linear probe are computed (no checkpoint ever)."""
    from headstart.classifier import TransferClassifier

    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "label": ["x", "y"] * 3}).to_csv("t.csv", index=False)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TransferClassifier, "fit", interrupted)
    code, _, err = cli(capsys, "fit", "t.csv", "-o", "run")
    assert code == 130
    assert err.strip() == "interrupted before the first checkpoint of run: nothing to resume; run the command again"


# ------------------------------------------------------------------ full disk
def test_enospc_at_a_checkpoint_is_one_line_keeps_the_previous_one_and_resume_finishes(
    tmp_path, capsys, monkeypatch, hf_text_spec
):
    monkeypatch.chdir(tmp_path)
    write_texts(tmp_path / "t.csv")
    args = ["fit", "t.csv", "-b", hf_text_spec, "-s", "head", "--epochs", "3", "--train-batch-size", "4", "-o", "run"]
    real_save = torch.save
    calls = {"n": 0}

    def disk_full_at_the_second_checkpoint(obj, f, *a, **k):
        if str(f).endswith("training.pt"):
            calls["n"] += 1
            if calls["n"] == 2:
                Path(f).write_bytes(b"\0" * 100)  # a partial write, as a real full disk leaves
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(torch, "save", disk_full_at_the_second_checkpoint)
    code, out, err = cli(capsys, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and "Traceback" not in out + err
    said = re.fullmatch(
        r"error: cannot write checkpoint run/checkpoints/step-\d+: No space left on device; "
        r"the previous checkpoint (step-\d+) is intact: free some space, then run the same command with --resume",
        lines[-1],
    )
    assert said, lines[-1]
    kept = said.group(1)
    folder = tmp_path / "run" / "checkpoints"
    assert (folder / "latest").read_text().strip() == kept
    assert sorted(p.name for p in folder.iterdir()) == ["best.safetensors", "latest", kept]
    checkpoint.read(folder / kept, 0)  # intact: it reads
    monkeypatch.setattr(torch, "save", real_save)
    code, _, err = cli(capsys, *args, "--resume")
    assert code == 0, err
    assert len(json.loads((tmp_path / "run" / "history.json").read_text())) == 3


def test_a_real_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """On a 1 MiB tmpfs filled up after the fourth checkpoint: the fifth fails for real (ENOSPC)."""
    import kill_script

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        save = checkpoint.save

        def fill_after_the_fourth(folder, step, *args, **kwargs):
            save(folder, step, *args, **kwargs)
            if step == 4:
                with open(disk / "filler", "wb", buffering=0) as f, pytest.raises(OSError):
                    while True:
                        f.write(b"\0" * 4096)

        monkeypatch.setattr(checkpoint, "save", fill_after_the_fourth)
        with pytest.raises(HeadstartError) as caught:
            kill_script.run(disk / "run", None)
        message = str(caught.value)
        assert "cannot write checkpoint" in message and "step-5" in message, message
        assert "no space left on device" in message.lower() and "step-4 is intact" in message, message
        assert checkpoint.latest(disk / "run").name == "step-4"
        checkpoint.read(disk / "run" / "checkpoints" / "step-4", 0)
        assert not list((disk / "run" / "checkpoints").glob(".tmp-*"))

        monkeypatch.setattr(checkpoint, "save", save)
        (disk / "filler").unlink()
        kill_script.run(disk / "run", tmp_path / "resumed.safetensors", resume=True)
        kill_script.run(tmp_path / "whole", tmp_path / "whole.safetensors")
        assert not same_weights(tmp_path / "resumed.safetensors", tmp_path / "whole.safetensors")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_ctrl_c_in_any_command_exits_130(tmp_path, capsys, monkeypatch):
    """A KeyboardInterrupt that no command catches: exit 130 and "interrupted" (Typer returns the
    status instead of raising when not standalone, and run() used to drop it: exit 0)."""
    import headstart.cli.predict

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(headstart.cli.predict, "load_for_run", interrupted)
    code, _, err = cli(capsys, "predict", tmp_path, tmp_path / "x.csv", "-o", tmp_path / "p.csv")
    assert code == 130 and err.strip() == "interrupted"
