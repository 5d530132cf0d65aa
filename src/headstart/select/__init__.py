"""Choosing what to transfer, and proving it helped.

- transferability scores on cached features (higher = better), by name in
  :data:`SCORES` (each registered by a decorator in its own file),
- domain shift between two data sets in a backbone's feature space,
- scratch vs transfer comparisons with a verdict.
"""

from headstart.select.hscore import hscore
from headstart.select.knn import knn_accuracy
from headstart.select.leep import leep
from headstart.select.logme import logme
from headstart.select.nce import nce
from headstart.select.registry import SCORES
from headstart.select.scores import list_scores, needs_source_probs, transferability

__all__ = [
    "SCORES",
    "hscore",
    "knn_accuracy",
    "leep",
    "list_scores",
    "logme",
    "nce",
    "needs_source_probs",
    "transferability",
]
