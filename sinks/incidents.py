"""Incidents: many reports of one problem become one incident and at most one ticket.

Reports of one category within ``incidents.distance_m`` metres (or at the same address when a
report has no coordinates) and within ``incidents.window_hours`` of the incident's first or
last report are one incident. The first report opens it and its ticket; later reports attach
(the count goes up, their links are added to a ticket not yet sent). A repost or a quote counts
as the post it reposts or quotes, so it never counts twice.

Gating (``gating.*``) is per incident, on the highest confidence among its reports: at or above
``auto_threshold`` the ticket is ``pending`` (sent when Open311 is configured); between
``review_threshold`` and ``auto_threshold`` it waits in ``review`` (``civic-signal review``);
below, the incident is archived without a ticket. A later, surer report can promote it.

Safe with several sink processes and on redelivery: each report is one transaction that first
updates the category's row in ``incident_locks`` (serializing matching per category on
PostgreSQL and SQLite alike), and ``incident_reports.canonical_id`` is unique, so a post that
was already counted changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from config.errors import StorageError
from listener.models import ClassifiedPost, TicketStatus
from sinks.archive import Archive
from sinks.archive.models import TicketRow
from sinks.base import Sink
from sinks.incident_tables import IncidentLockRow, IncidentReportRow, IncidentRow, TicketEventRow
from sinks.open311.models import MAX_DESCRIPTION
from sinks.tickets import gate, redact, ticket_id

log = logging.getLogger("civic_signal.incidents")

I = IncidentRow.__table__
R = IncidentReportRow.__table__
L = IncidentLockRow.__table__
T = TicketRow.__table__
E = TicketEventRow.__table__

#: At most this many links of later reports are listed in a ticket's description.
MAX_LINKS = 10
_NON_WORD = re.compile(r"[^a-z0-9]+")


def ref_marker(tid: str) -> str:
    """The idempotency marker every ticket description ends with; reconciliation searches it."""
    return f"[Civic Signal ref {tid}]"


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive ones, which are UTC here)."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


def address_key(address: str | None) -> str | None:
    key = _NON_WORD.sub(" ", (address or "").lower()).strip()
    return key[:300] or None


def compose_description(body: str, where: str | None, links: Sequence[str], count: int, tid: str) -> str:
    """The ticket description, at most 4,000 characters: the post, the place, the original link,
    later reports' links and the ref marker. The body is cut first, so the link and marker stay."""
    first, others = (links[0] if links else None), [u for u in links[1:MAX_LINKS + 1]]
    tail = []
    if where:
        tail.append(f"Location (auto-detected): {where}")
    tail.append(f"Original post: {first} (reported via Civic Signal)" if first else "Reported via Civic Signal")
    if count > 1:
        more = f"{count} reports of this problem" + (": " + " ".join(others) if others else "")
        tail.append(more[:1000])
    tail.append(ref_marker(tid))
    fixed = sum(len(t) + 2 for t in tail)
    room = MAX_DESCRIPTION - fixed
    body = body.strip()
    if len(body) > room:
        body = body[: max(room - 1, 0)] + "…"
    return "\n\n".join([body] + tail)[:MAX_DESCRIPTION]


@dataclass(frozen=True)
class Outcome:
    """What :meth:`IncidentSink.add` did with one report."""

    incident_id: str | None
    new_incident: bool = False
    duplicate: bool = False
    ticket_id: str | None = None
    ticket_status: str | None = None
    skipped: str | None = None  # why no incident (not actionable, no location)


class _Duplicate(Exception):
    pass


def _insert_ignore(conn: sa.Connection, table: sa.Table, row: dict, keys: list[str]) -> int:
    ins = postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
    return max(conn.execute(ins.values(**row).on_conflict_do_nothing(index_elements=keys)).rowcount or 0, 0)


