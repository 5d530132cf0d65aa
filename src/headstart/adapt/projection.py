"""Source vs target features in 2-D, before and after adaptation.

Each panel is one model's features of a sample of source and target rows,
projected on the first two principal components of the pooled sample
(standardised; PCA, not t-SNE: deterministic, seconds, and distances along the
axes mean something). Beside the picture, two label-free figures of how far
apart the domains are in the full feature space: the unbiased RBF MMD²
(:func:`headstart.select.mmd.mmd_test`) and the proxy A-distance
(:func:`headstart.select.proxy_a.proxy_a_distance`, 0 = inseparable,
2 = separable). Adaptation should shrink both.

The picture itself is drawn by :func:`headstart.report.projection.plot_projection`.

Shapes: each panel ``(f_s (N_s, D), f_t (N_t, D))``.
"""

from __future__ import annotations

import numpy as np


def projection_figures(panels: dict[str, tuple[np.ndarray, np.ndarray]], seed: int = 0) -> dict[str, dict[str, float]]:
    """``{panel: {"mmd2", "mmd_p_value", "pad"}}`` for each panel's source / target features."""
    from headstart.select.mmd import mmd_test
    from headstart.select.proxy_a import proxy_a_distance

    out = {}
    for name, (fs, ft) in panels.items():
        mmd = mmd_test(fs, ft, permutations=50, seed=seed, max_rows=500)
        pad = proxy_a_distance(fs, ft, folds=3, seed=seed, max_rows=500)
        out[name] = {"mmd2": float(mmd.mmd2), "mmd_p_value": float(mmd.p_value), "pad": float(pad.pad)}
    return out


def pca_2d(x: np.ndarray) -> np.ndarray:
    """The first two principal components of standardised ``x`` ``(N, D)`` -> ``(N, 2)``."""
    x = np.asarray(x, dtype=np.float64)
    x = (x - x.mean(0)) / (x.std(0) + 1e-8)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:2].T if vt.shape[0] >= 2 else np.pad(x @ vt.T, ((0, 0), (0, 2 - vt.shape[0])))
