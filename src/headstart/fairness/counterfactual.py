"""Counterfactual audit for template text: score differences between sentences
that differ only in the group term (Kiritchenko & Mohammad, "Examining Gender
and Race Bias in Two Hundred Sentiment Analysis Systems", *SEM 2018 — the
Equity Evaluation Corpus; Garg et al., "Counterfactual Fairness in Text
Classification through Robustness", AIES 2019).

Rows sharing the same values of the ``pair_on`` columns (for the EEC: the
template and the emotion word) form one *set*: the same sentence with
different people in it. In set ``s`` the model's mean score for group ``a``
(e.g. every female name and noun phrase) is ``m_a(s)``; for a pair of groups
``(a, b)`` the per-set difference is

    d(s) = m_a(s) - m_b(s)

and the audit reports, over the sets that contain both groups: the mean of
``d`` with a 95% t-interval, its spread (std, quantiles, a histogram), the
paired t-test of ``mean d = 0`` and the Wilcoxon signed-rank test of
``median d = 0`` (the latter makes no normality assumption). A fair model has
``d`` = 0 in every set: only the group term changed.

Example:
    >>> import numpy as np
    >>> scores = np.array([0.9, 0.7, 0.8, 0.6])
    >>> r = counterfactual_audit(scores, np.array(["f", "m", "f", "m"]), np.array(["s1", "s1", "s2", "s2"]))
    >>> round(r["pairs"][0]["mean"], 3)
    0.2
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from headstart.errors import HeadstartError
from headstart.fairness.audit import group_labels
from headstart.stats import mean_ci, paired_t

MIN_SETS = 10  # fewer paired sets than this: the tests are flagged as unreliable
ALPHA = 0.05


def set_keys(table: Any, pair_on: Sequence[str], source: str) -> np.ndarray:
    """One key per row: the values of the ``pair_on`` columns (a missing column is one clear line)."""
    from headstart.errors import did_you_mean

    present = [str(c) for c in table.columns]
    for col in pair_on:
        if col not in present:
            raise HeadstartError(
                f"pairing column '{col}' is not in {source}{did_you_mean(col, present)} (columns: {', '.join(present)})"
            )
    if not pair_on:
        raise HeadstartError("the counterfactual audit needs the columns that define a sentence set (--pair-on)")
    import pandas as pd

    # Blank cells (NaN: the EEC's neutral sentences have no emotion word) are a value like any other.
    columns = [[("" if pd.isna(v) else str(v)) for v in table[col]] for col in pair_on]
    return np.asarray([" | ".join(values) for values in zip(*columns, strict=True)])


def paired_stats(d: np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """Mean (t-interval), spread and the paired tests of differences ``d``
    (:func:`headstart.stats.mean_ci`, :func:`headstart.stats.paired_t`)."""
    from scipy import stats

    n = len(d)
    out: dict[str, Any] = {"sets": n}
    if n == 0:
        return out
    mean, std = float(np.mean(d)), float(np.std(d, ddof=1)) if n > 1 else 0.0
    out.update(mean=mean, std=std)
    t = paired_t(d) if n > 1 and std > 0 else None
    if t is not None and math.isfinite(t.statistic):
        ci = mean_ci(d, level)
        out["ci"] = [ci.low, ci.high]
        out["t_test"] = {"statistic": t.statistic, "p_value": t.p_value}
    else:
        out["ci"] = [mean, mean]
        out["t_test"] = {"statistic": None, "p_value": 1.0 if mean == 0 else 0.0}
    if np.any(d != 0):
        w = stats.wilcoxon(d)
        out["wilcoxon"] = {"statistic": float(w.statistic), "p_value": float(w.pvalue)}
    else:
        out["wilcoxon"] = {"statistic": None, "p_value": 1.0}
    q = np.quantile(d, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    out["quantiles"] = dict(zip(["min", "p5", "p25", "median", "p75", "p95", "max"], map(float, q), strict=True))
    counts, edges = np.histogram(d, bins=min(20, max(5, n // 5)))
    out["histogram"] = {"counts": counts.tolist(), "edges": [float(e) for e in edges]}
    return out


def counterfactual_audit(
    scores: np.ndarray,
    groups: Any,
    keys: np.ndarray,
    name: str = "group",
    level: float = 0.95,
    alpha: float = ALPHA,
    min_sets: int = MIN_SETS,
) -> dict[str, Any]:
    """Paired score differences between every two groups of ``groups``.

    Args:
        scores: ``(N,)`` the model's score of each row (e.g. P(positive)).
        groups: ``(N,)`` group labels; blank rows are left out (counted).
        keys: ``(N,)`` set identifiers (:func:`set_keys`): rows with equal keys
            differ only in the group term.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels, present = group_labels(groups)
    keys = np.asarray(keys)
    if not (len(scores) == len(labels) == len(keys)):
        raise HeadstartError(f"{len(scores)} scores, {len(labels)} group labels and {len(keys)} set keys differ")
    names = sorted(set(labels[present].tolist()))
    if len(names) < 2:
        raise HeadstartError(f"group column '{name}' has {len(names)} group(s): a counterfactual audit needs two")
    import pandas as pd

    frame = pd.DataFrame({"key": keys[present], "group": labels[present], "score": scores[present]})
    means = frame.groupby(["key", "group"])["score"].mean().unstack("group")
    pairs = []
    for a, b in itertools.combinations(names, 2):
        both = means[[a, b]].dropna()
        d = (both[a] - both[b]).to_numpy()
        entry = {"a": a, "b": b, "difference": f"score({a}) - score({b})", **paired_stats(d, level)}
        p_t, p_w = entry.get("t_test", {}).get("p_value"), entry.get("wilcoxon", {}).get("p_value")
        if len(d) == 0:
            entry["reading"] = f"no set holds both '{a}' and '{b}'"
        else:
            entry["significant"] = bool(p_t is not None and p_t < alpha and p_w is not None and p_w < alpha)
            lo, hi = entry["ci"]
            verdict = (
                f"'{a}' scored {'higher' if entry['mean'] > 0 else 'lower'} than '{b}' (both tests p < {alpha:g})"
                if entry["significant"]
                else f"no significant difference (t-test p = {p_t:.3g}, Wilcoxon p = {p_w:.3g})"
            )
            entry["reading"] = f"mean difference {entry['mean']:+.4f} [{lo:+.4f}, {hi:+.4f}]: {verdict}"
            if len(d) < min_sets:
                entry["unreliable"] = f"only {len(d)} paired sets (< {min_sets}): the tests have little power"
        pairs.append(entry)
    group_means = {g: float(frame.loc[frame["group"] == g, "score"].mean()) for g in names}
    return {
        "column": name,
        "rows": int(present.sum()),
        "missing_rows": int((~present).sum()),
        "sets": int(means.shape[0]),
        "mean_score": group_means,
        "level": level,
        "alpha": alpha,
        "pairs": pairs,
    }
