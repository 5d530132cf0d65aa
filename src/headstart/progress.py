"""Progress bars on stderr (rich), shared by every long loop in headstart."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

stderr = Console(stderr=True)


def enabled(flag: bool | None = None) -> bool:
    """Progress bars on a terminal, unless asked off (``HEADSTART_PROGRESS=0``);
    ``HEADSTART_PROGRESS=1`` forces them on elsewhere (logs, CI)."""
    if flag is not None:
        return flag
    setting = os.environ.get("HEADSTART_PROGRESS", "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    return setting in ("1", "true", "yes", "on") or stderr.is_terminal


@contextmanager
def bar(description: str, total: int, show: bool | None = None) -> Iterator:
    """A progress bar; yields ``advance(n)``."""
    if not enabled(show):
        yield lambda n=1: None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=True,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)
