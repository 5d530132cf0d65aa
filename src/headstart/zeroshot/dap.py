"""DAP: direct attribute prediction (Lampert, Nickisch & Harmeling, "Learning To
Detect Unseen Object Classes by Between-Class Attribute Transfer", CVPR 2009;
TPAMI 2014).

One probabilistic classifier per attribute, ``p(a_m = 1 | x)``, is trained on
the seen classes, each row labelled with its class's (binary) attributes. A
class ``z`` with signature ``a^z`` then scores

    log p(z | x) = sum_m [ log p(a_m = a^z_m | x) - log p(a_m = a^z_m) ] + const

(the attribute priors ``p(a_m)`` are the means over the seen classes).
Real-valued attributes are binarised at their mean over the seen classes.
Features ``(N, D)``, attribute probabilities ``(N, A)``, scores ``(N, K)``.

Example:
    >>> import numpy as np
    >>> S = {"a": [1, 0, 0], "b": [0, 1, 0], "c": [0, 0, 1], "d": [1, 1, 0]}
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(3, 10))
    >>> y = np.repeat(["a", "b", "c"], 20)
    >>> X = np.array([S[c] for c in y]) @ A + 0.1 * rng.normal(size=(60, 10))
    >>> DAP().fit(X, y, S).predict(np.array([1, 1, 0]) @ A[None], classes=["c", "d"]).tolist()
    ['d']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from headstart.errors import HeadstartError
from headstart.zeroshot.attributes import attribute_matrix
from headstart.zeroshot.registry import METHODS

EPS = 1e-4


@METHODS.register(order=50, inputs="attributes", summary="DAP (C={C})")
class DAP:
    """Per-attribute logistic regressions, combined by Bayes' rule.

    >>> S = {"a": [1, 0], "b": [0, 1], "c": [1, 1]}
    >>> X, y = np.array([[1.0, 0], [1.1, 0], [0, 1], [0, 1.1]]), np.array(["a", "a", "b", "b"])
    >>> DAP().fit(X, y, S).attribute_probabilities(np.array([[1.0, 0]])).round(1).tolist()
    [[0.8, 0.2]]
    """

    name = "dap"

    def __init__(self, C: float = 1.0, max_iter: int = 500) -> None:
        self.C, self.max_iter = C, max_iter

    def _binary(self, S: np.ndarray) -> np.ndarray:
        return (S > self.threshold_).astype(np.float64)

    def fit(self, X: np.ndarray, y: Any, attributes: Any) -> DAP:
        from sklearn.preprocessing import StandardScaler
        from threadpoolctl import threadpool_limits

        X = np.asarray(X, dtype=np.float64)
        self.seen_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.seen_) < 2:
            raise HeadstartError("DAP needs at least 2 seen classes")
        self.attributes_ = attributes
        S = attribute_matrix(attributes, list(self.seen_))
        binary = set(np.unique(S).tolist()) <= {0.0, 1.0}
        self.threshold_ = np.full(S.shape[1], 0.5) if binary else S.mean(0)
        B = self._binary(S)  # (Z, A)
        self.prior_ = np.clip(B.mean(0), EPS, 1 - EPS)
        self.scaler_ = StandardScaler().fit(X)
        Xs = self.scaler_.transform(X)
        self.models_: list[Any] = []
        with threadpool_limits(1):  # small fits: thread pools cost more than they give (see fewshot/logreg.py)
            self._fit_attributes(Xs, B, codes)
        return self

    def _fit_attributes(self, Xs: np.ndarray, B: np.ndarray, codes: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        for m in range(B.shape[1]):
            target = B[codes, m]
            if target.min() == target.max():  # constant on the seen classes: nothing to learn
                self.models_.append(float(target[0]))
            else:
                self.models_.append(LogisticRegression(C=self.C, max_iter=self.max_iter).fit(Xs, target))

    def attribute_probabilities(self, X: np.ndarray) -> np.ndarray:
        """``p(a_m = 1 | x)``, ``(N, A)``."""
        Xs = self.scaler_.transform(np.asarray(X, dtype=np.float64))
        cols = [np.full(len(Xs), m) if isinstance(m, float) else m.predict_proba(Xs)[:, 1] for m in self.models_]
        return np.clip(np.stack(cols, 1), EPS, 1 - EPS)

    def decision_function(self, X: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
        """``log p(z | x)`` up to a constant, ``(N, K)``."""
        P = self.attribute_probabilities(X)
        B = self._binary(attribute_matrix(self.attributes_, list(classes)))  # (K, A)
        log_on = np.log(P) - np.log(self.prior_)
        log_off = np.log(1 - P) - np.log(1 - self.prior_)
        return log_on @ B.T + log_off @ (1 - B).T

    def predict(self, X: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
        return np.asarray(list(classes))[self.decision_function(X, classes).argmax(1)]
