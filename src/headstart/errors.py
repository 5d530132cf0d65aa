"""User-facing errors: one clear line, no traceback.

Anything the user can fix (a missing file, a misspelt column, a model that is not
downloaded) raises :class:`HeadstartError`. The command-line tool prints its
message on one line and exits with status 2; library users catch it like any
other exception.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class HeadstartError(Exception):
    """An error in the user's input or environment, with a one-line message.

    The message stays one line whatever it quotes: a newline or another control character
    in a file or column name (or in a third-party message) is written escaped, as ``\\n``.

    >>> str(HeadstartError("column 'a\\nb' not found"))
    "column 'a\\\\nb' not found"
    """

    def __init__(self, message: object = "", *args: object) -> None:
        text = str(message)
        if any(c < " " and c != "\t" for c in text):
            text = "".join(c if c >= " " or c == "\t" else repr(c)[1:-1] for c in text)
        super().__init__(text, *args)


class Interrupted(BaseException):
    """Ctrl-C caught by a command, with a one-line message saying what was kept and how to
    continue (the CLI prints it and exits 130). Not a ``KeyboardInterrupt``: Typer turns those
    into a bare exit status, and the message would be lost."""


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choices, or ``""``."""
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(name, choices, n=n, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def warn(message: str) -> None:
    """Print a one-line warning to stderr (rich when available)."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False, soft_wrap=True)
