"""Source vs target features in 2-D, as the adaptation run's picture (``headstart adapt``
writes it; the report shows it). The projection and the domain-distance figures
come from :mod:`headstart.adapt.projection`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from headstart.adapt.projection import pca_2d
from headstart.io import atomic_write_bytes
from headstart.report.plots import COLOURS, figure, png_bytes


def plot_projection(
    path: str | Path,
    panels: dict[str, tuple[np.ndarray, np.ndarray]],
    figures: dict[str, dict[str, float]] | None = None,
    seed: int = 0,
) -> Path:
    """One scatter per panel (source blue, target orange), written atomically as PNG."""
    names = list(panels)
    with figure(4.2 * len(names), 4.0, ncols=len(names)) as (fig, axes):
        axes = np.atleast_1d(axes)
        for ax, name in zip(axes, names, strict=True):
            fs, ft = panels[name]
            z = pca_2d(np.concatenate([fs, ft]))
            ax.scatter(z[: len(fs), 0], z[: len(fs), 1], s=5, alpha=0.5, color=COLOURS[0], label="source")
            ax.scatter(z[len(fs) :, 0], z[len(fs) :, 1], s=5, alpha=0.5, color=COLOURS[1], label="target")
            extra = ""
            if figures and name in figures:
                f = figures[name]
                extra = f"\nMMD² {f['mmd2']:.3g}, proxy A-distance {f['pad']:.2f}"
            ax.set_title(f"{name}{extra}")
            ax.set_xlabel("PC 1")
            ax.set_ylabel("PC 2")
            ax.legend(loc="upper right", markerscale=3)
        return atomic_write_bytes(path, png_bytes(fig))
