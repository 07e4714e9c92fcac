"""Open311 delivery inside one process (``civic-signal run``): worker + scheduled jobs.

:func:`start_delivery` returns None unless some jurisdiction has an endpoint (``CIVIC_OPEN311__URL`` for the
default city, ``CIVIC_JURISDICTIONS__<ID>__OPEN311__URL`` for any; docs/jurisdictions.md). One outbox, one
worker per city with an endpoint: each sees only its city's tickets and talks only to its city's server.
Tickets of a city without an endpoint stay pending. For each city it loads the service list, reconciles tickets a crashed run left in ``sending``, and starts the
jobs: the outbox sweep (every ``open311.deliver_every_s``), status sync and service-list
refresh, plus one job per scheduled retry. New pending tickets kick the sweep at once. When
the service list loads (at start or later) or a ticket is delivered after the endpoint was down,
tickets waiting out an old backoff are made due and the sweep runs at once.
:meth:`DeliveryRuntime.finish` delivers every ticket that is due (unless the endpoint is down),
waits at most ``open311.end_wait_s`` for deliveries that become due in that time, stops the jobs
and returns lines for the run summary. Errors are logged (stderr)
as they happen and repeated in the summary; the api key never appears in either.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

import httpx
import sqlalchemy as sa

from civic_signal.config.errors import SinkError
from civic_signal.core.scheduler import Job, Scheduler
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import TicketRow
from civic_signal.sinks.open311.client import Open311Client
from civic_signal.sinks.open311.delivery import DeliveryWorker, configured_jurisdictions

log = logging.getLogger("civic_signal.open311")
DELIVER_JOB = "open311.deliver"


class _CityDelivery:
    """One jurisdiction's worker, its endpoint settings and its start-up error."""

    def __init__(self, jid: str, settings, archive: Archive, http, schedule_retry, on_resume) -> None:
        from civic_signal.config.jurisdictions import endpoint
        self.id = jid
        self.endpoint = endpoint(settings, jid)
        client = Open311Client.from_settings(self.endpoint, http=http)
        self.worker = DeliveryWorker.from_settings(archive, settings, client=client, jurisdiction=jid,
                                                   schedule_retry=schedule_retry, on_resume=on_resume)
        self.startup_error: str | None = None


