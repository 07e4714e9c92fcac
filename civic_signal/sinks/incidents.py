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

Safe with several sink processes and on redelivery: each batch is one transaction that first
updates its categories' rows in ``incident_locks`` (serializing matching per category on
PostgreSQL and SQLite alike), and ``incident_reports.canonical_id`` is unique, so a post that
was already counted changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from bisect import insort
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from civic_signal.config.errors import StorageError
from civic_signal.core.models import ClassifiedPost, TicketStatus
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.store import execute_many, insert_ignore, insert_rows
from civic_signal.sinks.archive.models import TicketRow
from civic_signal.core.sink import Sink
from civic_signal.sinks.incident_tables import IncidentLockRow, IncidentReportRow, IncidentRow, TicketEventRow
from civic_signal.sinks.open311.models import MAX_DESCRIPTION
from civic_signal.sinks.tickets import gate, needs_review, redact, ticket_id

log = logging.getLogger("civic_signal.incidents")

I = IncidentRow.__table__
R = IncidentReportRow.__table__
L = IncidentLockRow.__table__
T = TicketRow.__table__
E = TicketEventRow.__table__

#: At most this many links of later reports are listed in a ticket's description.
MAX_LINKS = 10
#: Incidents above this latitude (north or south) are matched without the spatial grid.
_GRID_MAX_LAT = 60.0
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


def touch_categories(conn: sa.Connection, codes: Sequence[str] | None = None) -> None:
    """Tell every incident sink that incidents of these categories (all when ``None``) changed
    outside it: each one reads them again before its next match. Call it in the transaction
    that changes them (closing an incident, blanking bodies)."""
    stmt = sa.update(L).values(version=L.c.version + 1)
    conn.execute(stmt if codes is None else stmt.where(L.c.category_code.in_(sorted(set(codes)))))


_Todo = tuple[int, ClassifiedPost, float | None, float | None, str | None, str | None]


