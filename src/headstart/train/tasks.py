"""The training loop's hooks for regression and multi-label targets: the loss and the validation score.

Classification needs none (cross-entropy and accuracy are the loop's defaults). A regression
row's target is a standardised number, a multi-label row's a 0/1 vector
(:meth:`~headstart.train.targets.Targets.values`); the head has one output per number or label.

- :func:`regression_loss`: MSE or Huber (``delta`` in standard deviations) on the one output;
- :func:`multilabel_loss`: binary cross-entropy with logits per label, with optional positive weights
  (``pos_weight``: ``"balanced"`` = negatives / positives of each label's training rows, or numbers);
- :func:`regression_validation` / :func:`multilabel_validation`: what the loop records after each
  epoch (``val_loss`` and the monitored figure: ``val_r2``, ``val_mean_ap``), so that the best epoch
  is chosen on the validation rows cut from the training rows.

    >>> import torch
    >>> y = torch.tensor([0.0, 1.0, -1.0])
    >>> round(regression_loss("mse")(torch.tensor([[0.0], [1.0], [0.0]]), y).item(), 4)
    0.3333
    >>> regression_validation(torch.tensor([[0.0], [1.0], [-1.0]]), y)["val_r2"]
    1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from headstart.errors import HeadstartError

REGRESSION_LOSSES = ("mse", "huber")
ValidationFn = Callable[[torch.Tensor, torch.Tensor], dict[str, float]]


def regression_loss(kind: str = "mse", delta: float = 1.0) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss(outputs (B, 1), y (B,))``: MSE, or Huber with ``delta`` (targets are standardised: in SDs)."""
    if kind not in REGRESSION_LOSSES:
        raise HeadstartError(f"regression loss must be one of {', '.join(REGRESSION_LOSSES)}, got '{kind}'")
    if not delta > 0:
        raise HeadstartError(f"huber delta must be positive, got {delta}")

    def loss(outputs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        pred = outputs[:, 0]
        if kind == "huber":
            return F.huber_loss(pred, y.float(), delta=delta)
        return F.mse_loss(pred, y.float())

    return loss


def positive_weights(matrix: np.ndarray, mode: Any) -> np.ndarray | None:
    """Per-label positive weights for BCE: ``None``, ``"balanced"`` (negatives / positives, capped at 100)
    or one number per label (a list)."""
    if mode is None:
        return None
    if isinstance(mode, str):
        if mode != "balanced":
            raise HeadstartError(f"pos_weight must be 'balanced' or one number per label, got '{mode}'")
        pos = matrix.sum(0).astype(np.float64)
        return np.minimum((len(matrix) - pos) / np.maximum(pos, 1.0), 100.0)
    weights = np.asarray(mode, dtype=np.float64).reshape(-1)
    if weights.shape != (matrix.shape[1],) or not np.all(weights > 0):
        raise HeadstartError(f"pos_weight needs {matrix.shape[1]} positive numbers (one per label), got {mode!r}")
    return weights


def multilabel_loss(pos_weight: np.ndarray | None = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss(logits (B, L), y (B, L))``: binary cross-entropy with logits, averaged over rows and labels."""
    weight = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=torch.float32)

    def loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        w = None if weight is None else weight.to(logits.device)
        return F.binary_cross_entropy_with_logits(logits, y.float(), pos_weight=w)

    return loss


def regression_validation(outputs: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """``val_loss`` (MSE on the standardised scale) and ``val_r2`` of the validation rows."""
    pred, y = outputs[:, 0].double(), y.double()
    mse = torch.mean((pred - y) ** 2).item()
    var = torch.var(y, unbiased=False).item()
    return {"val_loss": mse, "val_r2": 1.0 - mse / var if var > 0 else float("nan")}


def multilabel_validation(logits: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """``val_loss`` (BCE) and ``val_mean_ap`` (mean average precision over the labels with a positive row)."""
    from sklearn.metrics import average_precision_score

    truth, scores = y.numpy().astype(np.int64), logits.double().numpy()
    aps = [average_precision_score(truth[:, k], scores[:, k]) for k in range(truth.shape[1]) if truth[:, k].any()]
    return {
        "val_loss": F.binary_cross_entropy_with_logits(logits, y.float()).item(),
        "val_mean_ap": float(np.mean(aps)) if aps else float("nan"),
    }
