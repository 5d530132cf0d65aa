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
    """A rich renderable: headline figures, then the per-class table."""
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
