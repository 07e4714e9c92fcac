"""The core types, frozen, in one place.

Every external payload (an X v2 stream line, a DataSift interaction, a Jetstream event, a Kafka
record) is wrapped at the boundary into these types; raw dicts never travel further inward
except as :attr:`Post.raw`, kept verbatim for the archive.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from civic_signal.core.sanitize import clean_json, clean_str

#: The longest post text we accept; longer text is cut here (and flagged), never dropped.
MAX_TEXT_CHARS = 20_000
#: The longest link a post keeps (the archive's column size); a longer one is dropped.
MAX_URL_CHARS = 500


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Coordinates(_Frozen):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)

    @classmethod
    def checked(cls, lat: Any, lon: Any) -> "tuple[Coordinates | None, str | None]":
        """``(Coordinates, None)`` for a real point; ``(None, warning)`` for malformed ones ("north",
        NaN, 999, a bool, only one of the two); ``(None, None)`` when both are absent. Never raises:
        bad coordinates are dropped and said so, the post is kept and located from its text."""
        if lat is None and lon is None:
            return None, None
        nums = []
        for v in (lat, lon):
            if isinstance(v, str):   # "42.35" as text is still a number; "north" is not
                try:
                    v = float(v.strip())
                except ValueError:
                    pass
            nums.append(v)
        ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in nums)
        if ok and -90 <= nums[0] <= 90 and -180 <= nums[1] <= 180:
            return cls(lat=float(nums[0]), lon=float(nums[1])), None
        return None, f"coordinates dropped: lat={str(lat)[:20]!r} lon={str(lon)[:20]!r} are not a point on Earth"


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
    warnings: tuple[str, ...] = Field((), exclude_if=lambda v: not v,
                                      description="what was dropped on the way in (e.g. malformed coordinates); "
                                                  "left out of the JSON when empty")

    @model_validator(mode="before")
    @classmethod
    def _drop_bad_coordinates(cls, v: Any) -> Any:
        # malformed coordinates ("north", NaN, 999) lose nothing: they are dropped with a warning
        # and the post is kept (located from its text), in every source and replay
        if isinstance(v, dict) and v.get("coordinates") is not None and not isinstance(v["coordinates"], Coordinates):
            c = v["coordinates"]
            lat, lon = (c.get("lat"), c.get("lon")) if isinstance(c, dict) else (c, None)
            coords, warning = Coordinates.checked(lat, lon)
            if warning or coords is None:
                warning = warning or f"coordinates dropped: {str(c)[:40]!r} is not a point"
                v = {**v, "coordinates": None, "warnings": (*tuple(v.get("warnings") or ()), warning)}
            else:
                v = {**v, "coordinates": coords}
        return v

    @field_validator("id", "source", "author", "text", "language", "place", "quoted_id", "reposted_id", "url",
                     mode="before")
    @classmethod
    def _clean_text(cls, v: Any) -> Any:
        # lone surrogates cannot be encoded and NUL cannot be stored (PostgreSQL): clean them
        return clean_str(v) if isinstance(v, str) else v

    @field_validator("url", mode="after")
    @classmethod
    def _short_url(cls, v: str | None) -> str | None:
        # a link longer than the archive's columns is dropped, never cut (a cut link is a wrong link)
        return v if v is None or len(v) <= MAX_URL_CHARS else None

    @field_validator("media_urls", "tags", mode="before")
    @classmethod
    def _clean_items(cls, v: Any) -> Any:
        return tuple(clean_str(x) if isinstance(x, str) else x for x in v) if isinstance(v, (list, tuple)) else v

    @field_validator("raw", mode="before")
    @classmethod
    def _clean_raw(cls, v: Any) -> Any:
        # the raw payload must serialize (archive, Kafka, dead letters) whatever a source put in it
        return clean_json(v) if isinstance(v, dict) else v

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
    #: the city-neutral problem type (config/data/taxonomy/types.json) the code was mapped from;
    #: None from classifiers that predict codes directly (the keyword fallback)
    type: str | None = None


class LocationKind(StrEnum):
    ADDRESS = "address"
    INTERSECTION = "intersection"
    STREET = "street"
    PLACE = "place"
    NEIGHBORHOOD = "neighborhood"
    COORDINATES = "coordinates"


#: A location whose true spot may be further than this from its point gives no point (lat/lon
#: null) and its post goes to review, never straight to a ticket.
PRECISE_RADIUS_M = 300.0


class Location(_Frozen):
    """Where a post is about. ``radius_m``: how far (metres) the true spot may be from ``lat``/``lon``
    (None: not said, e.g. built by older code). When ``radius_m`` > :data:`PRECISE_RADIUS_M`, ``lat``
    and ``lon`` are None (set so on validation) while ``text``, ``kind`` and ``neighborhood`` stay."""

    text: str
    kind: LocationKind
    address: str | None = None
    neighborhood: str | None = None
    lat: float | None = None
    lon: float | None = None
    score: float = Field(0.0, ge=0, le=1)
    radius_m: float | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _imprecise_has_no_point(cls, v: Any) -> Any:
        if isinstance(v, dict) and isinstance(v.get("radius_m"), (int, float)) and v["radius_m"] > PRECISE_RADIUS_M \
                and (v.get("lat") is not None or v.get("lon") is not None):
            v = {**v, "lat": None, "lon": None}
        return v

    @property
    def precise(self) -> bool:
        """True when the location gives a point a crew can be sent to (radius within 300 m)."""
        return self.lat is not None and self.lon is not None and (self.radius_m is None or self.radius_m <= PRECISE_RADIUS_M)


class Classification(_Frozen):
    """What the classifier said about one post."""

    post_id: str
    actionable: bool
    actionable_score: float = Field(ge=0, le=1)
    category: Category | None = None
    location: Location | None = None
    language: str | None = None
    model_version: str
    reason: str | None = Field(None, description="why not actionable, e.g. 'language:fr', 'empty text'; "
                                                 "'elsewhere: Somerville ...' for a post about a city with no pack")
    #: the jurisdiction pack (city) the post is about, e.g. "boston" / "cambridge"; None = no configured city
    #: (then ``reason`` says where, and the post is archived, never ticketed)
    jurisdiction: str | None = None

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
    service_code: str = Field(description="the jurisdiction's own service code")
    #: the jurisdiction pack (city) whose Open311 endpoint receives the ticket
    jurisdiction: str = "boston"
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

    @field_validator("stage", "reason", "payload", "origin", "post_id", mode="before")
    @classmethod
    def _clean(cls, v: Any) -> Any:
        return clean_str(v) if isinstance(v, str) else v


#: The :attr:`DeadLetter.stage` that marks a delete travelling on the dead-letter topic.
DELETE_STAGE = "source:delete"


class PostDeleted(_Frozen):
    """The author (or the platform) deleted a post: its text must leave the archive, and its
    ticket must not be sent. Sources yield it; :func:`civic_signal.listener.pipeline.run_source` sends it on
    the dead-letter topic as :meth:`to_dead_letter` so that it reaches the archive writer on any
    bus (in-process or Kafka) without a new topic or type; the archive applies it there."""

    post_id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    reason: str = "deleted at the source"
    deleted_at: AwareDatetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    def to_dead_letter(self) -> DeadLetter:
        return DeadLetter(stage=DELETE_STAGE, reason=f"{self.source}: {self.reason}", post_id=self.post_id,
                          payload=self.model_dump_json(), origin=self.source, created_at=self.deleted_at)

    @classmethod
    def from_dead_letter(cls, letter: DeadLetter) -> "PostDeleted | None":
        """The delete a dead letter carries, or ``None`` for an ordinary dead letter."""
        if letter.stage != DELETE_STAGE or not letter.post_id:
            return None
        try:
            return cls.model_validate_json(letter.payload)
        except ValueError:
            return cls(post_id=letter.post_id, source=letter.origin or "unknown", deleted_at=letter.created_at)
