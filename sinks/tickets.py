"""From a classified post to a ticket in the outbox.

Gating (settings ``gating``): confidence at or above ``auto_threshold`` -> ``pending`` (sent when
an Open311 endpoint is configured); between ``review_threshold`` and ``auto_threshold`` ->
``review`` (waits for a person); below -> archived only, no ticket.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from listener.models import ClassifiedPost, Ticket, TicketStatus
from sinks.archive import Archive
from sinks.base import Sink

MAX_DESCRIPTION = 4000
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAGS = re.compile(r"<[^>]{0,200}>")


def redact(text: str) -> str:
    """Drop e-mail addresses, phone numbers, HTML tags and control characters."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    text = _TAGS.sub(" ", text)
    return _CONTROL.sub(" ", text)


def describe(item: ClassifiedPost) -> str:
    """The ticket description: the post (redacted), where we placed it, and its link; <= 4,000 chars."""
    post, c = item.post, item.classification
    parts = [redact(post.text).strip()]
    if c.location:
        where = c.location.address or c.location.text
        parts.append(f"Location (auto-detected): {where}" + (f", {c.location.neighborhood}" if c.location.neighborhood else ""))
    tail = f"Reported via {post.source}" + (f": {post.url}" if post.url else "") + " (Civic Signal)"
    room = MAX_DESCRIPTION - len(tail) - 2 - sum(len(p) + 2 for p in parts[1:])
    if len(parts[0]) > room:
        parts[0] = parts[0][: max(room - 1, 0)] + "…"
    return "\n\n".join(parts + [tail])[:MAX_DESCRIPTION]


def ticket_id(key: str) -> str:
    """A stable idempotency key for what the ticket is about (a post or an incident)."""
    return "t-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def gate(confidence: float, auto: float, review: float) -> TicketStatus | None:
    if confidence >= auto:
        return TicketStatus.PENDING
    if confidence >= review:
        return TicketStatus.REVIEW
    return None


def build_ticket(item: ClassifiedPost, status: TicketStatus, key: str | None = None) -> Ticket:
    c = item.classification
    assert c.category is not None
    loc = c.location
    lat = loc.lat if loc and loc.lat is not None else (item.post.coordinates.lat if item.post.coordinates else None)
    lon = loc.lon if loc and loc.lon is not None else (item.post.coordinates.lon if item.post.coordinates else None)
    return Ticket(
        id=ticket_id(key or item.post.id), post_id=item.post.id, service_code=c.category.code,
        description=describe(item), lat=lat, lon=lon,
        address=(loc.address or loc.text) if loc else None,
        media_url=item.post.media_urls[0] if item.post.media_urls else None,
        confidence=c.confidence, status=status,
    )


class OutboxSink(Sink):
    """Queues one ticket per actionable post that passes the gate (idempotent by post id)."""

    name = "outbox"

    def __init__(self, archive: Archive, *, auto_threshold: float, review_threshold: float) -> None:
        self.archive = archive
        self.auto = auto_threshold
        self.review = review_threshold

    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        tickets = []
        for item in items:
            c = item.classification
            if not c.actionable or c.category is None or item.post.is_repost:
                continue
            status = gate(c.confidence, self.auto, self.review)
            if status is not None:
                tickets.append(build_ticket(item, status))
        self.archive.queue_tickets(tickets)
