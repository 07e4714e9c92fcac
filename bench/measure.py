"""Helpers shared by the benchmarks: timing, percentiles, peak RSS."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def throughput(fn: Callable[[], Any], n_items: int, *, repeat: int = 3) -> dict[str, float]:
    """Best-of-``repeat`` items/s of ``fn`` (which processes ``n_items``), and the median."""
    rates = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        rates.append(n_items / (time.perf_counter() - t0))
    return {"items_per_s": round(max(rates), 1), "median_items_per_s": round(statistics.median(rates), 1)}


def child(name: str, kwargs: dict[str, Any], q: Any) -> None:
    """Run benchmark ``name`` from :mod:`bench.stages` in this (fresh) process and put its result on ``q``."""
    import bench.stages as stages
    try:
        q.put(getattr(stages, name)(**kwargs))
    except Exception as exc:  # a benchmark that cannot run says why
        q.put({"name": name, "error": f"{exc.__class__.__name__}: {exc}"})
