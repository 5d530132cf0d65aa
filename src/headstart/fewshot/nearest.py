"""Nearest neighbour on embeddings: the baseline few-shot papers keep finding
hard to beat (Wang et al., "SimpleShot", 2019: 1-NN on centred, L2-normalised
features rivals meta-learned methods).

A query takes the label of its most similar support item (cosine similarity
by default; ``metric="euclidean"`` for plain distances). Support ``(S, D)``,
query ``(Q, D)``, similarities ``(Q, S)``.

Example:
    >>> import numpy as np
    >>> nn1 = NearestNeighbour().fit(np.array([[1.0, 0], [0, 1]]), np.array(["a", "b"]))
    >>> nn1.predict(np.array([[0.9, 0.2]])).tolist()
    ['a']
"""

from __future__ import annotations

import numpy as np

from headstart.fewshot.registry import METHODS


@METHODS.register(order=30)
class NearestNeighbour:
    """1-nearest neighbour over the support set.

    >>> NearestNeighbour().fit(np.array([[1.0, 0], [0, 1]]), np.array(["a", "b"])).predict(np.array([[0, 2.0]]))
    array(['b'], dtype='<U1')
    """

    name = "nearest-neighbour"

    def __init__(self, metric: str = "cosine") -> None:
        self.metric = metric

    def fit(self, X: np.ndarray, y: np.ndarray) -> NearestNeighbour:
        X = np.asarray(X, dtype=np.float32)
        if self.metric == "cosine":
            X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        self.support_, self.labels_ = X, np.asarray(y)
        return self

    def similarities(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        S = self.support_
        if self.metric == "cosine":
            X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
            return X @ S.T
        return -((X * X).sum(1, keepdims=True) - 2.0 * X @ S.T + (S * S).sum(1)[None, :])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.labels_[self.similarities(X).argmax(1)]
