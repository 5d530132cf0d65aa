"""Matching networks (Vinyals et al., "Matching Networks for One Shot
Learning", NeurIPS 2016), on embeddings.

A query's label distribution is an attention-weighted vote of the support labels:

    p(y | x) = sum_i a(x, x_i) y_i,   a(x, x_i) = softmax_i(tau * cos(f(x), g(x_i)))

with ``f = g`` the embedding (the paper's full-context embeddings are left
out: on a fixed embedding they add little). ``tau`` (``temperature``) sharpens
the attention; ``tau -> inf`` is 1-nearest-neighbour, ``tau -> 0`` a
class-frequency vote. Support ``(S, D)``, query ``(Q, D)``, attention ``(Q, S)``,
class probabilities ``(Q, K)``.

Example:
    >>> import numpy as np
    >>> m = MatchingNet().fit(np.array([[1.0, 0], [0.9, 0.1], [0, 1]]), np.array([0, 0, 1]))
    >>> m.predict(np.array([[0.2, 1.0]])).tolist()
    [1]
"""

from __future__ import annotations

import numpy as np

from headstart.fewshot.registry import METHODS


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@METHODS.register(order=20)
class MatchingNet:
    """Cosine attention over the support set, summed per class.

    >>> m = MatchingNet(temperature=5.0).fit(np.array([[1.0, 0], [0, 1]]), np.array([0, 1]))
    >>> [round(float(p), 3) for p in m.predict_proba(np.array([[1.0, 0]]))[0]]
    [0.993, 0.007]
    """

    name = "matching"

    def __init__(self, temperature: float = 10.0) -> None:
        self.temperature = temperature

    def fit(self, X: np.ndarray, y: np.ndarray) -> MatchingNet:
        self.support_ = _normalize(np.asarray(X, dtype=np.float32))
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.onehot_ = np.eye(len(self.classes_), dtype=np.float32)[codes]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        logits = self.temperature * (_normalize(np.asarray(X, dtype=np.float32)) @ self.support_.T)
        attention = np.exp(logits - logits.max(1, keepdims=True))
        attention /= attention.sum(1, keepdims=True)
        return attention @ self.onehot_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]
