"""Synthetic report streams drawn from a count model (seeded; written for the tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from civic_signal.sinks.alerts import Report
from civic_signal.sinks.forecast.model import LOCAL, KeyParams


def poisson_stream(params: dict[str, KeyParams], keys: list[str], start: datetime, end: datetime,
                   scale: float, seed: int = 1) -> list[Report]:
    """Reports of ``keys`` posted in ``[start, end)``: each hour and neighbourhood a Poisson draw at
    ``scale`` x the model's rate, at uniform minutes within the hour."""
    rng = np.random.default_rng(seed)
    out = []
    t = start
    while t < end:
        for k in keys:
            p = params[k]
            for hood, share in p.shares.items():
                for _ in range(rng.poisson(p.hourly(t.astimezone(LOCAL)) * share * scale)):
                    out.append(Report(t + timedelta(seconds=float(rng.uniform(0, 3599))), k, hood))
        t += timedelta(hours=1)
    return sorted(out, key=lambda r: r.at)


def as_tuples(reports: list[Report]) -> list[tuple[str, str, datetime]]:
    return [(r.category, r.neighborhood, r.at) for r in reports]
