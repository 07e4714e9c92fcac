"""Outages: the 311 endpoint, the archive database and its disk go away; nothing is lost.

- 311 down for an hour (connection refused), on a simulated clock: tickets wait in the outbox,
  every failed attempt is recorded, and they are all sent exactly once when it comes back.
- The database locked by another connection, or its directory gone: the pipeline's sink stage
  keeps the batch uncommitted, reports ``stats.last_error`` and the log, and catches up.
- The disk full (SQLite ``SQLITE_FULL`` through ``PRAGMA max_page_count``): the same.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from civic_signal.classifiers.keyword import KeywordClassifier
from civic_signal.config.errors import StorageError
from civic_signal.config.settings import load_settings
from civic_signal.listener.bus.memory import MemoryBus
from civic_signal.core.models import Category, Classification, ClassifiedPost, Coordinates, Post
from civic_signal.listener.pipeline import Pipeline
from civic_signal.core.source import ListSource
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive_sink import ArchiveSink
from tests.conftest import make_post

KEY = "outage-test-key"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 13, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Switch(httpx.BaseTransport):
    """Forwards to the real server, or refuses the connection while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.refused = 0
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return self.inner.handle_request(request)


def _report(n: int, lat: float, lon: float, code: str = "REQPOTHL") -> ClassifiedPost:
    post = Post(id=f"x:{n}", source="x", text=f"Huge pothole number {n}", created_at=T0,
                coordinates=Coordinates(lat=lat, lon=lon), url=f"https://x.com/i/status/{n}")
    c = Classification(post_id=post.id, actionable=True, actionable_score=1.0, model_version="test",
                       category=Category(code=code, name=code, score=0.95))
    return ClassifiedPost(post=post, classification=c)


def _three_tickets(archive: Archive, settings) -> list[str]:
    from civic_signal.sinks.incidents import IncidentSink
    sink = IncidentSink.from_settings(archive, settings)
    # three places kilometres apart: three incidents, three tickets
    sink.write_batch([_report(1, 42.35, -71.06), _report(2, 42.30, -71.08), _report(3, 42.37, -71.03)])
    with archive.engine.connect() as c:
        return [r[0] for r in c.execute(sa.text("select id from tickets where status = 'pending'"))]


def _open311_outage(tmp_path: Path, hours_down: float, **open311):
    """Queue three tickets, refuse every connection for ``hours_down``, then let them through."""
    from civic_signal.sinks.open311.client import Open311Client
    from civic_signal.sinks.open311.delivery import DeliveryWorker
    from tests.fakes.open311_server import FakeOpen311

    with FakeOpen311(api_key=KEY) as srv:
        settings = load_settings(open311={"url": srv.url, **open311})
        archive = Archive(f"sqlite:///{tmp_path}/outage.db")
        tids = _three_tickets(archive, settings)
        assert len(tids) == 3
        switch, clock = Switch(), Clock()
        client = Open311Client(srv.url, api_key=KEY, http=httpx.Client(transport=switch, timeout=5))
        worker = DeliveryWorker.from_settings(archive, settings, client=client, clock=clock, rng=random.Random(3))
        step = 15.0  # the sweep runs every 15 s (simulated)
        switch.down = True
        for _ in range(int(hours_down * 3600 / step)):
            worker.reconcile()
            worker.deliver_due()
            clock.advance(step)
        during = {"refused": switch.refused, "errors": list(worker.errors), "counts": dict(worker.counts)}
        switch.down = False
        for _ in range(int(3 * 3600 / step)):  # then at most three hours to catch up
            worker.reconcile()
            worker.deliver_due()
            clock.advance(step)
        with archive.engine.connect() as c:
            status = dict(c.execute(sa.text("select id, status from tickets")).all())
            events = c.execute(sa.text("select kind, count(*) from ticket_events group by kind")).all()
            dead = c.execute(sa.text("select reason from dead_letters")).scalars().all()
        return tids, status, dict(events), dead, during, srv.created


def test_311_down_for_an_hour_tickets_wait_and_are_each_sent_once_when_it_returns(tmp_path):
    # max_attempts is raised so that the retry schedule outlasts an hour (see the next test)
    tids, status, events, dead, during, created = _open311_outage(tmp_path, hours_down=1.0, max_attempts=12)
    assert during["refused"] > 0 and during["counts"].get("retry", 0) > 0
    assert any("Connection refused" in e or "connect" in e.lower() for e in during["errors"]), during["errors"]
    assert dead == []
    assert all(status[t] == "sent" for t in tids), status
    assert len(created) == 3 and len({r["service_request_id"] for r in created}) == 3
    assert events.get("attempt_failed", 0) >= 3 and events.get("sent") == 3


