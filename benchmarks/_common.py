"""Helpers shared by the benchmark scripts: paths, timing, the SST-2 sample."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HEADSTART_SHARED_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def need_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        sys.exit(f"skipped: {path} is absent (../shared/data holds the benchmark data sets)")
    return path


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def interleaved(runs: dict[str, Callable[[], Any]], repeats: int, pause: float = 0.5) -> dict[str, list[float]]:
    """Run each contender once per round, rounds repeated, the order reversed every
    other round: machine noise and warm-cache effects hit all alike.

    A short pause before each timed call lets the previous call's thread pools
    go idle: torch's OpenMP and numpy's BLAS threads spin-wait for a while after
    work ends, and on 2 cores that spinning slows whichever library runs next.
    """
    times: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            time.sleep(pause)
            times[name].append(timed(runs[name])[0])
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def mean_std(xs: list[float], digits: int = 4) -> str:
    """``"0.8311 ± 0.0029"`` (the mean alone for one value), ``digits`` decimals."""
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    return f"{statistics.mean(xs):.{digits}f} ± {statistics.stdev(xs):.{digits}f}"


def inference_medians(models: dict[str, Any], data: Any, repeats: int) -> dict[str, float]:
    """Median seconds of ``decision_function(data)`` per fitted classifier: one warm-up
    call each, then ``repeats`` interleaved rounds."""
    for clf in models.values():
        clf.decision_function(data)
    times = interleaved({k: (lambda c=c: c.decision_function(data)) for k, c in models.items()}, repeats)
    return {k: median(v) for k, v in times.items()}


def machine() -> str:
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
