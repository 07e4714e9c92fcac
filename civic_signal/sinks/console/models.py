"""Archive tables of the operations console: process heartbeats, source health and alerts.

``heartbeats`` and ``source_health`` are upserted every few seconds by each running process
(``run``, ``listen``, ``work`` ...) through :class:`civic_signal.sinks.health.HealthReporter`; a console in
another process reads them. ``alerts`` holds every alert raised, once per ``key`` (the rule,
its subject and a time bucket), so re-evaluating a rule never duplicates an alert.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class HeartbeatRow(SQLModel, table=True):
    """One row per running process, rewritten at every report."""

    __tablename__ = "heartbeats"

    process: str = Field(primary_key=True, max_length=200)
    role: str = Field(default="", max_length=50)
    host: str = Field(default="", max_length=200)
    pid: int = 0
    started_at: datetime = Field(default_factory=_utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=_utcnow, sa_type=sa.DateTime(timezone=True), index=True)
    stopped: bool = False
    stats: str = Field(default="{}", sa_type=sa.Text)  # JSON: see sinks.health.ProcessStats


class SourceHealthRow(SQLModel, table=True):
    """The last :class:`SourceHealth` snapshot of one source in one process."""

    __tablename__ = "source_health"

    process: str = Field(primary_key=True, max_length=200)
    source: str = Field(primary_key=True, max_length=100)
    connected: bool = False
    posts: int = 0
    errors: int = 0
    reconnects: int = 0
    posts_per_minute: float = 0.0
    last_message_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime = Field(default_factory=_utcnow, sa_type=sa.DateTime(timezone=True), index=True)


class AlertRow(SQLModel, table=True):
    """An alert raised by a rule in :mod:`civic_signal.sinks.alerts`."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    rule: str = Field(index=True, max_length=50)
    severity: str = Field(default="warning", max_length=20)
    subject: str = Field(default="", max_length=300)
    message: str = Field(sa_type=sa.Text)
    data: str = Field(default="{}", sa_type=sa.Text)
    raised_at: datetime = Field(default_factory=_utcnow, sa_type=sa.DateTime(timezone=True), index=True)
    webhook_status: str | None = Field(default=None, max_length=200)
