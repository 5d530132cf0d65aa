"""``headstart meta-train DATA --method maml --ways 5 --shots 1 -o RUN``: meta-learn an
initialisation (or a metric) over episodes of DATA's classes; ``--eval DATA2`` scores held-out
classes before and after each inner step. ``headstart fewshot`` / ``fewshot-eval`` take the run
as ``--backbone RUN`` (test-time adaptation on each support set)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, write_report
from headstart.errors import HeadstartError

DEFAULT_BACKBONES = {"image": "conv4", "tabular": "scratch:mlp", "text": "minilm"}


def _method(name: str, options: dict[str, Any]) -> Any:
    from headstart.meta.registry import METHODS

    return METHODS.create(name, **options)


def _evaluate(model: Any, data: Path, cols: dict[str, Any], settings: dict[str, Any], out: Path) -> None:
    """Test episodes of ``data`` (held-out classes): accuracy before and after each inner step -> RUN/meta.json."""
    from headstart.io import read_json, write_json
    from headstart.meta.base import evaluate
    from headstart.meta.run import RESULTS

    dataset = c.classification_only(c.load_data(data, **cols), "meta-train")
    ev = evaluate(model, dataset, **settings)
    console.print(str(ev), highlight=False)
    path = out / RESULTS
    payload = read_json(path) if path.is_file() else {"results": []}
    payload["data"], payload["rows"], payload["classes"] = str(data), len(dataset), len(dataset.classes)
    payload["results"] = [r for r in payload["results"] if r.get("ways") != ev.ways or r.get("shots") != ev.shots]
    payload["results"].append(ev.to_dict())
    write_json(path, payload)


@command("meta-train")
def meta_train(
    data: Path = typer.Argument(..., help="Labelled training data with many classes: image folder or table."),
    method: str = typer.Option("maml", "--method", "-m", help="Meta-learning method: {choices:meta}."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder to write (weights, config, history)."),
    backbone: str = typer.Option(
        "auto", "--backbone", "-b", help="Backbone spec (auto: conv4 for images, scratch:mlp for tables, minilm)."
    ),
    ways: int = typer.Option(5, "--ways", "-n", min=2, help="Classes per episode."),
    shots: int = typer.Option(1, "--shots", "-k", min=1, help="Support examples per class."),
    queries: int = typer.Option(15, "--queries", "-q", min=1, help="Query examples per class."),
    tasks: int = typer.Option(4, "--tasks", min=1, help="Episodes per meta-batch (one outer step)."),
    batches: int = typer.Option(100, "--batches", min=1, help="Meta-batches per epoch."),
    epochs: int = typer.Option(1, "--epochs", min=1, help="Epochs (each one point of the meta-training curve)."),
    lr: float = typer.Option(1e-3, "--lr", help="Outer learning rate (Reptile: the step size epsilon, e.g. 1.0)."),
    option: list[str] = typer.Option(
        None, "--option", help="Method option KEY=VALUE, repeatable (inner_steps=5, inner_lr=0.4, second_order=False)."
    ),
    eval_data: Path = typer.Option(None, "--eval", help="Held-out classes: test episodes after training."),
    eval_episodes: int = typer.Option(600, "--eval-episodes", min=1, help="Test episodes (600: the usual figure)."),
    augment: bool = typer.Option(False, "--augment/--no-augment", help="Light augmentation of training images."),
    seed: int = c.Seed,
    resume: bool = c.Resume,
    report: bool = ReportFlag,
    label_col: str = c.LabelCol,
    text_col: str = c.TextCol,
    image_col: str = c.ImageCol,
) -> None:
    """Meta-train a backbone and head over WAYS-way SHOTS-shot episodes of DATA, through the one training loop."""
    from headstart.meta.base import meta_train as train
    from headstart.meta.run import CONFIG, build_backbone, save_run

    cols = {"label_col": label_col, "text_col": text_col, "image_col": image_col}
    algo = _method(method, c.parse_options(option))
    dataset = c.classification_only(c.load_data(data, **cols), "meta-train")
    dataset.require_labels(ways)
    spec = DEFAULT_BACKBONES.get(dataset.modality, "auto") if backbone == "auto" else backbone
    if (Path(out) / CONFIG).is_file() and not resume:
        raise HeadstartError(f"{out} already holds a meta-learning run: use --resume to continue it or a new --out")
    bb = build_backbone(spec, dataset, seed=seed) if not spec.startswith("conv4") else build_backbone(spec)
    settings = {"ways": ways, "shots": shots, "queries": queries, "tasks": tasks, "batches": batches}
    start = time.process_time()
    model, result = train(bb, dataset, algo, **settings, epochs=epochs, lr=lr, seed=seed, augment=augment,
                          run_dir=out, resume=resume)  # fmt: skip
    info = {"data": str(data), "classes": len(dataset.classes), "rows": len(dataset), "tasks": tasks,
            "batches": batches, "epochs": epochs, "lr": lr, "seed": seed, "cpu_seconds": time.process_time() - start,
            "history": result.history}  # fmt: skip
    save_run(out, model, info, dataset)
    curve = ", ".join(f"{h['train_loss']:.3f}" for h in result.history[-5:])
    console.print(
        f"{algo.name} on {bb.spec}: {epochs * batches} meta-batches of {tasks} {ways}-way {shots}-shot tasks; "
        f"query loss after adaptation by epoch (last 5): {curve} -> {out}",
        highlight=False,
    )
    if eval_data is not None:
        _evaluate(model, eval_data, cols, {"ways": ways, "shots": shots, "queries": queries,
                                           "episodes": eval_episodes, "seed": seed}, Path(out))  # fmt: skip
    if report:
        write_report(Path(out))
