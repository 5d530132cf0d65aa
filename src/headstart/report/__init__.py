"""Reports: a run folder as one self-contained HTML page and a short Markdown summary.

``build_report(run_dir)`` writes ``report.html`` and ``report.md``; what they
show depends on the files the run has (see :mod:`headstart.report.sections`).
"""

from headstart.report.build import build_report, collect_sections, render_report
from headstart.report.section import Section, list_sections, read_run_json, register

__all__ = ["Section", "build_report", "collect_sections", "list_sections", "read_run_json", "register", "render_report"]
