"""Incidents: one ticket per problem, reports attach, reposts never count twice; SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from civic_signal.core.models import Category, Classification, ClassifiedPost, Coordinates, Location, LocationKind, Post
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import TicketRow
from civic_signal.sinks.incident_tables import IncidentLockRow, IncidentReportRow, IncidentRow
from civic_signal.sinks.incidents import IncidentSink, compose_description, distance_m, ref_marker
from tests.services.postgres import BACKENDS, db_url, pg_server, pg_url  # noqa: F401

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
MAIN_ST = (42.35000, -71.06000)


def classified(n: int, text: str = "Huge pothole on Main St", *, at: tuple[float, float] | None = MAIN_ST,
               hours: float = 0, code: str = "REQPOTHL", score: float = 0.9, address: str | None = None,
               **post_kw) -> ClassifiedPost:
    post = Post(id=f"x:{n}", source="x", text=text, created_at=T0 + timedelta(hours=hours),
                coordinates=Coordinates(lat=at[0], lon=at[1]) if at else None,
                url=f"https://x.com/someone/status/{n}", **post_kw)
    loc = Location(text=address, kind=LocationKind.ADDRESS, address=address) if address else None
    c = Classification(post_id=post.id, actionable=True, actionable_score=1.0, location=loc,
                       category=Category(code=code, name=code, score=score), model_version="test")
    return ClassifiedPost(post=post, classification=c)


def sink(archive: Archive, **kw) -> IncidentSink:
    return IncidentSink(archive, auto_threshold=0.8, review_threshold=0.55, distance_m=150, window_hours=48, **kw)


def rows(archive: Archive, table) -> list:
    with archive.engine.connect() as c:
        return c.execute(sa.select(table)).all()


@BACKENDS
def test_a_second_report_of_the_same_pothole_attaches_to_the_first_incident(db_url):
    a = Archive(db_url)
    s = sink(a)
    first = s.add(classified(1))
    second = s.add(classified(2, "that pothole on Main is still there", at=(42.35050, -71.06010), hours=5))
    assert first.new_incident and not second.new_incident
    assert second.incident_id == first.incident_id and second.ticket_id == first.ticket_id
    (inc,) = rows(a, IncidentRow)
    assert inc.report_count == 2
    (ticket,) = rows(a, TicketRow)
    assert ticket.status == "pending" and ticket.incident_id == inc.id
    assert "https://x.com/someone/status/1" in ticket.description
    assert "2 reports" in ticket.description and "https://x.com/someone/status/2" in ticket.description
    assert ticket.description.endswith(ref_marker(ticket.id))


@BACKENDS
def test_reposts_quotes_and_redeliveries_never_count_twice(db_url):
    a = Archive(db_url)
    s = sink(a)
    s.add(classified(1))
    assert s.add(classified(1)).duplicate  # redelivered
    assert s.add(classified(3, "RT huge pothole", is_repost=True, reposted_id="x:1")).duplicate
    assert s.add(classified(4, "look at this", quoted_id="x:1")).duplicate
    s.write_batch([classified(1), classified(3, "RT", is_repost=True, reposted_id="x:1")])
    (inc,) = rows(a, IncidentRow)
    assert inc.report_count == 1 and len(rows(a, IncidentReportRow)) == 1 and len(rows(a, TicketRow)) == 1


@BACKENDS
def test_other_place_time_or_category_is_another_incident(db_url):
    a = Archive(db_url)
    s = sink(a)
    s.add(classified(1))
    assert s.add(classified(2, at=(42.3520, -71.0600))).new_incident             # ~220 m north
    assert s.add(classified(3, hours=60)).new_incident                             # 60 h later
    assert s.add(classified(4, "street light out", code="STRLGTOUT")).new_incident  # another category
    assert len(rows(a, IncidentRow)) == len(rows(a, TicketRow)) == 4


@BACKENDS
def test_reports_without_coordinates_match_on_the_address(db_url):
    a = Archive(db_url)
    s = sink(a)
    one = s.add(classified(1, at=None, address="12 Adams St"))
    two = s.add(classified(2, at=None, address="12 ADAMS ST.", hours=1))
    none = s.add(classified(3, at=None))
    assert two.incident_id == one.incident_id
    assert none.skipped == "no location" and len(rows(a, IncidentRow)) == 1


@BACKENDS
def test_gating_per_incident_review_archive_and_promotion(db_url):
    a = Archive(db_url)
    s = sink(a)
    low = s.add(classified(1, at=(42.30, -71.10), score=0.3))
    assert low.ticket_id is None and low.incident_id
    mid = s.add(classified(2, at=(42.31, -71.10), score=0.6))
    assert mid.ticket_status == "review"
    up = s.add(classified(3, at=(42.31, -71.10), score=0.95, hours=1))  # a surer report of the same problem
    assert up.ticket_id == mid.ticket_id and up.ticket_status == "pending"
    raised = s.add(classified(4, at=(42.30, -71.10), score=0.7, hours=1))  # the archived one now needs review
    assert raised.incident_id == low.incident_id and raised.ticket_status == "review"
    statuses = sorted(r.status for r in rows(a, TicketRow))
    assert statuses == ["pending", "review"]


@BACKENDS
def test_two_sink_processes_writing_the_same_reports_make_one_incident(db_url):
    a1, a2 = Archive(db_url), Archive(db_url)
    items = [classified(n, at=(42.35 + n * 1e-5, -71.06), hours=n / 10) for n in range(1, 13)]
    errors: list[BaseException] = []

    def work(arch, order):
        try:
            s = sink(arch)
            for item in order:
                s.write_batch([item])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(a1, items)), threading.Thread(target=work, args=(a2, items[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    incs = rows(a1, IncidentRow)
    assert len(incs) == 1 and incs[0].report_count == 12
    assert len(rows(a1, TicketRow)) == 1 and len(rows(a1, IncidentReportRow)) == 12


def test_description_is_at_most_4000_chars_and_keeps_link_and_marker():
    d = compose_description("x" * 10_000, "Main St", ["https://x.com/a/status/1"] + [f"https://x.com/b/{i}" for i in range(30)],
                            31, "t-abc")
    assert len(d) <= 4000
    assert "https://x.com/a/status/1" in d and d.endswith(ref_marker("t-abc")) and "31 reports" in d


def test_distance_is_metres():
    assert 100 < distance_m(42.35, -71.06, 42.351, -71.06) < 120


# -- the sink keeps its categories' open incidents between batches ------------------------------

@BACKENDS
def test_two_sinks_taking_turns_see_each_others_incidents(db_url):
    """Each sink keeps the open incidents in memory; a batch by the other sink moves the
    category's version on, so the next batch reads the category again instead of opening a twin."""
    a = Archive(db_url)
    one, two = sink(a), sink(a)
    first = one.add(classified(1))
    second = two.add(classified(2, at=(42.35040, -71.06000), hours=1))
    third = one.add(classified(3, at=(42.35020, -71.06010), hours=2))
    assert second.incident_id == third.incident_id == first.incident_id
    (inc,) = rows(a, IncidentRow)
    assert inc.report_count == 3
    (ticket,) = rows(a, TicketRow)
    assert all(f"https://x.com/someone/status/{n}" in ticket.description for n in (1, 2, 3))


