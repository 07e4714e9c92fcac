"""A seeded archive for the console tests, written with the Archive API only."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from civic_signal.core.models import (Category, Classification, ClassifiedPost, DeadLetter, Location, LocationKind, Post,
                             TicketStatus)
from civic_signal.core.source import ListSource
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.health import HealthReporter
from civic_signal.sinks.tickets import build_ticket

#: (category, neighbourhood, address, ticket status or None). Invented reports, no real person's posts.
REPORTS = [
    ("NOUTILFLD", "Dorchester", "12 Adams St", TicketStatus.PENDING),
    ("NOUTILFLD", "Dorchester", "40 Adams St", TicketStatus.REVIEW),
    ("NOUTILFLD", "Dorchester", "3 Gibson St", TicketStatus.SENT),
    ("NOUTILFLD", "Dorchester", "77 Adams St", None),
    ("NOUTILFLD", "Dorchester", "9 Train St", None),
    ("NOUTILFLD", "Dorchester", "1 Ashmont St", None),
    ("REQPOTHL", "Roxbury", "200 Warren St", TicketStatus.REVIEW),
    ("REQPOTHL", "Roxbury", "15 Dudley St", TicketStatus.FAILED),
    ("STRLGTOUT", "South Boston", "500 E Broadway", TicketStatus.PENDING),
]


def classified(n: int, code: str | None, hood: str | None, address: str | None, text: str) -> ClassifiedPost:
    post = Post(id=f"seed:{n}", source="replay", text=text, created_at=datetime.now(timezone.utc))
    loc = Location(text=address, kind=LocationKind.ADDRESS, address=address, neighborhood=hood) if address else None
    c = Classification(post_id=post.id, actionable=code is not None, actionable_score=0.9 if code else 0.1,
                       category=Category(code=code, name=code, score=0.9) if code else None, location=loc,
                       model_version="test")
    return ClassifiedPost(post=post, classification=c)


@pytest.fixture
def seeded(tmp_path) -> Archive:
    archive = Archive(f"sqlite:///{tmp_path}/console.db")
    items = [classified(n, code, hood, addr, f"Report {n}: problem at {addr} in {hood}, please send someone #boston")
             for n, (code, hood, addr, _) in enumerate(REPORTS)]
    items.append(classified(99, None, None, None, "Lovely sunset over the harbour tonight"))
    archive.write_classified(items)
    archive.queue_tickets([build_ticket(items[n], status) for n, (*_, status) in enumerate(REPORTS) if status])
    archive.write_dead_letters([DeadLetter(stage="parse", reason="invalid JSON", payload=f"{{bad {i}")
                                for i in range(2)])
    source = ListSource([])
    source.health.name = "x-stream"
    source.health.connected = True
    source.health.reconnects = 2
    source.health.saw_post()
    source.health.saw_error("HTTP 429 Too Many Requests")
    HealthReporter(archive, "listen@test").report([source], {"posts_in": 120, "classified": 118, "actionable": 9,
                                                              "dead_letters": 2}, depth=7)
    yield archive
    archive.close()
