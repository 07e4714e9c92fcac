"""Alerts: rules over counts and time series, recorded in the archive, optionally posted to a webhook.

The rules are pure functions (no clock, no database) so they can be tested on synthetic streams:

- :func:`category_spikes`: one category in one neighbourhood above the prediction interval of its
  seasonal baseline (:mod:`civic_signal.sinks.forecast`: month, weekday, hour, learnt from the
  archive over Boston's Open311 history), e.g. seven pothole reports in Jamaica Plain within 30
  minutes when 0-2 are expected. Counts are by post time, so a replay or a back-fill of old posts
  does not fire as if live;
- :func:`stalled_sources`: a source of a live process is disconnected, silent for too long, or its
  process stopped reporting (crashed or hung);
- :func:`delivery_failing`: ticket delivery to 311 fails more than it succeeds;
- :func:`dead_letters_growing`: the newest bucket of dead letters is well above the ones before.

Each alert carries a ``key`` made of the rule, its subject and a time bucket, so evaluating again
and again raises it once per bucket (:meth:`AlertMonitor.check` stores with insert-or-ignore
on the key and posts only what is new). The webhook body is the alert as JSON, signed with
HMAC-SHA256 over ``"<timestamp>.<body>"`` with ``CIVIC_ALERTS__WEBHOOK_SECRET`` in the header
``X-Civic-Signature: t=<timestamp>,v1=<hex>`` (check it with :func:`verify_signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from civic_signal.sinks.console.models import AlertRow
from civic_signal.sinks.console.text import as_utc

log = logging.getLogger("civic_signal.alerts")

SIGNATURE_HEADER = "X-Civic-Signature"


@dataclass(frozen=True)
class Alert:
    """One alert. ``key`` identifies it across evaluations (rule, subject, time bucket)."""

    rule: str
    key: str
    subject: str
    message: str
    raised_at: datetime
    severity: str = "warning"
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        d = asdict(self)
        d["raised_at"] = self.raised_at.isoformat()
        d["data"] = dict(self.data)
        return orjson.dumps(d, default=str, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True)
class AlertRules:
    """Thresholds of every rule (settings section ``alerts``)."""

    spike_window: timedelta = timedelta(minutes=30)
    spike_min_count: int = 5
    surge_window: timedelta = timedelta(hours=6)
    stall_after: timedelta = timedelta(minutes=10)
    stale_after: timedelta = timedelta(seconds=30)
    delivery_window: timedelta = timedelta(minutes=30)
    delivery_min_failures: int = 3
    dead_letter_bucket: timedelta = timedelta(minutes=10)
    dead_letter_buckets: int = 6
    dead_letter_min: int = 10
    dead_letter_factor: float = 3.0

    @classmethod
    def from_settings(cls, alerts: Any, console: Any | None = None) -> "AlertRules":
        stale = getattr(console, "stale_after_s", None) if console is not None else None
        return cls(
            spike_window=timedelta(minutes=alerts.spike_window_minutes),
            spike_min_count=alerts.spike_min_count, surge_window=timedelta(hours=alerts.surge_hours),
            stall_after=timedelta(minutes=alerts.stall_minutes),
            stale_after=timedelta(seconds=stale if stale is not None else 30),
            delivery_window=timedelta(minutes=alerts.delivery_window_minutes),
            delivery_min_failures=alerts.delivery_min_failures,
            dead_letter_bucket=timedelta(minutes=alerts.dead_letter_bucket_minutes),
            dead_letter_buckets=alerts.dead_letter_buckets,
            dead_letter_min=alerts.dead_letter_min, dead_letter_factor=alerts.dead_letter_factor,
        )


def _bucket(now: datetime, size: timedelta) -> str:
    """The start of the ``size``-long bucket that holds ``now`` (UTC, ISO minutes)."""
    secs = max(int(size.total_seconds()), 1)
    start = int(now.timestamp()) // secs * secs
    return datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%dT%H:%M")


# -- spikes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Report:
    """One actionable report: when it was posted (not when it arrived), what, where."""

    at: datetime
    category: str
    neighborhood: str


def count_reports(reports: Iterable[Report], now: datetime, rules: AlertRules = AlertRules(),
                  window: timedelta | None = None) -> dict[tuple[str, str], int]:
    """Per (category, neighbourhood): reports posted in the ``window`` (default the spike window)
    ending ``now``."""
    win_start = now - (rules.spike_window if window is None else window)
    out: dict[tuple[str, str], int] = {}
    for r in reports:
        if win_start < r.at <= now:
            k = (r.category, r.neighborhood)
            out[k] = out.get(k, 0) + 1
    return out


def spike_expectations(window: Iterable[tuple[str, str]], baseline: Any, now: datetime,
                       rules: AlertRules = AlertRules(),
                       recent: Mapping[tuple[str, str], int] | None = None) -> dict[tuple[str, str], Any]:
    """What :meth:`~civic_signal.sinks.forecast.model.Baseline.expect` says each window should hold.

    With ``recent`` (counts over the ``surge_window`` ending ``now``, e.g. ``count_reports(...,
    window=rules.surge_window)``), a type that is busier than expected across the rest of the city
    (a storm, a heat wave) raises the expectation everywhere by that much
    (:func:`~civic_signal.sinks.forecast.model.surge_factor`): a city-wide surge is not a local spike.
    """
    from civic_signal.sinks.forecast.model import surge_factor
    out = {}
    city: dict[str, int] = {}
    for (code, _), n in (recent or {}).items():
        city[code] = city.get(code, 0) + n
    s_start = now - rules.surge_window
    expected_city: dict[str, float] = {}
    for code, hood in window:
        factor = 1.0
        if recent is not None and rules.surge_window > timedelta(0):
            if code not in expected_city:
                expected_city[code] = baseline.mean(code, None, s_start, now)
            factor = surge_factor(city.get(code, 0), recent.get((code, hood), 0), expected_city[code],
                                  baseline.mean(code, hood, s_start, now))
        out[(code, hood)] = baseline.expect(code, hood, now - rules.spike_window, now, factor)
    return out


def category_spikes(window: Mapping[tuple[str, str], int], expected: Mapping[tuple[str, str], Any],
                    now: datetime, rules: AlertRules = AlertRules(),
                    names: Mapping[str, str] | None = None) -> list[Alert]:
    """A spike: at least ``spike_min_count`` reports in the window and more than the top of the
    expected interval (an :class:`~civic_signal.sinks.forecast.model.Expectation` per key: the
    seasonal baseline for that category, neighbourhood, hour and month). A key without an
    expectation is judged against ``spike_min_count`` alone."""
    out = []
    for (code, hood), n in sorted(window.items(), key=lambda kv: (-kv[1], kv[0])):
        e = expected.get((code, hood))
        high = e.high if e is not None else 0
        if n >= rules.spike_min_count and n > high:
            name = (names or {}).get(code, code)
            minutes = int(rules.spike_window.total_seconds() // 60)
            rng = e.text() if e is not None else "no baseline"
            out.append(Alert(
                rule="category_spike", key=f"category_spike:{code}:{hood}:{_bucket(now, rules.spike_window)}",
                subject=f"{code} in {hood}", severity="warning", raised_at=now,
                message=f"spike: {n} {code} in {hood} within {minutes} min ({rng}; {name})",
                data={"category": code, "neighborhood": hood, "count": n, "window_minutes": minutes,
                      "expected": round(e.mean, 3) if e is not None else None,
                      "expected_low": e.low if e is not None else None,
                      "expected_high": e.high if e is not None else None,
                      "interval": e.level if e is not None else None}))
    return out


# -- sources -----------------------------------------------------------------------------------
def stalled_sources(sources: Sequence[Any], now: datetime, rules: AlertRules = AlertRules(),
                    stopped_processes: Iterable[str] = ()) -> list[Alert]:
    """Sources (``SourceState``) of running processes that are disconnected with an error (or after
    reconnects), silent past ``stall_after``, or whose heartbeat is older than ``stale_after``."""
    stopped = set(stopped_processes)
    out = []
    for s in sources:
        if s.process in stopped:
            continue
        who = f"{s.name}" + (f" ({s.process})" if s.process else "")
        why = None
        if s.updated_at is not None and now - s.updated_at > rules.stale_after:
            why = f"no heartbeat for {int((now - s.updated_at).total_seconds())} s"
        elif not s.connected and (s.last_error or s.reconnects):
            # a disconnect with a reason; a source that has not connected yet, or a bounded
            # one (a replay) that reached its end, is not stalled
            why = "disconnected" + (f": {s.last_error[:120]}" if s.last_error else f" after {s.reconnects} reconnects")
        elif s.last_message_at is not None and now - s.last_message_at > rules.stall_after:
            why = f"no posts for {int((now - s.last_message_at).total_seconds() // 60)} min"
        if why:
            out.append(Alert(rule="source_stalled", key=f"source_stalled:{s.process}/{s.name}:{_bucket(now, timedelta(hours=1))}",
                             subject=who, severity="critical", raised_at=now, message=f"source {who} stalled: {why}",
                             data={"source": s.name, "process": s.process, "reason": why}))
    return out


# -- 311 delivery ------------------------------------------------------------------------------
def delivery_failing(failures: int, successes: int, now: datetime, rules: AlertRules = AlertRules(),
                     last_error: str | None = None) -> list[Alert]:
    """Delivery is failing: at least ``delivery_min_failures`` failed attempts in the window and
    no more successes than failures."""
    if failures >= rules.delivery_min_failures and failures >= successes:
        minutes = int(rules.delivery_window.total_seconds() // 60)
        msg = f"311 delivery failing: {failures} failed, {successes} sent in {minutes} min"
        if last_error:
            msg += f"; last error: {last_error[:160]}"
        return [Alert(rule="delivery_failing", key=f"delivery_failing:{_bucket(now, rules.delivery_window)}",
                      subject="open311", severity="critical", raised_at=now, message=msg,
                      data={"failures": failures, "successes": successes, "window_minutes": minutes})]
    return []


# -- dead letters ------------------------------------------------------------------------------
def bucket_counts(times: Iterable[datetime], now: datetime, size: timedelta, n: int) -> list[int]:
    """How many ``times`` fall in each of the ``n`` buckets of ``size`` ending at ``now`` (oldest first)."""
    counts = [0] * n
    for t in times:
        age = now - t
        if age < timedelta(0):
            continue
        i = int(age / size)
        if i < n:
            counts[n - 1 - i] += 1
    return counts


def dead_letters_growing(series: Sequence[int], now: datetime, rules: AlertRules = AlertRules()) -> list[Alert]:
    """The newest bucket holds at least ``dead_letter_min`` dead letters and ``dead_letter_factor``
    times the average of the buckets before it."""
    if not series:
        return []
    last, before = series[-1], list(series[:-1])
    mean = sum(before) / len(before) if before else 0.0
    if last >= rules.dead_letter_min and last >= rules.dead_letter_factor * mean:
        minutes = int(rules.dead_letter_bucket.total_seconds() // 60)
        return [Alert(rule="dead_letters_growing", key=f"dead_letters_growing:{_bucket(now, rules.dead_letter_bucket)}",
                      subject="dead letters", severity="warning", raised_at=now,
                      message=f"dead letters growing: {last} in the last {minutes} min (average before {mean:.1f})",
                      data={"last": last, "mean_before": round(mean, 2), "series": list(series)})]
    return []


# -- webhook -----------------------------------------------------------------------------------
def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, body: bytes, header: str, *, now: float | None = None,
                     tolerance_s: float = 300) -> bool:
    """What a receiver does: the header matches ``body`` and is no older than ``tolerance_s``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, ts), f"t={ts},v1={parts.get('v1', '')}")


