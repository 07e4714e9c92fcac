"""The spike rule's costs: learning the baseline from a year of archive, and expectations per second."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.measure import best_and_median, peak_rss_mb


def alert_baseline(n_reports: int = 50_000, days: int = 365, windows: int = 500, repeat: int = 3) -> dict[str, Any]:
    """``learn`` over ``n_reports`` synthetic reports spread over ``days`` (what the console does
    at most every ``forecast.refit_minutes``), then ``windows`` calls of ``Baseline.expect`` for
    30-minute windows (what each alert check does per category x neighbourhood with reports)."""
    from civic_signal.sinks.forecast.learn import learn
    from civic_signal.sinks.forecast.model import POOLED, load_prior

    params, _ = load_prior()
    end = datetime(2026, 12, 1, tzinfo=timezone.utc)
    start = end - timedelta(days=days)
    keys = sorted(k for k in params if k != POOLED)[:20]
    hoods = sorted(params[POOLED].shares)
    rnd = random.Random(2026)
    reports = [(rnd.choice(keys), rnd.choice(hoods), start + timedelta(seconds=rnd.uniform(0, days * 86400)))
               for _ in range(n_reports)]
    learn_s, rates = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        baseline = learn(params, reports, start, end)
        learn_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for i in range(windows):
            baseline.expect(keys[i % len(keys)], hoods[i % len(hoods)], end - timedelta(minutes=30), end)
        rates.append(windows / (time.perf_counter() - t0))
    return {"name": f"spike baseline: learn {n_reports:,} reports over {days} d, then expectations/s",
            **best_and_median(rates), "learn_s": round(min(learn_s), 3), "peak_rss_mb": peak_rss_mb()}
