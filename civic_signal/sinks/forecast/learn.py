"""What the archive teaches the prior: a level per type, an hour-of-week shape, neighbourhood shares.

Empirical Bayes on the :mod:`.model` factors, each a gamma-Poisson update in which the prior
weighs as much as a fixed stretch of archive (:class:`LearnSettings`):

- **level**: the archive's reports of type ``k`` (``N``) against what the prior expects over the
  same span at Open311 scale (``E``): ``scale = (a + N) / (a / s0 + E)``, the posterior mean of a
  gamma prior with mean ``s0`` (``prior_scale``, the assumed posts per Open311 request before any
  data) that weighs as much as ``a = prior_reports`` reports. Its gamma shape ``a + N`` widens the
  interval while the archive is young, so a first day of data does not alert on ordinary volume;
- **hour of week**: per slot, ``g = (P + N_slot) / (P + E_slot)`` with ``P`` the scaled prior over
  ``prior_weeks`` weeks, renormalised so that the slots only redistribute the level; its gamma
  shape ``P + N_slot`` widens the interval where the archive is thin;
- **neighbourhoods**: ``(c share_prior + N_hood) / (c + N)`` with ``c = hood_pseudo``.

Counts are by **post time** (when the resident wrote), never by arrival: a back-fill or a replay
lands in the hours it describes. :func:`learn` is pure (synthetic streams in tests);
:class:`ArchiveBaseline` reads the archive and refits at most every ``refit_minutes``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from civic_signal.sinks.forecast.model import LOCAL, POOLED, SLOTS, Adjustment, Baseline, KeyParams, load_prior


@dataclass(frozen=True)
class LearnSettings:
    """How much the prior weighs (settings section ``forecast``)."""

    prior_scale: float = 1.0
    prior_reports: float = 5.0
    prior_weeks: float = 2.0
    hood_pseudo: float = 20.0
    level: float = 0.995
    learn_days: float = 365.0
    refit_minutes: float = 60.0

    @classmethod
    def from_settings(cls, f: Any) -> "LearnSettings":
        return cls(prior_scale=f.prior_scale, prior_reports=f.prior_reports, prior_weeks=f.prior_weeks,
                   hood_pseudo=f.hood_pseudo, level=f.interval, learn_days=f.learn_days,
                   refit_minutes=f.refit_minutes)


def _hours(start: datetime, end: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Month index (0-11) and hour-of-week slot of every whole UTC hour in ``[start, end)``."""
    t = start.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    months, slots = [], []
    while t < end:
        lt = t.astimezone(LOCAL)
        months.append(lt.month - 1)
        slots.append(lt.weekday() * 24 + lt.hour)
        t += timedelta(hours=1)
    return np.asarray(months, dtype=int), np.asarray(slots, dtype=int)


def learn(params: Mapping[str, KeyParams], reports: Iterable[tuple[str, str | None, datetime]],
          start: datetime, end: datetime, cfg: LearnSettings = LearnSettings()) -> Baseline:
    """The baseline after seeing ``reports`` (type, neighbourhood or None, post time) posted in
    ``[start, end)``, the span the archive has been listening. Reports outside it are ignored."""
    n_key: Counter = Counter()
    n_slot: Counter = Counter()
    n_hood: Counter = Counter()
    for key, hood, at in reports:
        if not (start <= at < end):
            continue
        lt = at.astimezone(LOCAL)
        n_key[key] += 1
        n_slot[(key, lt.weekday() * 24 + lt.hour)] += 1
        if hood:
            n_hood[(key, hood)] += 1
    base = Baseline(params=params, default_scale=cfg.prior_scale, level=cfg.level, source="prior")
    months, slots = _hours(start, end)
    if len(slots) == 0:
        return base
    adjust: dict[str, Adjustment] = {}
    for key in sorted(set(params) - {POOLED} | set(n_key)):
        p = base.for_key(key)
        week = np.asarray(p.week)
        month = np.asarray(p.month)
        per_hour = p.daily * month[months] * week[slots] / 24.0         # prior, Open311 scale
        expected = float(per_hour.sum())
        e_slot = np.bincount(slots, weights=per_hour, minlength=SLOTS)
        n = n_key.get(key, 0)
        a = cfg.prior_reports
        scale = (a + n) / (a / cfg.prior_scale + expected)
        pseudo = scale * cfg.prior_weeks * p.daily * week / 24.0        # the prior as prior_weeks of data
        obs = np.array([n_slot.get((key, s), 0) for s in range(SLOTS)], dtype=float)
        g = (pseudo + obs) / np.maximum(pseudo + scale * e_slot, 1e-12)
        if e_slot.sum() > 0:
            g *= e_slot.sum() / max(float((g * e_slot).sum()), 1e-12)   # slots redistribute, the level is ``scale``
        hood_n = {h: c for (k, h), c in n_hood.items() if k == key}
        total_h = sum(hood_n.values())
        names = set(p.shares) | set(hood_n)
        shares = {h: (cfg.hood_pseudo * p.shares.get(h, 0.0) + hood_n.get(h, 0)) / (cfg.hood_pseudo + total_h)
                  for h in sorted(names)}
        adjust[key] = Adjustment(scale=float(scale), scale_shape=float(a + n), slot=tuple(map(float, g)),
                                 shape=tuple(map(float, pseudo + obs)), shares=shares)
    return Baseline(params=params, adjust=adjust, default_scale=cfg.prior_scale, level=cfg.level,
                    source=f"prior + archive {start:%Y-%m-%d}..{end:%Y-%m-%d}")


