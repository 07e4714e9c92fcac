"""Replaying the SQL archive: a time range over posts.created_at, in pages, oldest first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from civic_signal.core.models import Coordinates
from civic_signal.listener.sources.archive_replay import ArchiveSource
from civic_signal.sinks.archive import Archive
from tests.conftest import make_post

T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


def _archive(tmp_path, n: int = 25) -> Archive:
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    # written out of order, and two posts share a time: paging must still see each once
    posts = [make_post(f"post {i}", n=i, created_at=T0 + timedelta(hours=i // 2),
                       coordinates=Coordinates(lat=42.3, lon=-71.06) if i % 3 == 0 else None)
             for i in reversed(range(n))]
    a.write_posts(posts)
    return a


def test_every_post_once_oldest_first_across_pages(tmp_path):
    src = ArchiveSource(_archive(tmp_path), page_size=4)
    items = list(src)
    assert len(items) == 25 and len({p.id for p in items}) == 25
    assert [p.created_at for p in items] == sorted(p.created_at for p in items)
    assert all(p.created_at.tzinfo is not None for p in items)
    assert items[0].coordinates == Coordinates(lat=42.3, lon=-71.06)


def test_time_range_is_half_open(tmp_path):
    src = ArchiveSource(_archive(tmp_path), since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=5), page_size=3)
    items = list(src)
    assert src.count() == len(items) == 6
    assert min(p.created_at for p in items) == T0 + timedelta(hours=2)
    assert max(p.created_at for p in items) == T0 + timedelta(hours=4)


def test_closing_stops_the_replay(tmp_path):
    src = ArchiveSource(_archive(tmp_path), page_size=5)
    seen = []
    for p in src:
        seen.append(p)
        if len(seen) == 7:
            src.close()
    assert len(seen) == 7
