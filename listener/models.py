"""The core types, frozen, in one place.

Every external payload (an X v2 stream line, a DataSift interaction, a Jetstream event, a Kafka
record) is wrapped at the boundary into these types; raw dicts never travel further inward
except as :attr:`Post.raw`, kept verbatim for the archive.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

#: The longest post text we accept; longer text is cut here (and flagged), never dropped.
MAX_TEXT_CHARS = 20_000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Coordinates(_Frozen):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Post(_Frozen):
    """One public post from any source."""

    id: str = Field(min_length=1, max_length=200, description="unique across sources, e.g. 'x:1234'")
    source: str = Field(min_length=1, description="x | x-search | datasift | jetstream | mastodon | replay | ...")
    author: str | None = None
    text: str
    created_at: AwareDatetime
    language: str | None = None
    coordinates: Coordinates | None = None
    place: str | None = None
    media_urls: tuple[str, ...] = ()
    is_reply: bool = False
    is_repost: bool = False
    quoted_id: str | None = None
    reposted_id: str | None = None
    url: str | None = None
    tags: tuple[str, ...] = Field((), description="matching rule tags and similar labels from the source")
    truncated: bool = False
    raw: dict[str, Any] | None = Field(None, description="the payload as received, for the archive")

    @field_validator("text", mode="before")
    @classmethod
    def _clean_text(cls, v: Any) -> Any:
        if isinstance(v, str):
            # lone surrogates cannot be stored or encoded: replace them
            v = v.encode("utf-8", "replace").decode("utf-8")
            v = v.replace("\x00", "")
        return v

    @classmethod
    def build(cls, **kw: Any) -> "Post":
        """Construct a post, cutting over-long text at :data:`MAX_TEXT_CHARS` (``truncated=True``)."""
        text = kw.get("text") or ""
        if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
            kw["text"] = text[:MAX_TEXT_CHARS]
            kw["truncated"] = True
        return cls(**kw)


class Category(_Frozen):
    code: str
    name: str
    score: float = Field(ge=0, le=1)


class LocationKind(StrEnum):
    ADDRESS = "address"
    INTERSECTION = "intersection"
    STREET = "street"
    PLACE = "place"
    NEIGHBORHOOD = "neighborhood"
    COORDINATES = "coordinates"


class Location(_Frozen):
    text: str
    kind: LocationKind
    address: str | None = None
    neighborhood: str | None = None
    lat: float | None = None
    lon: float | None = None
    score: float = Field(0.0, ge=0, le=1)


class Classification(_Frozen):
    """What the classifier said about one post."""

    post_id: str
    actionable: bool
    actionable_score: float = Field(ge=0, le=1)
    category: Category | None = None
    location: Location | None = None
    language: str | None = None
    model_version: str
    reason: str | None = Field(None, description="why not actionable, e.g. 'language:fr', 'empty text'")

    @property
    def confidence(self) -> float:
        """Overall confidence used for gating: actionable score times category score."""
        cat = self.category.score if self.category else 0.0
        return round(self.actionable_score * cat, 4)


class ClassifiedPost(_Frozen):
    post: Post
    classification: Classification


class TicketStatus(StrEnum):
    PENDING = "pending"        # in the outbox, not yet sent (or no endpoint configured)
    REVIEW = "review"          # waits for a person in the review queue
    SENDING = "sending"        # idempotency key stored, POST under way
    SENT = "sent"              # the 311 system accepted it (service_request_id or token)
    FAILED = "failed"          # dead-lettered after the last attempt or a permanent error
    REJECTED = "rejected"      # a reviewer rejected it
    CANCELLED = "cancelled"    # the source post was deleted before sending
    CLOSED = "closed"          # the 311 system closed it (status sync)


class Ticket(_Frozen):
    """A ticket to create in the 311 system (one per incident)."""

    id: str = Field(description="idempotency key, stable across restarts")
    post_id: str
    service_code: str
    description: str = Field(max_length=4000)
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    media_url: str | None = None
    confidence: float = Field(ge=0, le=1)
    status: TicketStatus = TicketStatus.PENDING
    created_at: AwareDatetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    service_request_id: str | None = None


class DeadLetter(_Frozen):
    """Something that could not be processed, kept with the reason. Nothing is dropped."""

    stage: str
    reason: str
    payload: str
    origin: str | None = Field(None, description="file:line, topic/partition/offset, URL ...")
    post_id: str | None = None
    created_at: AwareDatetime = Field(default_factory=lambda: datetime.now(timezone.utc))