def archive_reports(archive: Any, start: datetime, end: datetime) -> list[tuple[str, str | None, datetime]]:
    """Live actionable classifications with a category, by post time in ``[start, end)``."""
    import sqlalchemy as sa

    from civic_signal.sinks.archive.models import ClassificationRow, PostRow
    C, P = ClassificationRow.__table__, PostRow.__table__
    q = (sa.select(C.c.category_code, C.c.neighborhood, P.c.created_at).join(P, P.c.id == C.c.post_id)
         .where(C.c.run_id == "live", C.c.actionable == sa.true(), C.c.category_code.is_not(None),
                P.c.created_at >= start, P.c.created_at < end))
    with archive.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [(c, h, at if at.tzinfo else at.replace(tzinfo=timezone.utc)) for c, h, at in rows]


def first_post_time(archive: Any) -> datetime | None:
    """When the archive started listening: the oldest post of a live classification."""
    import sqlalchemy as sa

    from civic_signal.sinks.archive.models import ClassificationRow, PostRow
    C, P = ClassificationRow.__table__, PostRow.__table__
    with archive.engine.connect() as conn:
        t = conn.execute(sa.select(sa.func.min(P.c.created_at)).join(C, C.c.post_id == P.c.id)
                         .where(C.c.run_id == "live")).scalar()
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=timezone.utc))


class ArchiveBaseline:
    """The prior learnt from the archive, refitted at most every ``refit_minutes`` (thread-safe)."""

    def __init__(self, archive: Any, cfg: LearnSettings = LearnSettings(),
                 params: Mapping[str, KeyParams] | None = None) -> None:
        self.archive, self.cfg = archive, cfg
        self.params = params if params is not None else load_prior()[0]
        self._lock = threading.Lock()
        self._cached: tuple[datetime, Baseline] | None = None

    @classmethod
    def from_settings(cls, archive: Any, settings: Any) -> "ArchiveBaseline":
        f = settings.forecast
        return cls(archive, LearnSettings.from_settings(f), load_prior(f.prior_path or None)[0])

    def baseline(self, now: datetime) -> Baseline:
        """The baseline as of ``now``: learnt from reports posted before the whole hour that ends
        at least an hour before ``now`` (the last hour is what the alerts judge, not what they learn)."""
        with self._lock:
            if self._cached and timedelta(0) <= now - self._cached[0] < timedelta(minutes=self.cfg.refit_minutes):
                return self._cached[1]
            end = (now - timedelta(hours=1)).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
            first = first_post_time(self.archive)
            start = max(first or end, end - timedelta(days=self.cfg.learn_days))
            start = start.replace(minute=0, second=0, microsecond=0)
            b = learn(self.params, archive_reports(self.archive, start, end) if start < end else [], start, end, self.cfg)
            self._cached = (now, b)
            return b