class DeliveryRuntime:
    def __init__(self, settings, archive: Archive, *, http: httpx.Client | None = None,
                 jurisdictions: list[str] | None = None) -> None:
        self.settings = settings
        self.archive = archive
        self.scheduler = Scheduler()
        jids = jurisdictions if jurisdictions is not None else configured_jurisdictions(settings)
        self.cities = [_CityDelivery(j, settings, archive, http, self._retry_for(j),
                                     lambda n, j=j: self.scheduler.kick(_job(DELIVER_JOB, j))) for j in jids]
        self.worker = self.cities[0].worker if self.cities else None   # the first city's (one-city setups)
        self._stop = threading.Event()

    @property
    def startup_error(self) -> str | None:
        errs = [c.startup_error for c in self.cities if c.startup_error]
        return "; ".join(errs) if errs else None

    def _retry_for(self, jid: str):
        def schedule(tid: str, when: datetime) -> None:
            if self.scheduler.running:
                city = next(c for c in self.cities if c.id == jid)
                self.scheduler.at(f"open311.retry:{tid}", when, city.worker.deliver_one, tid)
        return schedule

    def jobs(self) -> list[Job]:
        s = self.settings.open311
        out = []
        for c in self.cities:
            out += [Job(_job(DELIVER_JOB, c.id), c.worker.deliver_due, s.deliver_every_s, first_run_now=True),
                    Job(_job("open311.status_sync", c.id), c.worker.sync_status, s.status_sync_minutes * 60),
                    Job(_job("open311.services", c.id), c.worker.refresh_services, s.services_refresh_minutes * 60)]
        return out

    def start(self) -> "DeliveryRuntime":
        s = self.settings.open311
        for c in self.cities:
            try:
                n = c.worker.catalog.refresh()
                log.info("open311 (%s): %s offers %d services", c.id, c.endpoint.url, n)
                c.worker.endpoint_up("the service list loaded at start")  # tickets an outage held back go now
            except SinkError as exc:
                c.startup_error = f"cannot load the service list from {c.endpoint.url}: {exc}"
                log.error("open311 (%s): %s", c.id, c.startup_error)
            try:
                c.worker.reconcile(stale_after_s=max(60.0, 3 * s.timeout_s))
            except SinkError as exc:  # pragma: no cover - reconcile logs per ticket
                log.warning("open311 (%s): reconcile failed: %s", c.id, exc)
        self.scheduler.add(self.jobs())
        self.scheduler.start()
        return self

    def on_ticket(self, ticket_ids: list[str]) -> None:
        """New pending tickets: run every city's outbox sweep now."""
        for c in self.cities:
            self.scheduler.kick(_job(DELIVER_JOB, c.id))

    def finish(self, wait_s: float | None = None) -> list[str]:
        """Deliver every ticket that is due now (unless its endpoint is down or :meth:`stop` was
        called), then wait at most ``wait_s`` (default ``open311.end_wait_s``) for those due in that
        time; stop the jobs and return summary lines."""
        wait_s = self.settings.open311.end_wait_s if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        active = list(self.cities)
        while not self._stop.is_set() and active:
            more, nxts = [], []
            for c in active:
                batch = c.worker.deliver_due()
                if batch and not batch[-1].endpoint_down and any(d.outcome != "busy" for d in batch):
                    more.append(c)  # more may be due now
                    continue
                nxt = c.worker.next_due_at()
                if nxt is not None:
                    nxts.append((nxt, c))
            if more:
                active = more + [c for _, c in nxts]
                continue
            left = deadline - time.monotonic()
            if not nxts or left <= 0:
                break
            nxt = min(n for n, _ in nxts)
            until = (nxt - datetime.now(timezone.utc)).total_seconds()
            if until > left:
                break
            active = [c for _, c in nxts]
            if until > 0 and self._stop.wait(min(until, left)):
                break
        self.scheduler.shutdown(wait=True)
        return self.summary_lines()

    def stop(self) -> None:
        self._stop.set()

    def summary_lines(self) -> list[str]:
        lines = []
        T = TicketRow.__table__
        for city in self.cities:
            s, c = city.endpoint, city.worker.counts
            where = s.url + (f" (jurisdiction {s.jurisdiction_id})" if s.jurisdiction_id else "")
            label = f"open311 [{city.id}] " if len(self.cities) > 1 or city.id != self.settings.routing.default else "open311 "
            lines.append(f"{label}{where}: this run {c['sent']} sent, {c['reconciled']} reconciled, "
                         f"{c['retry']} retries scheduled, {c['failed']} dead-lettered")
            if c["resumed"]:
                lines.append(f"{label.strip()}: the endpoint answered again; tickets waiting out a backoff were made due at once")
            with self.archive.engine.connect() as conn:
                waiting = conn.execute(sa.select(sa.func.count(), sa.func.min(T.c.next_attempt_at)).where(
                    T.c.status == "pending", T.c.attempts > 0, T.c.jurisdiction == city.id)).one()
            if waiting[0]:
                lines.append(f"{label.strip()}: {waiting[0]} ticket(s) waiting for a retry (next at {waiting[1]}); "
                             "the next `civic-signal run` continues them, or send them now: "
                             "`civic-signal tickets --send-now`")
            if city.startup_error:
                lines.append(f"open311 ERROR: {city.startup_error}")
            errors = list(city.worker.errors)
            for err in errors[-3:]:
                lines.append(f"open311 ERROR ({len(errors)} this run, last 3 shown): {err}")
        with self.archive.engine.connect() as conn:
            held = conn.execute(sa.select(T.c.jurisdiction, sa.func.count()).where(
                T.c.status == "pending", T.c.jurisdiction.not_in([c.id for c in self.cities]))
                .group_by(T.c.jurisdiction).order_by(T.c.jurisdiction)).all()
        for jid, n in held:
            lines.append(f"open311 [{jid}]: no endpoint configured; {n} ticket(s) kept pending "
                         f"(set CIVIC_JURISDICTIONS__{jid.upper()}__OPEN311__URL)")
        return lines

    def close(self) -> None:
        self.scheduler.shutdown(wait=False)
        for c in self.cities:
            c.worker.client.close()