class Webhook:
    """POSTs each alert as JSON to ``url`` (httpx, explicit timeout), signed when a secret is set."""

    def __init__(self, url: str, secret: str = "", *, timeout_s: float = 5.0, client: Any | None = None) -> None:
        import httpx
        self.url, self._secret = url, secret
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout_s))
        if not secret:
            log.warning("alerts.webhook_url is set but CIVIC_ALERTS__WEBHOOK_SECRET is not: alerts go unsigned")

    def post(self, alert: Alert) -> str:
        """Send one alert; returns ``"ok 200"`` or ``"error: ..."`` (never raises)."""
        import httpx
        body = alert.to_json()
        headers = {"Content-Type": "application/json", "User-Agent": "civic-signal-alerts"}
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(self._secret, body, int(time.time()))
        try:
            resp = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("alert webhook failed: %s", exc.__class__.__name__)
            return f"error: {exc.__class__.__name__}"[:200]
        if resp.is_success:
            return f"ok {resp.status_code}"
        log.warning("alert webhook answered %s", resp.status_code)
        return f"error: HTTP {resp.status_code}"

    def close(self) -> None:
        self.client.close()


# -- the archive side ----------------------------------------------------------------------------
def record(archive: Any, alerts: Sequence[Alert]) -> list[Alert]:
    """Store alerts (insert-or-ignore on ``key``); returns those that were new."""
    table = AlertRow.__table__
    ins = postgresql.insert(table) if archive.engine.dialect.name == "postgresql" else sqlite.insert(table)
    new = []
    with archive.engine.begin() as conn:
        for a in alerts:
            # RETURNING says whether the row was inserted: psycopg reports no rowcount (-1) for an
            # INSERT ... ON CONFLICT DO NOTHING, so on PostgreSQL no alert was ever "new"
            res = conn.execute(ins.on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id),
                               dict(key=a.key[:300], rule=a.rule, severity=a.severity, subject=a.subject[:300],
                                    message=a.message, data=orjson.dumps(dict(a.data), default=str).decode(),
                                    raised_at=a.raised_at))
            if res.first() is not None:
                new.append(a)
    return new


