"""Open311 delivery inside one process (``civic-signal run``): worker + scheduled jobs.

:func:`start_delivery` returns None unless ``open311.url`` (``CIVIC_OPEN311__URL``) is set. It
loads the service list, reconciles tickets a crashed run left in ``sending``, and starts the
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
from civic_signal.sinks.open311.delivery import DeliveryWorker

log = logging.getLogger("civic_signal.open311")
DELIVER_JOB = "open311.deliver"


class DeliveryRuntime:
    def __init__(self, settings, archive: Archive, *, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self.archive = archive
        self.scheduler = Scheduler()
        client = Open311Client.from_settings(settings.open311, http=http)
        self.worker = DeliveryWorker.from_settings(archive, settings, client=client,
                                                   schedule_retry=self._schedule_retry,
                                                   on_resume=lambda n: self.scheduler.kick(DELIVER_JOB))
        self.startup_error: str | None = None
        self._stop = threading.Event()

    def _schedule_retry(self, tid: str, when: datetime) -> None:
        if self.scheduler.running:
            self.scheduler.at(f"open311.retry:{tid}", when, self.worker.deliver_one, tid)

    def jobs(self) -> list[Job]:
        s = self.settings.open311
        return [Job(DELIVER_JOB, self.worker.deliver_due, s.deliver_every_s, first_run_now=True),
                Job("open311.status_sync", self.worker.sync_status, s.status_sync_minutes * 60),
                Job("open311.services", self.worker.refresh_services, s.services_refresh_minutes * 60)]

    def start(self) -> "DeliveryRuntime":
        s = self.settings.open311
        try:
            n = self.worker.catalog.refresh()
            log.info("open311: %s offers %d services", s.url, n)
            self.worker.endpoint_up("the service list loaded at start")  # tickets an outage held back go now
        except SinkError as exc:
            self.startup_error = f"cannot load the service list from {s.url}: {exc}"
            log.error("open311: %s", self.startup_error)
        try:
            self.worker.reconcile(stale_after_s=max(60.0, 3 * s.timeout_s))
        except SinkError as exc:  # pragma: no cover - reconcile logs per ticket
            log.warning("open311: reconcile failed: %s", exc)
        self.scheduler.add(self.jobs())
        self.scheduler.start()
        return self

    def on_ticket(self, ticket_ids: list[str]) -> None:
        """New pending tickets: run the outbox sweep now."""
        self.scheduler.kick(DELIVER_JOB)

    def finish(self, wait_s: float | None = None) -> list[str]:
        """Deliver every ticket that is due now (unless the endpoint is down or :meth:`stop` was
        called), then wait at most ``wait_s`` (default ``open311.end_wait_s``) for those due in that
        time; stop the jobs and return summary lines."""
        wait_s = self.settings.open311.end_wait_s if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        while not self._stop.is_set():
            batch = self.worker.deliver_due()
            if batch and not batch[-1].endpoint_down and any(d.outcome != "busy" for d in batch):
                continue  # more may be due now
            nxt = self.worker.next_due_at()
            left = deadline - time.monotonic()
            if nxt is None or left <= 0:
                break
            until = (nxt - datetime.now(timezone.utc)).total_seconds()
            if until > left:
                break
            if until > 0 and self._stop.wait(min(until, left)):
                break
        self.scheduler.shutdown(wait=True)
        return self.summary_lines()

    def stop(self) -> None:
        self._stop.set()

    def summary_lines(self) -> list[str]:
        s = self.settings.open311
        c = self.worker.counts
        where = s.url + (f" (jurisdiction {s.jurisdiction_id})" if s.jurisdiction_id else "")
        lines = [f"open311 {where}: this run {c['sent']} sent, {c['reconciled']} reconciled, "
                 f"{c['retry']} retries scheduled, {c['failed']} dead-lettered"]
        if c["resumed"]:
            lines.append("open311: the endpoint answered again; tickets waiting out a backoff were made due at once")
        T = TicketRow.__table__
        with self.archive.engine.connect() as conn:
            waiting = conn.execute(sa.select(sa.func.count(), sa.func.min(T.c.next_attempt_at)).where(
                T.c.status == "pending", T.c.attempts > 0)).one()
        if waiting[0]:
            lines.append(f"open311: {waiting[0]} ticket(s) waiting for a retry (next at {waiting[1]}); "
                         "the next `civic-signal run` continues them, or send them now: "
                         "`civic-signal tickets --send-now`")
        if self.startup_error:
            lines.append(f"open311 ERROR: {self.startup_error}")
        errors = list(self.worker.errors)
        for err in errors[-3:]:
            lines.append(f"open311 ERROR ({len(errors)} this run, last 3 shown): {err}")
        return lines

    def close(self) -> None:
        self.scheduler.shutdown(wait=False)
        self.worker.client.close()


def start_delivery(settings, archive: Archive, pipeline=None, *, http: httpx.Client | None = None) -> DeliveryRuntime | None:
    """Start delivery when Open311 is configured (else None); hooks the pipeline's incident sink."""
    if not settings.open311.enabled:
        return None
    if not settings.open311.api_key.get_secret_value():
        log.warning("open311: CIVIC_OPEN311__API_KEY is not set; the endpoint will likely refuse requests (403)")
    rt = DeliveryRuntime(settings, archive, http=http).start()
    for sink in getattr(pipeline, "sinks", []):
        if getattr(sink, "name", "") == "incidents":
            sink.on_ticket = rt.on_ticket
    return rt
