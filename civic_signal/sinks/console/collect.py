"""Reads what the console shows from the archive (and, inside ``run``, from the live pipeline).

:func:`collect` returns a frozen :class:`Snapshot`; it never raises on a database error (the
snapshot then carries ``error``), so a console survives a database restart. All windows are
over the time the listener classified a post (``classifications.created_at``), in UTC.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from civic_signal.config.taxonomy import service_name
from civic_signal.sinks.alerts import Alert, AlertRules, bucket_counts, recent_alerts
from civic_signal.sinks.archive.models import ClassificationRow, DeadLetterRow, PostRow, TicketRow
from civic_signal.sinks.console.snapshot import (CategoryView, DeliveryView, HitView, NeighbourhoodView, PipelineView,
                                    Snapshot)
from civic_signal.sinks.console.text import as_utc
from civic_signal.sinks.health import ProcessState, SourceState, read_health

log = logging.getLogger("civic_signal.console")

C = ClassificationRow.__table__
T = TicketRow.__table__
P = PostRow.__table__
D = DeadLetterRow.__table__

#: Ticket statuses that mean the problem is still open.
OPEN_TICKET = ("pending", "review", "sending", "sent", "failed")
#: Incident statuses that mean it is over.
CLOSED_INCIDENT = ("closed", "resolved", "merged", "rejected", "cancelled", "expired", "duplicate")


@dataclass(frozen=True)
class LiveState:
    """What a process knows about itself (``run``): its sources, ``PipelineStats`` and queue depth."""

    sources: Sequence[Any] = ()
    stats: Any = None
    depth: Callable[[], int | None] | None = None
    process: str = "run"


@dataclass(frozen=True)
class AlertInputs:
    """The counts and series the alert rules run on (see :mod:`civic_signal.sinks.alerts`)."""

    spike_window: dict[tuple[str, str], int] = field(default_factory=dict)
    spike_recent: dict[tuple[str, str], int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    sources: tuple[SourceState, ...] = ()
    stopped_processes: frozenset[str] = frozenset()
    delivery_failures: int = 0
    delivery_successes: int = 0
    delivery_error: str | None = None
    dead_letter_series: tuple[int, ...] = ()


# -- incidents (another feature's table; used when it exists) --------------------------------------
_incident_cache: dict[str, tuple[float, sa.Table | None]] = {}
_incident_lock = threading.Lock()


def incidents_table(engine: sa.Engine, max_age_s: float = 60.0) -> sa.Table | None:
    """The ``incidents`` table if it exists with ``status`` and a neighbourhood column (cached a minute)."""
    key = str(engine.url)
    with _incident_lock:
        hit = _incident_cache.get(key)
        if hit and time.monotonic() - hit[0] < max_age_s:
            return hit[1]
    table = None
    try:
        if sa.inspect(engine).has_table("incidents"):
            t = sa.Table("incidents", sa.MetaData(), autoload_with=engine)
            if "status" in t.c and ("neighborhood" in t.c or "neighbourhood" in t.c):
                table = t
    except sa.exc.SQLAlchemyError:
        table = None
    with _incident_lock:
        _incident_cache[key] = (time.monotonic(), table)
    return table


def _neighbourhoods(conn: sa.Connection, engine: sa.Engine, since_day: datetime) -> tuple[dict[str, int], str]:
    inc = incidents_table(engine)
    # the incidents table may exist while no process writes incidents yet: then tickets it is
    if inc is not None and conn.execute(sa.select(sa.literal(1)).select_from(inc).limit(1)).first() is not None:
        hood = inc.c.neighborhood if "neighborhood" in inc.c else inc.c.neighbourhood
        rows = conn.execute(sa.select(hood, sa.func.count()).where(hood.is_not(None),
                                                                   sa.func.lower(inc.c.status).not_in(CLOSED_INCIDENT))
                            .group_by(hood)).all()
        return {h: n for h, n in rows}, "incidents"
    # until incidents exist: open tickets, one per incident (or per ticket), placed by their classification
    subject = sa.func.coalesce(T.c.incident_id, T.c.id)
    rows = conn.execute(
        sa.select(C.c.neighborhood, sa.func.count(sa.distinct(subject)))
        .select_from(T.join(C, sa.and_(C.c.post_id == T.c.post_id, C.c.run_id == "live")))
        .where(T.c.status.in_(OPEN_TICKET), C.c.neighborhood.is_not(None))
        .group_by(C.c.neighborhood)).all()
    return {h: n for h, n in rows}, "tickets"


# -- the snapshot ----------------------------------------------------------------------------------------
def _pipeline_from_heartbeats(processes: Sequence[ProcessState], now: datetime, stale_after_s: float
                              ) -> dict[str, Any]:
    alive = [p for p in processes if p.alive(now, stale_after_s)]
    # a stopped process said goodbye: it is not counted; a silent one (crashed, hung) is
    out: dict[str, Any] = dict(processes_up=len(alive), processes_total=sum(1 for p in processes if not p.stopped))
    for k in ("posts_in", "classified", "actionable", "sink_retries"):
        out[k] = sum(int(p.stats.get(k) or 0) for p in alive)
    rates = [p.stats["rate_per_s"] for p in alive if p.stats.get("rate_per_s") is not None]
    out["rate_per_s"] = sum(rates) if rates else None
    depths = [p.stats["queue_depth"] for p in alive if p.stats.get("queue_depth") is not None]
    out["queue_depth"] = sum(depths) if depths else None
    lags = [p.stats["lag"] for p in alive if p.stats.get("lag") is not None]
    out["lag"] = sum(lags) if lags else None
    errs = [p for p in alive if p.stats.get("last_error")]
    out["last_error"] = errs[0].stats["last_error"] if errs else None
    return out


def _pipeline_from_live(live: LiveState) -> dict[str, Any]:
    s = live.stats
    out: dict[str, Any] = dict(processes_up=1, processes_total=1)
    if s is None:
        return out
    with s.lock:
        for k in ("posts_in", "classified", "actionable", "sink_retries"):
            out[k] = int(getattr(s, k, 0))
        out["last_error"] = s.last_error
        started = getattr(s, "started_at", None)
    if isinstance(started, (int, float)):
        out["rate_per_s"] = out["classified"] / max(time.monotonic() - started, 1e-6)
    try:
        out["queue_depth"] = live.depth() if live.depth else None
    except Exception:
        out["queue_depth"] = None
    return out


def _live_hits(stats: Any, n: int, now: datetime) -> list[HitView]:
    with stats.lock:
        latest = [cp for cp in list(stats.latest) if cp.classification.actionable][-n:]
    hits = []
    for cp in reversed(latest):
        c = cp.classification
        loc = c.location
        hits.append(HitView(at=now, category=c.category.code if c.category else None,
                            location=(loc.address or loc.text) if loc else None,
                            neighborhood=loc.neighborhood if loc else None, score=c.confidence,
                            incident=None, ticket_status=None, text=cp.post.text, jurisdiction=c.jurisdiction))
    return hits


def collect(archive: Any | None, *, now: datetime | None = None, live: LiveState | None = None,
            lag: Callable[[], int | None] | None = None, stale_after_s: float = 30.0, hits: int = 12,
            rules: AlertRules = AlertRules(), evaluate_alerts: bool = True) -> Snapshot:
    """One snapshot. ``archive`` may be ``None`` inside ``run`` without a database (live panels only)."""
    now = now or datetime.now(timezone.utc)
    lag_value = None
    if lag is not None:
        try:
            lag_value = lag()
        except Exception as exc:  # lag is a nice-to-have: never break the frame for it
            log.debug("lag probe failed: %s", exc)
    live_sources = tuple(SourceState.from_health(getattr(s, "health", s), live.process, now)
                         for s in live.sources) if live else ()
    pipe = _pipeline_from_live(live) if live else {}
    if archive is None:
        return Snapshot(now=now, sources=live_sources,
                        pipeline=PipelineView(**pipe, lag=lag_value) if live else PipelineView(lag=lag_value),
                        hits=tuple(_live_hits(live.stats, hits, now)) if live and live.stats else ())
    try:
        return _collect(archive, now, live, live_sources, pipe, lag_value, stale_after_s, hits, rules, evaluate_alerts)
    except sa.exc.SQLAlchemyError as exc:
        msg = f"cannot read the archive: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
        log.warning(msg)
        return Snapshot(now=now, sources=live_sources, pipeline=PipelineView(**pipe) if live else PipelineView(),
                        error=msg)


def _collect(archive: Any, now: datetime, live: LiveState | None, live_sources: tuple[SourceState, ...],
             pipe: dict[str, Any], lag_value: int | None, stale_after_s: float, n_hits: int,
             rules: AlertRules, evaluate_alerts: bool) -> Snapshot:
    processes, stored_sources = read_health(archive)
    if live:
        others = [s for s in stored_sources if s.process != live.process]
        sources = live_sources + tuple(s for s in others if any(p.process == s.process and p.alive(now, stale_after_s)
                                                               for p in processes))
    else:
        pipe = _pipeline_from_heartbeats(processes, now, stale_after_s)
        stopped = {p.process for p in processes if p.stopped}
        sources = tuple(s for s in stored_sources if s.process not in stopped) or tuple(stored_sources[:8])
    if lag_value is not None:
        pipe["lag"] = lag_value
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    dl_span = rules.dead_letter_bucket * rules.dead_letter_buckets
    eng = archive.engine
    with eng.connect() as conn:
        recent = conn.execute(sa.select(C.c.category_code, C.c.neighborhood, C.c.created_at)
                              .where(C.c.run_id == "live", C.c.actionable == sa.true(),
                                     C.c.created_at > day_ago, C.c.created_at <= now)).all()
        open_by_hood, basis = _neighbourhoods(conn, eng, day_ago)
        hit_rows = conn.execute(
            sa.select(C.c.created_at, C.c.category_code, C.c.address, C.c.location_text, C.c.neighborhood,
                      C.c.jurisdiction, C.c.actionable_score, C.c.category_score, P.c.text, T.c.status, T.c.incident_id)
            .select_from(C.outerjoin(P, P.c.id == C.c.post_id).outerjoin(T, T.c.post_id == C.c.post_id))
            .where(C.c.run_id == "live", C.c.actionable == sa.true(), C.c.created_at <= now)
            .order_by(C.c.created_at.desc(), C.c.id.desc()).limit(n_hits)).all()
        status_counts = dict(conn.execute(sa.select(T.c.status, sa.func.count()).group_by(T.c.status)).all())
        retrying = conn.execute(sa.select(sa.func.count()).select_from(T).where(
            T.c.status.in_(("pending", "sending")), T.c.attempts > 0, T.c.last_error.is_not(None))).scalar_one()
        last_err = conn.execute(sa.select(T.c.last_error).where(T.c.last_error.is_not(None), T.c.status.in_(
            ("pending", "sending", "failed"))).order_by(T.c.updated_at.desc()).limit(1)).scalar()
        dl_total = conn.execute(sa.select(sa.func.count()).select_from(D)).scalar_one()
        dl_times = conn.execute(sa.select(D.c.created_at).where(D.c.created_at > now - max(dl_span, timedelta(hours=1)),
                                                              D.c.created_at <= now)).scalars().all()
    # categories: last hour, last day, hourly series
    per_code_hour: Counter[str] = Counter()
    per_code_series: dict[str, list[int]] = defaultdict(lambda: [0] * 24)
    per_hood_day: Counter[str] = Counter()
    per_hood_cat: dict[str, Counter[str]] = defaultdict(Counter)
    for code, hood, at in recent:
        at = as_utc(at)
        code = code or "-"
        idx = min(int((now - at) / timedelta(hours=1)), 23)
        per_code_series[code][23 - idx] += 1
        if at > hour_ago:
            per_code_hour[code] += 1
        if hood:
            per_hood_day[hood] += 1
            per_hood_cat[hood][code] += 1
    categories = sorted((CategoryView(code=c, name=service_name(c), hour=per_code_hour[c], day=sum(series),
                                      series=tuple(series)) for c, series in per_code_series.items()),
                        key=lambda v: (-v.hour, -v.day, v.code))
    hoods = set(open_by_hood) | set(per_hood_day)
    neighbourhoods = sorted((NeighbourhoodView(name=h, open=open_by_hood.get(h, 0), day=per_hood_day.get(h, 0),
                                               top=per_hood_cat[h].most_common(1)[0][0] if per_hood_cat[h] else None)
                             for h in hoods), key=lambda v: (-v.open, -v.day, v.name))
    hits = tuple(HitView(at=as_utc(r.created_at), category=r.category_code, location=r.address or r.location_text,
                         neighborhood=r.neighborhood, score=round(r.actionable_score * (r.category_score or 0.0), 4),
                         incident=r.incident_id, ticket_status=r.status, text=r.text or "",
                         jurisdiction=r.jurisdiction) for r in hit_rows)
    if live and live.stats is not None and not hits:
        hits = tuple(_live_hits(live.stats, n_hits, now))
    delivery = DeliveryView(sent=status_counts.get("sent", 0), closed=status_counts.get("closed", 0),
                            pending=status_counts.get("pending", 0), sending=status_counts.get("sending", 0),
                            failed=status_counts.get("failed", 0), review=status_counts.get("review", 0),
                            retrying=retrying, last_error=last_err)
    dl_times = [as_utc(t) for t in dl_times]
    series = tuple(bucket_counts(dl_times, now, rules.dead_letter_bucket, rules.dead_letter_buckets))
    pipeline = PipelineView(**pipe, dead_letters_total=dl_total,
                            dead_letters_hour=sum(1 for t in dl_times if t > hour_ago),
                            dead_letter_series=series, processes=tuple(processes))
    alerts: list[Alert] = []
    if evaluate_alerts:
        from civic_signal.sinks.alerts import AlertMonitor
        alerts = AlertMonitor(archive, rules).evaluate(now)
    seen = {a.key for a in alerts}
    alerts += [a for a in recent_alerts(archive, now) if a.key not in seen]
    return Snapshot(now=now, sources=tuple(sources), pipeline=pipeline, categories=tuple(categories),
                    neighbourhoods=tuple(neighbourhoods), neighbourhood_basis=basis, hits=hits, delivery=delivery,
                    alerts=tuple(alerts), stale_after_s=stale_after_s)


def alert_inputs(archive: Any, now: datetime, rules: AlertRules) -> AlertInputs:
    """Everything the alert rules need, read from the archive in a few grouped queries."""
    win_start = now - rules.spike_window
    dl_span = rules.dead_letter_bucket * rules.dead_letter_buckets
    processes, sources = read_health(archive)
    where = (C.c.run_id == "live", C.c.actionable == sa.true(), C.c.category_code.is_not(None),
             C.c.neighborhood.is_not(None))
    with archive.engine.connect() as conn:
        # by post time, not by classification (arrival) time: a replay or back-fill of old posts
        # lands in the past, where it belongs, instead of looking like a burst now
        def by_post_time(lo: datetime) -> dict[tuple[str, str], int]:
            rows = conn.execute(sa.select(C.c.category_code, C.c.neighborhood, sa.func.count())
                                .join(P, P.c.id == C.c.post_id)
                                .where(*where, P.c.created_at > lo, P.c.created_at <= now)
                                .group_by(C.c.category_code, C.c.neighborhood)).all()
            return {(c, h): n for c, h, n in rows}
        window, recent = by_post_time(win_start), by_post_time(now - rules.surge_window)
        d_start = now - rules.delivery_window
        failures = conn.execute(sa.select(sa.func.count()).select_from(T).where(
            T.c.updated_at > d_start, T.c.updated_at <= now,
            sa.or_(T.c.status == "failed",
                   sa.and_(T.c.status.in_(("pending", "sending")), T.c.last_error.is_not(None))))).scalar_one()
        successes = conn.execute(sa.select(sa.func.count()).select_from(T).where(
            T.c.updated_at > d_start, T.c.updated_at <= now, T.c.status.in_(("sent", "closed")))).scalar_one()
        last_error = conn.execute(sa.select(T.c.last_error).where(T.c.last_error.is_not(None), T.c.updated_at > d_start)
                                  .order_by(T.c.updated_at.desc()).limit(1)).scalar()
        dl_times = conn.execute(sa.select(D.c.created_at).where(D.c.created_at > now - dl_span,
                                                              D.c.created_at <= now)).scalars().all()
    names = {c: service_name(c) for c, _ in window}
    return AlertInputs(spike_window=window, spike_recent=recent, names=names, sources=tuple(sources),
                       stopped_processes=frozenset(p.process for p in processes if p.stopped)
                       | frozenset(p.process for p in processes
                                   if p.updated_at and (now - p.updated_at) > timedelta(hours=1)),
                       delivery_failures=failures, delivery_successes=successes, delivery_error=last_error,
                       dead_letter_series=tuple(bucket_counts([as_utc(t) for t in dl_times], now,
                                                              rules.dead_letter_bucket, rules.dead_letter_buckets)))
