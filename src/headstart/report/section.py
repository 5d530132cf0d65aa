"""A report section, the registry of section builders, and reading a run's files.

Each command leaves its own files in a run folder (``config.json`` and
``metrics.json`` from ``fit``, ``compare.json``, ``rank.json``,
``shift.json``...). A section builder looks for the files it knows and returns
a :class:`Section`, or ``None`` when they are absent: a report shows whatever
the run has. Adding a section is one module in ``headstart/report/sections/``
with one function::

    @register("fewshot", order=85)
    def build(run_dir: Path) -> Section | None:
        data = read_run_json(run_dir, "fewshot.json")
        if data is None:
            return None
        return Section("Few-shot evaluation", html=..., markdown=...)

Sections appear in ``order`` (smaller first); every module in the sections
package is imported when a report is built, so there is no list to update.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headstart.errors import HeadstartError
from headstart.registry import Registry


@dataclass
class Section:
    """One part of the report: its heading, its HTML body and its short Markdown summary.

    ``markdown`` may be empty: the section then appears in the HTML only.
    """

    title: str
    html: str
    markdown: str = ""
    anchor: str = ""

    def __post_init__(self) -> None:
        if not self.anchor:
            self.anchor = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"


Builder = Callable[[Path], "Section | None"]
SECTIONS = Registry("report section", "headstart.report.sections", factory=False)


def register(name: str, order: int) -> Callable[[Builder], Builder]:
    """Register ``build(run_dir) -> Section | None`` as the section ``name``."""
    return SECTIONS.register(name, order=order)


def builders() -> list[tuple[str, Builder]]:
    """Every registered section builder, in report order."""
    return [(e.name, e.obj) for e in SECTIONS.entries()]


def list_sections() -> list[str]:
    return SECTIONS.names()


def read_run_json(run_dir: Path, name: str) -> Any:
    """``run_dir/name`` parsed, or ``None`` when the file is absent; unreadable JSON is one clear error."""
    path = Path(run_dir) / name
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HeadstartError(
            f"cannot read {path}: {e}; the run folder is damaged or was edited: write it again"
        ) from None


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
