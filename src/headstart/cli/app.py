"""The ``headstart`` Typer app; each command group lives in its own module.

Help texts name the registered choices without a hand-typed list: a help string
holds ``{choices:FAMILY}`` (e.g. ``{choices:imbalance}``) and :class:`Command`
fills it in with the family's registered names when the help is shown, so
starting a command imports no registry it does not use.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

# ``headstart --help`` lists the commands in the order of a user's day: train, use, evaluate;
# choose and prove; the other families; ship; and the report last. A command not named here
# comes before the report, in the order it was registered.
COMMAND_ORDER: tuple[str, ...] = (
    "fit",
    "predict",
    "evaluate",
    "auto",
    "rank",
    "compare",
    "shift",
    "fewshot",
    "fewshot-eval",
    "zeroshot",
    "adapt",
    "fit-multi",
    "meta-train",
    "rl-train",
    "rl-transfer",
    "pretrain",
    "distill",
    "audit",
    "export",
    "models",
    "demo",
)
LAST = "report"


class DayOrderGroup(TyperGroup):
    """The app's command group: its commands listed in :data:`COMMAND_ORDER`."""

    def list_commands(self, ctx: Any) -> list[str]:
        registered = super().list_commands(ctx)
        known = [c for c in COMMAND_ORDER if c in registered]
        rest = [c for c in registered if c not in COMMAND_ORDER and c != LAST]
        return known + rest + ([LAST] if LAST in registered else [])


app = typer.Typer(
    name="headstart",
    help="Transfer learning with evidence: pick a pretrained model, make it good at your task, prove it beat scratch.",
    cls=DayOrderGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
console = Console()
err = Console(stderr=True)
# The command line being run (set by ``headstart.cli.run``): a command interrupted by Ctrl-C
# repeats it in the line that says how to resume.
ARGV: list[str] = []

# family -> (module, attribute): a Registry (its names()), a function giving names, or a sequence of names.
FAMILIES: dict[str, tuple[str, str]] = {
    "strategy": ("headstart.strategies.registry", "STRATEGIES"),
    "imbalance": ("headstart.imbalance.registry", "METHODS"),
    "multilabel-loss": ("headstart.imbalance.multilabel.registry", "LOSSES"),
    "debias": ("headstart.fairness.registry", "METHODS"),
    "adapt": ("headstart.adapt.registry", "METHODS"),
    "distill": ("headstart.distill.registry", "METHODS"),
    "fewshot": ("headstart.fewshot.registry", "METHODS"),
    "fewshot-default": ("headstart.fewshot.registry", "default_methods"),
    "zeroshot": ("headstart.zeroshot.registry", "METHODS"),
    "meta": ("headstart.meta.registry", "METHODS"),
    "rl": ("headstart.rl.registry", "METHODS"),
    "multitask": ("headstart.multitask.registry", "METHODS"),
    "pretrain": ("headstart.pretrain.registry", "METHODS"),
    "score": ("headstart.select.registry", "SCORES"),
    "embedded": ("headstart.backbones.registry", "EMBEDDED"),
    "source": ("headstart.backbones.registry", "SOURCES"),
    "section": ("headstart.report.section", "SECTIONS"),
    "remedy": ("headstart.select.compare", "REMEDIES"),
    "metric": ("headstart.select.compare", "METRICS"),
    "selection": ("headstart.adapt.run", "SELECTIONS"),
}
_TOKEN = re.compile(r"\{choices:([a-z-]+)\}")


def registry(family: str) -> Any:
    """The registry (or tuple of names) of ``family``."""
    module, attr = FAMILIES[family]
    return getattr(importlib.import_module(module), attr)


def choices(family: str) -> list[str]:
    """The registered names of ``family``, in order."""
    found = registry(family)
    if hasattr(found, "names"):
        return found.names()
    return list(found()) if callable(found) else list(found)


def expand(text: str | None) -> str | None:
    """``text`` with each ``{choices:FAMILY}`` replaced by the family's names."""
    if not text or "{choices:" not in text:
        return text
    return _TOKEN.sub(lambda m: ", ".join(choices(m.group(1))), text)


class Command(TyperCommand):
    """A command whose help (its own and its options') may name registered choices."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.help = expand(self.help)
        for param in self.params:
            if getattr(param, "help", None):
                param.help = expand(param.help)
        super().format_help(ctx, formatter)


def command(name: str | None = None, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@app.command()`` with help that names the registered choices (:class:`Command`)."""
    return app.command(name, cls=Command, **kwargs)
