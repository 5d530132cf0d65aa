"""Latency of several models on the same batch: p50 / p95 over interleaved repeats.

Each repeat runs every model once, in an order reversed every other repeat, so
that machine noise and cache effects hit all alike (on a shared 2-core machine
a background job can double one call's time). ``warmup`` untimed calls first
(onnxruntime allocates its buffers, PyTorch its kernels' workspaces). A short
``pause`` before each timed call lets the previous call's thread pool go idle:
OpenMP threads spin-wait for a while after work ends, and on a 2-core machine
that spinning slows whichever library runs next.

    >>> t = measure({"a": lambda: sum(range(1000)), "b": lambda: sum(range(2000))}, repeats=20)
    >>> t["a"]["p50_ms"] <= t["b"]["p50_ms"]
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np


def measure(
    runs: dict[str, Callable[[], Any]], repeats: int = 20, warmup: int = 2, pause: float = 0.0
) -> dict[str, dict[str, float]]:
    """``{name: {"p50_ms", "p95_ms", "mean_ms", "repeats"}}`` for each callable."""
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return {
        name: {
            "p50_ms": float(np.percentile(ts, 50) * 1e3),
            "p95_ms": float(np.percentile(ts, 95) * 1e3),
            "mean_ms": float(np.mean(ts) * 1e3),
            "repeats": len(ts),
        }
        for name, ts in times.items()
    }
