"""From a classified post to a ticket in the outbox.

Gating (settings ``gating``): confidence at or above ``auto_threshold`` -> ``pending`` (sent when
an Open311 endpoint is configured); between ``review_threshold`` and ``auto_threshold`` ->
``review`` (waits for a person); below -> archived only, no ticket.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from civic_signal.core.models import PRECISE_RADIUS_M, ClassifiedPost, Ticket, TicketStatus
from civic_signal.sinks.archive import Archive
from civic_signal.core.sink import Sink

MAX_DESCRIPTION = 4000
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: "john (at) example (dot) com", "john[at]example.com"
_EMAIL_SPELLED = re.compile(r"[\w.+-]+\s*[\[(]\s*at\s*[\])]\s*[\w-]+(?:\s*(?:\.|[\[(]\s*dot\s*[\])])\s*[\w-]+)+", re.I)
_SEP = r"[\s.\-\u2010-\u2015\u2212]"  # space, dot, hyphen and the Unicode dashes
_PHONE = re.compile(rf"(?<!\d)(?:\+?1{_SEP}?)?\(?\d{{3}}\)?{_SEP}{{0,3}}\d{{3}}{_SEP}{{0,3}}\d{{4}}(?!\d)")
#: international: "+44 20 7946 0958", "0044 20 7946 0958"
_PHONE_INTL = re.compile(rf"(?<![\w+])(?:\+|00)\d{{1,3}}(?:(?:{_SEP}|[()]){{0,2}}\d){{6,14}}(?!\d)")
#: local seven digits: "555-1234"
_PHONE_LOCAL = re.compile(rf"(?<![\d.,])\d{{3}}{_SEP}?\d{{4}}(?![\d.,]\d|\d)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: invisible format characters (zero-width spaces and joiners, bidi overrides, BOM): they can hide
#: an address or a number from the patterns above and reorder what a 311 agent sees
_FORMAT = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"[^\S\n]+")
#: block tags separate words; any other tag inside a word ("617<b>-555", "jo<i>hn@x.org") is cut out
#: without a space, so that it cannot split a number or an address out of the patterns' sight
_TAGS_BLOCK = re.compile(r"</?(?:p|br|div|li|ul|ol|tr|td|th|h\d|blockquote|pre|hr)\b[^>]{0,200}>", re.I)
_TAGS_JOINED = re.compile(r"(?<=\S)<[^>]{0,200}>(?=\S)")


def redact(text: str) -> str:
    """Drop HTML tags, control and invisible format characters, then e-mail addresses and phone numbers.

    Tags and invisible characters go first so that they cannot split an address or a number
    out of the patterns' sight.
    """
    text = _TAGS_BLOCK.sub(" ", text)
    text = _TAGS_JOINED.sub("", text)
    text = _TAGS.sub(" ", text)
    text = _CONTROL.sub("", text)
    text = _FORMAT.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _EMAIL.sub("[email]", text)
    text = _EMAIL_SPELLED.sub("[email]", text)
    text = _PHONE_INTL.sub("[phone]", text)
    text = _PHONE.sub("[phone]", text)
    return _PHONE_LOCAL.sub("[phone]", text)


def describe(item: ClassifiedPost) -> str:
    """The ticket description: the post (redacted), where we placed it, and its link; <= 4,000 chars."""
    post, c = item.post, item.classification
    parts = [redact(post.text).strip()]
    if c.location:
        where = c.location.address or c.location.text
        parts.append(f"Location (auto-detected): {where}" + (f", {c.location.neighborhood}" if c.location.neighborhood else ""))
    tail = f"Reported via {post.source}" + (f": {post.url}" if post.url else "") + " (Civic Signal)"
    tail = _FORMAT.sub("", _CONTROL.sub("", tail))
    room = MAX_DESCRIPTION - len(tail) - 2 - sum(len(p) + 2 for p in parts[1:])
    if len(parts[0]) > room:
        parts[0] = parts[0][: max(room - 1, 0)] + "…"
    return "\n\n".join(parts + [tail])[:MAX_DESCRIPTION]


def ticket_id(key: str) -> str:
    """A stable idempotency key for what the ticket is about (a post or an incident)."""
    return "t-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def needs_review(item: ClassifiedPost) -> bool:
    """True when the post is placed less precisely than :data:`PRECISE_RADIUS_M` (a location with
    ``radius_m`` over 300 m, hence no point, and no coordinates on the post): a person must look
    before a crew is sent, so such a post never becomes a ticket straight away."""
    loc = item.classification.location
    return (item.post.coordinates is None and loc is not None and loc.radius_m is not None
            and loc.radius_m > PRECISE_RADIUS_M)


def gate(confidence: float, auto: float, review: float, *, precise: bool = True) -> TicketStatus | None:
    """PENDING (filed straight away) at ``auto`` or above, REVIEW at ``review`` or above, else
    None. ``precise=False`` (see :func:`needs_review`) caps the answer at REVIEW."""
    if confidence >= auto:
        return TicketStatus.PENDING if precise else TicketStatus.REVIEW
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
            status = gate(c.confidence, self.auto, self.review, precise=not needs_review(item))
            if status is not None:
                tickets.append(build_ticket(item, status))
        self.archive.queue_tickets(tickets)
