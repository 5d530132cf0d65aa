"""Checkpoints that survive SIGKILL at any moment.

A checkpoint is a folder ``checkpoints/step-<N>/`` holding the model weights
(safetensors), the optimiser and scheduler state and the loop's counters
(``training.pt``, our own file, read back with ``weights_only=True``) and each
process's RNG states. It is written under a temporary name and renamed when
complete; then the pointer file ``checkpoints/latest`` is replaced atomically;
then older checkpoints are removed. A kill leaves the pointer on a complete
checkpoint, old or new; a kill between the rename and the pointer's update
leaves a complete step the pointer does not name, which the resumed run replaces
when it reaches that step again.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headstart.io import atomic_write_text, load_tensors, save_tensors

POINTER = "latest"


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save(folder: Path, step: int, model: torch.nn.Module, training: dict[str, Any], rank: int, main: bool) -> None:
    """Write checkpoint ``step`` (call on every process; the main one writes the shared parts)."""
    root = folder / "checkpoints"
    tmp = root / f".tmp-step-{step}"
    final = root / f"step-{step}"
    if main:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        save_tensors(tmp / "model.safetensors", model.state_dict())
        torch.save(training, tmp / "training.pt")
    _barrier()
    torch.save(rng_state(), tmp / f"rng-{rank}.pt")
    _barrier()
    if main:
        if final.exists():
            # A kill between the rename and the pointer's update left this step complete but
            # unpointed; the resumed run has just redone it: replace the leftover.
            shutil.rmtree(final)
        os.replace(tmp, final)
        atomic_write_text(root / POINTER, final.name)
        for old in root.glob("step-*"):
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
    _barrier()


def latest(folder: Path) -> Path | None:
    pointer = folder / "checkpoints" / POINTER
    if not pointer.is_file():
        return None
    path = folder / "checkpoints" / pointer.read_text().strip()
    return path if (path / "training.pt").is_file() else None


def load(path: Path, model: torch.nn.Module, rank: int) -> dict[str, Any]:
    model.load_state_dict(load_tensors(path / "model.safetensors"))
    training = torch.load(path / "training.pt", map_location="cpu", weights_only=True)
    rng_file = path / f"rng-{rank}.pt"
    if rng_file.is_file():
        set_rng_state(torch.load(rng_file, map_location="cpu", weights_only=True))
    return training


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
