"""Fit :class:`~civic_signal.sinks.forecast.model.KeyParams` from hourly counts.

Per type with at least :data:`MIN_GLM` requests in the training years: a negative-binomial GLM
(statsmodels ``NegativeBinomial``, NB2, alpha estimated by maximum likelihood) on the daily counts
with ``year + month + day of week`` as categorical effects (see :func:`_glm` for how alpha is estimated). The level kept is the last training
year's (optionally recalibrated on its last ``recent_days`` days: tried, not better on the
held-out years as a whole, see docs/forecast.md); the month and weekday effects become the seasonal factors. The hours within each weekday
come from the counts themselves, smoothed towards all types pooled (:data:`HOUR_PSEUDO` pseudo
requests a weekday); neighbourhood shares likewise (:data:`HOOD_PSEUDO`). Smaller types take the
pooled seasonal shape (all text-labelled "Other" requests, not the :data:`NAMED` services) and alpha at their own last-year level. Deterministic.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np

from civic_signal.sinks.forecast.history import UNKNOWN_HOOD, HourCount
from civic_signal.sinks.forecast.model import POOLED, SLOTS, KeyParams

MIN_GLM = 300
#: Types that were their own Open311 service (not text-labelled "Other" requests): left out of the
#: pooled shape, which would otherwise be the snow's and the parking enforcement's.
NAMED = frozenset({"PRKGENFORC", "UNSHVSDWLK", "ABNDVHCL"})
HOUR_PSEUDO = 24.0
HOOD_PSEUDO = 5.0


class _Counts:
    def __init__(self, first: date, days: int) -> None:
        self.first, self.days = first, days
        self.daily = np.zeros(days)
        self.slots = np.zeros(SLOTS)
        self.hoods: dict[str, float] = defaultdict(float)

    def add(self, r: HourCount) -> None:
        self.daily[(r.day - self.first).days] += r.n
        self.slots[r.day.weekday() * 24 + r.hour] += r.n
        if r.hood != UNKNOWN_HOOD:
            self.hoods[r.hood] += r.n


def _design(first: date, days: int, years: list[int]) -> np.ndarray:
    dates = [first + timedelta(d) for d in range(days)]
    cols = [np.ones(days)]
    cols += [np.array([d.year == y for d in dates], float) for y in years[1:]]
    cols += [np.array([d.month == m for d in dates], float) for m in range(2, 13)]
    cols += [np.array([d.weekday() == w for d in dates], float) for w in range(1, 7)]
    return np.column_stack(cols)


def _glm(y: np.ndarray, first: date, years: list[int], recent_days: int = 0
         ) -> tuple[float, np.ndarray, np.ndarray, float] | None:
    """``(log level of the last year, 12 month effects, 7 weekday effects, alpha)`` or None.

    Two stages, because the joint maximum likelihood (``discrete.NegativeBinomial``) diverged on
    snow-driven types: a Poisson GLM (IRLS) for the mean, alpha from the Cameron-Trivedi auxiliary
    regression ``((y - mu)^2 - y) / mu = alpha mu``, then the NB2 GLM with that alpha.
    """
    import warnings

    import statsmodels.api as sm
    X = _design(first, len(y), years)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pois = sm.GLM(y, X, family=sm.families.Poisson()).fit(maxiter=100)
            mu = pois.fittedvalues
            ok = mu > 1e-6
            aux = ((y[ok] - mu[ok]) ** 2 - y[ok]) / mu[ok]
            alpha = float(max(np.sum(aux * mu[ok]) / np.sum(mu[ok] ** 2), 1e-3))
            res = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=alpha)).fit(maxiter=100)
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            return None
    b = np.clip(np.asarray(res.params), -30, 30)
    ny = len(years) - 1
    if not np.all(np.isfinite(b)):
        return None
    level = b[0] + (b[ny] if ny else 0.0)
    if recent_days:  # recalibrate the last year's level on its last ``recent_days`` days
        mu = np.asarray(res.fittedvalues)[-recent_days:]
        level += float(np.log((float(y[-recent_days:].sum()) + 1.0) / (float(mu.sum()) + 1.0)))
    month = np.concatenate([[0.0], b[1 + ny:12 + ny]])
    dow = np.concatenate([[0.0], b[12 + ny:18 + ny]])
    return float(level), month, dow, alpha


def _moments_alpha(y: np.ndarray) -> float:
    m, v = float(np.mean(y)), float(np.var(y))
    return max((v - m) / (m * m), 0.0) if m > 0 else 0.0


def _week(dow_factor: np.ndarray, slots: np.ndarray, pooled_p: np.ndarray | None) -> tuple[float, ...]:
    out = np.zeros(SLOTS)
    for d in range(7):
        c = slots[d * 24:(d + 1) * 24]
        prior = pooled_p[d * 24:(d + 1) * 24] if pooled_p is not None else np.full(24, 1 / 24)
        p = (c + HOUR_PSEUDO * prior) / (c.sum() + HOUR_PSEUDO)
        out[d * 24:(d + 1) * 24] = dow_factor[d] * 24 * p
    out *= SLOTS / out.sum()
    return tuple(float(x) for x in out)


def fit(rows: Iterable[HourCount], first_year: int, end_year: int, recent_days: int = 0) -> dict[str, KeyParams]:
    """Parameters for every type seen in ``[first_year, end_year)`` and for the pooled type ``*``."""
    first, end = date(first_year, 1, 1), date(end_year, 1, 1)
    days = (end - first).days
    per: dict[str, _Counts] = {}
    pooled = _Counts(first, days)
    for r in rows:
        if first <= r.day < end:
            per.setdefault(r.key, _Counts(first, days)).add(r)
            if r.key not in NAMED:
                pooled.add(r)
    years = list(range(first_year, end_year))
    last_year = np.array([(first + timedelta(d)).year == end_year - 1 for d in range(days)])

    def normalise(v: np.ndarray) -> np.ndarray:
        e = np.exp(v)
        return e / e.mean()

    def shares(c: _Counts, prior: dict[str, float]) -> dict[str, float]:
        n = sum(c.hoods.values())
        names = set(prior) | set(c.hoods)
        return {h: (c.hoods.get(h, 0.0) + HOOD_PSEUDO * prior.get(h, 0.0)) / (n + HOOD_PSEUDO) for h in sorted(names)}

    pooled_fit = _glm(pooled.daily, first, years, recent_days)
    if pooled_fit is None:
        raise ValueError("the pooled model did not converge; check the years and the counts")
    lvl, m, w, alpha = pooled_fit
    pooled_shares = {h: v / sum(pooled.hoods.values()) for h, v in sorted(pooled.hoods.items())}
    pooled_slot_p = np.zeros(SLOTS)
    for d in range(7):
        s = pooled.slots[d * 24:(d + 1) * 24]
        pooled_slot_p[d * 24:(d + 1) * 24] = s / s.sum() if s.sum() else 1 / 24
    pmonth, pdow = normalise(m), normalise(w)
    out = {POOLED: KeyParams(POOLED, daily=float(math.exp(lvl) * np.exp(m).mean() * np.exp(w).mean()),
                             month=tuple(map(float, pmonth)), week=_week(pdow, pooled.slots, None),
                             shares=pooled_shares, alpha=alpha, n=int(pooled.daily.sum()))}
    for key in sorted(per):
        c = per[key]
        n = int(c.daily.sum())
        got = None
        if n >= MIN_GLM:
            active = [y for y in years if c.daily[np.array([(first + timedelta(d)).year == y for d in range(days)])].sum() > 0]
            if active and active[-1] == end_year - 1:
                start = date(active[0], 1, 1)
                got = _glm(c.daily[(start - first).days:], start, active, recent_days)
        if got is not None:
            lvl, m, w, alpha = got
            daily = float(math.exp(lvl) * np.exp(m).mean() * np.exp(w).mean())
            month, dow = normalise(m), normalise(w)
        else:  # pooled shape at the type's own last-year level
            month, dow = pmonth, pdow
            daily = float(c.daily[last_year].sum() / max(last_year.sum(), 1)) or n / days
            alpha = max(out[POOLED].alpha, _moments_alpha(c.daily[last_year]))
        out[key] = KeyParams(key, daily=daily, month=tuple(map(float, month)),
                             week=_week(dow, c.slots, pooled_slot_p), shares=shares(c, pooled_shares),
                             alpha=float(alpha), n=n)
    return out