def _job(name: str, jid: str) -> str:
    return f"{name}:{jid}"


def start_delivery(settings, archive: Archive, pipeline=None, *, http: httpx.Client | None = None) -> DeliveryRuntime | None:
    """Start delivery when some jurisdiction has an Open311 endpoint (else None); hooks the pipeline's
    incident sink."""
    jids = configured_jurisdictions(settings)
    if not jids:
        return None
    from civic_signal.config.jurisdictions import endpoint
    for j in jids:
        if not endpoint(settings, j).api_key.get_secret_value():
            env = ("CIVIC_OPEN311__API_KEY" if j == settings.routing.default and not (
                settings.jurisdictions.get(j) and settings.jurisdictions[j].open311.url)
                else f"CIVIC_JURISDICTIONS__{j.upper()}__OPEN311__API_KEY")
            log.warning("open311 (%s): %s is not set; the endpoint will likely refuse requests (403)", j, env)
    rt = DeliveryRuntime(settings, archive, http=http, jurisdictions=jids).start()
    for sink in getattr(pipeline, "sinks", []):
        if getattr(sink, "name", "") == "incidents":
            sink.on_ticket = rt.on_ticket
    return rt


def run_deliver(settings, stop: threading.Event, *, archive: Archive | None = None, http: httpx.Client | None = None,
                jurisdictions: list[str] | None = None, ready: threading.Event | None = None) -> list[str]:
    """``civic-signal work deliver``: deliver the outbox's tickets to their cities' Open311 endpoints until ``stop``.

    The outbox is the archive's ``tickets`` table, filled by ``work sink`` (or any ``run``/``listen``); this role
    is the delivery of :func:`start_delivery` on its own: for each city with an endpoint (``jurisdictions``, if
    given, limits them) one worker, its outbox sweep (``open311.deliver_every_s``), retries, status sync and
    service-list refresh on the scheduler, and the reconcile of tickets a crashed process left in ``sending``.
    On stop it lets a delivery in progress finish (its ticket's state is written), stops the jobs and returns
    the summary lines. Raises :class:`~civic_signal.config.errors.ConfigError` when no city has an endpoint.
    """
    from civic_signal.config.errors import ConfigError
    archive = archive or Archive.from_settings(settings)
    configured = configured_jurisdictions(settings)
    jids = [j for j in configured if jurisdictions is None or j in jurisdictions]
    if not jids:
        unknown = sorted(set(jurisdictions or ()) - set(configured))
        raise ConfigError("`work deliver` has no Open311 endpoint to deliver to"
                          + (f" (no endpoint for {', '.join(unknown)})" if unknown else ""),
                          hint="set CIVIC_JURISDICTIONS__<ID>__OPEN311__URL (or CIVIC_OPEN311__URL for the default city)")
    for j in jids:
        if not _endpoint_key(settings, j):
            log.warning("open311 (%s): no api key set; the endpoint will likely refuse requests (403)", j)
    rt = DeliveryRuntime(settings, archive, http=http, jurisdictions=jids).start()
    try:
        if ready is not None:
            ready.set()
        while not stop.wait(1.0):
            pass
    finally:
        rt.scheduler.shutdown(wait=True)   # a delivery in progress finishes; no new one starts
        lines = rt.summary_lines()
        rt.close()
    return lines


def _endpoint_key(settings, jid: str) -> str:
    from civic_signal.config.jurisdictions import endpoint
    return endpoint(settings, jid).api_key.get_secret_value()
