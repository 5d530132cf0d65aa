"""Classification metrics, printed as a table and saved as JSON.

``classification_metrics`` returns plain Python values (JSON-ready): accuracy,
balanced accuracy (the mean of the per-class recalls), macro-F1, per-class
precision / recall / F1 / support, the confusion matrix (rows = true class,
columns = predicted), with the class names in the order used by the matrix,
and, for two classes given scores, the area under the precision-recall curve
of the positive class (average precision): unlike accuracy it does not
flatter a model that ignores a rare class, and it does not depend on the
decision threshold.

``confusion_scores`` computes the headline figures from confusion counts
(vectorised over leading axes, e.g. bootstrap replicates), and
``bootstrap_ci`` their 95% percentile intervals over the held-out rows
(:mod:`headstart.stats`).

Example:
    >>> cm = np.array([[8, 2], [1, 9]])
    >>> {k: round(float(v), 3) for k, v in confusion_scores(cm).items()}
    {'accuracy': 0.85, 'balanced_accuracy': 0.85, 'macro_f1': 0.85}
    >>> lo, hi = bootstrap_ci(cm)["accuracy"]
    >>> bool(lo < 0.85 < hi)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from headstart.stats import bootstrap_statistic, percentile_ci

HEADLINE = ("accuracy", "balanced_accuracy", "macro_f1")


def classification_metrics(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    classes: Sequence[Any] | None = None,
    scores: Sequence[float] | None = None,
    positive: Any = None,
) -> dict[str, Any]:
    """``scores``: with two classes, a score per row for ``positive`` (default
    the second class), higher meaning more likely; adds ``pr_auc``."""
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if classes is None:
        classes = sorted(set(y_true.tolist()) | set(y_pred.tolist()), key=str)
    labels = list(classes)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    present = [c for c in labels if c in set(y_true.tolist())]
    out = {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)) if present else float("nan"),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "per_class": {
            str(c): {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for c, p, r, f, s in zip(labels, precision, recall, f1, support, strict=False)
        },
        "classes": [str(c) for c in labels],
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if scores is not None and len(labels) == 2:
        positive = labels[1] if positive is None else positive
        truth = y_true == positive
        out["positive_class"] = str(positive)
        out["pr_auc"] = float(average_precision_score(truth, np.asarray(scores))) if truth.any() else float("nan")
    return out


def confusion_scores(conf: Any, present: Any = None) -> dict[str, np.ndarray]:
    """Accuracy, balanced accuracy and macro-F1 from confusion counts ``(..., K, K)``
    (rows = true class), each ``(...)``; as :func:`classification_metrics` computes them:
    balanced accuracy averages the recall of the classes present (with rows) in
    each matrix, macro-F1 the F1 of the ``present`` classes (a ``(K,)`` mask;
    default: the classes with rows, when ``conf`` is one matrix)."""
    conf = np.asarray(conf)
    if present is None:
        if conf.ndim != 2:
            raise ValueError("give the present classes of a stack of confusion matrices")
        present = conf.sum(1) > 0
    n = conf.sum(axis=(-1, -2))
    tp = np.einsum("...ii->...i", conf).astype(float)
    support = conf.sum(-1)
    predicted = conf.sum(-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        denom = support + predicted
        f1_c = np.where(denom > 0, 2 * tp / denom, 0.0)
        return {
            "accuracy": tp.sum(-1) / n,
            "balanced_accuracy": np.nanmean(recall, axis=-1),
            "macro_f1": f1_c[..., np.asarray(present, dtype=bool)].mean(-1),
        }


def bootstrap_ci(cm: Any, resamples: int = 1000, seed: int = 0) -> dict[str, tuple[float, float]]:
    """95% percentile intervals of accuracy, balanced accuracy and macro-F1 over the held-out rows.

    A resample draws N rows with replacement; a row is a (true, predicted) pair,
    so a resample is a multinomial draw over the confusion matrix's cells
    (:func:`headstart.stats.bootstrap_statistic`). Each resample is scored by
    :func:`confusion_scores`, macro-F1 over the classes present in ``cm``.
    """
    cm = np.asarray(cm, dtype=np.int64)
    present = cm.sum(1) > 0

    def scores(draws: np.ndarray) -> np.ndarray:  # (m, K, K) resampled matrices -> (m, 3)
        s = confusion_scores(draws, present)
        return np.stack([s[key] for key in HEADLINE], axis=1)

    # At most 2M cells a draw: under ~16 MB for 100+ classes.
    reps = bootstrap_statistic(cm, scores, resamples, seed, max_cells=2_000_000)
    out = {}
    for i, key in enumerate(HEADLINE):
        lo, hi = percentile_ci(reps[:, i], 0.95)
        out[key] = (float(lo), float(hi))
    return out


def majority_baseline(y_train: Sequence[Any], y_true: Sequence[Any]) -> float:
    """Accuracy of always predicting the most frequent training class."""
    values, counts = np.unique(np.asarray(y_train).astype(str), return_counts=True)
    return float(np.mean(np.asarray(y_true).astype(str) == values[np.argmax(counts)]))


def render_metrics(metrics: dict[str, Any], title: str = "metrics", max_classes: int = 30) -> Any:
    """A rich renderable: headline figures, then the per-class table (regression and multi-label
    metrics: :func:`render_task_metrics`)."""
    if metrics.get("task") in ("regression", "multilabel"):
        return render_task_metrics(metrics, title, max_classes)
    from rich.console import Group
    from rich.table import Table

    head = Table(title=title, show_header=False, box=None, pad_edge=False)
    head.add_column(style="bold")
    head.add_column(justify="right")
    head.add_row("rows", str(metrics["n"]))
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        head.add_row(key.replace("_", " "), f"{metrics[key]:.4f}")
    if "pr_auc" in metrics:
        head.add_row(f"PR-AUC ({metrics['positive_class']})", f"{metrics['pr_auc']:.4f}")
    if "majority_baseline" in metrics:
        head.add_row("majority class", f"{metrics['majority_baseline']:.4f}")
    per = Table(show_lines=False)
    for col in ("class", "precision", "recall", "f1", "support"):
        per.add_column(col, justify="left" if col == "class" else "right")
    items = list(metrics["per_class"].items())
    for name, row in items[:max_classes]:
        per.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", str(row["support"]))
    if len(items) > max_classes:
        per.add_row(f"... {len(items) - max_classes} more in metrics.json", "", "", "", "")
    return Group(head, per)


# ------------------------------------------------------------------ regression and multi-label
REGRESSION_HEADLINE = ("mae", "rmse", "r2", "spearman")
MULTILABEL_HEADLINE = ("micro_f1", "macro_f1", "subset_accuracy", "mean_ap")
MAX_PAIRS = 2000


def _row_weights(n: int, resamples: int, seed: int) -> Any:
    """The bootstrap of ``n`` held-out rows as replicate weights ``(m, n)`` (how often each row is drawn),
    in chunks: :func:`headstart.stats.bootstrap_counts` of one count per row."""
    from headstart.stats import bootstrap_counts

    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // max(1, n))
    for start in range(0, resamples, chunk):
        yield bootstrap_counts(np.ones(n, dtype=np.int64), min(chunk, resamples - start), rng).astype(np.float64)


def _regression_scores(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """MAE, RMSE, R^2 and Spearman's rho of each weight row ``w`` ``(m, n)`` -> ``(m, 4)``."""
    from scipy.stats import rankdata

    total = w.sum(1)
    err = p - y
    mae = (w * np.abs(err)).sum(1) / total
    mse = (w * err**2).sum(1) / total
    mean = (w * y).sum(1, keepdims=True) / total[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1 - mse * total / (w * (y - mean) ** 2).sum(1)
    rho = np.empty(len(w))
    for i, row in enumerate(w):
        idx = np.repeat(np.arange(len(y)), row.astype(np.int64))
        a, b = rankdata(y[idx]), rankdata(p[idx])
        with np.errstate(invalid="ignore", divide="ignore"):
            rho[i] = np.corrcoef(a, b)[0, 1] if a.std() > 0 and b.std() > 0 else np.nan
    return np.stack([mae, np.sqrt(mse), r2, rho], axis=1)


def regression_metrics(
    y_true: Any, y_pred: Any, resamples: int = 1000, seed: int = 0, name: str = "target"
) -> dict[str, Any]:
    """MAE, RMSE, R^2 and Spearman's rho of predictions, each with its 95% bootstrap interval over
    the rows (``ci``), and the predicted-vs-true pairs' summary (``target``: name, mean and std of the truth).

    >>> m = regression_metrics([1.0, 2.0, 3.0, 4.0], [1.1, 1.9, 3.2, 3.9], resamples=200)
    >>> round(m["r2"], 3), m["task"]
    (0.986, 'regression')
    """
    y, p = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    point = _regression_scores(y, p, np.ones((1, len(y))))[0]
    reps = [_regression_scores(y, p, w) for w in _row_weights(len(y), resamples, seed)]
    reps = np.concatenate(reps) if reps else np.empty((0, 4))  # resamples=0: no intervals
    out: dict[str, Any] = {"task": "regression", "n": int(len(y))}
    out.update({k: float(v) for k, v in zip(REGRESSION_HEADLINE, point, strict=True)})
    out["ci"] = {k: percentile_ci(reps[:, i]) for i, k in enumerate(REGRESSION_HEADLINE)}
    out["target"] = {"name": name, "mean": float(y.mean()), "std": float(y.std())}
    # The predicted-vs-true pairs the report plots (the first MAX_PAIRS rows).
    out["pairs"] = {"true": y[:MAX_PAIRS].round(6).tolist(), "pred": p[:MAX_PAIRS].round(6).tolist()}
    return out


def _weighted_ap(truth: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average precision of one label for each weight row ``w`` ``(m, n)`` (ties broken by order)."""
    order = np.argsort(-scores, kind="stable")
    t, ws = truth[order].astype(np.float64), w[:, order]
    tp = np.cumsum(ws * t, axis=1)
    seen = np.cumsum(ws, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, tp / seen, 0.0)
        return (ws * t * precision).sum(1) / (ws * t).sum(1)


def _multilabel_scores(y: np.ndarray, pred: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Micro-F1, macro-F1 (labels with a positive row), subset accuracy and mAP per weight row -> ``(m, 4)``."""
    tp = w @ (y * pred)
    fp = w @ ((1 - y) * pred)
    fn = w @ (y * (1 - pred))
    with np.errstate(invalid="ignore", divide="ignore"):
        micro = 2 * tp.sum(1) / (2 * tp.sum(1) + fp.sum(1) + fn.sum(1))
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        present = (w @ y) > 0
        macro = np.where(present.any(1), (f1 * present).sum(1) / present.sum(1), np.nan)
        subset = (w @ (y == pred).all(1)) / w.sum(1)
    ap = np.stack([_weighted_ap(y[:, k], scores[:, k], w) for k in range(y.shape[1])], axis=1)
    return np.stack([micro, macro, subset, np.nanmean(np.where(present, ap, np.nan), axis=1)], axis=1)


def multilabel_metrics(
    y_true: Any,
    y_pred: Any,
    scores: Any,
    names: Sequence[str],
    thresholds: Sequence[float] | None = None,
    resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Micro- and macro-F1, subset accuracy (every label right) and mAP (mean average precision over
    the labels with a positive row; threshold-free), each with its 95% bootstrap interval over the rows
    (``ci``), and a per-label table (precision, recall, F1, AP, support, threshold).

    >>> y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    >>> m = multilabel_metrics(y, y, y.astype(float), ["a", "b"], resamples=100)
    >>> m["micro_f1"], m["subset_accuracy"], m["mean_ap"]
    (1.0, 1.0, 1.0)
    """
    from sklearn.metrics import average_precision_score, f1_score, precision_recall_fscore_support

    y, pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    present = y.sum(0) > 0
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, zero_division=0)
    ap = [float(average_precision_score(y[:, k], scores[:, k])) if present[k] else None for k in range(y.shape[1])]
    reps = [_multilabel_scores(y, pred, scores, w) for w in _row_weights(len(y), resamples, seed)]
    reps = np.concatenate(reps) if reps else np.empty((0, 4))
    out: dict[str, Any] = {
        "task": "multilabel",
        "n": int(len(y)),
        "micro_f1": float(f1_score(y, pred, average="micro", zero_division=0)),
        "macro_f1": float(np.mean(f1[present])) if present.any() else float("nan"),
        "subset_accuracy": float((y == pred).all(1).mean()),
        "mean_ap": float(np.mean([a for a in ap if a is not None])) if present.any() else float("nan"),
    }
    out["ci"] = {k: percentile_ci(reps[:, i]) for i, k in enumerate(MULTILABEL_HEADLINE)}
    out["per_label"] = {
        str(name): {
            "precision": float(precision[k]),
            "recall": float(recall[k]),
            "f1": float(f1[k]),
            "ap": ap[k],
            "support": int(support[k]),
            **({"threshold": float(thresholds[k])} if thresholds is not None else {}),
        }
        for k, name in enumerate(names)
    }
    out["labels"] = [str(n) for n in names]
    return out


def _ci_text(metrics: dict[str, Any], key: str) -> str:
    lo, hi = (metrics.get("ci") or {}).get(key, (None, None))
    return f"{metrics[key]:.4f}" + (f"  [{lo:.4f}, {hi:.4f}]" if lo is not None and hi is not None else "")


def render_task_metrics(metrics: dict[str, Any], title: str = "metrics", max_rows: int = 30) -> Any:
    """A rich renderable of :func:`regression_metrics` / :func:`multilabel_metrics` (95% intervals beside)."""
    from rich.console import Group
    from rich.table import Table

    head = Table(title=title, show_header=False, box=None, pad_edge=False)
    head.add_column(style="bold")
    head.add_column(justify="right")
    head.add_row("rows", str(metrics["n"]))
    keys = REGRESSION_HEADLINE if metrics["task"] == "regression" else MULTILABEL_HEADLINE
    for key in keys:
        head.add_row(key.replace("_", " "), _ci_text(metrics, key))
    if "mean_baseline" in metrics:
        base = metrics["mean_baseline"]
        head.add_row("training mean", f"MAE {base['mae']:.4f}, R^2 {base['r2']:.4f}")
    if metrics["task"] == "regression":
        return head
    per = Table(show_lines=False)
    for col in ("label", "precision", "recall", "f1", "ap", "support", "threshold"):
        per.add_column(col, justify="left" if col == "label" else "right")
    items = list(metrics["per_label"].items())
    for name, row in items[:max_rows]:
        ap = "-" if row["ap"] is None else f"{row['ap']:.3f}"
        cut = f"{row['threshold']:.3f}" if "threshold" in row else "-"
        per.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}", ap,
                    str(row["support"]), cut)  # fmt: skip
    if len(items) > max_rows:
        per.add_row(f"... {len(items) - max_rows} more in metrics.json", "", "", "", "", "", "")
    return Group(head, per)


def mean_baseline(y_train: Any, y_true: Any) -> dict[str, Any]:
    """MAE and R^2 of always predicting the training rows' mean (a regression's majority class)."""
    y = np.asarray(y_true, dtype=np.float64)
    err = y - float(np.mean(np.asarray(y_train, dtype=np.float64)))
    var = float(np.mean((y - y.mean()) ** 2))
    return {"mae": float(np.abs(err).mean()), "r2": float(1 - np.mean(err**2) / var) if var > 0 else float("nan")}
