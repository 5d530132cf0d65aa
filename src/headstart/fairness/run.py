"""Audit a fitted model (a run folder) on data: every part the data allows, as one JSON-ready dict.

- always: the per-group audit (:mod:`headstart.fairness.audit`);
- with ``before`` (a second model, e.g. the pretrained backbone's linear probe):
  the same rows audited with it too, and each gap's change
  (:mod:`headstart.fairness.transfer`);
- with ``pair_keys`` (template text): the counterfactual audit of the score
  of each class (:mod:`headstart.fairness.counterfactual`; two classes: the
  positive one).

What ``headstart audit`` writes to ``RUN/audit.json`` and the report shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from headstart.data.labels import label_key
from headstart.fairness.audit import audit_predictions, check_known_groups, positive_code, score
from headstart.fairness.counterfactual import counterfactual_audit
from headstart.fairness.transfer import audit_before_after

AUDIT_FILE = "audit.json"


def describe_model(clf: Any, run: Any = None) -> dict[str, Any]:
    return {
        "run": None if run is None else str(run),
        "backbone": getattr(getattr(clf, "backbone_", None), "spec", None),
        "strategy": clf.strategy,
        "fine_tuned": bool(getattr(clf, "fine_tuned_", False)),
        "debias": getattr(clf, "fairness_", None),
    }


def audit_model(
    clf: Any,
    data: Any,
    groups: Mapping[str, Any],
    before: Any = None,
    pair_keys: np.ndarray | None = None,
    positive: Any = None,
    run: Any = None,
    before_run: Any = None,
    **options: Any,
) -> dict[str, Any]:
    """The full audit of ``clf`` on ``data`` (see the module docstring).

    ``options``: ``resamples``, ``seed``, ``level``, ``min_rows`` of
    :func:`~headstart.fairness.audit.audit_predictions`.
    """
    from headstart.errors import HeadstartError

    for model in (clf, before):
        if model is not None and getattr(model, "groups_", None):
            check_known_groups(groups, model.groups_, data.source)
    keys = [label_key(c) for c in clf.classes_]
    if before is not None and [label_key(c) for c in before.classes_] != keys:
        raise HeadstartError("the model to compare with (--before) has different classes: nothing to compare")
    pos = positive_code(clf, positive)
    proba, codes = score(clf, data)
    pred = proba.argmax(1)
    result: dict[str, Any] = {"model": describe_model(clf, run), "data": data.source}
    if before is None:
        result.update(audit_predictions(codes, pred, groups, keys, pos, **options))
    else:
        both = audit_before_after(codes, before.predict_proba(data).argmax(1), pred, groups, keys, pos, **options)
        result.update(both["after"])
        result["before"] = {"model": describe_model(before, before_run), **both["before"]}
        result["change"] = both["change"]
    if pair_keys is not None:
        scored = [pos] if pos is not None else list(range(len(keys)))
        result["counterfactual"] = {
            "score": "the model's probability of the class",
            "by_class": {
                keys[k]: {
                    col: counterfactual_audit(proba[:, k], values, pair_keys, col) for col, values in groups.items()
                }
                for k in scored
            },
        }
    return result
