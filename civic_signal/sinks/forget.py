"""A post deleted at its source leaves every copy Civic Signal made of it, in one transaction.

:func:`forget_post` (called by :meth:`civic_signal.sinks.archive.Archive.forget_post`, which the
archive writer runs for each :class:`civic_signal.core.models.PostDeleted`) reaches:

- ``posts``: a tombstone (``deleted``, no text, raw payload, author, place, link or coordinates);
  a post that arrives after its delete is not archived over it (writes are insert-or-ignore),
  and its classifications, tickets and incident reports are not written either;
- ``classifications`` of every run (live and replay runs): the matched text, address and reason;
- ``incidents`` the post was a report of: its report keeps its row (so a redelivery or a repost
  never counts it again) but loses its link. An incident with no other live report closes and
  loses its body, place and first post; otherwise the next report (by time) becomes its first
  post, its body is that report's redacted text, its place that report's, its count and times
  those of the remaining reports. Right after the tombstone, the ``incident_locks`` rows of the
  categories the post was classified or filed under are updated, as the incident sink does
  first in each batch: a sink batch filing the post either committed before (its report is
  then handled here) or waits and sees the tombstone (and skips the post); and every sink reads
  those categories again, so none writes a cached body or link back;
- ``tickets``: one not yet sent (``pending``, ``review``) of the post is cancelled and its
  description replaced; one of an incident that lives on gets its description rebuilt without
  the post. One that will not be sent (``failed``, ``rejected``, ``cancelled``) keeps its status
  and loses the post's words. A ticket already handed to the 311 system (``sending``, ``sent``, ``closed``)
  keeps its id and ref marker, but its local copy of the description is rewritten without the
  post, and a ``source_deleted`` ticket event records that the 311 system still holds what was
  sent (GeoReport v2 has no call to withdraw or edit a request: see docs/sources.md).
  ``last_error`` and ticket events that quote the post's words are replaced;
- ``dead_letters`` of the post (by ``post_id``, or without one whose payload holds the post's
  native id: the raw line of a post that failed to parse): payload removed; a reason quoting
  the post's words is replaced. The delete's own audit letter (stage ``source:delete``) stays;
- exported files (``civic-signal export``, ``civic-signal report``) that hold the post
  (``exports``, ``exported_posts``): removed from disk, and their rows dropped;
- ``labels`` of the post (a person's, a review's or a 311 outcome's): deleted, so the next
  ``civic-signal model train`` does not learn from it; and its ``label_suggestions`` rows (the
  days ``civic-signal review suggest`` offered it).

"Quoting the post's words" means holding any three consecutive words of its text
(:func:`shingles`); it is only checked where the text was known before the delete.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import orjson
import sqlalchemy as sa

from civic_signal.core.models import DELETE_STAGE
from civic_signal.sinks.archive.models import (ClassificationRow, DeadLetterRow, ExportedPostRow, ExportRow, PostRow,
                                              TicketRow)
from civic_signal.sinks.incident_tables import IncidentLockRow, IncidentReportRow, IncidentRow, TicketEventRow

log = logging.getLogger("civic_signal.forget")

GONE = "[deleted at the source]"
#: the body of a ticket description whose post was deleted after the ticket was sent
GONE_SENT = "[text removed: the post was deleted at its source after this ticket was sent]"
#: statuses of a ticket not yet handed to the 311 system: cancelled on a delete
UNSENT = ("pending", "review")
#: statuses of a ticket that will not be sent and was not accepted: only its description changes
STOPPED = ("failed", "rejected", "cancelled")

P, C, D = PostRow.__table__, ClassificationRow.__table__, DeadLetterRow.__table__
X, XF = ExportedPostRow.__table__, ExportRow.__table__
T, I, R, L, E = (TicketRow.__table__, IncidentRow.__table__, IncidentReportRow.__table__,
                 IncidentLockRow.__table__, TicketEventRow.__table__)

_WORD = re.compile(r"\w+")
#: shortest native id searched for in dead letters without a post id (real ids are 13+ characters)
MIN_NEEDLE = 8


def words(text: str | None) -> list[str]:
    return _WORD.findall((text or "").casefold())


def shingles(text: str | None, n: int = 3) -> set[str]:
    """Every run of ``n`` consecutive words of ``text`` (casefolded, space-joined); the whole
    text when it has fewer than ``n`` words."""
    w = words(text)
    if len(w) < n:
        return {" ".join(w)} if w else set()
    return {" ".join(w[i:i + n]) for i in range(len(w) - n + 1)}


def quotes(value: str | None, marks: set[str]) -> bool:
    """True when ``value`` holds one of ``marks`` (see :func:`shingles`)."""
    if not value or not marks:
        return False
    hay = " " + " ".join(words(value)) + " "
    return any(f" {m} " in hay for m in marks)


def needles(post_id: str) -> list[str]:
    """The parts of a post id that its raw payload holds (``mastodon:123`` -> ``123``;
    ``bsky:did:plc:x/3k...`` -> the DID and the record key)."""
    native = post_id.split(":", 1)[-1]
    parts = [p for p in native.split("/") if p]
    return parts if parts and all(len(p) >= MIN_NEEDLE for p in parts) else []


def _like(part: str) -> str:
    return "%" + part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def forget_post(conn: sa.Connection, post_id: str, now: datetime) -> dict[str, int]:
    """Remove every copy of the post (see the module docstring) inside ``conn``'s transaction.
    Idempotent. Returns counts: ``posts``, ``tickets_cancelled``, ``incidents_closed``,
    ``incidents_changed``, ``tickets_rewritten``, ``dead_letters``, ``files_removed``, ``labels``."""
    from civic_signal.sinks.archive.store import insert_ignore
    from civic_signal.sinks.incidents import touch_categories

    # the tombstone first (a post being archived meanwhile is waited for), then the text as it was
    insert_ignore(conn, P, [dict(id=post_id, source=post_id.split(":", 1)[0][:50] or "unknown", author=None, text=None,
                                 created_at=now, is_repost=False, raw=None, deleted=True, archived_at=now)], ["id"])
    text = conn.execute(sa.select(P.c.text).where(P.c.id == post_id)).scalar()
    n_posts = conn.execute(sa.update(P).where(P.c.id == post_id).values(
        text=None, raw=None, author=None, place=None, url=None, lat=None, lon=None, deleted=True)).rowcount
    marks = shingles(text)
    # then the categories the post may be filed under, locked as the incident sink locks them: a
    # sink batch filing the post either committed before (its report is read below) or waits and
    # then sees the tombstone; and every sink reads these categories again (their version moves)
    codes = {r[0] for r in conn.execute(sa.select(C.c.category_code).where(
        C.c.post_id == post_id, C.c.actionable == sa.true(), C.c.category_code.is_not(None)))}
    codes |= {r[0] for r in conn.execute(sa.select(I.c.category_code).where(
        I.c.id.in_(sa.select(R.c.incident_id).where(R.c.post_id == post_id))))}
    if codes:  # made if missing first: a sink's uncommitted first row of a category is waited for
        insert_ignore(conn, L, [{"category_code": c, "version": 0} for c in sorted(codes)], ["category_code"])
        touch_categories(conn, sorted(codes))
    inc_ids = sorted({r[0] for r in conn.execute(sa.select(R.c.incident_id).where(R.c.post_id == post_id))})
    conn.execute(sa.update(C).where(C.c.post_id == post_id).values(location_text=None, address=None, reason=None))

    out = {"posts": max(n_posts or 0, 0), "tickets_cancelled": 0, "incidents_closed": 0, "incidents_changed": 0,
           "tickets_rewritten": 0, "dead_letters": 0, "files_removed": 0}
    touched_tickets: set[str] = set()
    for iid in inc_ids:
        _forget_in_incident(conn, iid, post_id, now, out, touched_tickets)

    # the post's own tickets (one per post without incidents, or an incident's that closed)
    for row in conn.execute(sa.select(T.c.id, T.c.status, T.c.description).where(T.c.post_id == post_id)).all():
        touched_tickets.add(row.id)
        if row.status in UNSENT:
            out["tickets_cancelled"] += conn.execute(sa.update(T).where(T.c.id == row.id, T.c.status.in_(UNSENT)).values(
                status="cancelled", description=GONE, last_error=GONE, address=None, lat=None, lon=None,
                updated_at=now)).rowcount or 0
        elif row.status in STOPPED:
            if row.description != GONE:
                conn.execute(sa.update(T).where(T.c.id == row.id).values(description=GONE, address=None, lat=None,
                                                                      lon=None, updated_at=now))
        else:  # handed to the 311 system (sending, sent, closed)
            conn.execute(sa.update(T).where(T.c.id == row.id).values(address=None, lat=None, lon=None))
            _rewrite_sent(conn, row.id, _sent_description(row.id), now, out)
    if marks and touched_tickets:
        for part in _chunks(sorted(touched_tickets)):
            for row in conn.execute(sa.select(T.c.id, T.c.last_error).where(T.c.id.in_(part))).all():
                if quotes(row.last_error, marks):
                    conn.execute(sa.update(T).where(T.c.id == row.id).values(last_error=GONE))
            for row in conn.execute(sa.select(E.c.id, E.c.detail).where(E.c.ticket_id.in_(part))).all():
                if quotes(row.detail, marks):
                    conn.execute(sa.update(E).where(E.c.id == row.id).values(detail=GONE))

    out["dead_letters"] = _forget_dead_letters(conn, post_id, marks)
    out["files_removed"] = _forget_files(conn, post_id)
    from civic_signal.sinks.labels import forget as forget_labels
    out["labels"] = forget_labels(conn, post_id)
    from civic_signal.sinks.learning_queue import forget as forget_suggestions
    forget_suggestions(conn, post_id)   # the days it was offered for labelling (review suggest)
    return out


def _chunks(values: Sequence, size: int = 500):
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _sent_description(tid: str) -> str:
    from civic_signal.sinks.incidents import ref_marker
    return f"{GONE_SENT}\n\n{ref_marker(tid)}"


def _rewrite_sent(conn: sa.Connection, tid: str, description: str, now: datetime, out: dict[str, int]) -> None:
    """A ticket the 311 system already has: rewrite the local copy once, and say so in its events."""
    old = conn.execute(sa.select(T.c.description).where(T.c.id == tid)).scalar()
    if old == description:
        return
    conn.execute(sa.update(T).where(T.c.id == tid).values(description=description, updated_at=now))
    conn.execute(sa.insert(E).values(ticket_id=tid, kind="source_deleted", created_at=now, detail=(
        "a post of this ticket was deleted at its source: the local copy of the description was "
        "rewritten without it; the 311 system keeps the description it was sent")))
    out["tickets_rewritten"] += 1


def _forget_in_incident(conn: sa.Connection, iid: str, post_id: str, now: datetime, out: dict[str, int],
                        touched: set[str]) -> None:
    from civic_signal.sinks.incidents import address_key, compose_description, utc
    from civic_signal.sinks.tickets import redact

    inc = conn.execute(sa.select(I).where(I.c.id == iid)).one_or_none()
    conn.execute(sa.update(R).where(R.c.incident_id == iid, R.c.post_id == post_id).values(url=None))
    if inc is None:
        return
    reps = conn.execute(
        sa.select(R.c.post_id, R.c.url, R.c.confidence, R.c.reported_at, P.c.text, P.c.deleted,
                  P.c.lat.label("plat"), P.c.lon.label("plon"))
        .select_from(R.outerjoin(P, P.c.id == R.c.post_id))
        .where(R.c.incident_id == iid).order_by(R.c.reported_at, R.c.id)).all()
    alive = [r for r in reps if r.post_id != post_id and not r.deleted]
    tid = inc.ticket_id
    tstatus = conn.execute(sa.select(T.c.status).where(T.c.id == tid)).scalar() if tid else None
    if tid:
        touched.add(tid)
    if not alive:
        conn.execute(sa.update(I).where(I.c.id == iid).values(
            status="closed", body="", first_post_id="", report_count=0, address=None, address_key=None,
            lat=None, lon=None, updated_at=now))
        out["incidents_closed"] += 1
        if tid and tstatus in UNSENT:
            out["tickets_cancelled"] += conn.execute(sa.update(T).where(T.c.id == tid, T.c.status.in_(UNSENT)).values(
                status="cancelled", description=GONE, last_error=GONE, address=None, lat=None, lon=None,
                updated_at=now)).rowcount or 0
        elif tid and tstatus in STOPPED:
            conn.execute(sa.update(T).where(T.c.id == tid).values(description=GONE, address=None, lat=None, lon=None,
                                                                  updated_at=now))
        elif tid and tstatus is not None:
            conn.execute(sa.update(T).where(T.c.id == tid).values(address=None, lat=None, lon=None))
            _rewrite_sent(conn, tid, _sent_description(tid), now, out)
        return

    first = alive[0]
    # the body is the first report's redacted text: the next report's when the first went (empty
    # if retention purged that one's text), else unchanged
    body = (redact(first.text) if first.text else "") if inc.first_post_id == post_id else inc.body
    values: dict = dict(first_post_id=first.post_id, report_count=len(alive),
                        confidence=max(r.confidence for r in alive),
                        first_seen_at=min(utc(r.reported_at) for r in alive),
                        last_seen_at=max(utc(r.reported_at) for r in alive), body=body, updated_at=now)
    lat, lon, address, hood = inc.lat, inc.lon, inc.address, inc.neighborhood
    if inc.first_post_id == post_id:  # its place came from the deleted post: take the next report's
        cls = conn.execute(sa.select(C).where(C.c.post_id == first.post_id).order_by(
            (C.c.run_id == "live").desc(), C.c.id)).first()
        lat = cls.lat if cls is not None and cls.lat is not None else first.plat
        lon = cls.lon if cls is not None and cls.lon is not None else first.plon
        if lat is None or lon is None:
            lat = lon = None
        address = ((cls.address or cls.location_text) if cls is not None else None) or None
        hood = cls.neighborhood if cls is not None else None
        values.update(lat=lat, lon=lon, address=address and address[:300], address_key=address_key(address),
                      neighborhood=hood)
    conn.execute(sa.update(I).where(I.c.id == iid).values(**values))
    out["incidents_changed"] += 1
    if not tid or tstatus is None:
        return
    where = address + (f", {hood}" if hood else "") if address else None
    if where is None and lat is not None:
        where = f"{lat:.5f}, {lon:.5f}"
    links = [r.url for r in alive if r.url]
    if tstatus in UNSENT or tstatus in STOPPED:  # rebuilt without the post; its status stays
        conn.execute(sa.update(T).where(T.c.id == tid, T.c.status == tstatus).values(
            post_id=first.post_id, description=compose_description(body, where, links, len(alive), tid),
            address=address and address[:300], lat=lat, lon=lon, confidence=values["confidence"], updated_at=now))
    else:
        conn.execute(sa.update(T).where(T.c.id == tid).values(post_id=first.post_id, address=address and address[:300],
                                                              lat=lat, lon=lon))
        _rewrite_sent(conn, tid, compose_description(GONE_SENT, where, links, len(alive), tid), now, out)


def _forget_dead_letters(conn: sa.Connection, post_id: str, marks: set[str]) -> int:
    cond = D.c.post_id == post_id
    parts = needles(post_id)
    if parts:
        cond = sa.or_(cond, sa.and_(*[D.c.payload.like(_like(p), escape="\\") for p in parts]))
    n = 0
    for row in conn.execute(sa.select(D.c.id, D.c.reason, D.c.payload).where(cond, D.c.stage != DELETE_STAGE)).all():
        values: dict = {}
        if row.payload != GONE:
            values["payload"] = GONE
        if quotes(row.reason, marks):
            values["reason"] = "[reason removed: it quoted a post deleted at its source]"
        if values:
            n += conn.execute(sa.update(D).where(D.c.id == row.id).values(**values)).rowcount or 0
    return n


def _forget_files(conn: sa.Connection, post_id: str) -> int:
    """Remove the files of every export holding the post; an export whose files could not all
    be removed keeps those (and its posts), so the next delete of one of them tries again."""
    ids = sorted({r[0] for r in conn.execute(sa.select(X.c.export_id).where(X.c.post_id == post_id))})
    n = 0
    for part in _chunks(ids):
        for row in conn.execute(sa.select(XF.c.id, XF.c.paths).where(XF.c.id.in_(part))).all():
            stuck = []
            for p in orjson.loads(row.paths):
                try:
                    Path(p).unlink()
                    n += 1
                    log.warning("removed %s: it held a post deleted at its source; make it again if needed", p)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.error("could not remove %s, which holds a post deleted at its source: %s", p, exc)
                    stuck.append(p)
            if stuck:
                conn.execute(sa.update(XF).where(XF.c.id == row.id).values(paths=orjson.dumps(stuck).decode()))
            else:
                conn.execute(sa.delete(X).where(X.c.export_id == row.id))
                conn.execute(sa.delete(XF).where(XF.c.id == row.id))
    return n
