"""Incidents and tickets per jurisdiction: reports never join across a city limit; a post about a city with
no pack is archived, never ticketed; tickets carry their city (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import TicketRow
from civic_signal.sinks.incident_tables import IncidentRow
from tests.services.postgres import BACKENDS, db_url, pg_server, pg_url  # noqa: F401
from tests.sinks.test_incidents import classified, rows, sink

# the Boston University Bridge: one bank in Boston, the other in Cambridge, 100 m apart
BOSTON_BANK, CAMBRIDGE_BANK = (42.35205, -71.11135), (42.35290, -71.11100)


def routed(n, at, jurisdiction, reason=None, **kw):
    cp = classified(n, at=at, code="X-SHARED", **kw)   # one code in both cities: only the city keeps them apart
    c = cp.classification.model_copy(update={"jurisdiction": jurisdiction, "reason": reason})
    return cp.model_copy(update={"classification": c})


@BACKENDS
def test_reports_on_both_sides_of_a_city_limit_are_two_incidents_and_two_tickets(db_url):
    a = Archive(db_url)
    s = sink(a)
    bos = s.add(routed(1, BOSTON_BANK, "boston"))
    cam = s.add(routed(2, CAMBRIDGE_BANK, "cambridge"))
    cam2 = s.add(routed(3, CAMBRIDGE_BANK, "cambridge", hours=1))
    assert bos.new_incident and cam.new_incident and bos.incident_id != cam.incident_id
    assert cam2.incident_id == cam.incident_id   # within one city they still group
    by_id = {r.id: r for r in rows(a, IncidentRow)}
    assert by_id[bos.incident_id].jurisdiction == "boston" and by_id[cam.incident_id].jurisdiction == "cambridge"
    tickets = {r.incident_id: r for r in rows(a, TicketRow)}
    assert tickets[bos.incident_id].jurisdiction == "boston" and tickets[cam.incident_id].jurisdiction == "cambridge"


@BACKENDS
def test_a_post_about_a_city_with_no_pack_is_not_ticketed(db_url):
    a = Archive(db_url)
    out = sink(a).add(routed(1, (42.3870, -71.0960), None, reason="elsewhere: Somerville (no jurisdiction pack)"))
    assert out.incident_id is None and out.skipped.startswith("elsewhere: Somerville")
    assert rows(a, TicketRow) == [] and rows(a, IncidentRow) == []


def test_a_classifier_that_does_not_route_files_in_the_default_city(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    out = sink(a, default_jurisdiction="cambridge").add(classified(1))
    with a.engine.connect() as c:
        assert c.execute(sa.select(TicketRow.__table__.c.jurisdiction)).scalar_one() == "cambridge"
    assert out.ticket_id
