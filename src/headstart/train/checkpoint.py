"""Checkpoints that survive SIGKILL at any moment.

A checkpoint is a folder ``checkpoints/step-<N>/`` holding the model weights
(safetensors), the optimiser and scheduler state and the loop's counters
(``training.pt``, our own file, read back with ``weights_only=True``) and each
process's RNG states. It is written under a temporary name and renamed when
complete; then the pointer file ``checkpoints/latest`` is replaced atomically;
then older checkpoints are removed. A kill leaves the pointer on a complete
checkpoint, old or new.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from headstart.errors import HeadstartError
from headstart.io import WriteError, atomic_write_text, load_tensors, save_tensors

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
    """Write checkpoint ``step`` (call on every process; the main one writes the shared parts).

    A write that fails (a full disk, a read-only folder) removes what it wrote and leaves the
    previous checkpoint, and the pointer to it, as they were: one clear line says so."""
    root = folder / "checkpoints"
    tmp = root / f".tmp-step-{step}"
    final = root / f"step-{step}"
    try:
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
                # A complete checkpoint of this step that a kill left unnamed by the pointer (killed between
                # the rename and the pointer's update; the run resumed from the one before and came back here).
                stale = root / f".old-step-{step}"
                shutil.rmtree(stale, ignore_errors=True)
                os.replace(final, stale)
            os.replace(tmp, final)
            atomic_write_text(root / POINTER, final.name)
    except (OSError, RuntimeError, HeadstartError) as e:
        if main:
            shutil.rmtree(tmp, ignore_errors=True)
        raise _write_failed(folder, final, e) from None
    if main:
        tidy(folder, final)
    _barrier()


def tidy(folder: Path, keep: Path) -> None:
    """Remove every checkpoint but ``keep`` (older ones, and what a kill left half-made)."""
    root = folder / "checkpoints"
    for old in [*root.glob("step-*"), *root.glob(".tmp-step-*"), *root.glob(".old-step-*")]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def _write_failed(folder: Path, final: Path, e: BaseException) -> HeadstartError:
    """The one line for a checkpoint that could not be written (torch.save says only "unexpected pos")."""
    reason = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
    if isinstance(e, OSError) and e.strerror:
        reason = e.strerror
    elif isinstance(e, WriteError):
        reason = e.reason
    elif not isinstance(e, HeadstartError):
        try:
            free = shutil.disk_usage(final.parent).free
        except OSError:
            free = None
        if free is not None and free < 64 * 2**20:
            reason = f"no space left on device ({free // 1024} KiB free)"
    previous = latest(folder)
    kept = f"the previous checkpoint {previous.name} is intact" if previous else "no earlier checkpoint exists"
    return HeadstartError(
        f"cannot write checkpoint {final}: {reason[:200]}; {kept}: free some space, then run the same command "
        f"with --resume"
    )


def latest(folder: Path) -> Path | None:
    pointer = folder / "checkpoints" / POINTER
    if not pointer.is_file():
        return None
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not name.startswith("step-") or "/" in name or "\\" in name:
        return None  # a pointer that names nothing of ours
    path = folder / "checkpoints" / name
    return path if (path / "training.pt").is_file() else None


def read(path: Path, rank: int) -> dict[str, Any]:
    """Read checkpoint ``path`` (this process's part) without applying it: ``{"weights", "training",
    "rng"}``. A damaged checkpoint is one clear line; weights come from safetensors, the rest from
    ``torch.load(weights_only=True)``, which refuses any pickled object that is not plain data: no
    file here can run code."""
    import pickle

    try:
        weights = load_tensors(path / "model.safetensors")
        training = torch.load(path / "training.pt", map_location="cpu", weights_only=True)
        rng_file = path / f"rng-{rank}.pt"
        rng = torch.load(rng_file, map_location="cpu", weights_only=True) if rng_file.is_file() else None
    except pickle.UnpicklingError:
        raise HeadstartError(
            f"cannot resume from {path}: training.pt is damaged (it holds pickled objects that are not "
            f"tensors; refused unread); remove {path.parent} to start over"
        ) from None
    except Exception as e:  # torch.load raises several kinds on a damaged or foreign file
        first = str(e).strip().splitlines()[0][:160] if str(e).strip() else e.__class__.__name__
        raise HeadstartError(
            f"cannot resume from {path}: the checkpoint is damaged ({first}); remove {path.parent} to start over"
        ) from None
    if not isinstance(training, dict) or not {"optimizer", "scheduler", "state", "history"} <= set(training):
        raise HeadstartError(
            f"cannot resume from {path}: training.pt is damaged (not a headstart checkpoint); "
            f"remove {path.parent} to start over"
        )
    return {"weights": weights, "training": training, "rng": rng}


def restore(found: dict[str, Any], model: torch.nn.Module) -> dict[str, Any]:
    """Apply a checkpoint :func:`read` returned to ``model`` and the RNGs; returns the loop's state."""
    try:
        model.load_state_dict(found["weights"])
    except RuntimeError as e:
        raise HeadstartError(
            f"cannot resume: the checkpoint's weights do not fit the model ({e.__class__.__name__})"
        ) from None
    if found["rng"] is not None:
        set_rng_state(found["rng"])
    return found["training"]


def load(path: Path, model: torch.nn.Module, rank: int) -> dict[str, Any]:
    """:func:`read` then :func:`restore`."""
    return restore(read(path, rank), model)


def _barrier() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
