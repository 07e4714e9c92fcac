"""Archive tables for incidents and ticket delivery (migration ``0002_incidents``).

- ``incidents``: one row per problem on the ground (one category, one place, one time window);
  it owns at most one ticket (``tickets.incident_id``).
- ``incident_reports``: the posts that make up an incident. ``canonical_id`` (the original post
  of a repost or quote, else the post itself) is unique, so that a repost, a quote or a
  redelivered post never counts twice, whatever process writes it.
- ``incident_locks``: one row per category; the incident sink updates it first in each
  transaction so that matching and creating incidents is serialized per category on
  PostgreSQL (row lock) and on SQLite (the write lock).
- ``ticket_events``: what happened to a ticket (each delivery attempt's error, sent, status
  changes from the 311 system, reconciliation, review decisions), oldest first.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from civic_signal.sinks.archive.models import utcnow


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incidents"

    id: str = Field(primary_key=True, max_length=64)
    category_code: str = Field(index=True, max_length=40)
    #: the city it is in: reports never join an incident of another city (0006_jurisdictions)
    jurisdiction: str = Field(default="boston", index=True, max_length=40, sa_column_kwargs={"server_default": "boston"})
    lat: float | None = None
    lon: float | None = None
    address: str | None = Field(default=None, max_length=300)
    address_key: str | None = Field(default=None, index=True, max_length=300)
    neighborhood: str | None = Field(default=None, max_length=100)
    first_post_id: str = Field(max_length=200)
    first_seen_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    last_seen_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    report_count: int = 1
    confidence: float = 0.0
    status: str = Field(default="open", index=True, max_length=20)  # open | closed
    ticket_id: str | None = Field(default=None, max_length=200)
    body: str = Field(default="", sa_type=sa.Text)  # the first report's text, redacted
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class IncidentReportRow(SQLModel, table=True):
    __tablename__ = "incident_reports"
    __table_args__ = (sa.UniqueConstraint("canonical_id", name="uq_incident_reports_canonical"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(index=True, max_length=64)
    post_id: str = Field(max_length=200)
    canonical_id: str = Field(max_length=200)
    url: str | None = Field(default=None, max_length=500)
    confidence: float = 0.0
    reported_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class IncidentLockRow(SQLModel, table=True):
    __tablename__ = "incident_locks"

    category_code: str = Field(primary_key=True, max_length=40)
    version: int = 0


class TicketEventRow(SQLModel, table=True):
    __tablename__ = "ticket_events"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(index=True, max_length=200)
    kind: str = Field(max_length=30)  # attempt_failed | sent | status | reconciled | dead_letter | review
    attempt: int | None = None
    detail: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True), index=True)