def test_311_down_for_an_hour_with_the_default_retry_settings(tmp_path):
    tids, status, _events, dead, _during, created = _open311_outage(tmp_path, hours_down=1.0)
    assert dead == [] and all(status[t] == "sent" for t in tids), status


def test_311_down_longer_than_the_whole_retry_schedule_still_loses_no_ticket(tmp_path):
    """Six hours refused with max_attempts=2: attempts that find the endpoint down do not count."""
    tids, status, events, dead, during, created = _open311_outage(tmp_path, hours_down=6.0, max_attempts=2)
    assert during["refused"] > 2 and dead == []
    assert all(status[t] == "sent" for t in tids), status
    assert len(created) == 3


def test_the_default_retry_schedule_spans_how_long(tmp_path):
    """How long the defaults keep retrying: the sum of the waits before the last attempt."""
    from civic_signal.sinks.open311.client import Open311Client
    from civic_signal.sinks.open311.delivery import DeliveryWorker
    s = load_settings().open311
    w = DeliveryWorker(Archive(f"sqlite:///{tmp_path}/a.db"), Open311Client("http://127.0.0.1:9/"),
                       max_attempts=s.max_attempts, retry_base_s=s.retry_base_s, retry_max_s=s.retry_max_s,
                       rng=random.Random(0))
    span = sum(w.backoff_s(n) for n in range(1, s.max_attempts))
    assert span > 2 * 3600, f"default retries span only {span / 60:.1f} min over {s.max_attempts} attempts"


# -- the archive database: locked, gone, full -------------------------------------------------

def _posts(n: int, start: int = 0) -> list[Post]:
    return [make_post(f"Pothole on Main St number {i}", n=i) for i in range(start, start + n)]


class Watch(logging.Handler):
    """Collects warnings from the pipeline and calls ``on_retry`` on each (the test's hook)."""

    def __init__(self, on_retry) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.on_retry = on_retry

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.on_retry(len(self.messages))


def _run_with_outage(archive: Archive, on_retry, n: int = 50):
    """The real pipeline into ``archive``; ``on_retry(k)`` runs on the k-th retry warning (it ends the outage)."""
    log = logging.getLogger("civic_signal.pipeline")
    watch = Watch(on_retry)
    log.addHandler(watch)
    try:
        pipe = Pipeline([ListSource(_posts(n))], MemoryBus(), KeywordClassifier(), [ArchiveSink(archive)],
                        dead_letter_writer=archive.write_dead_letters, batch_size=16)
        pipe_sink_retry_max = 0.05
        stats = _run_fast(pipe, pipe_sink_retry_max)
    finally:
        log.removeHandler(watch)
    return stats, watch.messages


def _run_fast(pipe: Pipeline, retry_max_s: float):
    """Run ``pipe`` with the sink stage's backoff capped at ``retry_max_s`` (no long waits in tests)."""
    import civic_signal.listener.pipeline as lp
    original = lp.SinkStage.__init__

    def init(self, *a, **kw):
        original(self, *a, **{**kw, "retry_max_s": retry_max_s})
    lp.SinkStage.__init__ = init
    try:
        return pipe.run()
    finally:
        lp.SinkStage.__init__ = original


def _count(archive: Archive) -> int:
    with archive.engine.connect() as c:
        return c.execute(sa.text("select count(*) from posts")).scalar()


