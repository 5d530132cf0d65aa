"""Transfer metrics for reinforcement learning (Taylor & Stone 2009, "Transfer learning for
reinforcement learning domains: a survey", section 3), over seeds, with 95% CIs.

A learning curve is the greedy evaluation return at env steps ``0, every, 2 * every, ...,
horizon``. A run stopped early (it held the threshold) is carried forward: its last
evaluation stands for the remaining grid points (:func:`carry_forward`), so every arm's
area is over the same horizon.

- **jumpstart**: the return of the first evaluation, before any update (transfer - scratch);
- **asymptotic return**: the return at the horizon (the last grid point);
- **area under the curve** (the trapezoid rule over the grid, divided by the horizon: the
  mean return over training) and the **transfer ratio**
  ``r = (area_transfer - area_scratch) / area_scratch``, Taylor & Stone's "total reward"
  ratio (positive: transfer accumulated more return);
- **time to threshold**: the first grid step whose return is at or above the threshold
  (a run that never reaches it counts as the horizon, a lower bound, and is flagged).

Each arm's seeds are independent runs, so the tests are Welch's t (unpaired,
:func:`headstart.stats.welch_t`) and the CIs Student t (:func:`headstart.stats.mean_ci`);
the ratio's CI is the percentile bootstrap over seeds of each arm
(:func:`headstart.stats.percentile_ci`). The verdict is gated on time to threshold and
area only, never on jumpstart (a random network's first greedy evaluation on CartPole
ranges from ~10 to 500): "transfer helps" when the area is significantly larger or the
time significantly shorter and neither is significantly worse; "negative transfer" the
other way round; "mixed" when one is better and the other worse; else "no significant
difference". Significant: two-sided p < 0.05.

    >>> steps, values = carry_forward([{"steps": 0, "return": 0.0}, {"steps": 1000, "return": 100.0}], 2000, 1000)
    >>> steps.tolist(), values.tolist()
    ([0, 1000, 2000], [0.0, 100.0, 100.0])
    >>> area(steps, values)  # (0 + 100) / 2 * 1000 + 100 * 1000, over 2000 steps
    75.0
    >>> time_to_threshold(steps, values, 100.0)
    1000
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from headstart.stats import mean_ci, percentile_ci, welch_t

ALPHA = 0.05


def carry_forward(curve: list[dict[str, Any]], horizon: int, every: int) -> tuple[np.ndarray, np.ndarray]:
    """The curve on the grid ``0, every, ..., horizon`` (the horizon included even off the grid), each
    point the latest evaluation at or before it."""
    grid = list(range(0, horizon + 1, every))
    if grid[-1] != horizon:
        grid.append(horizon)
    points = sorted((int(p["steps"]), float(p["return"])) for p in curve)
    if not points:
        raise ValueError("an empty learning curve")
    values, j = [], 0
    for x in grid:
        while j + 1 < len(points) and points[j + 1][0] <= x:
            j += 1
        values.append(points[j][1])
    return np.asarray(grid), np.asarray(values, dtype=float)


def area(steps: np.ndarray, values: np.ndarray) -> float:
    """The trapezoid area under the curve divided by its span: the mean return over training."""
    steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    span = steps[-1] - steps[0]
    if span <= 0:
        return float(values[-1])
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(steps)) / span)


def time_to_threshold(steps: np.ndarray, values: np.ndarray, threshold: float) -> int | None:
    """The first step whose return is >= ``threshold``, or None."""
    hit = np.nonzero(np.asarray(values) >= threshold)[0]
    return int(np.asarray(steps)[hit[0]]) if len(hit) else None


def _test(a: list[float], b: list[float]) -> tuple[float, float]:
    """Welch's t of ``a - b``, with an answer where it has none (both arms constant)."""
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a_) < 2 or len(b_) < 2:
        return math.nan, math.nan
    if a_.std() == 0 and b_.std() == 0:
        if a_.mean() == b_.mean():
            return 0.0, 1.0
        return math.copysign(math.inf, a_.mean() - b_.mean()), 0.0
    import warnings

    with warnings.catch_warnings():  # scipy's note on nearly equal samples: the test's answer stands
        warnings.simplefilter("ignore", RuntimeWarning)
        t, p = welch_t(a_, b_)
    return float(t), float(p)


