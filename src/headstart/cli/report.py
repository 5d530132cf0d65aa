"""``headstart report RUN``: a run folder as one self-contained HTML page and a Markdown summary.

The other commands take ``--report`` to do the same as soon as their run folder is written.
"""

from __future__ import annotations

from pathlib import Path

import typer

from headstart.cli.app import command, console
from headstart.errors import HeadstartError

# The --report flag shared by the commands that write a run folder.
ReportFlag = typer.Option(False, "--report", help="Also write RUN/report.html (self-contained) and RUN/report.md.")


def require_out(report: bool, out: Path | None) -> None:
    """--report needs a run folder: fail before any work when there is none."""
    if report and out is None:
        raise HeadstartError("--report needs --out: the run folder to write the report into")


def write_report(run_dir: Path) -> tuple[Path, Path]:
    """Build RUN/report.html and RUN/report.md and say where they are."""
    from rich.markup import escape

    from headstart.report import build_report

    html, md = build_report(run_dir)
    console.print(f"[green]report[/green] {escape(str(html))} (and {escape(md.name)})", highlight=False)
    return html, md


@command()
def report(
    run: Path = typer.Argument(..., help="A run folder written by a command (fit, compare, rank, shift, distill ...)."),
    out: Path = typer.Option(None, "--out", "-o", help="HTML file to write (default RUN/report.html)."),
    markdown: Path = typer.Option(None, "--markdown", "--md", help="Markdown file to write (default RUN/report.md)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not print the Markdown summary."),
) -> None:
    """Turn RUN into one HTML file (figures inline, opens offline) and a short Markdown summary.

    Shows what the run has: configuration and versions, data, the choices auto made,
    held-out metrics with CIs and baselines, confusion matrix, per-class table,
    training curves, scratch-vs-transfer learning curves, transferability ranking
    and domain shift.
    """
    from rich.markup import escape

    from headstart.io import check_writable
    from headstart.report import build_report

    if not run.is_dir():
        raise HeadstartError(f"no such run folder: {run}" if not run.exists() else f"{run} is a file, not a run folder")
    check_writable(out or run / "report.html", "file", "--out")
    check_writable(markdown or run / "report.md", "file", "--markdown")
    html, md = build_report(run, out, markdown)
    if not quiet:
        console.print(md.read_text(encoding="utf-8"), markup=False, highlight=False, soft_wrap=True)
    console.print(f"[green]report[/green] {escape(str(html))}; summary {escape(str(md))}", highlight=False)
