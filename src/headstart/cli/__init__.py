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
    auto,
    compare,
    demo,
    distill,
    export,
    fewshot,
    fit,
    meta,
    models,
    multitask,
    predict,
    pretrain,
    rank,
    report,
    rl,
    shift,
    zeroshot,
)
from headstart.cli.app import ARGV, app, err
from headstart.errors import HeadstartError, Interrupted


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line in-process and return its exit status (tests call this)."""
    args = [str(a) for a in argv] if argv is not None else sys.argv[1:]
    before = list(ARGV)
    ARGV[:] = args
    try:
        status = app(args=args, prog_name="headstart", standalone_mode=False)
    except Interrupted as e:  # Ctrl-C inside a command that says how to continue
        err.print(escape(str(e)), highlight=False, soft_wrap=True)
        return 130
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
    finally:
        ARGV[:] = before
    # Typer turns Ctrl-C (and typer.Exit) into a returned exit status when not standalone.
    if isinstance(status, int) and not isinstance(status, bool) and status != 0:
        if status == 130:
            err.print("interrupted")
        return status
    return 0


def main() -> None:
    sys.exit(run())


__all__ = ["app", "main", "run"]
