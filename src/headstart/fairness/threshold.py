"""Post-processing for two-class models: group-specific thresholds (Hardt,
Price & Srebro, "Equality of Opportunity in Supervised Learning", NeurIPS
2016), by Fairlearn's ``ThresholdOptimizer``.

The model is left as it is; for each group ``g`` a threshold ``t_g`` on its
positive-class score ``s`` (randomised between two thresholds where needed)
is chosen on held-out rows to maximise ``objective`` subject to the
constraint — equal TPR and FPR across groups (``equalized_odds``) or equal
selection rates (``demographic_parity``):

    pred = 1[s > t_g]          (with probability mixing at the ROC hull)

It needs each row's group at prediction time, and rows for fitting that the
model was not trained on (its validation rows, or a held-out set).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400); g = np.repeat(["a", "b"], 200)
    >>> s = np.clip(0.5 * y + 0.3 * (g == "a") + rng.normal(0, 0.2, 400), 0, 1)
    >>> post = GroupThreshold().fit(s, y, g)
    >>> post.predict(s, g).shape
    (400,)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from headstart.errors import HeadstartError
from headstart.fairness.audit import group_labels

CONSTRAINTS = ("equalized_odds", "demographic_parity", "true_positive_rate_parity", "false_positive_rate_parity")


class _Score(BaseEstimator):
    """A 'model' whose prediction is its input's first column: the score."""

    def fit(self, X: Any, y: Any = None) -> _Score:
        self.fitted_ = True
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)[:, 0]


class GroupThreshold:
    """Fairlearn's ThresholdOptimizer on a two-class model's positive-class scores.

    Args:
        constraint: ``"equalized_odds"``, ``"demographic_parity"``,
            ``"true_positive_rate_parity"`` or ``"false_positive_rate_parity"``.
        objective: what the thresholds maximise under the constraint
            (``"balanced_accuracy_score"`` or ``"accuracy_score"``).
        seed: the randomised thresholds' random state at prediction time.
    """

    def __init__(
        self, constraint: str = "equalized_odds", objective: str = "balanced_accuracy_score", seed: int = 0
    ) -> None:
        self.constraint = constraint
        self.objective = objective
        self.seed = seed

    def fit(self, scores: np.ndarray, y: np.ndarray, groups: Any) -> GroupThreshold:
        """``scores`` ``(N,)`` positive-class scores, ``y`` ``(N,)`` 0/1, ``groups`` ``(N,)``."""
        from fairlearn.postprocessing import ThresholdOptimizer

        if self.constraint not in CONSTRAINTS:
            raise HeadstartError(f"constraint must be one of {', '.join(CONSTRAINTS)}, got '{self.constraint}'")
        labels, present = group_labels(groups)
        if not present.all():
            raise HeadstartError(f"{int((~present).sum())} rows have no group: thresholds are chosen per group")
        y = np.asarray(y, dtype=np.int64)
        if set(np.unique(y).tolist()) - {0, 1}:
            raise HeadstartError("group thresholds apply to two-class models (labels 0 / 1)")
        self.groups_ = sorted(set(labels.tolist()))
        for name in self.groups_:
            if len(np.unique(y[labels == name])) < 2:
                raise HeadstartError(f"group '{name}' has rows of one class only: its thresholds cannot be chosen")
        self.optimizer_ = ThresholdOptimizer(
            estimator=_Score().fit(None),
            constraints=self.constraint,
            objective=self.objective,
            prefit=True,
            predict_method="predict",
        )
        self.optimizer_.fit(np.asarray(scores, dtype=np.float64)[:, None], y, sensitive_features=labels)
        return self

    def predict(self, scores: np.ndarray, groups: Any) -> np.ndarray:
        """0 / 1 predictions; a group not seen in ``fit`` is one clear line."""
        if not hasattr(self, "optimizer_"):
            raise HeadstartError("GroupThreshold is not fitted yet: call fit first")
        labels, present = group_labels(groups)
        unseen = sorted({v for v in labels[present]} - set(self.groups_)) + (["(blank)"] if not present.all() else [])
        if unseen:
            raise HeadstartError(
                f"group {', '.join(repr(v) for v in unseen[:5])} was not seen when the thresholds were fitted "
                f"(groups: {', '.join(self.groups_)})"
            )
        x = np.asarray(scores, dtype=np.float64)[:, None]
        return np.asarray(self.optimizer_.predict(x, sensitive_features=labels, random_state=self.seed), dtype=int)

    # ------------------------------------------------------ a fitted model
    def fit_classifier(self, clf: Any, data: Any, groups: Any, positive: Any = None) -> GroupThreshold:
        """Fit on a fitted TransferClassifier's scores for labelled ``data`` (rows it was not trained on)."""
        from headstart.fairness.audit import positive_code, score

        if len(clf.classes_) != 2:
            raise HeadstartError(f"group thresholds apply to two-class models; this one has {len(clf.classes_)}")
        self.positive_ = positive_code(clf, positive)
        proba, codes = score(clf, data)
        if codes is None:
            raise HeadstartError(f"{data.source} has no labels to choose thresholds on")
        return self.fit(proba[:, self.positive_], (codes == self.positive_).astype(int), groups)

    def predict_classifier(self, clf: Any, data: Any, groups: Any) -> np.ndarray:
        """Class labels of ``data`` after the group thresholds."""
        proba = clf.predict_proba(data)
        hit = self.predict(proba[:, self.positive_], groups).astype(bool)
        return np.where(hit, clf.classes_[self.positive_], clf.classes_[1 - self.positive_])
