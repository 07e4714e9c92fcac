"""Retention: texts stored longer than privacy.retention_days are purged; the rest stays."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from civic_signal.config.settings import load_settings
from civic_signal.core.models import DeadLetter
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.retention import purge, purge_job
from tests.conftest import REPO, make_post

NOW = datetime(2027, 6, 1, tzinfo=timezone.utc)


def _archive(tmp_path) -> Archive:
    a = Archive(f"sqlite:///{tmp_path}/r.db")
    a.write_posts([make_post("old pothole, call 617-555-1234", n=1, raw={"text": "old"}),
                   make_post("new pothole", n=2, raw={"text": "new"})])
    a.write_dead_letters([DeadLetter(stage="source", reason="bad", payload='{"text": "old secret"}', origin="f:1",
                                     created_at=NOW - timedelta(days=200)),
                          DeadLetter(stage="source", reason="bad", payload='{"text": "new"}', origin="f:2",
                                     created_at=NOW - timedelta(days=1))])
    with a.engine.begin() as c:  # post 1 was stored 100 days ago, post 2 yesterday
        c.execute(sa.text("update posts set archived_at = :t where id = :id"),
                  [{"t": NOW - timedelta(days=100), "id": "test:1"}, {"t": NOW - timedelta(days=1), "id": "test:2"}])
    return a


def _rows(a: Archive):
    with a.engine.connect() as c:
        posts = dict((r[0], (r[1], r[2])) for r in c.execute(sa.text("select id, text, raw from posts")))
        dead = dict(c.execute(sa.text("select origin, payload from dead_letters")).all())
    return posts, dead


def test_purge_drops_old_texts_and_payloads_and_keeps_the_rest(tmp_path):
    a = _archive(tmp_path)
    result = purge(a, 90, now=NOW)
    assert (result.posts, result.dead_letters) == (1, 1)
    posts, dead = _rows(a)
    assert posts["test:1"] == (None, None) and posts["test:2"][0] == "new pothole"
    assert dead == {"f:1": "", "f:2": '{"text": "new"}'}
    assert purge(a, 90, now=NOW).posts == 0  # idempotent


def test_the_job_uses_the_retention_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVIC_PRIVACY__RETENTION_DAYS", "365")
    a = _archive(tmp_path)
    job = purge_job(a, load_settings(), clock=lambda: NOW)
    assert job().posts == 0
    monkeypatch.setenv("CIVIC_PRIVACY__RETENTION_DAYS", "30")
    assert purge_job(a, load_settings(), clock=lambda: NOW)().posts == 1


def test_the_background_jobs_schedule_the_purge(tmp_path):
    from civic_signal.listener.jobs import BackgroundJobs
    jobs = BackgroundJobs(load_settings(), Archive(f"sqlite:///{tmp_path}/j.db"))
    try:
        assert "retention.purge" in jobs.scheduler.names()
    finally:
        jobs.monitor.close()


def test_purge_command(tmp_path):
    a = _archive(tmp_path)
    with a.engine.begin() as c:
        c.execute(sa.text("update posts set archived_at = :t"), {"t": datetime.now(timezone.utc) - timedelta(days=10)})
    env = {"CIVIC_DATABASE_URL": f"sqlite:///{tmp_path}/r.db"}
    import os
    out = subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", "purge", "--days", "5"], capture_output=True,
                         text=True, cwd=REPO, env={**os.environ, **env}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "2 posts" in out.stdout
    assert all(t == (None, None) for t in _rows(a)[0].values())
