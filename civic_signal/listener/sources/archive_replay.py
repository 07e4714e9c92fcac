"""Replay from the SQL archive: the archived posts in a time range over ``posts.created_at``.

Posts come out oldest first (ties by id), read in pages by keyset so that no read transaction
stays open while the pipeline writes. Deleted posts are skipped. Each post is rebuilt from its
columns (the author is the stored handle, hashed when ``privacy.hash_authors`` was on); a row that
no longer makes a valid post comes out as a dead letter naming the post id.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import sqlalchemy as sa
from pydantic import ValidationError

from civic_signal.core.models import Coordinates, DeadLetter, Post
from civic_signal.core.source import Source
from civic_signal.sinks.archive.models import PostRow

PAGE = 1000


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


class ArchiveSource(Source):
    """Posts from ``archive`` with ``since <= created_at < until`` (either bound optional)."""

    name = "archive"

    def __init__(self, archive, *, since: datetime | None = None, until: datetime | None = None,
                 page_size: int = PAGE) -> None:
        super().__init__()
        self.archive = archive
        self.since, self.until = _utc(since), _utc(until)
        self.page_size = page_size

    def _where(self) -> list:
        t = PostRow.__table__
        where = [t.c.deleted == sa.false()]
        if self.since is not None:
            where.append(t.c.created_at >= self.since)
        if self.until is not None:
            where.append(t.c.created_at < self.until)
        return where

    def count(self) -> int:
        """How many posts the range holds now."""
        t = PostRow.__table__
        with self.archive.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t).where(*self._where())).scalar_one()

    @staticmethod
    def to_post(row) -> Post:
        coords, warning = Coordinates.checked(row.lat, row.lon)
        return Post.build(id=row.id, source=row.source, author=row.author, text=row.text or "",
                          created_at=_utc(row.created_at), language=row.language, coordinates=coords,
                          warnings=(warning,) if warning else (),
                          place=row.place, url=row.url, is_repost=bool(row.is_repost),
                          reposted_id=row.reposted_id, quoted_id=row.quoted_id)

    def __iter__(self) -> Iterator[Post | DeadLetter]:
        t = PostRow.__table__
        cols = [t.c.id, t.c.source, t.c.author, t.c.text, t.c.created_at, t.c.language, t.c.lat, t.c.lon,
                t.c.place, t.c.url, t.c.is_repost, t.c.reposted_id, t.c.quoted_id]
        after: tuple | None = None
        self.health.connected = True
        while not self.closed:
            q = sa.select(*cols).where(*self._where())
            if after is not None:
                q = q.where(sa.tuple_(t.c.created_at, t.c.id) > sa.tuple_(sa.literal(after[0], t.c.created_at.type),
                                                                          sa.literal(after[1])))
            q = q.order_by(t.c.created_at, t.c.id).limit(self.page_size)
            with self.archive.engine.connect() as conn:
                rows = conn.execute(q).all()
            if not rows:
                break
            for row in rows:
                if self.closed:
                    break
                try:
                    post = self.to_post(row)
                except ValidationError as exc:
                    msg = f"archived post {row.id} is not a valid post: {str(exc).splitlines()[0][:200]}"
                    self.health.saw_error(msg)
                    yield DeadLetter(stage="source", reason=msg, payload="", origin=f"archive:posts/{row.id}",
                                     post_id=row.id)
                    continue
                self.health.saw_post()
                yield post
            after = (rows[-1].created_at, rows[-1].id)
        self.health.connected = False
