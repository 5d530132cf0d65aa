"""Figures for the report: matplotlib on the Agg canvas, inlined as PNG data URIs.

Figures are drawn with the object API (``Figure`` + ``FigureCanvasAgg``), so a
report never touches pyplot's global state or the user's backend. At 100 dpi a
figure is 20-80 KB of PNG: a report of a dozen figures stays well under 1 MB.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from headstart.report.html import esc

DPI = 100
STYLE = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "svg.hashsalt": "headstart",
}
COLOURS = ["#2f5fb3", "#d1603d", "#3a9b5b", "#8a5fb8", "#b8902f", "#4aa3b5", "#b54a7d", "#6b6b6b"]


@contextmanager
def figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kw: Any) -> Iterator[tuple[Any, Any]]:
    """``(fig, axes)`` on an Agg canvas, drawn in the report's style."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**STYLE, "axes.prop_cycle": matplotlib.cycler(color=COLOURS)}):
        fig = Figure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols, **{"squeeze": True, **kw})
        yield fig, axes


def png_bytes(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    # No timestamp or version in the file: the same run gives the same report.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def img(fig: Any, alt: str, caption: str = "") -> str:
    """The figure as an ``<img>`` with its PNG inline (a data URI), and an optional caption."""
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    width = int(round(fig.get_figwidth() * DPI))
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}" width="{width}">{cap}</figure>'


def label(text: Any, width: int = 22) -> str:
    """A tick label short enough to read: long names keep their end."""
    text = str(text)
    return text if len(text) <= width else "…" + text[-(width - 1) :]