@BACKENDS
def test_an_incident_closed_by_the_311_status_sync_takes_no_more_reports(db_url):
    from civic_signal.sinks.incidents import touch_categories
    a = Archive(db_url)
    s = sink(a)
    first = s.add(classified(1))
    with a.engine.begin() as conn:  # what the status sync does when the city closes the ticket
        conn.execute(sa.update(IncidentRow.__table__).where(IncidentRow.__table__.c.id == first.incident_id)
                     .values(status="closed"))
        touch_categories(conn, ["REQPOTHL"])
    later = s.add(classified(2, at=(42.35010, -71.06000), hours=3))
    assert later.new_incident and later.incident_id != first.incident_id


def test_a_batch_that_fails_leaves_nothing_behind_in_memory(tmp_path, monkeypatch):
    """A batch rolled back must not leave its incidents in the sink's memory: redelivered, it
    files the same incident again, in the database this time."""
    from civic_signal.config.errors import StorageError
    from civic_signal.sinks import incidents as mod
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    s = sink(a)
    s.add(classified(1))
    real = mod._Batch._write

    def broken(self):
        real(self)
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(mod._Batch, "_write", broken)
    try:
        s.add(classified(2, "pothole on Elm St", at=(42.36000, -71.07000)))
        raise AssertionError("the failing write should raise")
    except StorageError:
        pass
    monkeypatch.setattr(mod._Batch, "_write", real)
    again = s.add(classified(2, "pothole on Elm St", at=(42.36000, -71.07000)))
    assert again.new_incident and not again.duplicate
    assert len(rows(a, IncidentRow)) == 2


def test_old_incidents_are_dropped_from_memory_but_still_match_when_a_late_post_comes(tmp_path):
    """Incidents that can no longer match are pruned from memory; a post from an older time
    (a replay) makes the sink read that time range again, so it still finds its incident."""
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    s = sink(a)
    early = s.add(classified(1, hours=0))
    # many incidents elsewhere, a week later: the first one falls out of the window and memory
    for k in range(30):
        s.write_batch([classified(100 + k * 100 + j, f"pothole {k}/{j}", at=(42.30 + k * 0.003, -71.10 + j * 0.003),
                                  hours=24 * 7 + k) for j in range(80)])
    idx = s._cache["REQPOTHL"]
    assert early.incident_id not in idx.incs  # pruned
    late = s.add(classified(2, at=(42.35010, -71.06000), hours=1))  # a late post near the first
    assert late.incident_id == early.incident_id and not late.new_incident


def test_a_lost_category_lock_row_is_made_again_and_the_category_read_again(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    s = sink(a)
    first = s.add(classified(1))
    with a.engine.begin() as conn:  # e.g. a restored database without the row
        conn.execute(sa.delete(IncidentLockRow.__table__))
    again = s.add(classified(2, at=(42.35010, -71.06000), hours=1))
    assert again.incident_id == first.incident_id and not again.new_incident
    assert len(rows(a, IncidentLockRow)) == 1
