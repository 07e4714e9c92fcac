"""A post placed less precisely than 300 m goes to review, never straight to a ticket (issue 15)."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from civic_signal.core.models import (Category, Classification, ClassifiedPost, Coordinates, Location, LocationKind,
                                      Post)
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import TicketRow
from civic_signal.sinks.incidents import IncidentSink
from civic_signal.sinks.tickets import OutboxSink, gate, needs_review

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def item(n: int, loc: Location | None, coords: Coordinates | None = None, score: float = 0.95) -> ClassifiedPost:
    post = Post(id=f"x:{n}", source="x", text="Huge pothole", created_at=T0, coordinates=coords)
    c = Classification(post_id=post.id, actionable=True, actionable_score=1.0, location=loc,
                       category=Category(code="REQPOTHL", name="Pothole", score=score), model_version="test")
    return ClassifiedPost(post=post, classification=c)


STREET = Location(text="Tremont St", kind=LocationKind.STREET, address="Tremont St", neighborhood="South End",
                  lat=42.34, lon=-71.07, radius_m=7900)          # lat/lon dropped by the model: radius > 300 m
ADDRESS = Location(text="25 Sheridan St", kind=LocationKind.ADDRESS, address="25 Sheridan St",
                   lat=42.32137, lon=-71.10861, radius_m=30)


def test_gate_caps_an_imprecise_post_at_review():
    assert gate(0.95, 0.8, 0.55, precise=False).value == "review"
    assert gate(0.95, 0.8, 0.55).value == "pending"
    assert gate(0.6, 0.8, 0.55, precise=False).value == "review"
    assert gate(0.1, 0.8, 0.55, precise=False) is None
    assert needs_review(item(1, STREET)) and not needs_review(item(2, ADDRESS))
    assert not needs_review(item(3, STREET, Coordinates(lat=42.34, lon=-71.07)))   # the post's own point


def tickets(a: Archive) -> dict[str, str]:
    with a.engine.connect() as c:
        return {r.post_id: r.status for r in c.execute(sa.select(TicketRow)).all()}


def test_incident_sink_sends_an_imprecise_post_to_review(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    s = IncidentSink(a, auto_threshold=0.8, review_threshold=0.55, distance_m=150, window_hours=48)
    out = s.add_many([item(1, STREET), item(2, ADDRESS)])
    assert out[0].ticket_status == "review" and out[1].ticket_status == "pending"
    # a second, equally vague report of the same street does not promote it
    again = s.add(item(3, STREET, score=0.99))
    assert again.incident_id == out[0].incident_id and again.ticket_status == "review"


def test_outbox_sink_sends_an_imprecise_post_to_review(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    OutboxSink(a, auto_threshold=0.8, review_threshold=0.55).write_batch([item(1, STREET), item(2, ADDRESS)])
    assert tickets(a) == {"x:1": "review", "x:2": "pending"}
