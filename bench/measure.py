"""Helpers shared by the benchmarks: timing, percentiles, peak RSS, the child-process entry."""

from __future__ import annotations

import importlib
import resource
import statistics
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def peak_child_rss_mb() -> float | None:
    """Peak resident memory of the largest child process that has ended (worker processes), in MB."""
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(kb / 1024.0, 1) if kb else None


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def latency_ms(values: Sequence[float]) -> dict[str, float | None]:
    """p50 / p99 (and max) of ``values`` (seconds), in milliseconds."""
    def ms(v: float | None) -> float | None:
        return None if v is None else round(1000 * v, 1)
    return {"p50_latency_ms": ms(percentile(values, 50)), "p99_latency_ms": ms(percentile(values, 99)),
            "max_latency_ms": ms(max(values) if values else None), "latency_samples": len(values)}


def best_and_median(rates: Sequence[float]) -> dict[str, Any]:
    return {"items_per_s": round(max(rates), 1), "median_items_per_s": round(statistics.median(rates), 1),
            "runs": len(rates)}


def throughput(fn: Callable[[], Any], n_items: int, *, repeat: int = 3, budget_s: float = 40.0) -> dict[str, Any]:
    """Items/s of ``fn`` (which processes ``n_items``): the best and the median of up to
    ``repeat`` runs, stopping early once ``budget_s`` seconds went by (at least one run)."""
    rates: list[float] = []
    start = time.perf_counter()
    while len(rates) < repeat and (not rates or time.perf_counter() - start < budget_s):
        t0 = time.perf_counter()
        fn()
        rates.append(n_items / (time.perf_counter() - t0))
    return best_and_median(rates)


def child(name: str, kwargs: dict[str, Any], q: Any) -> None:
    """Run benchmark ``name`` (``module:function`` under :mod:`bench`, or a function of
    :mod:`bench.stages`) in this fresh process and put its result dict on ``q``."""
    module, _, func = name.rpartition(":")
    try:
        fn = getattr(importlib.import_module(f"bench.{module or 'stages'}"), func)
        q.put(fn(**kwargs))
    except Exception as exc:  # a benchmark that cannot run says why, and the others go on
        traceback.print_exc()
        q.put({"name": name, "error": f"{exc.__class__.__name__}: {exc}"[:500]})
