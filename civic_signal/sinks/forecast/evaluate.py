"""Held-out evaluation of the forecast against the seasonal naive forecast (docs/forecast.md).

For each held-out year ``Y``: :func:`~civic_signal.sinks.forecast.fit.fit` on ``[first_year, Y)``
only, then forecast the 52 weeks starting on the first Monday of ``Y`` (sum of the daily means:
last training year's level x month x weekday). The naive forecast for a week is the same week last
year (364 days earlier, so weekdays line up). Both are scored per type with

- **MASE**: mean absolute error over the held-out weeks divided by the in-sample MAE of the naive
  seasonal forecast (lag 52 weeks) on the training weeks; below 1 beats what the naive method did
  in-sample, and the model beats the naive forecast where its MASE is the lower of the two;
- **coverage**: the share of held-out days whose count falls in the model's central 90 % interval
  (negative binomial with the type's alpha), which says whether the alert intervals are honest.

Nothing here is fitted on the held-out year.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from civic_signal.sinks.forecast.fit import MIN_GLM, NAMED, fit
from civic_signal.sinks.forecast.history import HourCount
from civic_signal.sinks.forecast.model import POOLED, nb_intervals

WEEKS = 52


@dataclass(frozen=True)
class Score:
    """One type in one held-out year."""

    key: str
    year: int
    n_heldout: int
    mase_model: float
    mase_naive: float
    mae_model: float
    mae_naive: float
    coverage90: float


def _daily(rows: Iterable[HourCount]) -> dict[str, dict[date, int]]:
    out: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        out[r.key][r.day] += r.n
        if r.key not in NAMED:  # the pooled type is the text-labelled "Other" requests, as in fit()
            out[POOLED][r.day] += r.n
    return out


def _first_monday(year: int) -> date:
    d = date(year, 1, 1)
    return d + timedelta((7 - d.weekday()) % 7)


def _weeks(daily: dict[date, int], start: date, n: int) -> np.ndarray:
    return np.array([sum(daily.get(start + timedelta(7 * w + i), 0) for i in range(7)) for w in range(n)], float)


def evaluate(rows: Sequence[HourCount], years: Sequence[int], first_year: int = 2013,
             min_train: int = MIN_GLM, recent_days: int = 0) -> list[Score]:
    """Scores per type (with at least ``min_train`` training requests) and per held-out year."""
    daily = _daily(rows)
    scores = []
    for year in years:
        params = fit(rows, first_year, year, recent_days)
        start = _first_monday(year)
        train_start = _first_monday(first_year)
        n_train_weeks = (start - train_start).days // 7
        for key, p in sorted(params.items()):
            d = daily.get(key, {})
            train = _weeks(d, train_start, n_train_weeks)
            if train.sum() < min_train or n_train_weeks <= WEEKS:
                continue
            scale = float(np.mean(np.abs(train[WEEKS:] - train[:-WEEKS])))
            actual = _weeks(d, start, WEEKS)
            naive = _weeks(d, start - timedelta(364), WEEKS)
            model = np.array([sum(p.day_mean(start + timedelta(7 * w + i)) for i in range(7)) for w in range(WEEKS)])
            days = [start + timedelta(i) for i in range(7 * WEEKS)]
            lo, hi = nb_intervals(np.array([p.day_mean(day) for day in days]), p.alpha, 0.90)
            obs = np.array([d.get(day, 0) for day in days])
            covered = int(np.sum((lo <= obs) & (obs <= hi)))
            mae_m, mae_n = float(np.mean(np.abs(actual - model))), float(np.mean(np.abs(actual - naive)))
            scores.append(Score(key=key, year=year, n_heldout=int(actual.sum()),
                                mase_model=mae_m / scale if scale else float("nan"),
                                mase_naive=mae_n / scale if scale else float("nan"),
                                mae_model=mae_m, mae_naive=mae_n, coverage90=covered / len(days)))
    return scores


def markdown(scores: Sequence[Score]) -> str:
    """The table for docs/forecast.md, one row per type and year, then the totals."""
    lines = ["| type | held-out year | requests | MASE model | MASE naive | MAE/week model | MAE/week naive | 90% interval coverage (days) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in sorted(scores, key=lambda s: (s.key != POOLED, -s.n_heldout, s.key, s.year)):
        name = "all (\\*)" if s.key == POOLED else s.key
        lines.append(f"| {name} | {s.year} | {s.n_heldout} | {s.mase_model:.2f} | {s.mase_naive:.2f} | "
                     f"{s.mae_model:.1f} | {s.mae_naive:.1f} | {s.coverage90:.0%} |")
    wins = sum(s.mase_model < s.mase_naive for s in scores)
    lines.append("")
    lines.append(f"The model's MASE is lower than the naive forecast's in {wins} of {len(scores)} type-years; "
                 f"median MASE model {np.median([s.mase_model for s in scores]):.2f}, "
                 f"naive {np.median([s.mase_naive for s in scores]):.2f}; "
                 f"median 90% coverage {np.median([s.coverage90 for s in scores]):.0%}.")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Exceedance:
    """Held-out hours of one type in every neighbourhood against the alert interval."""

    key: str
    year: int
    cell_hours: int
    above: int            # hours x neighbourhoods whose count is above the interval's top
    alerts: int           # ... and at least ``min_count``: what the spike rule would have raised
    expected_above: float  # what a calibrated interval would give: cell_hours x (1 - level) / 2
    alerts_surge: int     # ``alerts`` with the city-wide surge factor over the last ``surge_hours``


def _rolling(a: np.ndarray, n: int) -> np.ndarray:
    """Sum over the last ``n`` rows, the current one included."""
    c = np.cumsum(a, axis=0)
    out = c.copy()
    out[n:] = c[n:] - c[:-n]
    return out


def exceedances(rows: Sequence[HourCount], year: int, keys: Sequence[str], first_year: int = 2013,
                level: float = 0.995, min_count: int = 5, surge_hours: int = 6) -> list[Exceedance]:
    """The alert rule replayed on a held-out year of Open311 at its own scale, hour by hour (the
    archive rule uses 30-minute windows; the history has hours): fitted on ``[first_year, year)``."""
    from datetime import datetime

    from civic_signal.sinks.forecast.model import LOCAL

    params = fit(rows, first_year, year)
    start = date(year, 1, 1)
    hours = [datetime(year, 1, 1, tzinfo=LOCAL) + timedelta(hours=h) for h in range((date(year + 1, 1, 1) - start).days * 24)]
    index = {(t.date(), t.hour): i for i, t in enumerate(hours)}
    out = []
    for key in keys:
        p = params.get(key)
        if p is None:
            continue
        hoods = sorted(p.shares)
        rate = np.array([p.hourly(t) for t in hours])
        mean = np.outer(rate, [p.shares[h] for h in hoods])
        obs = np.zeros_like(mean)
        col = {h: j for j, h in enumerate(hoods)}
        for r in rows:
            if r.key == key and r.day.year == year and r.hood in col and (r.day, r.hour) in index:
                obs[index[(r.day, r.hour)], col[r.hood]] += r.n
        _, high = nb_intervals(mean.ravel(), p.alpha, level)
        o = obs.ravel()
        n6, e6 = _rolling(obs, surge_hours), _rolling(mean, surge_hours)
        rest_n = n6.sum(axis=1, keepdims=True) - n6
        rest_e = e6.sum(axis=1, keepdims=True) - e6
        factor = np.maximum(1.0, (rest_n + 5.0) / (rest_e + 5.0))
        _, high_s = nb_intervals((mean * factor).ravel(), p.alpha, level)
        out.append(Exceedance(key, year, o.size, int(np.sum(o > high)), int(np.sum((o > high) & (o >= min_count))),
                              o.size * (1 - level) / 2, int(np.sum((o > high_s) & (o >= min_count)))))
    return out


def exceedance_markdown(items: Sequence[Exceedance]) -> str:
    lines = ["| type | year | neighbourhood-hours | above the 99.5% interval | expected if calibrated | would alert (>= 5) | would alert, with the city-wide surge |",
             "|---|---|---|---|---|---|---|"]
    for e in items:
        lines.append(f"| {e.key} | {e.year} | {e.cell_hours} | {e.above} | {e.expected_above:.0f} | {e.alerts} | {e.alerts_surge} |")
    return "\n".join(lines) + "\n"
