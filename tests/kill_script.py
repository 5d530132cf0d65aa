"""SIGKILL a tiny training run at chosen points, resume it, and keep the final weights.

Run by tests/test_interrupts.py in ONE subprocess: it imports torch and headstart once,
then forks a child per run, so twenty kills cost twenty forks, not forty interpreter
start-ups. Each run trains a ``scratch:mlp`` TransferModel on 48 numeric rows (batch 8:
6 steps an epoch, 3 epochs, 18 steps) with 16 validation rows (so the best epoch's
weights are kept) and a checkpoint after every step, through the one loop
(``headstart.train.train``).

A child kills *itself* (``os.kill(os.getpid(), SIGKILL)``) at its kill point, so where it
dies does not depend on timing or on the GIL. A kill point is ``(step, phase)``:

    step            inside the step (before its backward pass and optimiser step)
    save:weights    inside that step's checkpoint: the weights written, training.pt not yet
    save:rename     the checkpoint renamed to step-N, the pointer not yet updated
    save:pointer    the pointer updated, older checkpoints not yet removed

    python kill_script.py ROOT OUT.json --kills N --seed S

writes ``ROOT/baseline.safetensors`` (an uninterrupted run) and, for each kill point,
``ROOT/k<i>/`` (the run folder) and ``ROOT/k<i>.safetensors`` (the weights after the
resumed run finished); OUT.json lists the kill points and each child's exit status.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

os.environ["HEADSTART_PROGRESS"] = "0"
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from headstart.backbones import load_backbone  # noqa: E402
from headstart.data import from_arrays  # noqa: E402
from headstart.io import save_tensors  # noqa: E402
from headstart.strategies.full import Full  # noqa: E402
from headstart.train import TrainConfig, TransferModel, checkpoint, train  # noqa: E402
from headstart.train.data import Rows  # noqa: E402

ROWS, VAL_ROWS, BATCH, EPOCHS = 48, 16, 8, 3
STEPS = EPOCHS * ROWS // BATCH  # 18
PHASES = ("step", "save:weights", "save:rename", "save:pointer")


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def rows(backbone: Any, n: int, seed: int, train_rows: bool) -> Rows:
    X, y = data(n, seed)
    return Rows(from_arrays(X, y), backbone, y, train=train_rows, augment=False, max_length=None)


class KillAt(Full):
    """``full``, SIGKILLing this process inside step ``step`` when the phase is ``"step"``."""

    def __init__(self, step: int | None = None) -> None:
        super().__init__()
        self.kill_step, self.calls = step, 0

    def extra_loss(self, model: Any) -> torch.Tensor | None:
        self.calls += 1
        if self.calls == self.kill_step:
            os.kill(os.getpid(), signal.SIGKILL)
        return None


def arm_checkpoint_kill(step: int, phase: str) -> None:
    """SIGKILL this process at ``phase`` of the checkpoint of step ``step``: ``checkpoint.save`` calls
    ``save_tensors`` (the weights) and ``atomic_write_text`` (the pointer) through its module's globals."""
    current: dict[str, int] = {}
    save, save_tensors_, write_pointer = checkpoint.save, checkpoint.save_tensors, checkpoint.atomic_write_text

    def due(name: str) -> bool:
        return current.get("step") == step and phase == name

    def save_wrapped(folder: Path, at: int, *args: Any, **kwargs: Any) -> None:
        current["step"] = at
        save(folder, at, *args, **kwargs)

    def tensors_wrapped(path: Any, *args: Any, **kwargs: Any) -> Any:
        out = save_tensors_(path, *args, **kwargs)
        if due("save:weights"):
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    def pointer_wrapped(path: Any, text: str) -> Any:
        if due("save:rename"):  # step-N is in place, the pointer still names the one before
            os.kill(os.getpid(), signal.SIGKILL)
        out = write_pointer(path, text)
        if due("save:pointer"):  # the pointer names step-N, the older checkpoints are still there
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    checkpoint.save, checkpoint.save_tensors, checkpoint.atomic_write_text = (
        save_wrapped,
        tensors_wrapped,
        pointer_wrapped,
    )


def run(run_dir: Path, out: Path | None, resume: bool = False, kill: tuple[int, str] | None = None) -> None:
    """One training run (in this process); with ``kill`` it never returns."""
    torch.set_num_threads(1)
    backbone = load_backbone("scratch:mlp", feature_dim=4, seed=0)
    torch.manual_seed(0)
    model = TransferModel(backbone, 2)
    config = TrainConfig(
        epochs=EPOCHS, lr=3e-3, batch_size=BATCH, precision="no", checkpoint_every=1, warmup=0.1, seed=0
    )
    strategy = KillAt(kill[0] if kill and kill[1] == "step" else None)
    if kill and kill[1] != "step":
        arm_checkpoint_kill(*kill)
    train(
        model,
        strategy,
        rows(backbone, ROWS, 1, True),
        rows(backbone, VAL_ROWS, 2, False),
        config,
        run_dir=run_dir,
        resume=resume,
        progress=False,
    )
    if out is not None:
        save_tensors(out, model.state_dict())


def in_child(work: Any) -> int:
    """Run ``work()`` in a forked child; its exit status (negative: killed by that signal)."""
    pid = os.fork()
    if pid == 0:  # the child
        code = 1
        try:
            sys.stdout.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            work()
            code = 0
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def kill_points(n: int, seed: int) -> list[tuple[int, str]]:
    """``n`` distinct (step, phase) points from a seeded RNG, over every step but the last's end."""
    rng = np.random.default_rng(seed)
    every = [(s, p) for s in range(1, STEPS + 1) for p in PHASES]
    picked = rng.choice(len(every), size=n, replace=False)
    return sorted(every[i] for i in picked)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("out_json")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"steps": STEPS, "phases": PHASES, "runs": [], "baseline": 0}
    # The uninterrupted run, here: it also warms up every lazy import and first-call set-up, so that
    # the forked children start warm; gc.freeze() keeps their collections from walking the parent's heap.
    run(root / "baseline", root / "baseline.safetensors")
    gc.freeze()
    for i, (step, phase) in enumerate(kill_points(args.kills, args.seed)):
        folder, weights = root / f"k{i}", root / f"k{i}.safetensors"
        killed = in_child(lambda: run(folder, None, kill=(step, phase)))  # noqa: B023 - runs now
        latest = checkpoint.latest(folder)
        resumed = in_child(lambda: run(folder, weights, resume=latest is not None))  # noqa: B023
        report["runs"].append(
            {
                "step": step,
                "phase": phase,
                "killed": killed,
                "resumed_from": latest.name if latest else None,
                "resumed": resumed,
                "folder": str(folder),
                "weights": str(weights),
            }
        )
    Path(args.out_json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
