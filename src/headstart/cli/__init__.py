"""The ``headstart`` command. Errors the user can fix print one line and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from rich.markup import escape

# Importing a command module registers its commands on the app.
from headstart.cli import (  # noqa: F401
    adapt,
    audit,
    compare,
    demo,
    distill,
    export,
    fewshot,
    fit,
    meta,
    models,
    predict,
    rank,
    report,
    shift,
    zeroshot,
)
from headstart.cli.app import app, err
from headstart.errors import HeadstartError


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line in-process and return its exit status (tests call this)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="headstart", standalone_mode=False)
    except HeadstartError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        err.print("aborted")
        return 1
    except typer.TyperException as e:  # usage errors: a short usage message, exit 2
        e.show()
        return getattr(e, "exit_code", 2)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    return 0


def main() -> None:
    sys.exit(run())


__all__ = ["app", "main", "run"]
