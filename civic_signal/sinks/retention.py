"""Retention: post texts and raw payloads are kept ``privacy.retention_days`` days, then purged.

What is purged, for rows archived (or last changed) more than ``days`` days ago:

- ``posts.text`` and ``posts.raw`` (set to NULL; the row, its id, source, time, place and
  classification stay, so counts and reports still work),
- ``dead_letters.payload`` (set to ``''``; the stage, reason and origin stay),
- ``incidents.body`` (the first report's redacted text; set to ``''``).

Ticket descriptions are kept: they are what was sent to the 311 system, which keeps its own copy.
The age is counted from when Civic Signal stored the row (``archived_at``), not from the post's
date, so that a replay of an old data set is kept for the same ``days``.

:func:`purge` is idempotent and safe to run while the pipeline writes. :func:`purge_job` is the
callable that ``civic_signal.listener.jobs.BackgroundJobs`` schedules once an hour; ``civic-signal purge``
runs it by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from civic_signal.config.errors import StorageError
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import DeadLetterRow, PostRow

log = logging.getLogger("civic_signal.retention")


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    posts: int
    dead_letters: int
    incidents: int

    def __str__(self) -> str:
        return (f"purged texts stored before {self.cutoff.isoformat(timespec='seconds')}: {self.posts} posts, "
                f"{self.dead_letters} dead letters, {self.incidents} incidents")


def purge(archive: Archive, days: int, *, now: datetime | None = None) -> PurgeResult:
    """Purge texts stored more than ``days`` days before ``now`` (default: the current time)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=days)
    posts, dead = PostRow.__table__, DeadLetterRow.__table__
    try:
        with archive.engine.begin() as conn:
            n_posts = conn.execute(
                sa.update(posts).where(posts.c.archived_at < cutoff,
                                       sa.or_(posts.c.text.is_not(None), posts.c.raw.is_not(None)))
                .values(text=None, raw=None)).rowcount
            n_dead = conn.execute(
                sa.update(dead).where(dead.c.created_at < cutoff, dead.c.payload != "").values(payload="")).rowcount
            n_incidents = 0
            meta = sa.MetaData()
            if sa.inspect(conn).has_table("incidents"):
                incidents = sa.Table("incidents", meta, autoload_with=conn)
                n_incidents = conn.execute(
                    sa.update(incidents).where(incidents.c.updated_at < cutoff, incidents.c.body != "")
                    .values(body="")).rowcount
                if n_incidents and sa.inspect(conn).has_table("incident_locks"):
                    from civic_signal.sinks.incidents import touch_categories
                    touch_categories(conn)  # incident sinks re-read the blanked bodies
    except SQLAlchemyError as exc:
        raise StorageError(f"retention purge failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:300]}",
                           hint="nothing was purged; the next run retries") from exc
    result = PurgeResult(cutoff=cutoff, posts=max(n_posts or 0, 0), dead_letters=max(n_dead or 0, 0),
                         incidents=max(n_incidents or 0, 0))
    if result.posts or result.dead_letters or result.incidents:
        log.info("%s", result)
    return result


def purge_job(archive: Archive, settings, *, clock: Callable[[], datetime] | None = None) -> Callable[[], PurgeResult]:
    """The recurring job: :func:`purge` with ``privacy.retention_days``."""
    days = settings.privacy.retention_days

    def run() -> PurgeResult:
        return purge(archive, days, now=clock() if clock else None)
    run.__name__ = "retention_purge"
    return run