class IncidentSink(Sink):
    """Groups actionable reports into incidents and queues one ticket per incident."""

    name = "incidents"

    def __init__(self, archive: Archive, *, auto_threshold: float, review_threshold: float,
                 distance_m: float = 150.0, window_hours: float = 48.0,
                 on_ticket: Callable[[list[str]], object] | None = None) -> None:
        self.archive, self.engine = archive, archive.engine
        self.auto, self.review = auto_threshold, review_threshold
        self.distance_m, self.window = distance_m, timedelta(hours=window_hours)
        self.on_ticket = on_ticket

    @classmethod
    def from_settings(cls, archive: Archive, settings, **kw) -> "IncidentSink":
        return cls(archive, auto_threshold=settings.gating.auto_threshold,
                   review_threshold=settings.gating.review_threshold,
                   distance_m=settings.incidents.distance_m, window_hours=settings.incidents.window_hours, **kw)

    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        pending: list[str] = []
        for item in items:
            out = self.add(item)
            if out.ticket_id and out.ticket_status == TicketStatus.PENDING.value:
                pending.append(out.ticket_id)
        if pending and self.on_ticket:
            self.on_ticket(pending)

    # -- one report ----------------------------------------------------------------------------
    def add(self, item: ClassifiedPost) -> Outcome:
        """File one classified post; idempotent. Raises :class:`StorageError` when the database fails."""
        post, c = item.post, item.classification
        if not c.actionable or c.category is None:
            return Outcome(None, skipped="not actionable")
        loc = c.location
        lat = loc.lat if loc and loc.lat is not None else (post.coordinates.lat if post.coordinates else None)
        lon = loc.lon if loc and loc.lon is not None else (post.coordinates.lon if post.coordinates else None)
        if lat is None or lon is None:
            lat = lon = None
        address = ((loc.address or loc.text) if loc else None) or None
        if lat is None and not address:
            return Outcome(None, skipped="no location")
        try:
            with self.engine.begin() as conn:
                return self._add(conn, item, lat, lon, address)
        except _Duplicate as dup:
            return Outcome(str(dup) or None, duplicate=True)
        except IntegrityError:
            # another process counted the same canonical post between our check and insert
            return Outcome(None, duplicate=True)
        except SQLAlchemyError as exc:
            raise StorageError(f"incident write failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:300]}",
                               hint="the batch was not committed and will be retried") from exc

    def _add(self, conn: sa.Connection, item: ClassifiedPost, lat: float | None, lon: float | None,
             address: str | None) -> Outcome:
        post, c = item.post, item.classification
        code = c.category.code  # type: ignore[union-attr]
        canonical = post.reposted_id or post.quoted_id or post.id
        when, now = utc(post.created_at), datetime.now(timezone.utc)
        # 1. lock the category (row lock on PostgreSQL, the write lock on SQLite)
        _insert_ignore(conn, L, {"category_code": code, "version": 0}, ["category_code"])
        conn.execute(sa.update(L).where(L.c.category_code == code).values(version=L.c.version + 1))
        # 2. already counted?
        seen = conn.execute(sa.select(R.c.incident_id).where(R.c.canonical_id == canonical)).first()
        if seen:
            raise _Duplicate(seen.incident_id)
        conf = c.confidence
        akey = address_key(address)
        inc = self._match(conn, code, lat, lon, akey, when)
        if inc is None:
            incident_id = "i-" + hashlib.sha256(f"{code}|{canonical}".encode()).hexdigest()[:16]
            status = gate(conf, self.auto, self.review)
            tid = ticket_id(f"incident:{incident_id}") if status else None
            body = redact(post.text)
            conn.execute(sa.insert(I).values(
                id=incident_id, category_code=code, lat=lat, lon=lon, address=address and address[:300],
                address_key=akey, neighborhood=(c.location.neighborhood if c.location else None),
                first_post_id=post.id, first_seen_at=when, last_seen_at=when, report_count=1, confidence=conf,
                status="open", ticket_id=tid, body=body, created_at=now, updated_at=now))
            self._report(conn, incident_id, item, canonical, when, now)
            if tid and status:
                self._new_ticket(conn, tid, incident_id, post.id, code, lat, lon, address, conf, status,
                                 item.post.media_urls[0] if item.post.media_urls else None, now)
            return Outcome(incident_id, new_incident=True, ticket_id=tid, ticket_status=status.value if status else None)
        # attach
        incident_id = inc.id
        self._report(conn, incident_id, item, canonical, when, now)
        new_conf = max(inc.confidence, conf)
        conn.execute(sa.update(I).where(I.c.id == incident_id).values(
            report_count=I.c.report_count + 1, confidence=new_conf, updated_at=now,
            last_seen_at=max(utc(inc.last_seen_at), when), first_seen_at=min(utc(inc.first_seen_at), when)))
        want = gate(new_conf, self.auto, self.review)
        tid, tstatus = inc.ticket_id, None
        if tid is None and want is not None:
            tid = ticket_id(f"incident:{incident_id}")
            conn.execute(sa.update(I).where(I.c.id == incident_id).values(ticket_id=tid))
            self._new_ticket(conn, tid, incident_id, inc.first_post_id, code, inc.lat, inc.lon, inc.address,
                             new_conf, want, None, now)
            tstatus = want.value
        elif tid is not None:
            row = conn.execute(sa.select(T.c.status).where(T.c.id == tid)).first()
            tstatus = row.status if row else None
            if tstatus == TicketStatus.REVIEW.value and want == TicketStatus.PENDING:
                conn.execute(sa.update(T).where(T.c.id == tid, T.c.status == "review").values(
                    status="pending", confidence=new_conf, updated_at=now))
                conn.execute(sa.insert(E).values(ticket_id=tid, kind="review", detail=(
                    f"promoted to pending: a report with confidence {conf:.2f} attached"), created_at=now))
                tstatus = "pending"
            if tstatus in ("pending", "review"):
                conn.execute(sa.update(T).where(T.c.id == tid, T.c.status.in_(("pending", "review"))).values(
                    description=self._description(conn, incident_id, tid), confidence=new_conf, updated_at=now))
        return Outcome(incident_id, ticket_id=tid, ticket_status=tstatus)

    def _match(self, conn: sa.Connection, code: str, lat: float | None, lon: float | None,
               akey: str | None, when: datetime):
        q = sa.select(I).where(I.c.category_code == code, I.c.status == "open",
                               I.c.last_seen_at >= when - self.window, I.c.first_seen_at <= when + self.window)
        if lat is not None and lon is not None:
            dlat = self.distance_m / 111_000
            dlon = self.distance_m / (111_000 * max(math.cos(math.radians(lat)), 0.01))
            near = sa.and_(I.c.lat.is_not(None), I.c.lat.between(lat - dlat, lat + dlat),
                           I.c.lon.between(lon - dlon, lon + dlon))
            rows = conn.execute(q.where(sa.or_(near, I.c.address_key == akey) if akey else near)).all()
            scored = [(distance_m(lat, lon, r.lat, r.lon) if r.lat is not None else 0.0, r) for r in rows]
            scored = [(d, r) for d, r in scored if d <= self.distance_m]
            return min(scored, key=lambda x: (x[0], x[1].created_at))[1] if scored else None
        if akey:
            return conn.execute(q.where(I.c.address_key == akey).order_by(I.c.created_at)).first()
        return None

    def _report(self, conn, incident_id: str, item: ClassifiedPost, canonical: str, when: datetime, now: datetime) -> None:
        conn.execute(sa.insert(R).values(incident_id=incident_id, post_id=item.post.id, canonical_id=canonical,
                                         url=item.post.url and item.post.url[:500],
                                         confidence=item.classification.confidence, reported_at=when, created_at=now))

    def _description(self, conn, incident_id: str, tid: str) -> str:
        inc = conn.execute(sa.select(I).where(I.c.id == incident_id)).one()
        links = [r.url for r in conn.execute(sa.select(R.c.url).where(R.c.incident_id == incident_id, R.c.url.is_not(None))
                                             .order_by(R.c.reported_at, R.c.id)).all()]
        where = inc.address + (f", {inc.neighborhood}" if inc.neighborhood else "") if inc.address else None
        if where is None and inc.lat is not None:
            where = f"{inc.lat:.5f}, {inc.lon:.5f}"
        return compose_description(inc.body, where, links, inc.report_count, tid)

    def _new_ticket(self, conn, tid: str, incident_id: str, post_id: str, code: str, lat, lon, address,
                    conf: float, status: TicketStatus, media_url: str | None, now: datetime) -> None:
        _insert_ignore(conn, T, dict(
            id=tid, post_id=post_id, incident_id=incident_id, service_code=code,
            description=self._description(conn, incident_id, tid), lat=lat, lon=lon,
            address=address and address[:300], media_url=media_url and media_url[:500], confidence=conf,
            status=status.value, attempts=0, created_at=now, updated_at=now), ["id"])
