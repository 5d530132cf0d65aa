"""Turn a run folder into ``report.html`` (one self-contained file) and ``report.md``.

    >>> from headstart.report import build_report
    >>> html_path, md_path = build_report("runs/reviews-minilm")

The HTML has its figures inline (PNG data URIs) and its style inline, no script
and a Content-Security-Policy that forbids any request: it opens from disk,
offline, anywhere. The Markdown is the short version, for a terminal or a pull
request.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from headstart.errors import HeadstartError
from headstart.io import atomic_write_text
from headstart.report.html import esc, page
from headstart.report.section import Section, builders

HTML_NAME = "report.html"
MD_NAME = "report.md"


def collect_sections(run_dir: str | Path) -> list[Section]:
    """Every section the run folder has files for, in report order."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HeadstartError(f"no such run folder: {run_dir}")
    sections = [s for name, build in builders() if (s := _build(name, build, run_dir)) is not None]
    if not sections:
        raise HeadstartError(
            f"{run_dir} holds no run results to report on (no config.json, metrics.json, compare.json, "
            "rank.json or shift.json); make one with `headstart fit/compare/rank/shift ... --out DIR`"
        )
    return sections


def _build(name: str, build: Any, run_dir: Path) -> Section | None:
    """One section; files of the wrong shape (a run folder edited by hand, or by someone else) are one line."""
    try:
        return build(run_dir)
    except HeadstartError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        what = f"{e.__class__.__name__}: {str(e).splitlines()[0][:100]}" if str(e).strip() else e.__class__.__name__
        raise HeadstartError(
            f"{run_dir}: the '{name}' section cannot read the run's files ({what}); they are damaged or were "
            f"edited: write the run again"
        ) from None


def _version() -> str:
    import importlib.metadata as md

    try:
        return md.version("headstart")
    except md.PackageNotFoundError:
        return "unknown"


def render_report(run_dir: str | Path, html_path: str | Path | None = None) -> tuple[str, str]:
    """The HTML page and the Markdown summary of ``run_dir``, as strings."""
    run_dir = Path(run_dir)
    html_path = Path(html_path) if html_path else run_dir / HTML_NAME
    sections = collect_sections(run_dir)
    name = run_dir.resolve().name
    made = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    files = sorted(p.name + ("/" if p.is_dir() else "") for p in run_dir.iterdir() if not p.name.startswith("."))
    files = [f for f in files if f not in (HTML_NAME, MD_NAME)]
    footer = (
        f"Made by headstart {esc(_version())} on {esc(made)} from the files in <code>{esc(run_dir.resolve())}</code>: "
        + ", ".join(f"<code>{esc(f)}</code>" for f in files)
        + "."
    )
    html = page(f"headstart report: {name}", str(run_dir.resolve()), sections, footer)
    parts = [f"# headstart report: {name}", ""]
    for s in sections:
        if s.markdown.strip():
            parts += [f"## {s.title}", "", s.markdown.strip(), ""]
    parts.append(f"Full report: `{html_path}` (one file, opens offline).")
    return html, "\n".join(parts) + "\n"


def build_report(
    run_dir: str | Path, html_path: str | Path | None = None, md_path: str | Path | None = None
) -> tuple[Path, Path]:
    """Write the report of ``run_dir`` (default ``run_dir/report.html`` and ``run_dir/report.md``), atomically."""
    run_dir = Path(run_dir)
    html_path = Path(html_path) if html_path else run_dir / HTML_NAME
    html, md = render_report(run_dir, html_path)
    html_out = atomic_write_text(html_path, html)
    md_out = atomic_write_text(Path(md_path) if md_path else run_dir / MD_NAME, md)
    return html_out, md_out