class IncidentSink(Sink):
    """Groups actionable reports into incidents and queues one ticket per incident."""

    name = "incidents"

    def __init__(self, archive: Archive, *, auto_threshold: float, review_threshold: float,
                 distance_m: float = 150.0, window_hours: float = 48.0,
                 on_ticket: Callable[[list[str]], object] | None = None,
                 default_jurisdiction: str | None = "boston") -> None:
        self.archive, self.engine = archive, archive.engine
        self.auto, self.review = auto_threshold, review_threshold
        self.distance_m, self.window = distance_m, timedelta(hours=window_hours)
        self.on_ticket = on_ticket
        #: the city of a classification that carries none (a classifier that does not route, e.g. keyword)
        self.default_jurisdiction = default_jurisdiction or None
        #: category -> its open incidents as of the version of ``incident_locks`` this sink wrote
        self._cache: dict[str, _CategoryIndex] = {}

    @classmethod
    def from_settings(cls, archive: Archive, settings, **kw) -> "IncidentSink":
        return cls(archive, auto_threshold=settings.gating.auto_threshold,
                   review_threshold=settings.gating.review_threshold,
                   distance_m=settings.incidents.distance_m, window_hours=settings.incidents.window_hours,
                   default_jurisdiction=settings.routing.default, **kw)

    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        """File a batch in one transaction (one commit, one category lock each): idempotent."""
        outcomes = self.add_many(items)
        pending = [o.ticket_id for o in outcomes if o.ticket_id and o.ticket_status == TicketStatus.PENDING.value]
        if pending and self.on_ticket:
            self.on_ticket(pending)

    # -- reports ---------------------------------------------------------------------------------
    def add(self, item: ClassifiedPost) -> Outcome:
        """File one classified post; idempotent. Raises :class:`StorageError` when the database fails."""
        return self.add_many([item])[0]

    @staticmethod
    def _where(item: ClassifiedPost) -> tuple[float | None, float | None, str | None]:
        post, loc = item.post, item.classification.location
        lat = loc.lat if loc and loc.lat is not None else (post.coordinates.lat if post.coordinates else None)
        lon = loc.lon if loc and loc.lon is not None else (post.coordinates.lon if post.coordinates else None)
        if lat is None or lon is None:
            lat = lon = None
        address = ((loc.address or loc.text) if loc else None) or None
        return lat, lon, address

    def jurisdiction_of(self, c) -> str | None:
        """The city a classification's ticket goes to: its own, else (a classifier that does not route)
        the default; None for a post about a city with no pack (``reason`` "elsewhere: ...")."""
        if c.jurisdiction is not None:
            return c.jurisdiction
        if c.reason and c.reason.startswith("elsewhere"):
            return None
        return self.default_jurisdiction

    def add_many(self, items: Sequence[ClassifiedPost]) -> list[Outcome]:
        """File classified posts in order, in one transaction; one :class:`Outcome` each.

        The categories involved are locked first, in sorted order (so two sink processes never
        deadlock); then the open incidents of those categories within the time window are read
        once, every report is matched in memory (against those and the incidents this batch
        opens), and the changes are written in bulk. A database failure rolls the whole batch
        back (:class:`StorageError`): the pipeline does not commit it and it comes again, and
        redelivery changes nothing.
        """
        outcomes: list[Outcome | None] = [None] * len(items)
        # (index, item, lat, lon, address, address key): the key is made once, used to match and to store
        todo: list[_Todo] = []
        for n, item in enumerate(items):
            c = item.classification
            if not c.actionable or c.category is None:
                outcomes[n] = Outcome(None, skipped="not actionable")
                continue
            if self.jurisdiction_of(c) is None:   # about a city with no pack: archived and shown, not ticketed
                outcomes[n] = Outcome(None, skipped=c.reason or "no configured jurisdiction")
                continue
            lat, lon, address = self._where(item)
            if lat is None and not address:
                outcomes[n] = Outcome(None, skipped="no location")
                continue
            todo.append((n, item, lat, lon, address, address_key(address)))
        if todo:
            try:
                try:
                    with self.engine.begin() as conn:
                        batch = _Batch(self, conn, todo)
                        for n, out in batch.run():
                            outcomes[n] = out
                except BaseException:
                    self._cache.clear()  # rolled back (or unknown): the indexes hold uncommitted changes
                    raise
                self._cache.update(batch.index)  # committed: the indexes are what the database holds
            except IntegrityError:
                # another process counted one of these posts between our check and insert: the
                # batch is rolled back; on redelivery the check sees it and nothing doubles
                raise StorageError("incident write collided with another sink process",
                                   hint="the batch was not committed and will be retried") from None
            except SQLAlchemyError as exc:
                raise StorageError(f"incident write failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:300]}",
                                   hint="the batch was not committed and will be retried") from exc
        return [o for o in outcomes if o is not None]


def _chunks(values: Sequence, size: int = 500):
    for i in range(0, len(values), size):
        yield values[i:i + size]


