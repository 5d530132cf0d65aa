"""``headstart fit-multi NAME=TABLE NAME=TABLE ... -o RUN``: one shared backbone, one head per
task, task-balanced batches, task-adaptive attention (``--method task-attention``) or none
(``--method shared``); ``--eval NAME=TABLE`` scores a task on held-out rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.errors import HeadstartError

RESULT = "multitask.json"
WEIGHTS = "model.safetensors"


def _named(items: list[str], what: str) -> dict[str, Path]:
    """``NAME=PATH`` items -> {name: path}; a malformed item or a repeated name is one line."""
    out: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise HeadstartError(f"{what} '{item}' is not NAME=PATH (e.g. sst2=data/sst2.csv)")
        if name in out:
            raise HeadstartError(f"{what} names task '{name}' twice; give each task one table")
        out[name] = Path(path)
    return out


def _tasks(tables: list[str], evals: list[str], cols: dict[str, Any]) -> list[Any]:
    from headstart.multitask import Task

    train, held = _named(tables, "task table"), _named(evals, "--eval")
    unknown = sorted(set(held) - set(train))
    if unknown:
        raise HeadstartError(f"--eval names task '{unknown[0]}' that has no training table; tasks: {', '.join(train)}")
    tasks = []
    for name, path in train.items():
        data = c.classification_only(c.load_data(path, **cols), "fit-multi")
        if data.labels is None:
            raise HeadstartError(f"task table {path} has no label column; name it with --label-col")
        test = c.load_data(held[name], **cols) if name in held else None
        if test is not None and test.labels is None:
            raise HeadstartError(f"--eval table {held[name]} has no label column; name it with --label-col")
        tasks.append(Task(name, data, test))
    return tasks


@command("fit-multi")
def fit_multi(
    tables: list[str] = typer.Argument(..., help="Task tables as NAME=PATH, one per task (each its own labels)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (weights, multitask.json, history)."),
    backbone: str = typer.Option(
        "minilm@block5", "--backbone", "-b", help="Shared backbone; SPEC@blockK caches blocks 1..K, trains the rest."
    ),
    method: str = typer.Option("task-attention", "--method", "-m", help="Multi-task method: {choices:multitask}."),
    evals: list[str] = typer.Option([], "--eval", help="Held-out rows of a task, NAME=PATH (repeatable)."),
    epochs: int = typer.Option(3, "--epochs", min=1, help="Epochs (each as many batches as all tasks' rows)."),
    lr: float = typer.Option(1e-4, "--lr", help="Learning rate of the shared blocks (heads and attention: 10x)."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Rows per batch (one task per batch)."),
    max_length: int = typer.Option(64, "--max-length", min=1, help="Token limit per text."),
    seed: int = c.Seed,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    resume: bool = c.Resume,
) -> None:
    """Train one shared backbone with a head per task on several labelled tables."""
    from headstart.io import save_tensors, write_json
    from headstart.multitask import fit_multi as run_multi

    c.check_out(out)
    tasks = _tasks(tables, evals, c.columns(label_col=label_col, text_col=text_col))
    with c.resumable(out, out / "checkpoints"):
        result = run_multi(
            tasks, backbone, method, epochs=epochs, lr=lr, head_lr=10 * lr, batch_size=batch_size,
            max_length=max_length, seed=seed, run_dir=out, resume=resume,
        )  # fmt: skip
    save_tensors(out / WEIGHTS, result.model.state_dict(), {"format": "headstart-multitask"})
    write_json(out / RESULT, {"kind": "multi-task", **result.to_dict()})
    for t in result.tasks:
        score = f", held-out accuracy {t['test_accuracy']:.4f} ({t['test_rows']} rows)" if "test_accuracy" in t else ""
        console.print(f"task {t['name']}: {len(t['classes'])} classes, {t['n_train']} training rows{score}")
    console.print(f"[green]run saved[/green] {out} ({method}, best epoch {result.best_epoch}, {result.seconds:.1f} s)")
