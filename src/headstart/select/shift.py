"""Domain shift between two data sets, in one backbone's feature space.

Three views of the same question, "does the target look like the source?":

- MMD (Gretton et al. 2012, :mod:`headstart.select.mmd`): a kernel two-sample
  test; its permutation p-value decides whether there is a shift at all.
- Proxy A-distance (Ben-David et al. 2006, :mod:`headstart.select.proxy_a`):
  ``2 (1 - 2 err)`` of a cross-validated domain classifier; says how separable
  the domains are (0 = not at all, 2 = perfectly).
- CORAL distance (Sun & Saenko 2016, :mod:`headstart.select.coral`):
  ``||C_s - C_t||_F^2 / (4 d^2)``, the gap between the feature covariances.

The verdict rests on the test alone: "shifted" when the MMD p-value is below
``alpha``; the proxy A-distance only qualifies it in words.

Shapes: ``source_features`` (N_s, D), ``target_features`` (N_t, D).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> report = domain_shift(rng.normal(size=(300, 8)), rng.normal(0.5, size=(300, 8)))
>>> report.shifted
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from headstart.data import Dataset
from headstart.errors import HeadstartError
from headstart.select.coral import coral_distance
from headstart.select.mmd import check_pair, mmd_test
from headstart.select.proxy_a import proxy_a_distance

# How the proxy A-distance is put into words (domain-classifier error 0.25 and 0.4).
SEPARABLE_PAD = 1.0
PARTLY_SEPARABLE_PAD = 0.4


@dataclass
class ShiftReport:
    """All the figures of :func:`domain_shift`, and a one-line reading.

    Attributes:
        shifted: MMD p-value < alpha.
        reading: the verdict in words.
        mmd2, mmd_p_value, mmd_bandwidth, permutations: the MMD test.
        pad, pad_error, pad_folds, pad_rows_per_domain: the proxy A-distance.
        coral: the CORAL distance.
        n_source, n_target: rows given; n_source_used, n_target_used: rows the
            statistics used; subsampled: whether rows were dropped (max_rows).
        feature_dim, alpha, seed, max_rows: the setting.
        backbone, source, target: names, when known.
    """

    shifted: bool
    reading: str
    mmd2: float
    mmd_p_value: float
    mmd_bandwidth: float
    permutations: int
    pad: float
    pad_error: float
    pad_folds: int
    pad_rows_per_domain: int
    coral: float
    n_source: int
    n_target: int
    n_source_used: int
    n_target_used: int
    subsampled: bool
    feature_dim: int
    alpha: float
    seed: int
    max_rows: int | None
    backbone: str | None = None
    source: str | None = None
    target: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_shift(p_value: float, pad: float, alpha: float) -> str:
    """The one-line reading, e.g. ``"shifted: MMD p=0.005 < 0.01, the domains are separable (PAD 1.60)"``."""
    p = f"p={p_value:.2g}"  # with 200 permutations the smallest p is 1/201 = 0.005
    if pad >= SEPARABLE_PAD:
        separable = "the domains are separable"
    elif pad >= PARTLY_SEPARABLE_PAD:
        separable = "the domains are partly separable"
    else:
        separable = "a domain classifier barely tells them apart"
    if p_value < alpha:
        return f"shifted: MMD {p} < {alpha:g}, {separable} (PAD {pad:.2f})"
    return f"no detectable shift: MMD {p} >= {alpha:g} (PAD {pad:.2f})"


def domain_shift(
    source_features: Any,
    target_features: Any,
    seed: int = 0,
    permutations: int = 200,
    alpha: float = 0.01,
    max_rows: int | None = 2000,
    folds: int = 5,
) -> ShiftReport:
    """MMD test, proxy A-distance and CORAL distance between two feature matrices.

    Args:
        source_features: ``(N_s, D)`` features of the source domain.
        target_features: ``(N_t, D)`` features of the target domain.
        seed: seed of every random choice (subsamples, permutations, folds).
        permutations: label shuffles of the MMD permutation test.
        alpha: significance level of the verdict.
        max_rows: rows per domain for MMD and the domain classifier (random,
            seeded); ``None`` uses all (MMD's kernel matrix is (N_s + N_t)^2).
        folds: cross-validation folds of the domain classifier.
    """
    if not 0.0 < alpha < 1.0:
        raise HeadstartError(f"alpha must be between 0 and 1, got {alpha}")
    if permutations >= 1 and 1.0 / (permutations + 1) >= alpha:
        # The smallest permutation p-value is 1 / (permutations + 1): it could never reach alpha.
        need = int(np.floor(1.0 / alpha))
        raise HeadstartError(
            f"{permutations} permutations cannot give a p-value below alpha={alpha:g}: use at least {need}"
        )
    x, y = check_pair(source_features, target_features, min_rows=max(2, folds))
    mmd = mmd_test(x, y, permutations=permutations, seed=seed, max_rows=max_rows)
    pad = proxy_a_distance(x, y, folds=folds, seed=seed, max_rows=max_rows)
    coral = coral_distance(x, y)
    return ShiftReport(
        shifted=mmd.p_value < alpha,
        reading=read_shift(mmd.p_value, pad.pad, alpha),
        mmd2=mmd.mmd2,
        mmd_p_value=mmd.p_value,
        mmd_bandwidth=mmd.bandwidth,
        permutations=permutations,
        pad=pad.pad,
        pad_error=pad.error,
        pad_folds=folds,
        pad_rows_per_domain=pad.n_per_domain,
        coral=coral,
        n_source=len(x),
        n_target=len(y),
        n_source_used=mmd.n_source_used,
        n_target_used=mmd.n_target_used,
        subsampled=mmd.subsampled or pad.subsampled,
        feature_dim=int(x.shape[1]),
        alpha=alpha,
        seed=seed,
        max_rows=max_rows,
    )


def _rows(data: Dataset, max_rows: int | None, rng: np.random.Generator) -> Dataset:
    if max_rows is None or len(data) <= max_rows:
        return data
    return data.subset(np.sort(rng.choice(len(data), size=max_rows, replace=False)))


def shift_between(
    source: Dataset,
    target: Dataset,
    backbone: Any = "auto",
    *,
    seed: int = 0,
    permutations: int = 200,
    alpha: float = 0.01,
    max_rows: int | None = 2000,
    folds: int = 5,
    batch_size: int = 64,
    device: str | None = None,
    cache: bool = True,
    cache_dir: str | None = None,
    progress: bool | None = None,
) -> ShiftReport:
    """Domain shift between two Datasets in ``backbone``'s feature space.

    Only the rows the statistics use go through the backbone: at most
    ``max_rows`` random rows (seeded) of each data set. Features are cached like
    any extraction (:func:`headstart.features.extract`).

    >>> import headstart as hs                                   # doctest: +SKIP
    >>> shift_between(hs.load("mnist_test"), hs.load("usps_all.mat"), "efficientnet-lite0").reading  # doctest: +SKIP
    'shifted: MMD p=0.005 < 0.01, the domains are separable (PAD 2.00)'
    """
    from headstart.backbones import load_backbone_for
    from headstart.features import extract

    if source.modality != target.modality:
        raise HeadstartError(
            f"source {source.source} is {source.modality} data but target {target.source} is {target.modality} data: "
            "a shift is measured between data of one modality"
        )
    for data in (source, target):
        if len(data) < max(2, folds):
            raise HeadstartError(f"{data.source} has {len(data)} rows: need at least {max(2, folds)}")
    if source.modality == "tabular":
        w_s, w_t = (int(np.asarray(d.inputs).shape[1]) for d in (source, target))
        if w_s != w_t:
            raise HeadstartError(f"source {source.source} has {w_s} feature columns but target {target.source} {w_t}")
    bb = load_backbone_for(backbone, source)
    rng = np.random.default_rng(seed)
    src, tgt = _rows(source, max_rows, rng), _rows(target, max_rows, rng)
    opts = dict(batch_size=batch_size, device=device, cache=cache, cache_dir=cache_dir, progress=progress)
    fs = extract(bb, src, **opts).features
    ft = extract(bb, tgt, **opts).features
    report = domain_shift(fs, ft, seed=seed, permutations=permutations, alpha=alpha, max_rows=max_rows, folds=folds)
    return replace(
        report,
        n_source=len(source),
        n_target=len(target),
        subsampled=report.subsampled or len(src) < len(source) or len(tgt) < len(target),
        backbone=bb.spec,
        source=source.source,
        target=target.source,
    )
