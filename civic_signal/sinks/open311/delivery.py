"""Delivery of queued tickets to Open311: a transactional outbox worker.

A ticket row moves ``pending -> sending -> sent`` (``-> closed`` by status sync), or
``-> failed`` with a dead letter. What a caller may rely on:

- **At most one 311 request per ticket**, across crashes and several workers. A worker claims a
  ticket by one conditional ``UPDATE`` (``pending`` and due -> ``sending``, ``attempts + 1``) that
  commits *before* the POST; the idempotency key (the ticket id) travels in the description as
  :func:`civic_signal.sinks.incidents.ref_marker`. A ticket left in ``sending`` by a crash is reconciled
  (:meth:`DeliveryWorker.reconcile`): the worker looks for its marker in ``GET requests.json``
  and records the request it finds, or puts the ticket back to ``pending`` when the endpoint has
  none. A retry after an ambiguous failure (timeout, 5xx) looks for the marker first too.
- **Retries** of retryable errors (5xx, timeouts, connection errors) wait
  ``min(retry_max_s, retry_base_s * 2**(attempt-1))``, with equal jitter (half fixed, half
  random), and are scheduled as APScheduler jobs through ``schedule_retry``; a periodic sweep
  (:meth:`deliver_due`) also picks up whatever is due, e.g. after a restart.
- **After an outage**: the first sign that the endpoint works again (a delivery, the service
  list loading) makes every ticket waiting out a backoff due now (:meth:`DeliveryWorker.endpoint_up`);
  :meth:`DeliveryWorker.send_now` does the same on an operator's word and delivers them all.
- **A stale or partial service list never fails a ticket by itself**: a code missing from it
  reloads the list once, then the ticket is POSTed anyway and the endpoint's answer decides.
- **Dead letters**: a permanent error (4xx), or the ``max_attempts``-th retryable one, marks the
  ticket ``failed`` and writes a dead letter listing every attempt's error, in one transaction.
- **An outage does not use up attempts**: a failure that says the endpoint as a whole is down
  (refused, timed out, 502/503/504, a maintenance page) is recorded and retried with the same capped
  backoff, but does not count toward ``max_attempts``: a ticket outlives an outage of any length up to
  ``outage_max_s`` after it was queued (a week by default), then it is dead-lettered saying so.
- Every attempt, success, reconciliation and status change is a row in ``ticket_events``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

import orjson
import sqlalchemy as sa
from pydantic import ValidationError

from civic_signal.config.errors import PermanentSinkError, RetryableSinkError, SinkError
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import DeadLetterRow, PostRow, TicketRow
from civic_signal.sinks.archive.store import fingerprint, insert_ignore
from civic_signal.sinks.incident_tables import IncidentRow, TicketEventRow
from civic_signal.sinks.incidents import ref_marker, touch_categories, utc
from civic_signal.sinks.open311.catalog import ServiceCatalog, fill_attributes
from civic_signal.sinks.open311.client import Open311Client, endpoint_down
from civic_signal.sinks.open311.models import MAX_DESCRIPTION, RequestStatus, TicketRequest

log = logging.getLogger("civic_signal.open311")

T = TicketRow.__table__
E = TicketEventRow.__table__
I = IncidentRow.__table__
D = DeadLetterRow.__table__
P = PostRow.__table__
STAGE = "open311"
#: how a failed attempt's event starts when the endpoint as a whole was down (not counted as an attempt)
OUTAGE = "endpoint down (not counted):"


@dataclass(frozen=True)
class Delivery:
    """What one delivery or reconciliation did: ``sent``, ``retry``, ``failed``, ``reconciled``,
    ``requeued`` (not found after a crash, will resend), ``busy`` (claimed elsewhere or not due),
    ``cancelled`` (the post was deleted at its source before the ticket went out)."""

    ticket_id: str
    outcome: str
    detail: str = ""
    service_request_id: str | None = None
    #: a ``retry`` because the endpoint as a whole is down (refused, timed out, 502/503/504)
    endpoint_down: bool = False


def _now() -> datetime:
    return datetime.now(timezone.utc)


class DeliveryWorker:
    def __init__(self, archive: Archive, client: Open311Client, catalog: ServiceCatalog | None = None, *,
                 max_attempts: int = 6, retry_base_s: float = 30.0, retry_max_s: float = 3600.0,
                 clock: Callable[[], datetime] = _now, rng: random.Random | None = None,
                 schedule_retry: Callable[[str, datetime], object] | None = None,
                 on_resume: Callable[[int], object] | None = None, jurisdiction: str | None = None,
                 outage_max_s: float = 7 * 86400.0) -> None:
        self.archive, self.engine, self.client = archive, archive.engine, client
        #: the city this worker delivers for (its endpoint); None = every ticket (one endpoint)
        self.jurisdiction = jurisdiction
        self._mine = T.c.jurisdiction == jurisdiction if jurisdiction else sa.true()
        self.catalog = catalog or ServiceCatalog(client)
        self.max_attempts, self.retry_base_s, self.retry_max_s = max_attempts, retry_base_s, retry_max_s
        self.clock, self.rng = clock, rng or random.Random()
        self.schedule_retry = schedule_retry
        self.on_resume = on_resume
        self._healthy = False  # not known yet: the first sign of a working endpoint resumes waiting tickets
        self.outage_max_s = outage_max_s
        self.counts: Counter[str] = Counter()
        self.errors: deque[str] = deque(maxlen=20)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, archive: Archive, settings, *, client: Open311Client | None = None,
                      jurisdiction: str | None = None, **kw) -> "DeliveryWorker":
        """The worker of one jurisdiction (default: ``routing.default``, i.e. Boston): its endpoint from
        :func:`civic_signal.config.jurisdictions.endpoint`; it sees only that city's tickets."""
        from civic_signal.config.jurisdictions import endpoint
        jid = jurisdiction or settings.routing.default or None
        s = endpoint(settings, jid) if jid else settings.open311
        client = client or Open311Client.from_settings(s)
        catalog = ServiceCatalog(client, max_age_s=s.services_refresh_minutes * 60)
        return cls(archive, client, catalog, max_attempts=s.max_attempts, retry_base_s=s.retry_base_s,
                   retry_max_s=s.retry_max_s, outage_max_s=s.outage_max_hours * 3600.0, jurisdiction=jid, **kw)

    # -- bookkeeping ----------------------------------------------------------------------------
    def _note(self, outcome: str, error: str | None = None) -> None:
        with self._lock:
            self.counts[outcome] += 1
            if error:
                self.errors.append(error)

    def backoff_s(self, attempt: int) -> float:
        """The wait before attempt ``attempt + 1``: exponential, capped, with equal jitter."""
        d = min(self.retry_max_s, self.retry_base_s * 2 ** max(attempt - 1, 0))
        return d / 2 + self.rng.uniform(0, d / 2)

    def _event(self, conn, tid: str, kind: str, detail: str, attempt: int | None = None) -> None:
        conn.execute(sa.insert(E).values(ticket_id=tid, kind=kind, attempt=attempt, detail=detail[:4000],
                                         created_at=self.clock()))

    def due(self, limit: int = 100) -> list[str]:
        now = self.clock()
        with self.engine.connect() as conn:
            return [r.id for r in conn.execute(
                sa.select(T.c.id).where(T.c.status == "pending", self._mine,
                                        sa.or_(T.c.next_attempt_at.is_(None), T.c.next_attempt_at <= now))
                .order_by(T.c.created_at).limit(limit))]

    def next_due_at(self) -> datetime | None:
        """When the earliest pending ticket becomes due (None: nothing pending)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(T.c.next_attempt_at).where(T.c.status == "pending", self._mine)).all()
        if not rows:
            return None
        return min((utc(r.next_attempt_at) if r.next_attempt_at else self.clock()) for r in rows)

    # -- endpoint health --------------------------------------------------------------------------
    def endpoint_down(self) -> None:
        """The endpoint was seen down: the next sign of life resumes the waiting tickets."""
        with self._lock:
            self._healthy = False

    def endpoint_up(self, why: str) -> int:
        """The endpoint answered (``why``: a delivery, the service list). If it was down, or not
        known to be up, every ticket waiting out a backoff is made due now (:meth:`resume_waiting`),
        so that the tickets an outage held back go at once. Returns how many were resumed."""
        with self._lock:
            was, self._healthy = self._healthy, True
        return 0 if was else self.resume_waiting(f"the endpoint is up again ({why})", automatic=True)

    def resume_waiting(self, why: str, *, automatic: bool = False) -> int:
        """Make every ``pending`` ticket that waits for a retry due now; each gets a ``resumed``
        event. ``automatic`` (a health signal rather than an operator) skips tickets resumed in
        the last ``retry_max_s``: a ticket whose own request keeps failing is not retried each
        time another one succeeds. Attempts are not reset (``max_attempts`` still holds)."""
        now = self.clock()
        with self.engine.begin() as conn:
            q = sa.select(T.c.id).where(T.c.status == "pending", T.c.next_attempt_at > now, self._mine)
            if automatic:
                recent = sa.select(E.c.ticket_id).where(E.c.kind == "resumed",
                                                        E.c.created_at > now - timedelta(seconds=self.retry_max_s))
                q = q.where(T.c.id.not_in(recent))
            ids = [r.id for r in conn.execute(q).all()]
            for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
                conn.execute(sa.update(T).where(T.c.id.in_(chunk), T.c.status == "pending",
                                                T.c.next_attempt_at > now).values(next_attempt_at=now))
                conn.execute(sa.insert(E), [dict(ticket_id=tid, kind="resumed", attempt=None, detail=why[:4000],
                                                 created_at=now) for tid in chunk])
        if ids:
            log.info("open311: %d waiting ticket(s) made due now: %s", len(ids), why)
            self._note("resumed")
            if self.on_resume:
                self.on_resume(len(ids))
        return len(ids)

    # -- delivery -------------------------------------------------------------------------------
    def deliver_due(self, limit: int = 100) -> list[Delivery]:
        """Deliver the tickets that are due now, at most ``limit``, each at most once per call;
        tickets that become due meanwhile (resumed after an outage) are included. The pass stops
        at the first ticket that finds the endpoint down (its ``Delivery.endpoint_down``): the
        others stay due, without spending an attempt, for the next pass."""
        out: list[Delivery] = []
        tried: set[str] = set()
        while len(out) < limit:
            ids = [t for t in self.due(limit) if t not in tried][: limit - len(out)]
            if not ids:
                break
            for tid in ids:
                tried.add(tid)
                out.append(self.deliver_one(tid))
                if out[-1].endpoint_down:
                    return out
        return out

    def send_now(self, *, stale_after_s: float = 300.0) -> list[Delivery]:
        """The operator's "send now" after an outage: every pending ticket is made due now,
        tickets a crashed run left in ``sending`` are reconciled, and all are delivered, each at
        most once in this call; it stops at the first ticket that finds the endpoint down (the
        rest keep waiting, see :meth:`pending`). Idempotent like every delivery (claims and markers)."""
        self.resume_waiting("an operator asked to send now")
        out = [d for d in self.reconcile(stale_after_s=stale_after_s) if d.outcome != "requeued"]
        while True:
            batch = self.deliver_due(limit=500)
            out += batch
            if not batch or batch[-1].endpoint_down or all(d.outcome == "busy" for d in batch):
                break
        return out

    def pending(self) -> int:
        """How many tickets are ``pending`` (due or waiting)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(T).where(T.c.status == "pending",
                                                                                self._mine)).scalar_one()

    def deliver_one(self, tid: str) -> Delivery:
        now = self.clock()
        with self.engine.begin() as conn:
            claimed = conn.execute(sa.update(T).where(
                T.c.id == tid, T.c.status == "pending", self._mine,
                sa.or_(T.c.next_attempt_at.is_(None), T.c.next_attempt_at <= now),
            ).values(status="sending", attempts=T.c.attempts + 1, updated_at=now)).rowcount
        if claimed != 1:
            return Delivery(tid, "busy")
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(T).where(T.c.id == tid)).one()
            deleted = conn.execute(sa.select(P.c.deleted).where(P.c.id == row.post_id)).scalar()
        if deleted:  # the post was deleted at its source after its ticket was queued
            with self.engine.begin() as conn:
                conn.execute(sa.update(T).where(T.c.id == tid, T.c.status == "sending").values(
                    status="cancelled", last_error="the post was deleted at its source", updated_at=now))
                self._event(conn, tid, "cancelled", "the post was deleted at its source", row.attempts)
            return Delivery(tid, "cancelled", "the post was deleted at its source")
        try:
            if row.attempts > 1:  # an earlier attempt may have reached the endpoint
                found = self.find_remote(row)
                if found is not None:
                    return self._mark_sent(row, found.service_request_id, None, "reconciled",
                                           "found on the endpoint before resending")
            req = self.build_request(row)
            receipt = self.client.create(req)
        except PermanentSinkError as exc:
            msg = str(exc)
            if not self.catalog.lists(row.service_code):
                msg = (f"the Open311 endpoint does not offer service code {row.service_code!r}: it is not in "
                       f"its services.json and the endpoint refused the request: {msg}")
            return self._fail(row, msg)
        except RetryableSinkError as exc:
            down = endpoint_down(exc)
            if down:
                self.endpoint_down()
            d = self._retry(row, str(exc), down=down)
            return replace(d, endpoint_down=down) if d.outcome == "retry" else d
        except Exception as exc:  # a bug or an odd payload: retry rather than lose the ticket
            log.exception("open311: unexpected error delivering %s", tid)
            return self._retry(row, self.client.scrub(f"{exc.__class__.__name__}: {exc}"))
        notice = receipt.service_notice or ""
        if receipt.service_request_id is None and receipt.token is None:
            notice = ("no id or token (blackbox service) " + notice).strip()
        done = self._mark_sent(row, receipt.service_request_id, receipt.token, "sent", notice)
        self.endpoint_up("a ticket was delivered")
        return done

    def build_request(self, row) -> TicketRequest:
        """The POST body for a ticket row. Raises :class:`PermanentSinkError` when it cannot be valid."""
        try:  # a code missing from the list reloads it once, then is sent anyway: the endpoint decides
            definition = self.catalog.definition(row.service_code)
        except PermanentSinkError as exc:  # the endpoint's fault or the settings', not the ticket's
            raise RetryableSinkError(f"cannot read the service list: {exc}",
                                     hint="check CIVIC_OPEN311__URL; the ticket waits and is retried") from None
        attrs = fill_attributes(definition, row.description, utc(row.created_at))
        desc = row.description or ""
        marker = ref_marker(row.id)
        if marker not in desc:
            desc = desc[: MAX_DESCRIPTION - len(marker) - 2] + "\n\n" + marker
        point = row.lat is not None and row.lon is not None
        try:
            return TicketRequest(service_code=row.service_code, lat=row.lat if point else None,
                                 long=row.lon if point else None, address_string=None if point else row.address,
                                 description=desc[:MAX_DESCRIPTION], media_url=row.media_url, attributes=attrs)
        except ValidationError as exc:
            raise PermanentSinkError(f"ticket {row.id} cannot be sent: {exc.errors()[0]['msg']}") from None

    def find_remote(self, row) -> RequestStatus | None:
        """The endpoint's request carrying this ticket's marker, if any (searches ``requests.json``)."""
        now = self.clock()
        start = max(utc(row.created_at) - timedelta(hours=1), now - timedelta(days=89))
        marker = ref_marker(row.id)
        for r in self.client.requests(service_code=row.service_code, start=start, end=now + timedelta(hours=1)):
            if r.description and marker in r.description:
                return r
        return None

    def _mark_sent(self, row, sid: str | None, token: str | None, outcome: str, detail: str) -> Delivery:
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(sa.update(T).where(T.c.id == row.id, T.c.status == "sending").values(
                status="sent", service_request_id=sid, token=token, external_status="open" if sid else None,
                last_error=None, next_attempt_at=None, updated_at=now))
            self._event(conn, row.id, outcome, f"service_request_id={sid} token={token} {detail}".strip(), row.attempts)
        log.info("open311: ticket %s %s (service_request_id=%s token=%s)", row.id, outcome, sid, token)
        self._note(outcome)
        return Delivery(row.id, outcome, detail, sid)

    def _retry(self, row, error: str, *, down: bool = False) -> Delivery:
        """Put a claimed ticket back to ``pending`` after a retryable failure, or dead-letter it at
        ``max_attempts``. A failure while the endpoint as a whole is down (``down``) is recorded
        as such and does not count toward ``max_attempts`` (an outage is not the ticket's fault);
        only ``outage_max_s`` after the ticket was queued ends its wait. ``attempts`` itself still
        counts every try, so a retry after an ambiguous failure looks for the ticket's marker first."""
        now = self.clock()
        if down:
            if (now - utc(row.created_at)).total_seconds() > self.outage_max_s:
                return self._fail(row, f"the endpoint has been down for longer than a ticket may wait "
                                       f"({self.outage_max_s / 3600:g} h after it was queued): {error}")
            error, counted = f"{OUTAGE} {error}", ""
        else:
            n = row.attempts - self._outage_failures(row.id)
            if n >= self.max_attempts:
                return self._fail(row, error)
            counted = f" ({n}/{self.max_attempts} counted)"
        at = now + timedelta(seconds=self.backoff_s(row.attempts))
        with self.engine.begin() as conn:
            self._event(conn, row.id, "attempt_failed", error, row.attempts)
            conn.execute(sa.update(T).where(T.c.id == row.id, T.c.status == "sending").values(
                status="pending", last_error=error[:4000], next_attempt_at=at, updated_at=now))
        log.warning("open311: ticket %s attempt %d failed%s, retry at %s: %s", row.id, row.attempts, counted,
                    at.isoformat(timespec="seconds"), error)
        self._note("retry", error)
        if self.schedule_retry:
            self.schedule_retry(row.id, at)
        return Delivery(row.id, "retry", error)

    def _outage_failures(self, tid: str) -> int:
        """How many of the ticket's failed attempts were the endpoint being down (not counted)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(E).where(
                E.c.ticket_id == tid, E.c.kind == "attempt_failed", E.c.detail.startswith(OUTAGE))).scalar_one()

    def _fail(self, row, error: str) -> Delivery:
        now = self.clock()
        with self.engine.begin() as conn:
            self._event(conn, row.id, "attempt_failed", error, row.attempts)
            errors = conn.execute(sa.select(E.c.attempt, E.c.detail).where(
                E.c.ticket_id == row.id, E.c.kind == "attempt_failed").order_by(E.c.id)).all()
            reason = (f"ticket {row.id} dead-lettered after {row.attempts} attempt(s): "
                      + " | ".join(f"#{a}: {d}" for a, d in errors))
            payload = orjson.dumps({k: row._mapping[k] for k in ("id", "incident_id", "post_id", "service_code",
                                   "lat", "lon", "address", "description")}, default=str).decode()
            origin = f"ticket:{row.id}"
            insert_ignore(conn, D, [dict(fingerprint=fingerprint(STAGE, origin, payload), stage=STAGE, reason=reason,
                                         payload=payload, origin=origin, post_id=row.post_id, created_at=now)],
                          ["fingerprint"])
            conn.execute(sa.update(T).where(T.c.id == row.id, T.c.status == "sending").values(
                status="failed", last_error=error[:4000], next_attempt_at=None, updated_at=now))
            self._event(conn, row.id, "dead_letter", reason, row.attempts)
        log.error("open311: %s", reason)
        self._note("failed", error)
        return Delivery(row.id, "failed", reason)

    # -- after a crash ----------------------------------------------------------------------------
    def reconcile(self, stale_after_s: float = 300.0) -> list[Delivery]:
        """Settle tickets left in ``sending`` for longer than ``stale_after_s`` (a worker died
        between claim and commit): record the request the endpoint has, else requeue them."""
        now = self.clock()
        cutoff = now - timedelta(seconds=stale_after_s)
        with self.engine.connect() as conn:
            stale = conn.execute(sa.select(T).where(T.c.status == "sending", T.c.updated_at <= cutoff, self._mine)).all()
        out = []
        for row in stale:
            with self.engine.begin() as conn:  # take the lease so that one worker reconciles it
                if conn.execute(sa.update(T).where(T.c.id == row.id, T.c.status == "sending",
                                                   T.c.updated_at <= cutoff).values(updated_at=now)).rowcount != 1:
                    continue
            try:
                found = self.find_remote(row)
            except SinkError as exc:
                msg = f"reconcile of {row.id} failed, will try again: {exc}"
                log.warning("open311: %s", msg)
                self._note("reconcile_error", msg)
                out.append(Delivery(row.id, "busy", msg))
                continue
            if found is not None:
                out.append(self._mark_sent(row, found.service_request_id, None, "reconciled",
                                           "found on the endpoint after an interrupted delivery"))
                continue
            with self.engine.begin() as conn:
                self._event(conn, row.id, "attempt_failed",
                            "interrupted before the endpoint confirmed; not found there, will resend", row.attempts)
                conn.execute(sa.update(T).where(T.c.id == row.id, T.c.status == "sending").values(
                    status="pending", next_attempt_at=now, updated_at=now))
            self._note("requeued")
            out.append(Delivery(row.id, "requeued"))
        return out

    # -- status sync ------------------------------------------------------------------------------
    def sync_status(self, batch: int = 50) -> int:
        """Resolve batch tokens, then record status changes of open tickets; returns how many
        tickets changed. Endpoint errors are logged and left for the next run of the job."""
        changed = 0
        with self.engine.connect() as conn:
            tokens = conn.execute(sa.select(T.c.id, T.c.token).where(
                T.c.status == "sent", T.c.service_request_id.is_(None), T.c.token.is_not(None), self._mine)).all()
        try:
            for tid, token in tokens:
                sid = self.client.token(token)
                if sid:
                    with self.engine.begin() as conn:
                        conn.execute(sa.update(T).where(T.c.id == tid).values(
                            service_request_id=sid, external_status="open", updated_at=self.clock()))
                        self._event(conn, tid, "status", f"token {token} -> service_request_id {sid}")
                    changed += 1
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(T.c.id, T.c.service_request_id, T.c.external_status, T.c.service_code).where(
                    T.c.status == "sent", T.c.service_request_id.is_not(None), self._mine)).all()
            by_sid = {r.service_request_id: r for r in rows}
            sids = list(by_sid)
            for i in range(0, len(sids), batch):
                for st in self.client.requests(ids=sids[i:i + batch]):
                    r = by_sid.get(st.service_request_id)
                    if r is None or st.status == r.external_status:
                        continue
                    now = self.clock()
                    with self.engine.begin() as conn:
                        values = dict(external_status=st.status[:40], updated_at=now)
                        if st.status == "closed":
                            values["status"] = "closed"
                            conn.execute(sa.update(I).where(I.c.ticket_id == r.id).values(status="closed", updated_at=now))
                            touch_categories(conn, [code for (code,) in conn.execute(
                                sa.select(I.c.category_code).where(I.c.ticket_id == r.id))])
                        conn.execute(sa.update(T).where(T.c.id == r.id).values(**values))
                        self._event(conn, r.id, "status", f"{r.external_status} -> {st.status}"
                                    + (f": {st.status_notes}" if st.status_notes else ""))
                        self._outcome_label(conn, r, st, now)
                    changed += 1
        except SinkError as exc:
            msg = f"status sync failed, will try again: {exc}"
            log.warning("open311: %s", msg)
            self._note("sync_error", msg)
        return changed

    def _outcome_label(self, conn, row, st: RequestStatus, now: datetime) -> None:
        """A closed request's outcome (invalid, duplicate, another service code) becomes a weak
        label of the ticket's posts (:mod:`civic_signal.sinks.labels`), in the same transaction."""
        from civic_signal.sinks.labels import OUTCOME_WEIGHT, outcome_label, record, ticket_posts
        got = outcome_label(row.service_code, st.status, st.status_notes, st.service_code)
        if got is None:
            return
        label, why = got
        n = record(conn, ticket_posts(conn, row.id), label, kind="open311", by="open311", weight=OUTCOME_WEIGHT,
                   now=now)
        if n:
            self._event(conn, row.id, "label", f"{why}: {n} post(s) labelled for retraining")

    def refresh_services(self) -> None:
        """The service-list refresh job: errors are logged, the old list stays in use."""
        try:
            self.catalog.refresh()
        except SinkError as exc:
            msg = f"service list refresh failed: {exc}"
            log.warning("open311: %s", msg)
            self._note("refresh_error", msg)
            if endpoint_down(exc):
                self.endpoint_down()
            return
        self.endpoint_up("the service list loaded")