def _arm(curves: list[list[dict[str, Any]]], horizon: int, every: int, threshold: float | None) -> dict[str, Any]:
    grids = [carry_forward(c, horizon, every) for c in curves]
    values = np.stack([v for _, v in grids])
    steps = grids[0][0]
    times = [time_to_threshold(s, v, threshold) if threshold is not None else None for s, v in grids]
    censored = [t is None for t in times]
    reach = [float(horizon if t is None else t) for t in times]
    mean, half = mean_ci(values, axis=0) if len(curves) > 1 else (values[0], np.full(len(steps), math.inf))
    out = {
        "seeds": len(curves),
        "steps": steps.tolist(),
        "mean_curve": np.asarray(mean).tolist(),
        "ci95_curve": [h if math.isfinite(h) else None for h in np.asarray(half).tolist()],
        "jumpstart": values[:, 0].tolist(),
        "asymptotic": values[:, -1].tolist(),
        "area": [area(steps, v) for v in values],
        "time_to_threshold": reach,
        "never_reached": int(sum(censored)),
    }
    out["median_time"] = float(np.median(reach)) if threshold is not None else None
    return out


def _ci(values: list[float]) -> dict[str, Any]:
    m = mean_ci(values)
    return {"mean": m.mean, "ci95": m.half_width if math.isfinite(m.half_width) else None}


def ratio_ci(a: list[float], b: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float | None, float | None]:
    """Percentile-bootstrap 95% CI of ``(mean a - mean b) / mean b``, each arm's seeds resampled on their own."""
    rng = np.random.default_rng(seed)
    a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ra = a_[rng.integers(0, len(a_), size=(resamples, len(a_)))].mean(axis=1)
    rb = b_[rng.integers(0, len(b_), size=(resamples, len(b_)))].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return percentile_ci((ra - rb) / np.abs(rb))


def compare(
    transfer: list[list[dict[str, Any]]],
    scratch: list[list[dict[str, Any]]],
    horizon: int,
    every: int,
    threshold: float | None,
) -> dict[str, Any]:
    """The metrics of each arm, transfer - scratch with tests and CIs, and the verdict."""
    t = _arm(transfer, horizon, every, threshold)
    s = _arm(scratch, horizon, every, threshold)
    out: dict[str, Any] = {
        "horizon": horizon,
        "every": every,
        "threshold": threshold,
        "arms": {"transfer": t, "scratch": s},
    }
    for key in ("jumpstart", "asymptotic", "area", "time_to_threshold"):
        if key == "time_to_threshold" and threshold is None:
            continue
        stat, p = _test(t[key], s[key])
        out[key] = {"transfer": _ci(t[key]), "scratch": _ci(s[key]),
                    "difference": float(np.mean(t[key]) - np.mean(s[key])), "t": stat, "p": p}  # fmt: skip
    sa = float(np.mean(s["area"]))
    out["transfer_ratio"] = {
        "value": (float(np.mean(t["area"])) - sa) / abs(sa) if sa else None,
        "ci95": list(ratio_ci(t["area"], s["area"])),
        "p": out["area"]["p"],
    }
    if threshold is not None:
        st = s["median_time"]
        out["time_ratio"] = t["median_time"] / st if st else None
    out["verdict"], out["reading"] = verdict(out)
    return out


def verdict(result: dict[str, Any]) -> tuple[str, str]:
    """ "transfer helps" / "negative transfer" / "mixed" / "no significant difference", from area and time."""
    better, worse, said = [], [], []
    a = result["area"]
    if a["p"] == a["p"] and a["p"] < ALPHA:
        (better if a["difference"] > 0 else worse).append("area")
    said.append(f"area transfer - scratch {a['difference']:+.1f} (Welch t {a['t']:.2f}, p {a['p']:.3g})")
    if "time_to_threshold" in result:
        tt = result["time_to_threshold"]
        if tt["p"] == tt["p"] and tt["p"] < ALPHA:
            (better if tt["difference"] < 0 else worse).append("time to threshold")
        said.append(
            f"time to {result['threshold']:g}: {tt['difference']:+.0f} steps (Welch t {tt['t']:.2f}, p {tt['p']:.3g})"
        )
    if better and worse:
        word = f"mixed: better {' and '.join(better)}, worse {' and '.join(worse)}"
    elif better:
        word = "transfer helps"
    elif worse:
        word = "negative transfer"
    else:
        word = "no significant difference"
    return word, "; ".join(said) + " (jumpstart is reported, not gated on)"
