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