def configured_jurisdictions(settings) -> list[str]:
    """The active jurisdictions with an Open311 endpoint (their tickets are delivered); the others keep
    their tickets pending."""
    from civic_signal.config.jurisdictions import endpoint
    return [j for j in settings.routing.packs if endpoint(settings, j).url]


def requeue_failed(archive: Archive, ticket_ids: list[str] | None = None, *,
                   clock: Callable[[], datetime] = _now) -> list[str]:
    """Put dead-lettered (``failed``) tickets back in the outbox: ``pending``, attempts reset.

    For after the cause is fixed (a bad API key, a service code the city renamed). ``ticket_ids``
    None means every failed ticket. Returns the ids requeued; each gets a ``requeued`` event.
    """
    now = clock()
    with archive.engine.begin() as conn:
        q = sa.select(T.c.id).where(T.c.status == "failed")
        if ticket_ids is not None:
            q = q.where(T.c.id.in_(ticket_ids))
        ids = [r.id for r in conn.execute(q).all()]
        for tid in ids:
            conn.execute(sa.update(T).where(T.c.id == tid, T.c.status == "failed").values(
                status="pending", attempts=0, next_attempt_at=None, updated_at=now))
            conn.execute(sa.insert(E).values(ticket_id=tid, kind="requeued", attempt=0,
                                             detail="requeued by an operator", created_at=now))
    return ids
