"""Expected report counts per type x neighbourhood x time, with prediction intervals.

The model of one type ``k`` (today a Boston category code; a city-neutral type key later) is a
negative-binomial (gamma-Poisson) count process whose hourly rate is a product of factors::

    rate(k, hood, t) = daily[k] * month[k][month(t)] * week[k][hour_of_week(t)] / 24 * share[k][hood]

- ``daily``: mean requests a day at the latest level; ``month`` (12, mean 1) and the day-of-week
  part of ``week`` come from a negative-binomial GLM on daily counts (:mod:`.fit`); ``week`` (168
  slots Monday 00h first, mean 1) splits each weekday over its hours; ``share`` sums to 1;
- ``alpha``: the NB2 overdispersion of daily counts (variance = mu + alpha mu^2). Splitting a
  gamma-Poisson count by a fixed share keeps its gamma shape ``1/alpha``, so the count in any
  window of any neighbourhood is NB with the window's mean and the same ``alpha``.

:class:`Baseline` answers :meth:`Baseline.expect` for a window: the mean and a central interval
(scipy's ``nbinom``). Learning from the archive (:mod:`.learn`) multiplies the rate by a per-type
scale and per-slot adjustments and adds their estimation uncertainty to the interval. Times are
Boston wall-clock (America/New_York), which is what seasonality follows. Everything is frozen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from civic_signal.config.errors import ConfigError

LOCAL = ZoneInfo("America/New_York")
SLOTS = 168
POOLED = "*"
PRIOR_PATH = Path(__file__).resolve().parents[2] / "config" / "data" / "forecast_prior_boston.json"


@dataclass(frozen=True)
class KeyParams:
    """The fitted factors of one type (see the module docstring)."""

    key: str
    daily: float
    month: tuple[float, ...]          # 12, January first, mean 1
    week: tuple[float, ...]           # 168, Monday 00:00-01:00 first, mean 1
    shares: Mapping[str, float]       # neighbourhood -> share, sums to 1
    alpha: float
    n: int = 0                        # records it was learnt from

    def hourly(self, t_local: datetime) -> float:
        """Requests an hour (city-wide) at local time ``t_local``."""
        return self.daily * self.month[t_local.month - 1] * self.week[slot_of(t_local)] / 24.0

    def day_mean(self, day) -> float:
        """Expected requests on local date ``day`` (city-wide)."""
        d = day.weekday() * 24
        return self.daily * self.month[day.month - 1] * sum(self.week[d:d + 24]) / 24.0

    def share(self, hood: str) -> float:
        if hood in self.shares:
            return self.shares[hood]
        return min(self.shares.values()) if self.shares else 1.0 / 26


def slot_of(t_local: datetime) -> int:
    """Hour of the week, 0 = Monday 00:00-01:00 local."""
    return t_local.weekday() * 24 + t_local.hour


@dataclass(frozen=True)
class Expectation:
    """What a window should hold: ``mean`` and the central interval ``[low, high]`` at ``level``."""

    mean: float
    low: int
    high: int
    level: float

    def text(self) -> str:
        """``expected 0-2``, or ``expected 0`` when the interval is one value."""
        return f"expected {self.low}" if self.low == self.high else f"expected {self.low}-{self.high}"


def nb_interval(mean: float, alpha: float, level: float) -> tuple[int, int]:
    """The central ``level`` interval of a negative binomial with ``mean`` and NB2 ``alpha``
    (Poisson when ``alpha`` is 0)."""
    from scipy.stats import nbinom, poisson
    if mean <= 0:
        return 0, 0
    tail = (1.0 - level) / 2.0
    qs = (tail, 1.0 - tail)
    if alpha <= 1e-9:
        lo, hi = poisson.ppf(qs, mean)  # unfrozen: freezing a scipy distribution costs more than the quantiles
    else:
        r = 1.0 / alpha
        lo, hi = nbinom.ppf(qs, r, r / (r + mean))
    return int(lo), int(hi)


def nb_intervals(means, alpha: float, level: float):
    """:func:`nb_interval` for an array of means (numpy arrays ``low, high``)."""
    import numpy as np
    from scipy.stats import nbinom, poisson
    tail = (1.0 - level) / 2.0
    m = np.maximum(np.asarray(means, dtype=float), 1e-12)
    if alpha <= 1e-9:
        return poisson.ppf(tail, m), poisson.ppf(1 - tail, m)
    r = 1.0 / alpha
    return nbinom.ppf(tail, r, r / (r + m)), nbinom.ppf(1 - tail, r, r / (r + m))


def hours_in(start: datetime, end: datetime):
    """``(local hour start, overlap in hours)`` for each local clock hour overlapping ``[start, end)``."""
    t = start.astimezone(timezone.utc)
    end = end.astimezone(timezone.utc)
    while t < end:
        nxt = min(end, (t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)))
        yield t.astimezone(LOCAL), (nxt - t).total_seconds() / 3600.0
        t = nxt


@dataclass(frozen=True)
class Adjustment:
    """What the archive taught about one type: a scale on the prior's level, a factor per
    hour-of-week slot, neighbourhood shares, and the gamma shape of each slot's estimate."""

    scale: float = 1.0
    scale_shape: float = math.inf     # gamma shape of the scale's estimate
    slot: tuple[float, ...] = ()      # 168 factors, empty = all 1
    shape: tuple[float, ...] = ()     # 168 gamma shapes of the slot estimates, empty = exact
    shares: Mapping[str, float] | None = None