class _CategoryIndex:
    """The open incidents of one category as this sink last left them, indexed for matching.

    Kept across batches while ``incident_locks.version`` of the category is the one this sink
    wrote last: every writer of incidents (this sink in any process, the status sync that closes
    incidents, the retention job that blanks their bodies, a delete at the source that takes a
    report away: ``civic_signal.sinks.forget``) bumps that version, so a different
    version means "read the category again". Holds every open incident last seen at or after
    ``lower``.
    """

    def __init__(self, cell_lat: float, cell_lon: float, lower: datetime) -> None:
        self.cell_lat, self.cell_lon, self.lower = cell_lat, cell_lon, lower
        self.version: int | None = None
        self.incs: dict[str, dict] = {}               # incident id -> row (as a dict)
        self.ids: list[str] = []                      # in created order
        self.seq: dict[str, int] = {}                 # incident id -> position in ``ids``
        self.grid: dict[tuple[int, int], list[str]] = {}
        self.by_akey: dict[str, list[str]] = {}
        self.off_grid: list[str] = []                 # incidents too near a pole for the grid
        #: incident id -> its reports' links as (reported_at, order, url), sorted; an incident
        #: missing here has its links read from the database when its ticket needs them
        self.links: dict[str, list[tuple[datetime, int, str]]] = {}
        self.link_seq = 0
        self.kept = 0                                 # incidents after the last load or prune

    def cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell_lat), math.floor(lon / self.cell_lon)

    def add(self, d: dict) -> None:
        self.seq[d["id"]] = len(self.ids)  # created order, for ties and address matches
        self.ids.append(d["id"])
        self.incs[d["id"]] = d
        if d["lat"] is not None and abs(d["lat"]) <= _GRID_MAX_LAT:
            self.grid.setdefault(self.cell(d["lat"], d["lon"]), []).append(d["id"])
        elif d["lat"] is not None:
            self.off_grid.append(d["id"])
        if d["address_key"]:
            self.by_akey.setdefault(d["address_key"], []).append(d["id"])

    def nearby(self, lat: float | None, lon: float | None, akey: str | None) -> list[str]:
        """Ids of the incidents that can match (a superset of the matches), in no set order."""
        if lat is None or lon is None or abs(lat) > _GRID_MAX_LAT:
            return self.ids
        i, j = self.cell(lat, lon)
        grid = self.grid
        ids = [x for di in (-1, 0, 1) for dj in (-1, 0, 1) for x in grid.get((i + di, j + dj), ())]
        if akey:
            ids += [x for x in self.by_akey.get(akey, ()) if self.incs[x]["lat"] is None]
        ids += self.off_grid
        return ids

    def candidates(self, lat: float | None, lon: float | None, akey: str | None) -> list[dict]:
        """Open incidents that can match, in created order (a superset of the matches)."""
        ids = self.nearby(lat, lon, akey)
        if ids is not self.ids and len(ids) > 1:
            ids = sorted(set(ids), key=self.seq.__getitem__)
        return [d for d in (self.incs[x] for x in ids) if d["status"] == "open"]

    def add_link(self, incident_id: str, reported_at: datetime, url: str) -> None:
        self.link_seq += 1
        insort(self.links[incident_id], (reported_at, self.link_seq, url))

    def pruned(self, lower: datetime) -> "_CategoryIndex":
        """A copy without the incidents last seen before ``lower``: they can no longer match."""
        fresh = _CategoryIndex(self.cell_lat, self.cell_lon, lower)
        fresh.version, fresh.link_seq = self.version, self.link_seq
        for x in self.ids:
            d = self.incs[x]
            if d["last_seen_at"] >= lower and d["status"] == "open":
                fresh.add(d)
        fresh.links = {x: v for x, v in self.links.items() if x in fresh.incs}
        fresh.kept = len(fresh.ids)
        return fresh


