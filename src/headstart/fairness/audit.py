"""The per-group audit of a classifier's predictions, with bootstrap intervals
on every gap so that a gap inside the noise is reported as such.

Per group (Fairlearn's ``MetricFrame``; Bird et al., "Fairlearn: A toolkit for
assessing and improving fairness in AI", 2020): rows, accuracy, selection rate
``P(pred = k)``, true and false positive rates ``P(pred = k | y = k)``,
``P(pred = k | y != k)``; for two classes ``k`` is the positive class, for
more every class one-vs-rest. The gaps between groups ``a`` and ``b``:

    demographic-parity difference  max_g SR_g - min_g SR_g          (Calders et al. 2009)
    demographic-parity ratio       min_g SR_g / max_g SR_g          ("four-fifths rule": >= 0.8)
    equalized-odds difference      max(max_g TPR_g - min_g TPR_g,
                                       max_g FPR_g - min_g FPR_g)   (Hardt et al. 2016)
    accuracy difference            max_g acc_g - min_g acc_g
    worst-group accuracy           min_g acc_g                       (Sagawa et al. 2020)

(the maximum over classes for more than two classes). A max - min gap is never
below 0, so its bootstrap interval could never contain 0 however small the
true gap: the interval is taken instead on the *signed* difference between
the two groups (and class, and rate) that attain the gap in the data, e.g.
``SR_a - SR_b``, resampled with every group's rows drawn with replacement
(stratified: :mod:`headstart.fairness.bootstrap`). A 95% interval that
excludes 0 (1 for the ratio) is a real gap; one that includes it is within the
noise. A group with fewer than ``min_rows`` rows (default 30) is flagged as
unreliable wherever it appears.

Labels are optional: without them only the selection rates and the
demographic-parity gaps are computed.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 1] * 100); pred = y.copy(); pred[:40] = 1
    >>> g = {"g": np.array(["a"] * 100 + ["b"] * 100)}
    >>> r = audit_predictions(y, pred, g, classes=["0", "1"], resamples=200)
    >>> r["groups"]["g"]["gaps"]["demographic_parity_difference"]["significant"]
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from headstart.data.labels import group_labels, label_key
from headstart.errors import HeadstartError, did_you_mean
from headstart.fairness.bootstrap import bootstrap_confusions, percentile_ci, rates

MIN_ROWS = 30  # fewer rows than this: the group's estimates are flagged as unreliable
RESAMPLES = 1000
LEVEL = 0.95


# ------------------------------------------------------------------ groups
def groups_from_table(table: Any, columns: Sequence[str], source: str) -> dict[str, np.ndarray]:
    """``{column: labels}`` for the group ``columns`` of a DataFrame; a missing one is one clear line."""
    present = [str(c) for c in table.columns]
    out: dict[str, np.ndarray] = {}
    for col in columns:
        if col not in present:
            raise HeadstartError(
                f"group column '{col}' is not in {source}{did_you_mean(col, present)} (columns: {', '.join(present)})"
            )
        out[col] = table[col].to_numpy()
    return out


def check_known_groups(groups: Mapping[str, Any], known: Mapping[str, Sequence[str]], source: str) -> None:
    """A group value the model never saw in training (e.g. only in the test rows): one clear line."""
    for col, values in groups.items():
        if col not in known:
            continue
        labels, present = group_labels(values)
        seen = {str(v) for v in known[col]}
        unseen = sorted({v for v in labels[present] if v not in seen})
        if unseen:
            named = ", ".join(f"'{v}'" for v in unseen[:5]) + (
                f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""
            )
            raise HeadstartError(
                f"group {named} of column '{col}' in {source} never appears in the training rows "
                f"(training groups: {', '.join(sorted(seen))}): the model was not trained or debiased for it"
            )


def intersect(groups: Mapping[str, Any]) -> tuple[str, np.ndarray]:
    """The intersection of several group columns as one column: ``"a=x, b=y"``."""
    names = list(groups)
    parts = []
    for name in names:
        labels, present = group_labels(groups[name])
        parts.append(np.where(present, labels, ""))
    joined = np.asarray(
        [
            ", ".join(f"{n}={v}" for n, v in zip(names, vals, strict=True)) if all(vals) else ""
            for vals in zip(*parts, strict=True)
        ]
    )
    return " x ".join(names), joined


# ----------------------------------------------------------------- metrics
def _safe(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return _safe(float(np.sum(y_true == y_pred)), len(y_true))


def _selection(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    return _safe(float(np.sum(y_pred == k)), len(y_pred))


def _tpr(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    pos = y_true == k
    return _safe(float(np.sum(y_pred[pos] == k)), float(pos.sum()))


def _fpr(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    neg = y_true != k
    return _safe(float(np.sum(y_pred[neg] == k)), float(neg.sum()))


def _count(y_true: np.ndarray, y_pred: np.ndarray) -> int:
    return len(y_true)


def _metric_frame(
    y: np.ndarray, pred: np.ndarray, labels: np.ndarray, name: str, report: Sequence[int], labelled: bool
) -> Any:
    """Fairlearn's MetricFrame over one grouping. Its own TPR / FPR return 0 for a
    group without positives (negatives); these return NaN: undefined, not zero."""
    import pandas as pd
    from fairlearn.metrics import MetricFrame

    metrics: dict[str, Any] = {"rows": _count}
    if labelled:
        metrics["accuracy"] = _accuracy
    for k in report:
        metrics[f"selection_rate/{k}"] = partial(_selection, k=k)
        if labelled:
            metrics[f"tpr/{k}"] = partial(_tpr, k=k)
            metrics[f"fpr/{k}"] = partial(_fpr, k=k)
    return MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=pd.Series(labels, name=name))


def _num(value: Any) -> float | None:
    v = float(value)
    return v if np.isfinite(v) else None


def _gap(
    candidates: Sequence[tuple[str, np.ndarray, np.ndarray]],
    names: Sequence[str],
    small: Mapping[int, int],
    level: float,
    min_rows: int,
    ratio: bool = False,
) -> dict[str, Any] | None:
    """The largest max - min gap (smallest min / max ratio) among ``candidates``
    ``(what, point (G,), replicates (B, G))``, with the CI of the signed
    difference (ratio) between the two groups that attain it."""
    best = None
    for what, point, reps in candidates:
        ok = np.flatnonzero(np.isfinite(point))
        if len(ok) < 2:
            continue
        hi, lo = int(ok[np.argmax(point[ok])]), int(ok[np.argmin(point[ok])])
        if hi == lo:  # every group equal: any other group makes the pair
            lo = int(ok[0] if ok[0] != hi else ok[1])
        if ratio:
            value = _safe(point[lo], point[hi]) if point[hi] > 0 else float("nan")
            key = -value if np.isfinite(value) else -np.inf
        else:
            value = float(point[hi] - point[lo])
            key = value
        if best is None or key > best[0]:
            best = (key, what, hi, lo, value, reps)
    if best is None:
        return None
    _, what, hi, lo, value, reps = best
    with np.errstate(invalid="ignore", divide="ignore"):
        signed = reps[:, lo] / reps[:, hi] if ratio else reps[:, hi] - reps[:, lo]
    ci_lo, ci_hi = percentile_ci(signed, level)
    null = 1.0 if ratio else 0.0
    out: dict[str, Any] = {
        "value": _num(value),
        "between": [names[hi], names[lo]],
        "on": what,
        "ci": [ci_lo, ci_hi],
    }
    if ci_lo is None or ci_hi is None:
        out["significant"] = None
        out["reading"] = "no interval: the resamples left the gap undefined"
    else:
        inside = ci_lo <= null <= ci_hi
        out["significant"] = not inside
        bound = "1" if ratio else "0"
        out["reading"] = (
            f"within noise: the {level:.0%} CI [{ci_lo:.3f}, {ci_hi:.3f}] includes {bound}"
            if inside
            else f"real gap: the {level:.0%} CI [{ci_lo:.3f}, {ci_hi:.3f}] excludes {bound}"
        )
    flagged = [f"'{names[g]}' ({small[g]} rows)" for g in (hi, lo) if g in small]
    if flagged:
        out["unreliable"] = f"group {' and '.join(flagged)} has fewer than {min_rows} rows: an unreliable estimate"
    return out


def audit_grouping(
    y: np.ndarray | None,
    pred: np.ndarray,
    values: Any,
    name: str,
    classes: Sequence[str],
    positive: int | None,
    resamples: int,
    seed: int,
    level: float,
    min_rows: int,
) -> dict[str, Any]:
    """The audit of one grouping (one group column, or an intersection)."""
    labels, present = group_labels(values)
    missing = int((~present).sum())
    labelled = y is not None
    y_all = y if labelled else np.zeros_like(pred)
    y_g, pred_g, labels = y_all[present], pred[present], labels[present]
    names = sorted(set(labels.tolist()))
    if not names:
        raise HeadstartError(f"group column '{name}' has no values (every row is blank)")
    index = {v: i for i, v in enumerate(names)}
    codes = np.asarray([index[v] for v in labels], dtype=np.int64)
    K = len(classes)
    report = [positive] if positive is not None else list(range(K))

    frame = _metric_frame(y_g, pred_g, labels, name, report, labelled)
    by = frame.by_group
    boot = rates(bootstrap_confusions(y_g, [pred_g], codes, len(names), K, resamples, seed)[0])
    # Point estimates: Fairlearn's per-group values (classes not reported stay NaN).
    point: dict[str, np.ndarray] = {"accuracy": by["accuracy"].loc[names].to_numpy(float) if labelled else None}
    for metric in ("selection_rate", "tpr", "fpr"):
        point[metric] = np.full((len(names), K), np.nan)
        for k in report:
            if f"{metric}/{k}" in by:
                point[metric][:, k] = by[f"{metric}/{k}"].loc[names].to_numpy(float)
    counts = by["rows"].loc[names].to_numpy(int)
    small = {g: int(n) for g, n in enumerate(counts) if n < min_rows}

    def per_class(metric: str, g: str) -> Any:
        vals = {classes[k]: _num(by.loc[g, f"{metric}/{k}"]) for k in report}
        return vals[classes[positive]] if positive is not None else vals

    table = []
    for i, g in enumerate(names):
        row: dict[str, Any] = {"group": g, "rows": int(by.loc[g, "rows"])}
        if labelled:
            row["accuracy"] = _num(by.loc[g, "accuracy"])
        row["selection_rate"] = per_class("selection_rate", g)
        if labelled:
            row["tpr"] = per_class("tpr", g)
            row["fpr"] = per_class("fpr", g)
        row["unreliable"] = (
            f"only {small[i]} rows (< {min_rows}): too few for a stable estimate" if i in small else None
        )
        table.append(row)

    def cand(metric: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
        return [
            (f"{metric.replace('_', ' ')} of '{classes[k]}'", point[metric][:, k], boot[metric][:, :, k])
            for k in report
        ]

    gaps: dict[str, Any] = {
        "demographic_parity_difference": _gap(cand("selection_rate"), names, small, level, min_rows),
        "demographic_parity_ratio": _gap(cand("selection_rate"), names, small, level, min_rows, ratio=True),
    }
    if labelled:
        gaps["equalized_odds_difference"] = _gap(cand("tpr") + cand("fpr"), names, small, level, min_rows)
        acc = point["accuracy"]
        gaps["accuracy_difference"] = _gap([("accuracy", acc, boot["accuracy"])], names, small, level, min_rows)
        worst = int(np.nanargmin(acc))
        lo, hi = percentile_ci(np.nanmin(boot["accuracy"], axis=1), level)
        gaps["worst_group_accuracy"] = {
            "value": _num(acc[worst]),
            "group": names[worst],
            "ci": [lo, hi],
            **(
                {"unreliable": f"group '{names[worst]}' has only {small[worst]} rows (< {min_rows})"}
                if worst in small
                else {}
            ),
        }
    if len(names) < 2:
        gaps = {}  # one group: nothing to compare it with
    return {
        "column": name,
        **({"note": f"only one group ('{names[0]}'): no gap to measure"} if len(names) < 2 else {}),
        "groups": len(names),
        "rows": int(present.sum()),
        "missing_rows": missing,
        "by_group": table,
        "gaps": {k: v for k, v in gaps.items() if v is not None},
        "unreliable_groups": [names[g] for g in small],
    }


def audit_predictions(
    y: np.ndarray | None,
    pred: np.ndarray,
    groups: Mapping[str, Any],
    classes: Sequence[Any],
    positive: int | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = LEVEL,
    min_rows: int = MIN_ROWS,
    intersections: bool = True,
) -> dict[str, Any]:
    """Audit class predictions ``pred`` (codes ``0..K-1``) against labels ``y``
    (codes, or ``None``) for every group column in ``groups`` (and their
    intersection when there are several).

    ``positive``: the positive class's code for two classes (default 1); with
    more classes every class is audited one-vs-rest. Returns a JSON-ready dict.
    """
    pred = np.asarray(pred, dtype=np.int64)
    classes = [str(c) for c in classes]
    if not groups:
        raise HeadstartError("the audit needs at least one group column (--group)")
    if len(classes) == 2 and positive is None:
        positive = 1
    if len(classes) > 2:
        positive = None
    if y is not None:
        y = np.asarray(y, dtype=np.int64)
        if len(y) != len(pred):
            raise HeadstartError(f"{len(y)} labels but {len(pred)} predictions")
    for col, values in groups.items():
        if len(values) != len(pred):
            raise HeadstartError(f"group column '{col}' has {len(values)} rows but there are {len(pred)} predictions")
    common = dict(resamples=resamples, seed=seed, level=level, min_rows=min_rows)
    out_groups = {
        col: audit_grouping(y, pred, values, col, classes, positive, **common) for col, values in groups.items()
    }
    if intersections and len(groups) > 1:
        name, joined = intersect(groups)
        out_groups[name] = audit_grouping(y, pred, joined, name, classes, positive, **common)
    overall: dict[str, Any] = {"rows": len(pred)}
    if y is not None:
        overall["accuracy"] = float(np.mean(y == pred))
    if positive is not None:
        overall["selection_rate"] = float(np.mean(pred == positive))
    else:
        overall["selection_rate"] = {c: float(np.mean(pred == k)) for k, c in enumerate(classes)}
    return {
        "classes": classes,
        "positive": classes[positive] if positive is not None else None,
        "labelled": y is not None,
        "overall": overall,
        "bootstrap": {"resamples": resamples, "seed": seed, "level": level, "stratified_by": "group"},
        "min_rows": min_rows,
        "groups": out_groups,
    }


# --------------------------------------------------------- a fitted model
def positive_code(clf: Any, positive: Any) -> int | None:
    """The code of the positive class (``None`` = the default: the second of two classes)."""
    if positive is None:
        return 1 if len(clf.classes_) == 2 else None
    keys = [label_key(c) for c in clf.classes_]
    if str(positive) not in keys:
        raise HeadstartError(f"positive class '{positive}' is not a class of the model (classes: {', '.join(keys)})")
    if len(keys) != 2:
        raise HeadstartError("--positive applies to two-class models; with more classes each is audited one-vs-rest")
    return keys.index(str(positive))


def score(clf: Any, data: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Class probabilities ``(N, K)`` of a fitted TransferClassifier on ``data``,
    and the label codes (``None`` when unlabelled; an unseen label is one clear line)."""
    proba = clf.predict_proba(data)
    codes = clf._encode(data.labels, data.source) if data.labels is not None else None
    return proba, codes


def audit_classifier(
    clf: Any, data: Any, groups: Mapping[str, Any], positive: Any = None, **options: Any
) -> dict[str, Any]:
    """:func:`audit_predictions` for a fitted TransferClassifier (or a loaded run) on ``data``.

    Example:
        >>> import headstart as hs
        >>> clf = hs.load_run("runs/sst2")  # doctest: +SKIP
        >>> report = audit_classifier(clf, test, {"gender": test_gender})  # doctest: +SKIP
    """
    known = getattr(clf, "groups_", None)
    if known:
        check_known_groups(groups, known, data.source)
    proba, codes = score(clf, data)
    keys = [label_key(c) for c in clf.classes_]
    return audit_predictions(codes, proba.argmax(1), groups, keys, positive_code(clf, positive), **options)