def test_database_locked_by_another_connection_the_batch_waits_and_catches_up(tmp_path):
    db = tmp_path / "locked.db"
    archive = Archive(f"sqlite:///{db}")
    # a short busy timeout so that a locked database fails fast instead of waiting 30 s
    archive.engine.dispose()

    @sa.event.listens_for(archive.engine, "connect")
    def _short(dbapi_conn, _rec):
        dbapi_conn.execute("PRAGMA busy_timeout=50")

    holder = sqlite3.connect(db, timeout=1, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def on_retry(k: int) -> None:
        if k >= 3 and not released.is_set():
            holder.rollback()  # the other process lets go
            released.set()

    stats, warnings = _run_with_outage(archive, on_retry)
    holder.close()
    assert released.is_set() and stats.sink_retries >= 3
    assert "database is locked" in (stats.last_error or "")
    assert any("will retry" in w for w in warnings)
    assert _count(archive) == 50 and stats.dead_letters == 0


def test_database_directory_gone_the_batch_waits_and_catches_up_when_it_is_back(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    archive = Archive(f"sqlite:///{folder}/a.db")
    archive.engine.dispose()
    moved = tmp_path / "moved"
    folder.rename(moved)  # the volume is unmounted
    back = threading.Event()

    def on_retry(k: int) -> None:
        if k >= 3 and not back.is_set():
            moved.rename(folder)  # and comes back
            archive.engine.dispose()
            back.set()

    stats, _ = _run_with_outage(archive, on_retry)
    assert back.is_set() and stats.sink_retries >= 3
    assert "is gone" in (stats.last_error or "")
    assert _count(archive) == 50


def test_database_file_removed_while_open_nothing_is_written_into_the_void(tmp_path):
    """Pooled connections keep a removed file open: without a check, writes would go into the deleted
    file and vanish. The archive notices, retries, and writes into the file restored at the path."""
    db = tmp_path / "a.db"
    archive = Archive(f"sqlite:///{db}")
    backup = tmp_path / "backup.db"
    with sqlite3.connect(db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)
    batches = []

    class RemoveAfterFirst(ArchiveSink):
        def write_batch(self, items):
            super().write_batch(items)
            batches.append(len(items))
            if len(batches) == 1:
                for f in tmp_path.glob("a.db*"):
                    f.unlink()  # an operator (or a cleanup job) removes the database

    restored = threading.Event()

    def on_retry(k: int) -> None:
        if k >= 3 and not restored.is_set():
            shutil.copy(backup, db)  # restored from last night's backup
            restored.set()

    log = logging.getLogger("civic_signal.pipeline")
    watch = Watch(on_retry)
    log.addHandler(watch)
    try:
        pipe = Pipeline([ListSource(_posts(50))], MemoryBus(), KeywordClassifier(), [RemoveAfterFirst(archive)],
                        dead_letter_writer=archive.write_dead_letters, batch_size=16)
        stats = _run_fast(pipe, 0.05)
    finally:
        log.removeHandler(watch)
    assert restored.is_set() and "is gone" in (stats.last_error or "")
    # the first batch went down with the removed file; everything after it is in the restored one
    assert _count(archive) == 50 - batches[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_database_permission_denied_the_batch_waits(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    archive = Archive(f"sqlite:///{folder}/a.db")
    archive.engine.dispose()
    os.chmod(folder / "a.db", 0o444)
    back = threading.Event()

    def on_retry(k: int) -> None:
        if k >= 3 and not back.is_set():
            os.chmod(folder / "a.db", 0o644)
            archive.engine.dispose()
            back.set()

    stats, _ = _run_with_outage(archive, on_retry)
    assert back.is_set() and _count(archive) == 50


def test_disk_full_the_batch_waits_and_catches_up_when_space_is_freed(tmp_path):
    db = tmp_path / "full.db"
    archive = Archive(f"sqlite:///{db}")
    with archive.engine.connect() as c:
        pages = c.exec_driver_sql("PRAGMA page_count").scalar()
    archive.engine.dispose()
    limit = {"pages": pages + 2}  # room for a few posts, not for fifty

    @sa.event.listens_for(archive.engine, "connect")
    def _cap(dbapi_conn, _rec):
        dbapi_conn.execute(f"PRAGMA max_page_count={int(limit['pages'])}")

    freed = threading.Event()

    def on_retry(k: int) -> None:
        if k >= 3 and not freed.is_set():
            limit["pages"] = 1_000_000  # space is freed
            archive.engine.dispose()
            freed.set()

    stats, warnings = _run_with_outage(archive, on_retry)
    assert freed.is_set() and stats.sink_retries >= 3
    assert "full" in (stats.last_error or "").lower(), stats.last_error
    assert _count(archive) == 50 and stats.dead_letters == 0


def test_a_storage_error_names_the_fix_and_carries_no_secret(tmp_path):
    archive = Archive(f"sqlite:///{tmp_path}/x.db")
    archive.engine.dispose()
    os.remove(tmp_path / "x.db")
    (tmp_path / "x.db").mkdir()  # the path is now a directory: writes cannot succeed
    with pytest.raises(StorageError) as err:
        archive.write_posts(_posts(1))
    assert "will be retried" in str(err.value) and "[CS700]" in str(err.value)
