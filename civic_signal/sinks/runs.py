"""Replay runs: one row per ``civic-signal replay`` (or any run that classifies into its own run id).

A run's classifications live in ``classifications`` under its ``run_id``; this table says where
the posts came from, which classifier judged them and with which settings, when it started and
ended, and how many posts it saw. ``live`` is the run id of the main job and is never stored here.

Callers may rely on: :func:`start_run` refusing an id that already finished (re-using one would
mix two classifier versions under one id); :func:`finish_run` being safe to call once per run;
times being aware UTC datetimes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, select

from civic_signal.config.errors import ConfigError

LIVE_RUN = "live"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=100)
    source: str = Field(max_length=500)
    classifier_kind: str = Field(max_length=40)
    classifier_version: str = Field(max_length=100)
    settings: str = Field(default="{}", sa_type=sa.Text)
    status: str = Field(default="running", index=True, max_length=20)
    send_tickets: bool = False
    started_at: datetime = Field(default_factory=_utcnow, sa_type=sa.DateTime(timezone=True), index=True)
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    posts_in: int = 0
    classified: int = 0
    actionable: int = 0
    dead_letters: int = 0


@dataclass(frozen=True)
class Run:
    """A run as callers see it (a plain frozen copy of the row)."""

    id: str
    source: str
    classifier_kind: str
    classifier_version: str
    settings: dict[str, Any]
    status: str
    send_tickets: bool
    started_at: datetime
    finished_at: datetime | None
    posts_in: int
    classified: int
    actionable: int
    dead_letters: int


def _aware(dt: datetime | None) -> datetime | None:
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


def _to_run(row: RunRow) -> Run:
    return Run(id=row.id, source=row.source, classifier_kind=row.classifier_kind,
               classifier_version=row.classifier_version, settings=json.loads(row.settings or "{}"),
               status=row.status, send_tickets=row.send_tickets, started_at=_aware(row.started_at),
               finished_at=_aware(row.finished_at), posts_in=row.posts_in, classified=row.classified,
               actionable=row.actionable, dead_letters=row.dead_letters)


def start_run(archive, run_id: str, *, source: str, classifier_kind: str, classifier_version: str,
              settings: dict[str, Any], send_tickets: bool = False) -> Run:
    """Record a new run (status ``running``). An unfinished run of the same id is restarted in place."""
    if run_id == LIVE_RUN:
        raise ConfigError("run id 'live' belongs to the main job", hint="pass another --run-id")
    with archive.session() as s:
        row = s.get(RunRow, run_id)
        if row is not None and row.status == "finished":
            raise ConfigError(f"run {run_id!r} already exists (finished {row.finished_at})",
                              hint="choose a new --run-id; classifications of a run are never overwritten")
        if row is None:
            row = RunRow(id=run_id, source=source[:500], classifier_kind=classifier_kind,
                         classifier_version=classifier_version)
        row.source, row.classifier_kind, row.classifier_version = source[:500], classifier_kind, classifier_version
        row.settings = json.dumps(settings, default=str, sort_keys=True)
        row.status, row.send_tickets, row.started_at, row.finished_at = "running", send_tickets, _utcnow(), None
        s.add(row)
        s.commit()
        s.refresh(row)
        return _to_run(row)


def finish_run(archive, run_id: str, *, status: str = "finished", posts_in: int = 0, classified: int = 0,
               actionable: int = 0, dead_letters: int = 0) -> Run:
    """Close a run with its counts; ``status`` is ``finished``, ``interrupted`` or ``failed``."""
    with archive.session() as s:
        row = s.get(RunRow, run_id)
        if row is None:
            raise ConfigError(f"run {run_id!r} was never started")
        row.status, row.finished_at = status, _utcnow()
        row.posts_in, row.classified, row.actionable, row.dead_letters = posts_in, classified, actionable, dead_letters
        s.add(row)
        s.commit()
        s.refresh(row)
        return _to_run(row)


def get_run(archive, run_id: str) -> Run | None:
    with archive.session() as s:
        row = s.get(RunRow, run_id)
        return _to_run(row) if row else None


def list_runs(archive) -> list[Run]:
    """Every recorded run, newest first."""
    with archive.session() as s:
        return [_to_run(r) for r in s.exec(select(RunRow).order_by(RunRow.started_at.desc())).all()]
