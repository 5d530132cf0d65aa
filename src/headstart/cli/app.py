"""The ``headstart`` Typer app; each command group lives in its own module."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(
    name="headstart",
    help="Transfer learning with evidence: pick a pretrained model, make it good at your task, prove it beat scratch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err = Console(stderr=True)