@dataclass(frozen=True)
class Baseline:
    """The prior's parameters per type, what the archive taught (``adjust``), and how sure to be."""

    params: Mapping[str, KeyParams]
    adjust: Mapping[str, Adjustment] = field(default_factory=dict)
    default_scale: float = 1.0
    level: float = 0.995
    source: str = "prior"

    def for_key(self, key: str) -> KeyParams:
        """The type's parameters, or the pooled shape at a typical small type's level for a type
        the prior does not know."""
        p = self.params.get(key)
        if p is not None:
            return p
        pooled = self.params[POOLED]
        dailies = sorted(v.daily for k, v in self.params.items() if k != POOLED)
        small = dailies[len(dailies) // 4] if dailies else pooled.daily
        return replace(pooled, key=key, daily=small, n=0)

    def rate(self, key: str, hood: str | None, t_local: datetime) -> tuple[float, float]:
        """Expected reports an hour at ``t_local`` (``hood`` None = city-wide) and the gamma shape
        of that estimate, level and slot combined as ``1/shape = 1/shape_level + 1/shape_slot``
        (``inf`` when the archive has not adjusted it)."""
        p = self.for_key(key)
        adj = self.adjust.get(key)
        scale = adj.scale if adj else self.default_scale
        r = p.hourly(t_local) * scale
        inv = 1.0 / adj.scale_shape if adj and adj.scale_shape > 0 else 0.0
        if adj and adj.slot:
            s = slot_of(t_local)
            r *= adj.slot[s]
            inv += 1.0 / adj.shape[s] if adj.shape and adj.shape[s] > 0 else 0.0
        shape = 1.0 / inv if inv > 0 else math.inf
        if hood is not None:
            shares = adj.shares if adj and adj.shares is not None else p.shares
            r *= shares[hood] if hood in shares else p.share(hood)
        return r, shape

    def mean(self, key: str, hood: str | None, start: datetime, end: datetime) -> float:
        """The expected count alone (``hood`` None = city-wide)."""
        return sum(self.rate(key, hood, t)[0] * frac for t, frac in hours_in(start, end))

    def expect(self, key: str, hood: str | None, start: datetime, end: datetime, factor: float = 1.0) -> Expectation:
        """Mean and interval of the count of type ``key`` in ``hood`` during ``[start, end)``,
        the mean multiplied by ``factor`` (see :func:`surge_factor`).

        The interval is negative binomial with variance ``mu + mu^2 (alpha + 1/shape)``: the
        day-to-day overdispersion plus the uncertainty of what the archive taught (moment-matched,
        ``1/shape`` averaged over the window's hours weighted by their rates).
        """
        mean, weighted_inv_shape = 0.0, 0.0
        for t, frac in hours_in(start, end):
            r, shape = self.rate(key, hood, t)
            mean += r * frac
            weighted_inv_shape += r * frac / shape if shape > 0 else math.inf
        inv_shape = weighted_inv_shape / mean if mean > 0 else 0.0
        mean *= factor
        lo, hi = nb_interval(mean, self.for_key(key).alpha + inv_shape, self.level)
        return Expectation(mean=mean, low=lo, high=hi, level=self.level)


def surge_factor(observed_city: int, observed_here: int, expected_city: float, expected_here: float,
                 pseudo: float = 5.0) -> float:
    """How much busier than expected the rest of the city is for a type (at least 1).

    A storm raises unshovelled sidewalks everywhere at once; a local problem raises one
    neighbourhood. Judging a neighbourhood against the rest of the city's recent surge
    (``(N_city - N_here + pseudo) / (E_city - E_here + pseudo)`` over the same recent hours) makes the
    first expected and keeps the second a spike; ``pseudo`` keeps a handful of reports from moving it.
    """
    rest_n = max(observed_city - observed_here, 0)
    rest_e = max(expected_city - expected_here, 0.0)
    return max(1.0, (rest_n + pseudo) / (rest_e + pseudo))


# -- the prior file ------------------------------------------------------------------------------
def params_to_json(params: Mapping[str, KeyParams], meta: Mapping) -> bytes:
    """Compact, deterministic JSON (rounded factors, sorted keys)."""
    out = {"meta": dict(meta), "types": {}}
    for k in sorted(params):
        p = params[k]
        out["types"][k] = {"daily": round(p.daily, 4), "alpha": round(p.alpha, 4), "n": p.n,
                           "month": [round(x, 3) for x in p.month], "week": [round(x, 3) for x in p.week],
                           "shares": {h: round(s, 4) for h, s in sorted(p.shares.items()) if round(s, 4) > 0}}
    return (json.dumps(out, sort_keys=True, separators=(",", ":")) + "\n").encode()


def load_prior(path: Path | None = None) -> tuple[dict[str, KeyParams], dict]:
    """The shipped prior (or ``path``): ``(params by type, meta)``. Raises :class:`ConfigError`."""
    path = Path(path) if path else PRIOR_PATH
    try:
        data = json.loads(path.read_text())
        params = {k: KeyParams(key=k, daily=float(v["daily"]), month=tuple(map(float, v["month"])),
                               week=tuple(map(float, v["week"])), shares=dict(v["shares"]),
                               alpha=float(v["alpha"]), n=int(v.get("n", 0)))
                  for k, v in data["types"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"cannot read the forecast prior {path}: {exc}",
                          hint="rebuild it with `make forecast-prior` or set forecast.prior_path") from exc
    if POOLED not in params or any(len(p.month) != 12 or len(p.week) != SLOTS for p in params.values()):
        raise ConfigError(f"the forecast prior {path} lacks the pooled type or has malformed factors",
                          hint="rebuild it with `make forecast-prior`")
    return params, data.get("meta", {})