def mark_webhook(archive: Any, key: str, status: str) -> None:
    with archive.engine.begin() as conn:
        conn.execute(sa.update(AlertRow.__table__).where(AlertRow.__table__.c.key == key)
                     .values(webhook_status=status[:200]))


def recent_alerts(archive: Any, now: datetime, since: timedelta = timedelta(hours=24), limit: int = 20) -> list[Alert]:
    """Alerts recorded since ``now - since``, newest first."""
    t = AlertRow.__table__
    with archive.engine.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.raised_at >= now - since)
                            .order_by(t.c.raised_at.desc(), t.c.id.desc()).limit(limit)).all()
    return [Alert(rule=r.rule, key=r.key, subject=r.subject, message=r.message, severity=r.severity,
                  raised_at=as_utc(r.raised_at), data=orjson.loads(r.data or "{}")) for r in rows]


class AlertMonitor:
    """Evaluates every rule over the archive, records new alerts and posts them to the webhook."""

    def __init__(self, archive: Any, rules: AlertRules = AlertRules(), webhook: Webhook | None = None,
                 baseline: Any | None = None) -> None:
        """``baseline``: anything with ``baseline(now) -> Baseline``; default the shipped prior
        learnt from ``archive`` (:class:`~civic_signal.sinks.forecast.learn.ArchiveBaseline`)."""
        if baseline is None:
            from civic_signal.sinks.forecast.learn import ArchiveBaseline
            baseline = ArchiveBaseline(archive)
        self.archive, self.rules, self.webhook, self.baseline = archive, rules, webhook, baseline

    @classmethod
    def from_settings(cls, archive: Any, settings: Any) -> "AlertMonitor":
        a = settings.alerts
        hook = None
        if a.webhook_url:
            hook = Webhook(a.webhook_url, a.webhook_secret.get_secret_value(), timeout_s=a.webhook_timeout_s)
        from civic_signal.sinks.forecast.learn import ArchiveBaseline
        return cls(archive, AlertRules.from_settings(a, settings.console), hook,
                   ArchiveBaseline.from_settings(archive, settings))

    def evaluate(self, now: datetime) -> list[Alert]:
        """Every alert the rules raise right now (nothing is written)."""
        from civic_signal.sinks.console.collect import alert_inputs  # the queries live with the console's others
        inp = alert_inputs(self.archive, now, self.rules)
        expected = spike_expectations(inp.spike_window, self.baseline.baseline(now), now, self.rules, inp.spike_recent)
        return (category_spikes(inp.spike_window, expected, now, self.rules, inp.names)
                + stalled_sources(inp.sources, now, self.rules, inp.stopped_processes)
                + delivery_failing(inp.delivery_failures, inp.delivery_successes, now, self.rules, inp.delivery_error)
                + dead_letters_growing(inp.dead_letter_series, now, self.rules))

    def check(self, now: datetime | None = None) -> list[Alert]:
        """Evaluate, record, and post what is new; returns the new alerts. Never raises on webhook errors."""
        now = now or datetime.now(timezone.utc)
        new = record(self.archive, self.evaluate(now))
        if self.webhook is not None:
            for a in new:
                mark_webhook(self.archive, a.key, self.webhook.post(a))
        return new

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()
