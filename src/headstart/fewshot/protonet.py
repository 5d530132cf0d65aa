"""Prototypical networks (Snell, Swersky & Zemel, "Prototypical Networks for
Few-shot Learning", NeurIPS 2017), on embeddings.

Each class's prototype is the mean of its support embeddings,
``c_k = mean_{i: y_i = k} f(x_i)``; a query goes to the nearest prototype:

    p(y = k | x) = softmax_k(-d(f(x), c_k))

with ``d`` the squared Euclidean distance (``metric="euclidean"``, the paper's
choice) or ``1 - cos`` scaled by a temperature (``metric="cosine"``, the
"cosine classifier" of Chen et al. 2019). Shapes: support ``(S, D)``, query
``(Q, D)``, prototypes ``(K, D)``, scores ``(Q, K)``.

Example:
    >>> import numpy as np
    >>> clf = ProtoNet().fit(np.array([[0.0, 0], [0, 1], [5, 5]]), np.array([0, 0, 1]))
    >>> clf.predict(np.array([[0.1, 0.4], [4.0, 6.0]])).tolist()
    [0, 1]
"""

from __future__ import annotations

import numpy as np

from headstart.fewshot.registry import METHODS


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


TEMPERATURE = 10.0  # the scale of the cosine scores (metric="cosine")


@METHODS.register("protonet", order=10)
class ProtoNet:
    """Nearest class mean; ``metric`` is ``"euclidean"`` or ``"cosine"``.

    >>> p = ProtoNet().fit(np.array([[0.0, 0], [0, 2], [4, 4]]), np.array(["a", "a", "b"]))
    >>> p.prototypes_.tolist(), p.predict(np.array([[3.0, 3]])).tolist()
    ([[0.0, 1.0], [4.0, 4.0]], ['b'])
    """

    def __init__(self, metric: str = "euclidean", temperature: float = TEMPERATURE) -> None:
        self.metric = metric
        self.temperature = temperature

    @property
    def name(self) -> str:
        return "protonet" if self.metric == "euclidean" else f"protonet-{self.metric}"

    def fit(self, X: np.ndarray, y: np.ndarray) -> ProtoNet:
        from headstart.errors import HeadstartError

        if self.metric not in ("euclidean", "cosine"):
            raise HeadstartError(f"metric must be euclidean or cosine, got '{self.metric}'")
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if self.metric == "cosine":
            X = _normalize(X)
        sums = np.zeros((len(self.classes_), X.shape[1]), dtype=np.float32)
        np.add.at(sums, codes, X)
        self.prototypes_ = sums / np.bincount(codes)[:, None]
        if self.metric == "cosine":
            self.prototypes_ = _normalize(self.prototypes_)
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Scores ``(Q, K)``: negative squared distances, or scaled cosines."""
        X = np.asarray(X, dtype=np.float32)
        P = self.prototypes_
        if self.metric == "cosine":
            return self.temperature * (_normalize(X) @ P.T)
        # ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2
        return -((X * X).sum(1, keepdims=True) - 2.0 * X @ P.T + (P * P).sum(1)[None, :])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        s = self.decision_function(X)
        s = np.exp(s - s.max(1, keepdims=True))
        return s / s.sum(1, keepdims=True)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(1)]


@METHODS.register("protonet-cosine", order=11)
def protonet_cosine(temperature: float = TEMPERATURE) -> ProtoNet:
    """Prototypical networks on cosine similarity (``ProtoNet(metric="cosine")``).

    >>> protonet_cosine().name
    'protonet-cosine'
    """
    return ProtoNet(metric="cosine", temperature=temperature)
