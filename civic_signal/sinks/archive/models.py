"""Archive tables. The same models serve SQLite (default) and PostgreSQL; the schema is
managed by Alembic (``sinks/archive/migrations``). Every table that a redelivery could write
twice has a natural unique key, and writes are insert-or-ignore on it."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class PostRow(SQLModel, table=True):
    __tablename__ = "posts"

    id: str = Field(primary_key=True, max_length=200)
    source: str = Field(index=True, max_length=50)
    author: str | None = Field(default=None, max_length=200)
    text: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    language: str | None = Field(default=None, max_length=20)
    lat: float | None = None
    lon: float | None = None
    place: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=500)
    is_repost: bool = False
    reposted_id: str | None = Field(default=None, max_length=200)
    quoted_id: str | None = Field(default=None, max_length=200)
    raw: str | None = Field(default=None, sa_type=sa.Text)
    deleted: bool = False
    archived_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class ClassificationRow(SQLModel, table=True):
    __tablename__ = "classifications"
    __table_args__ = (sa.UniqueConstraint("post_id", "run_id", name="uq_classification_post_run"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: str = Field(index=True, max_length=200)
    run_id: str = Field(default="live", index=True, max_length=100)
    actionable: bool
    actionable_score: float
    category_code: str | None = Field(default=None, index=True, max_length=40)
    category_score: float | None = None
    location_text: str | None = Field(default=None, max_length=300)
    location_kind: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=300)
    neighborhood: str | None = Field(default=None, index=True, max_length=100)
    lat: float | None = None
    lon: float | None = None
    location_score: float | None = None
    language: str | None = Field(default=None, max_length=20)
    model_version: str = Field(max_length=100)
    reason: str | None = Field(default=None, max_length=300)
    #: the pack (city) the post is about; None = no configured city (migration 0006_jurisdictions)
    jurisdiction: str | None = Field(default=None, index=True, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True)


class TicketRow(SQLModel, table=True):
    """The ticket outbox: one row per ticket to create, with its delivery state."""

    __tablename__ = "tickets"

    id: str = Field(primary_key=True, max_length=200)  # idempotency key
    post_id: str = Field(index=True, max_length=200)
    incident_id: str | None = Field(default=None, index=True, max_length=200)
    service_code: str = Field(max_length=40, index=True)
    #: the city whose Open311 endpoint gets it (0006_jurisdictions; older rows: the server default "boston")
    jurisdiction: str = Field(default="boston", index=True, max_length=40,
                              sa_column_kwargs={"server_default": "boston"})
    description: str = Field(sa_type=sa.Text)
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=300)
    media_url: str | None = Field(default=None, max_length=500)
    confidence: float = 0.0
    status: str = Field(default="pending", index=True, max_length=20)
    service_request_id: str | None = Field(default=None, max_length=100)
    token: str | None = Field(default=None, max_length=100)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    next_attempt_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    external_status: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class DeadLetterRow(SQLModel, table=True):
    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(unique=True, max_length=64)
    stage: str = Field(index=True, max_length=50)
    reason: str = Field(sa_type=sa.Text)
    payload: str = Field(sa_type=sa.Text)
    origin: str | None = Field(default=None, max_length=500)
    post_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True)


class CursorRow(SQLModel, table=True):
    """Where a source left off (``since_id``, ``time_us``, a file offset ...), across restarts."""

    __tablename__ = "cursors"

    name: str = Field(primary_key=True, max_length=200)
    value: str = Field(max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class ExportRow(SQLModel, table=True):
    """Files written together by ``civic-signal export`` or ``civic-signal report`` (their
    absolute paths as a JSON list), so that a post deleted at its source can take away the files
    that hold it (sinks/forget.py)."""

    __tablename__ = "exports"

    id: int | None = Field(default=None, primary_key=True)
    paths: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class ExportedPostRow(SQLModel, table=True):
    """Which post is in which export (one row per post, however many files the export wrote)."""

    __tablename__ = "exported_posts"
    __table_args__ = (sa.UniqueConstraint("export_id", "post_id", name="uq_exported_posts_export_post"),)

    id: int | None = Field(default=None, primary_key=True)
    export_id: int = Field(index=True)
    post_id: str = Field(max_length=200, index=True)
