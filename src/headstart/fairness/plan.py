"""How an estimator takes a debiasing method: made, checked against the data and the
strategy (one clear line when it cannot apply), and recorded.

    >>> from headstart.fairness.plan import prepare
    >>> prepare(None, None, None, None) is None
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from headstart.errors import HeadstartError


def prepare(name: str | None, options: dict[str, Any] | None, data: Any, strategy: Any) -> Any:
    """The debiasing method ``name`` (``None`` without one), checked against ``data`` and ``strategy``."""
    if name is None:
        if options:
            raise HeadstartError("debias_options given without a debias method")
        return None
    from headstart.fairness import make_method

    mitigation = make_method(name, **(options or {}))
    if strategy.uses_cached_features:
        raise HeadstartError(
            f"debias '{name}' trains through the fine-tuning loop: use a fine-tuning strategy "
            f"(head, partial, full ...), not '{strategy.name}'"
        )
    if data.group is None:
        raise HeadstartError(
            f"debias '{name}' needs each training row's group: pass a group column (--group-col) or Dataset.group"
        )
    mitigation.check(strategy)
    return mitigation


def record(mitigation: Any, column: str, names: list[str], codes: np.ndarray) -> dict[str, Any]:
    """What was done, as the run folder's ``fairness`` entry."""
    return {
        "method": mitigation.name,
        "options": mitigation.options(),
        "what": mitigation.describe(),
        "column": column,
        "groups": names,
        "group_counts": {n: int(c) for n, c in zip(names, np.bincount(codes), strict=True)},
    }
