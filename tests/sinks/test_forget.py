"""civic_signal.sinks.forget: the parts of a delete the end-to-end test does not reach one by one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa

from civic_signal.core.models import (Category, Classification, ClassifiedPost, Coordinates, DeadLetter, Location,
                                      LocationKind, Ticket, TicketStatus)
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import ClassificationRow, DeadLetterRow, ExportedPostRow, ExportRow, TicketRow
from civic_signal.sinks.forget import needles, quotes, shingles
from civic_signal.sinks.incident_tables import IncidentRow
from civic_signal.sinks.incidents import IncidentSink
from tests.conftest import make_post
from tests.services.postgres import db_url, pg_server, pg_url  # noqa: F401  (fixtures)

T0 = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def classified(n: int, text: str, minutes: int = 0, url: str | None = None) -> ClassifiedPost:
    post = make_post(text, n=n, created_at=T0 + timedelta(minutes=minutes), url=url,
                     coordinates=Coordinates(lat=42.35, lon=-71.06))
    return ClassifiedPost(post=post, classification=Classification(
        post_id=post.id, actionable=True, actionable_score=0.9, category=Category(code="REQPOTHL", name="Pothole", score=0.9),
        location=Location(text="Dot Ave", kind=LocationKind.STREET, address="Dot Ave", lat=42.35, lon=-71.06, score=0.8),
        model_version="test"))


def test_shingles_quotes_and_needles():
    assert shingles("A couch, on the sidewalk!") == {"a couch on", "couch on the", "on the sidewalk"}
    assert quotes("x COUCH on   the y", shingles("a couch on the sidewalk"))
    assert not quotes("couch the on", shingles("a couch on the sidewalk"))
    assert needles("mastodon:110000000000000001") == ["110000000000000001"]
    assert needles("bsky:did:plc:abcdefgh/3kabcdefghijk") == ["did:plc:abcdefgh", "3kabcdefghijk"]
    assert needles("test:7") == []  # too short to find in a payload without false matches


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_later_report_deleted_leaves_the_incident_and_its_ticket_without_its_link(db_url):
    a = Archive(db_url)
    sink = IncidentSink(a, auto_threshold=0.5, review_threshold=0.3)
    items = [classified(1, "Deep pothole on Dot Ave near the bakery", 0, "https://x.example/1"),
             classified(2, "Crater sized hole swallowing bikes near Dot Ave", 5, "https://x.example/2"),
             classified(3, "Pothole on Dot Ave still not fixed today", 9, "https://x.example/3")]
    a.write_classified(items)
    out = sink.add_many(items)
    tid = out[0].ticket_id
    counts = a.forget_post("test:2")
    assert counts["incidents_changed"] == 1 and counts["tickets_cancelled"] == 0
    with a.engine.connect() as conn:
        inc = conn.execute(sa.select(IncidentRow.__table__)).one()
        t = conn.execute(sa.select(TicketRow.__table__).where(TicketRow.__table__.c.id == tid)).one()
    assert inc.report_count == 2 and inc.first_post_id == "test:1" and inc.body.startswith("Deep pothole")
    assert "x.example/2" not in t.description and "x.example/3" in t.description and t.status == "pending"
    assert "Crater" not in t.description and "2 reports" in t.description
    # the same post again (a redelivery) is not filed again
    assert sink.add(items[1]).skipped == "deleted at the source"
    with a.engine.connect() as conn:
        assert conn.execute(sa.select(IncidentRow.__table__.c.report_count)).scalar() == 2


def test_a_post_deleted_before_it_arrives_gets_no_classification_ticket_incident_or_payload(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/f.db")
    a.forget_post("test:5")
    item = classified(5, "Pothole on Dot Ave by the school")
    a.write_classified([item])
    a.queue_tickets([Ticket(id="t5", post_id="test:5", service_code="REQPOTHL", description=item.post.text,
                            confidence=0.9, status=TicketStatus.PENDING)])
    a.write_dead_letters([DeadLetter(stage="sink", reason="boom", payload=item.post.text, post_id="test:5")])
    assert IncidentSink(a, auto_threshold=0.5, review_threshold=0.3).add(item).skipped == "deleted at the source"
    assert a.count(ClassificationRow) == 0 and a.count(TicketRow) == 0 and a.count(IncidentRow) == 0
    with a.session() as s:
        letters = {d.stage: d.payload for d in s.query(DeadLetterRow).all()}
    assert letters["sink"] == "[deleted at the source]"


def test_dead_letters_holding_the_raw_line_lose_it_others_keep_theirs(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/f.db")
    raw = '{"id":"110000000000000009","content":"<p>Someone dumped a couch on Elm St'
    a.write_dead_letters([
        DeadLetter(stage="source", reason="invalid JSON: unexpected end of data", payload=raw, origin="mastodon"),
        DeadLetter(stage="source", reason="not a post: input_value='Someone dumped a couch on Elm St'",
                   payload='{"id":"110000000000000009"}', origin="mastodon"),
        DeadLetter(stage="source", reason="invalid JSON", payload='{"id":"110000000000000010","content":"x',
                   origin="mastodon")])
    a.write_posts([make_post("Someone dumped a couch on Elm St", n=9, id="mastodon:110000000000000009")])
    assert a.forget_post("mastodon:110000000000000009")["dead_letters"] == 2
    with a.session() as s:
        rows = sorted(s.query(DeadLetterRow).all(), key=lambda d: d.id)
    assert [r.payload for r in rows[:2]] == ["[deleted at the source]"] * 2
    assert "couch" not in rows[1].reason and rows[0].reason.startswith("invalid JSON")
    assert rows[2].payload.startswith('{"id":"110000000000000010"')  # another post's letter is untouched


def test_exported_files_holding_the_post_are_removed(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/f.db")
    held, other, stuck, later = (tmp_path / "held.csv", tmp_path / "other.csv", tmp_path / "stuck",
                                 tmp_path / "later.csv")
    for p in (held, other, later):
        p.write_text("test:2,Streetlight\n")
    stuck.mkdir()  # cannot be unlinked: stays recorded, tried again on the next delete
    a.register_export([held, stuck], ["test:1", "test:2"])
    a.register_export([other], ["test:2"])
    a.register_export([later, other], ["test:3"])  # overwrote other.csv: it left the second export
    assert a.forget_post("test:1")["files_removed"] == 1
    assert not held.exists() and other.exists() and later.exists()
    with a.session() as s:
        exports = sorted(orjson.loads(r.paths) for r in s.query(ExportRow).all())
        posts = {r.post_id for r in s.query(ExportedPostRow).all()}
    assert exports == sorted([[str(stuck.resolve())], [str(later.resolve()), str(other.resolve())]])
    assert posts == {"test:1", "test:2", "test:3"}
    assert a.forget_post("test:2")["files_removed"] == 0  # the directory is still there
    assert a.forget_post("test:3")["files_removed"] == 2 and not other.exists() and not later.exists()


def test_a_report_showing_the_post_is_removed_with_it(tmp_path):
    from civic_signal.sinks.reports import build_report
    a = Archive(f"sqlite:///{tmp_path}/f.db")
    a.write_classified([classified(1, "Deep pothole on Dot Ave near the bakery"),
                        classified(2, "Crater sized hole swallowing bikes near Dot Ave", 5)])
    rep = build_report(a, "live", tmp_path / "report")
    files = [rep.html, *rep.charts.values(), *rep.csv]
    assert "test:2," in (tmp_path / "report" / "posts.csv").read_text(encoding="utf-8")  # the post, its place
    assert all(p.exists() for p in files)
    assert a.forget_post("test:2")["files_removed"] == len(files)
    assert not any(p.exists() for p in files)


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("first", ["sink", "delete"])
def test_a_delete_racing_the_incident_batch_that_files_its_post_leaves_no_text(db_url, first, monkeypatch):
    """The incident sink's batch and the delete serialize on the category's lock row: whichever
    holds it first, the post's text ends up in no incident and no ticket."""
    import threading
    import time

    import civic_signal.sinks.incidents as incidents
    from civic_signal.sinks.incidents import _Batch

    a = Archive(db_url)
    item = classified(1, "Deep pothole on Dot Ave near the bakery")
    a.write_classified([item])  # the archive sink runs first in each batch
    sink = IncidentSink(a, auto_threshold=0.5, review_threshold=0.3)
    inside, release = threading.Event(), threading.Event()
    done: list = []

    def forget():
        done.append(a.forget_post("test:1"))
    if first == "sink":  # the batch holds the lock and has filed the report, not yet committed
        write = _Batch._write

        def held_write(self):
            write(self)
            inside.set()
            release.wait(10)
        monkeypatch.setattr(_Batch, "_write", held_write)
        one, other = threading.Thread(target=sink.add, args=(item,)), threading.Thread(target=forget)
    else:  # the delete holds the lock (tombstone written), not yet committed
        touch = incidents.touch_categories

        def held_touch(conn, codes=None):
            touch(conn, codes)
            inside.set()
            release.wait(10)
        monkeypatch.setattr(incidents, "touch_categories", held_touch)
        one, other = threading.Thread(target=forget), threading.Thread(target=sink.add, args=(item,))
    one.start()
    assert inside.wait(10)
    other.start()
    time.sleep(0.3)  # let the other one reach the lock and wait there
    release.set()
    one.join(20)
    other.join(40)
    with a.engine.connect() as conn:
        bodies = [r[0] for r in conn.execute(sa.select(IncidentRow.__table__.c.body))]
        descriptions = [r[0] for r in conn.execute(sa.select(TicketRow.__table__.c.description))]
    assert done and done[0]["posts"] == 1
    assert not any("bakery" in x for x in bodies + descriptions), (bodies, descriptions, done)
