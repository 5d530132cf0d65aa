"""``headstart pretrain DATA [DATA ...] -o FOLDER``: pre-train a sequence encoder on unlabelled
series (self-supervised: ``--method masked`` or ``forecast``) and save it as a backbone that
``--backbone local:FOLDER`` loads in ``fit``, ``rank``, ``compare``."""

from __future__ import annotations

from pathlib import Path

import typer

from headstart.cli import common as c
from headstart.cli.app import command, console
from headstart.cli.report import ReportFlag, write_report
from headstart.errors import HeadstartError

RESULT = "pretrain.json"


def _series(paths: list[Path], cols: dict) -> object:
    """The rows of every DATA, as one unlabelled Dataset (one modality, one number of channels)."""
    from headstart.data import Dataset

    sets = [c.load_data(p, **cols) for p in paths]
    first = sets[0]
    for d in sets[1:]:
        if d.modality != first.modality:
            raise HeadstartError(f"{d.source} is {d.modality} data, {first.source} {first.modality}: give one kind")
    rates = {d.sample_rate for d in sets}
    return Dataset(
        inputs=[x for d in sets for x in d.inputs],
        labels=None,
        modality=first.modality,
        source=", ".join(str(p) for p in paths),
        sample_rate=rates.pop() if len(rates) == 1 else None,
    )


@command("pretrain")
def pretrain(
    data: list[Path] = typer.Argument(..., help="Unlabelled series: .ts files, long tables, WAV folders."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write: the backbone (local:FOLDER), pretrain.json."),
    backbone: str = typer.Option(
        "scratch:tsconv?norm=series", "--backbone", "-b", help="The sequence encoder to pre-train (random weights)."
    ),
    method: str = typer.Option("masked", "--method", "-m", help="Self-supervised objective: {choices:pretrain}."),
    option: list[str] = typer.Option(
        None, "--option", help="Objective option KEY=VALUE, repeatable (ratio=0.15, span=8, horizon=0.2)."
    ),
    epochs: int = typer.Option(30, "--epochs", min=1, help="Passes over the series."),
    lr: float = typer.Option(1e-3, "--lr", help="Learning rate (encoder and decoder)."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Series per step."),
    val_size: float = typer.Option(
        0.1, "--val-size", min=0.0, max=0.9, help="Share of the series that picks the best epoch."
    ),
    seed: int = c.Seed,
    resume: bool = c.Resume,
    report: bool = ReportFlag,
    label_col: str = c.LabelCol,
) -> None:
    """Pre-train a time-series or audio encoder on unlabelled series, through the one training loop."""
    from headstart.backbones.registry import check_spec
    from headstart.io import write_json
    from headstart.pretrain import pretrain as run

    c.check_out(out)
    check_spec(backbone)
    options = c.parse_options(option)
    series = _series(data, c.columns(label_col=label_col))
    with c.resumable(out, out / "checkpoints"):
        result = run(
            series, backbone, method, options, epochs=epochs, lr=lr, batch_size=batch_size, val_size=val_size,
            seed=seed, run_dir=out, resume=resume,
        )  # fmt: skip
    result.backbone.save(out)
    write_json(out / RESULT, {"kind": "pretrain", "data": [str(p) for p in data], "seed": seed, **result.to_dict()})
    kept = (
        f"best epoch {result.best_epoch}, reconstruction R^2 {result.best_val_r2:.3f} on the validation series"
        if result.val_rows
        else f"last epoch kept (no validation series), training loss {result.history[-1]['train_loss']:.4g}"
    )
    console.print(
        f"{result.method} on {result.rows} series ({result.val_rows} validation): {kept}; "
        f"use it as --backbone local:{out}",
        highlight=False,
        soft_wrap=True,
    )
    if report:
        write_report(out)
