"""Before vs after transfer: did fine-tuning amplify or reduce a group gap?

The same rows are audited twice: with the *pretrained* backbone's linear
probe (frozen features: the bias the backbone brings) and with the
fine-tuned model (or any two models). For every gap ``G`` of
:mod:`headstart.fairness.audit` the change is

    delta = G(after) - G(before)

with a 95% interval from a *paired* stratified bootstrap: each resample draws
the same rows for both models (:func:`~headstart.fairness.bootstrap.bootstrap_confusions`
over the joint cells (label, prediction before, prediction after)), so the
noise both share cancels. ``delta > 0`` with an interval above 0 means
fine-tuning *amplified* the gap; below 0, *reduced* it; an interval across 0,
no detectable change. For the ratio (1 = parity) the sign is reversed. With
two groups and two classes the signed selection-rate difference
``SR_a - SR_b`` is compared too (``selection_rate_difference``): a gap can
keep its size and change sides.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1] * 100); before = y.copy(); before[:60] = 1; after = y.copy()
    >>> g = {"g": np.array(["a"] * 100 + ["b"] * 100)}
    >>> r = audit_before_after(y, before, after, g, ["0", "1"], resamples=200)
    >>> r["change"]["g"]["demographic_parity_difference"]["verdict"]
    'reduced'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from headstart.data.labels import label_key
from headstart.fairness.audit import (
    LEVEL,
    MIN_ROWS,
    RESAMPLES,
    audit_predictions,
    check_known_groups,
    group_labels,
    intersect,
    positive_code,
    score,
)
from headstart.fairness.bootstrap import bootstrap_confusions, confusions, percentile_ci, rates

# Gaps where a larger value is worse (the ratio: smaller is worse).
HIGHER_IS_WORSE = {
    "demographic_parity_difference": True,
    "demographic_parity_ratio": False,
    "equalized_odds_difference": True,
    "accuracy_difference": True,
    "worst_group_accuracy": False,
}


def gap_statistics(r: Mapping[str, np.ndarray], report: Sequence[int], labelled: bool) -> dict[str, np.ndarray]:
    """Every gap from :func:`~headstart.fairness.bootstrap.rates` output ``(..., G[, K])``
    (vectorised over any leading axes, e.g. bootstrap replicates)."""
    import warnings

    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: a gap undefined in a resample
        sel = r["selection_rate"][..., list(report)]  # (..., G, R)
        out = {
            "demographic_parity_difference": np.nanmax(np.nanmax(sel, -2) - np.nanmin(sel, -2), -1),
            "demographic_parity_ratio": np.nanmin(np.nanmin(sel, -2) / np.nanmax(sel, -2), -1),
        }
        if labelled:
            rates_ = [r["tpr"][..., list(report)], r["fpr"][..., list(report)]]
            spread = [np.nanmax(np.nanmax(x, -2) - np.nanmin(x, -2), -1) for x in rates_]
            out["equalized_odds_difference"] = np.fmax(*spread)
            out["accuracy_difference"] = np.nanmax(r["accuracy"], -1) - np.nanmin(r["accuracy"], -1)
            out["worst_group_accuracy"] = np.nanmin(r["accuracy"], -1)
    return out


def compare_grouping(
    y: np.ndarray | None,
    before: np.ndarray,
    after: np.ndarray,
    values: Any,
    n_classes: int,
    report: Sequence[int],
    resamples: int,
    seed: int,
    level: float,
) -> dict[str, Any]:
    """The change of every gap of one grouping, with paired bootstrap intervals."""
    labels, present = group_labels(values)
    names = sorted(set(labels[present].tolist()))
    codes = np.asarray([names.index(v) for v in labels[present]], dtype=np.int64)
    labelled = y is not None
    y_g = (y if labelled else np.zeros_like(before))[present]
    preds = [before[present], after[present]]
    point_rates = [rates(c) for c in confusions(y_g, preds, codes, len(names), n_classes)]
    boot_rates = [rates(c) for c in bootstrap_confusions(y_g, preds, codes, len(names), n_classes, resamples, seed)]
    point = [gap_statistics(r, report, labelled) for r in point_rates]
    reps = [gap_statistics(r, report, labelled) for r in boot_rates]
    out: dict[str, Any] = {}
    for gap in point[0]:
        b, a = float(point[0][gap]), float(point[1][gap])
        lo, hi = percentile_ci(reps[1][gap] - reps[0][gap], level)
        entry: dict[str, Any] = {
            "before": b if np.isfinite(b) else None,
            "after": a if np.isfinite(a) else None,
            "delta": a - b if np.isfinite(a - b) else None,
            "ci": [lo, hi],
        }
        if lo is None or hi is None or lo <= 0 <= hi:
            entry["verdict"] = "no detectable change"
        else:
            worse = (lo > 0) == HIGHER_IS_WORSE[gap]
            if gap == "worst_group_accuracy":
                entry["verdict"] = "worsened" if worse else "improved"
            else:
                entry["verdict"] = "amplified" if worse else "reduced"
        out[gap] = entry
    if len(names) == 2 and len(report) == 1:
        # Two groups, two classes: the signed difference too, which shows a gap that changed sides.
        k = report[0]
        signed = [r["selection_rate"][..., 0, k] - r["selection_rate"][..., 1, k] for r in (*point_rates, *boot_rates)]
        lo, hi = percentile_ci(signed[3] - signed[2], level)
        out["selection_rate_difference"] = {
            "difference": f"{names[0]} - {names[1]}",
            "before": float(signed[0]),
            "after": float(signed[1]),
            "delta": float(signed[1] - signed[0]),
            "ci": [lo, hi],
            "verdict": "no detectable change" if lo is None or lo <= 0 <= hi else "moved",
            "reversed": bool(signed[0] * signed[1] < 0),
        }
    return out


def audit_before_after(
    y: np.ndarray | None,
    before: np.ndarray,
    after: np.ndarray,
    groups: Mapping[str, Any],
    classes: Sequence[Any],
    positive: int | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
    min_rows: int = MIN_ROWS,
    intersections: bool = True,
) -> dict[str, Any]:
    """Audit two models' predictions (codes) on the same rows and say, gap by
    gap, whether the second amplified or reduced what the first had."""
    classes = [str(c) for c in classes]
    before, after = np.asarray(before, dtype=np.int64), np.asarray(after, dtype=np.int64)
    if len(classes) == 2 and positive is None:
        positive = 1
    if len(classes) > 2:
        positive = None
    report = [positive] if positive is not None else list(range(len(classes)))
    y = None if y is None else np.asarray(y, dtype=np.int64)
    options = dict(resamples=resamples, seed=seed, level=level, min_rows=min_rows, intersections=intersections)
    result = {
        "before": audit_predictions(y, before, groups, classes, positive, **options),
        "after": audit_predictions(y, after, groups, classes, positive, **options),
    }
    columns = dict(groups)
    if intersections and len(groups) > 1:
        name, joined = intersect(groups)
        columns[name] = joined
    common = dict(resamples=resamples, seed=seed, level=level)
    result["change"] = {
        col: compare_grouping(y, before, after, values, len(classes), report, **common)
        for col, values in columns.items()
    }
    return result


def audit_classifiers(
    before: Any, after: Any, data: Any, groups: Mapping[str, Any], positive: Any = None, **options: Any
) -> dict[str, Any]:
    """:func:`audit_before_after` for two fitted classifiers (or loaded runs) with the same classes."""
    from headstart.errors import HeadstartError

    keys_b = [label_key(c) for c in before.classes_]
    keys_a = [label_key(c) for c in after.classes_]
    if keys_a != keys_b:
        raise HeadstartError(
            f"the two models have different classes ({', '.join(keys_b)} vs {', '.join(keys_a)}): nothing to compare"
        )
    for clf in (before, after):
        if getattr(clf, "groups_", None):
            check_known_groups(groups, clf.groups_, data.source)
    proba_b, codes = score(before, data)
    proba_a, _ = score(after, data)
    pos = positive_code(after, positive)
    return audit_before_after(codes, proba_b.argmax(1), proba_a.argmax(1), groups, keys_a, pos, **options)