class _Batch:
    """One batch of reports inside one transaction: match in memory against the sink's category
    indexes (read again when another writer moved a category on), then write in bulk."""

    def __init__(self, sink: IncidentSink, conn: sa.Connection,
                 todo: list[_Todo]) -> None:
        self.sink, self.conn, self.todo = sink, conn, todo
        self.now = datetime.now(timezone.utc)
        self.index: dict[str, _CategoryIndex] = {}  # category -> its index, updated by this batch
        self.incs: dict[str, dict] = {}           # incident id -> row, for those this batch touches
        self.new_ids: list[str] = []
        self.new_set: set[str] = set()
        self.dirty: set[str] = set()              # existing incidents changed by this batch
        self.ticket_status: dict[str, str] = {}   # ticket id -> status (loaded, then as changed)
        self.new_tickets: dict[str, tuple] = {}   # ticket id -> (incident id, post id, media url)
        self.promoted: list[tuple[str, float]] = []
        self.reports: list[dict] = []

    def _lock(self, codes: list[str]) -> dict[str, int]:
        """Lock the categories in sorted order (row locks on PostgreSQL, the write lock on
        SQLite) by bumping their versions; returns the versions after the bump."""
        conn = self.conn
        # a category this sink has worked on has its row; a new one may not yet
        insert_ignore(conn, L, [{"category_code": c, "version": 0} for c in codes if c not in self.sink._cache],
                            ["category_code"])
        versions = self._bump(codes)
        missing = [c for c in codes if c not in versions]
        if missing:  # the rows went (an archive replaced under us): make them, and read everything again
            insert_ignore(conn, L, [{"category_code": c, "version": 0} for c in missing], ["category_code"])
            versions.update(self._bump(missing))
            for c in missing:
                self.sink._cache.pop(c, None)
        return versions

    def _bump(self, codes: list[str]) -> dict[str, int]:
        # one statement run for each category in order (executemany): the rows are locked in
        # sorted order, so two sink processes never deadlock
        self.conn.execute(sa.update(L).where(L.c.category_code == sa.bindparam("b_code")).values(version=L.c.version + 1),
                          [{"b_code": code} for code in codes])
        return dict(self.conn.execute(sa.select(L.c.category_code, L.c.version).where(L.c.category_code.in_(codes))).all())

    def _load(self, code: str, lower: datetime) -> _CategoryIndex:
        idx = _CategoryIndex(self.sink.distance_m / 111_000,
                             self.sink.distance_m / (111_000 * math.cos(math.radians(_GRID_MAX_LAT))), lower)
        for r in self.conn.execute(sa.select(I).where(
                I.c.category_code == code, I.c.status == "open", I.c.last_seen_at >= lower).order_by(I.c.created_at)):
            d = r._asdict()
            d["first_seen_at"], d["last_seen_at"] = utc(d["first_seen_at"]), utc(d["last_seen_at"])
            idx.add(d)
        idx.kept = len(idx.ids)
        return idx

    def run(self) -> list[tuple[int, Outcome]]:
        conn, sink = self.conn, self.sink
        codes = sorted({t[1].classification.category.code for t in self.todo})  # type: ignore[union-attr]
        versions = self._lock(codes)
        canon = sorted({self._canonical(t[1]) for t in self.todo})
        seen: dict[str, str] = {}
        # a post deleted at its source (a tombstone in ``posts``) is filed nowhere: a redelivery,
        # a replay or a late batch must not bring its words back into an incident or a ticket
        gone = sink.archive.deleted_ids(conn, {t[1].post.id for t in self.todo} | set(canon))
        for part in _chunks(canon):
            seen.update((r.canonical_id, r.incident_id)
                        for r in conn.execute(sa.select(R.c.canonical_id, R.c.incident_id).where(R.c.canonical_id.in_(part))))
        whens = [utc(t[1].post.created_at) for t in self.todo]
        lower = min(whens) - sink.window
        for code in codes:
            idx = sink._cache.get(code)
            if idx is None or idx.version != versions[code] - 1 or idx.lower > lower:
                idx = self._load(code, lower)  # first use, an older time, or another writer since
            elif len(idx.ids) > 2 * idx.kept + 1_000:
                idx = idx.pruned(lower)
            idx.version = versions[code]
            self.index[code] = idx
        # the statuses of the tickets this batch may touch (those of its reports' candidates):
        # delivery, review and deletes change them without the category lock, so read them now
        tids: set[str] = set()
        for (_n, item, lat, lon, _address, akey) in self.todo:
            idx = self.index[item.classification.category.code]  # type: ignore[union-attr]
            incs = idx.incs
            tids.update(t for t in (incs[x]["ticket_id"] for x in idx.nearby(lat, lon, akey)) if t)
        for part in _chunks(sorted(tids)):
            self.ticket_status.update(conn.execute(sa.select(T.c.id, T.c.status).where(T.c.id.in_(part))).all())
        out = []
        for (n, item, lat, lon, address, akey), when in zip(self.todo, whens):
            canonical = self._canonical(item)
            if item.post.id in gone or canonical in gone:
                out.append((n, Outcome(None, skipped="deleted at the source")))
                continue
            if canonical in seen:
                out.append((n, Outcome(seen[canonical], duplicate=True)))
                continue
            o = self._file(item, lat, lon, address, akey, when, canonical)
            seen[canonical] = o.incident_id  # type: ignore[assignment]
            out.append((n, o))
        self._write()
        return out

    @staticmethod
    def _canonical(item: ClassifiedPost) -> str:
        return item.post.reposted_id or item.post.quoted_id or item.post.id

    def _match(self, code: str, lat: float | None, lon: float | None, akey: str | None, when: datetime,
               jurisdiction: str | None = None) -> dict | None:
        w = self.sink.window
        # never across a city limit: a report joins only an incident of its own jurisdiction
        cands = [d for d in self.index[code].candidates(lat, lon, akey)
                 if d["last_seen_at"] >= when - w and d["first_seen_at"] <= when + w
                 and d.get("jurisdiction", "boston") == jurisdiction]
        if lat is not None and lon is not None:
            scored = []
            for d in cands:
                if d["lat"] is not None:
                    dist = distance_m(lat, lon, d["lat"], d["lon"])
                elif akey and d["address_key"] == akey:
                    dist = 0.0
                else:
                    continue
                if dist <= self.sink.distance_m:
                    scored.append((dist, d["created_at"], d))
            return min(scored, key=lambda x: (x[0], x[1]))[2] if scored else None
        if akey:
            return next((d for d in cands if d["address_key"] == akey), None)
        return None

    def _file(self, item: ClassifiedPost, lat, lon, address, akey, when: datetime, canonical: str) -> Outcome:
        sink, post, c = self.sink, item.post, item.classification
        code, conf = c.category.code, c.confidence  # type: ignore[union-attr]
        jid = sink.jurisdiction_of(c) or "boston"
        inc = self._match(code, lat, lon, akey, when, jid)
        self.reports.append(dict(incident_id=None, post_id=post.id, canonical_id=canonical,
                                 url=post.url and post.url[:500], confidence=conf, reported_at=when, created_at=self.now))
        if inc is None:
            incident_id = "i-" + hashlib.sha256(f"{code}|{canonical}".encode()).hexdigest()[:16]
            if jid != "boston":   # Boston's ids stay as they were before jurisdictions
                incident_id = "i-" + hashlib.sha256(f"{jid}|{code}|{canonical}".encode()).hexdigest()[:16]
            status = gate(conf, sink.auto, sink.review, precise=not needs_review(item))
            tid = ticket_id(f"incident:{incident_id}") if status else None
            incident = dict(
                id=incident_id, category_code=code, jurisdiction=jid, lat=lat, lon=lon, address=address and address[:300],
                address_key=akey, neighborhood=(c.location.neighborhood if c.location else None),
                first_post_id=post.id, first_seen_at=when, last_seen_at=when, report_count=1, confidence=conf,
                status="open", ticket_id=tid, body=redact(post.text), created_at=self.now, updated_at=self.now)
            idx = self.index[code]
            idx.add(incident)
            idx.links[incident_id] = []
            self.incs[incident_id] = incident
            self.new_ids.append(incident_id)
            self.new_set.add(incident_id)
            self.reports[-1]["incident_id"] = incident_id
            if tid and status:
                self.ticket_status[tid] = status.value
                self.new_tickets[tid] = (incident_id, post.id, post.media_urls[0] if post.media_urls else None)
            return Outcome(incident_id, new_incident=True, ticket_id=tid, ticket_status=status.value if status else None)
        incident_id = inc["id"]
        self.incs[incident_id] = inc
        self.reports[-1]["incident_id"] = incident_id
        new_conf = max(inc["confidence"], conf)
        inc.update(report_count=inc["report_count"] + 1, confidence=new_conf, updated_at=self.now,
                   last_seen_at=max(inc["last_seen_at"], when), first_seen_at=min(inc["first_seen_at"], when))
        if incident_id not in self.new_set:
            self.dirty.add(incident_id)
        # an incident with no point is promoted only by a report that places it within 300 m
        want = gate(new_conf, sink.auto, sink.review, precise=inc["lat"] is not None or not needs_review(item))
        tid, tstatus = inc["ticket_id"], None
        if tid is None and want is not None:
            tid = inc["ticket_id"] = ticket_id(f"incident:{incident_id}")
            self.ticket_status[tid] = want.value
            self.new_tickets[tid] = (incident_id, inc["first_post_id"], None)
            tstatus = want.value
        elif tid is not None:
            tstatus = self.ticket_status.get(tid)
            if tstatus == TicketStatus.REVIEW.value and want == TicketStatus.PENDING:
                self.ticket_status[tid] = tstatus = "pending"
                if tid not in self.new_tickets:
                    self.promoted.append((tid, conf))
        return Outcome(incident_id, ticket_id=tid, ticket_status=tstatus)

    def _description(self, inc: dict, tid: str) -> str:
        where = inc["address"] + (f", {inc['neighborhood']}" if inc["neighborhood"] else "") if inc["address"] else None
        if where is None and inc["lat"] is not None:
            where = f"{inc['lat']:.5f}, {inc['lon']:.5f}"
        links = [u for _, _, u in self.index[inc["category_code"]].links.get(inc["id"], ())]
        return compose_description(inc["body"], where, links, inc["report_count"], tid)

    def _write(self) -> None:
        conn, now = self.conn, self.now
        touched = [i for i in self.new_ids + sorted(self.dirty) if self.incs[i]["ticket_id"]]
        # every report's link, in report order, for the descriptions of touched incidents: read
        # once per incident (before this batch's reports are inserted), then kept in its index
        unknown = [i for i in touched if i not in self.index[self.incs[i]["category_code"]].links]
        for part in _chunks(unknown):
            for i in part:
                self.index[self.incs[i]["category_code"]].links[i] = []
            for r in conn.execute(sa.select(R.c.incident_id, R.c.url, R.c.reported_at).where(
                    R.c.incident_id.in_(part), R.c.url.is_not(None)).order_by(R.c.reported_at, R.c.id)):
                self.index[self.incs[r.incident_id]["category_code"]].add_link(r.incident_id, utc(r.reported_at), r.url)
        for rep in self.reports:
            idx = self.index[self.incs[rep["incident_id"]]["category_code"]]
            if rep["url"] and rep["incident_id"] in idx.links:
                idx.add_link(rep["incident_id"], rep["reported_at"], rep["url"])
        if self.new_ids:
            insert_rows(conn, I, [self.incs[i] for i in self.new_ids])
        if self.dirty:
            execute_many(conn, "incidents: update counts", sa.update(I).where(I.c.id == sa.bindparam("b_id")).values(
                report_count=sa.bindparam("b_count"), confidence=sa.bindparam("b_conf"),
                first_seen_at=sa.bindparam("b_first"), last_seen_at=sa.bindparam("b_last"),
                ticket_id=sa.bindparam("b_tid"), updated_at=sa.bindparam("b_now")),
                [dict(b_id=d["id"], b_count=d["report_count"], b_conf=d["confidence"], b_first=d["first_seen_at"],
                      b_last=d["last_seen_at"], b_tid=d["ticket_id"], b_now=now)
                 for d in (self.incs[i] for i in sorted(self.dirty))])
        if self.reports:
            insert_rows(conn, R, self.reports)  # a report counted meanwhile by another sink raises: rolled back
        insert_ignore(conn, T, [dict(
            id=tid, post_id=post_id, incident_id=incident_id, service_code=inc["category_code"],
            jurisdiction=inc.get("jurisdiction") or "boston",
            description=self._description(inc, tid), lat=inc["lat"], lon=inc["lon"],
            address=inc["address"] and inc["address"][:300], media_url=media and media[:500],
            confidence=inc["confidence"], status=self.ticket_status[tid], attempts=0, created_at=now,
            updated_at=now) for tid, (incident_id, post_id, media) in self.new_tickets.items()
            for inc in (self.incs[incident_id],)], ["id"])
        for tid, conf in self.promoted:
            conn.execute(sa.update(T).where(T.c.id == tid, T.c.status == "review").values(status="pending", updated_at=now))
            conn.execute(sa.insert(E).values(ticket_id=tid, kind="review", detail=(
                f"promoted to pending: a report with confidence {conf:.2f} attached"), created_at=now))
        updates = [dict(b_id=self.incs[i]["ticket_id"], b_desc=self._description(self.incs[i], self.incs[i]["ticket_id"]),
                        b_conf=self.incs[i]["confidence"], b_now=now)
                   for i in sorted(self.dirty) if self.incs[i]["ticket_id"] and self.incs[i]["ticket_id"] not in self.new_tickets
                   and self.ticket_status.get(self.incs[i]["ticket_id"]) in ("pending", "review")]
        if updates:
            unsent = sa.or_(T.c.status == "pending", T.c.status == "review")  # no IN: executemany
            conn.execute(sa.update(T).where(T.c.id == sa.bindparam("b_id"), unsent).values(
                description=sa.bindparam("b_desc"), confidence=sa.bindparam("b_conf"), updated_at=sa.bindparam("b_now")),
                updates)
