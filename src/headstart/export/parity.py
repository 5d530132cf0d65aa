"""Parity of an exported model with PyTorch, on the same real inputs.

Given logits ``z_ref`` (PyTorch eager, fp32) and ``z`` (onnxruntime) ``(N, K)``::

    max_abs_diff   = max |z - z_ref|                   (fp32: ~1e-5; int8: ~1e-1)
    top1_agreement = mean[ argmax z = argmax z_ref ]   (the figure that matters for a classifier)

    >>> compare(np.array([[1.0, 0.0]]), np.array([[0.9, 0.2]]))["top1_agreement"]
    1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np


def compare(reference: np.ndarray, other: np.ndarray) -> dict[str, Any]:
    """Max / mean absolute difference of the logits and top-1 agreement over the rows."""
    reference, other = np.asarray(reference, dtype=np.float64), np.asarray(other, dtype=np.float64)
    if reference.shape != other.shape:
        raise ValueError(f"logits of shapes {reference.shape} and {other.shape} cannot be compared")
    diff = np.abs(reference - other)
    agree = reference.argmax(1) == other.argmax(1)
    return {
        "rows": int(len(reference)),
        "max_abs_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_diff": float(diff.mean()) if diff.size else 0.0,
        "top1_agreement": float(agree.mean()) if len(agree) else 1.0,
        "top1_disagreements": int((~agree).sum()),
    }


def task_score(logits: np.ndarray, truth: np.ndarray, task: str, thresholds: Any = None) -> float:
    """The held-out figure of an exported model's outputs: accuracy (classification), R^2 of the one
    output (regression), micro-F1 of each label's probability at its threshold (multi-label)."""
    out, truth = np.asarray(logits, dtype=np.float64), np.asarray(truth)
    if not len(truth):
        return float("nan")
    if task == "regression":
        residual = ((out[:, 0] - truth) ** 2).sum()
        total = ((truth - truth.mean()) ** 2).sum()
        return float(1 - residual / total) if total > 0 else float("nan")
    if task == "multilabel":
        pred = 1 / (1 + np.exp(-out)) >= np.asarray(thresholds)
        tp, on = (pred & (truth == 1)).sum(), pred.sum() + (truth == 1).sum()
        return float(2 * tp / on) if on else 1.0
    return accuracy(out, truth)


def accuracy(logits: np.ndarray, codes: np.ndarray) -> float:
    """Top-1 accuracy of logits against class codes."""
    return float((np.asarray(logits).argmax(1) == np.asarray(codes)).mean()) if len(codes) else float("nan")
