"""ESZSL: "An embarrassingly simple approach to zero-shot learning"
(Romera-Paredes & Torr, ICML 2015), in closed form.

A bilinear compatibility ``F(x, z) = x^T V s_z`` between features ``x``
(``D``) and a class's attribute signature ``s_z`` (``A``) is fitted on the seen
classes by regularised least squares against ``Y`` (``+1`` for the true class,
``-1`` elsewhere):

    V = (X^T X + gamma I)^-1  X^T Y S^T  (S S^T + lambda I)^-1

with ``X`` ``(N, D)``, ``Y`` ``(N, Z_seen)``, ``S`` ``(A, Z_seen)``, ``V``
``(D, A)``. A new class needs only its signature: ``argmax_z x^T V s_z`` over
whichever classes are asked for (unseen only, or seen + unseen for
generalized zero-shot). Features are L2-normalised (``normalize``).

Example:
    >>> import numpy as np
    >>> S = {"a": [1, 0, 0], "b": [0, 1, 0], "c": [0, 0, 1], "d": [1, 1, 0]}
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(3, 10))
    >>> y = np.repeat(["a", "b", "c"], 20)
    >>> X = np.array([S[c] for c in y]) @ A + 0.1 * rng.normal(size=(60, 10))
    >>> m = ESZSL(normalize=False).fit(X, y, S)
    >>> m.predict(np.array([1, 1, 0]) @ A[None], classes=["c", "d"]).tolist()
    ['d']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from headstart.errors import HeadstartError
from headstart.zeroshot.attributes import attribute_matrix
from headstart.zeroshot.registry import METHODS


def _norm(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


@METHODS.register(order=40, inputs="attributes", summary="ESZSL (gamma={gamma}, lambda={lam})")
class ESZSL:
    """Closed-form bilinear map from features to class attributes.

    >>> S = {"a": [1, 0], "b": [0, 1], "c": [1, 1]}
    >>> X, y = np.array([[1.0, 0], [0, 1]]), np.array(["a", "b"])
    >>> ESZSL(normalize=False).fit(X, y, S).decision_function(np.array([[1.0, 0]]), ["a", "b", "c"]).round(2)
    array([[ 0.25, -0.25,  0.  ]])
    """

    name = "eszsl"

    def __init__(self, gamma: float = 1.0, lam: float = 1.0, normalize: bool = True) -> None:
        self.gamma, self.lam, self.normalize = gamma, lam, normalize

    def _x(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return _norm(X) if self.normalize else X

    def fit(self, X: np.ndarray, y: Any, attributes: Any) -> ESZSL:
        """Seen-class features ``(N, D)``, labels ``(N,)`` and the class x attribute matrix."""
        X = self._x(X)
        self.seen_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.seen_) < 2:
            raise HeadstartError("ESZSL needs at least 2 seen classes")
        self.attributes_ = attributes
        S = attribute_matrix(attributes, list(self.seen_)).T  # (A, Z)
        Y = -np.ones((len(X), len(self.seen_)))
        Y[np.arange(len(X)), codes] = 1.0
        D, A = X.shape[1], S.shape[0]
        left = np.linalg.solve(X.T @ X + self.gamma * np.eye(D), X.T @ Y @ S.T)  # (D, A)
        self.V_ = np.linalg.solve((S @ S.T + self.lam * np.eye(A)).T, left.T).T  # left @ inv(S S^T + lam I)
        return self

    def decision_function(self, X: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
        """Compatibility ``(N, K)`` of each row with each of ``classes``."""
        S = attribute_matrix(self.attributes_, list(classes))
        return self._x(X) @ self.V_ @ S.T

    def predict(self, X: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
        return np.asarray(list(classes))[self.decision_function(X, classes).argmax(1)]
