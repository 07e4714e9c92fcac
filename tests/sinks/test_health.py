"""Heartbeats: a process publishes its state; another reads it."""

from __future__ import annotations

from civic_signal.listener.pipeline import PipelineStats
from civic_signal.core.source import ListSource
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.health import HealthReporter, read_health


def test_reports_upsert_one_row_per_process_and_source(tmp_path):
    archive = Archive(f"sqlite:///{tmp_path}/h.db")
    src = ListSource([])
    src.health.connected = True
    src.health.saw_post()
    stats = PipelineStats()
    stats.add(posts_in=10, classified=10, actionable=3)
    rep = HealthReporter(archive, "run@test")
    assert rep.report([src], stats, depth=5)
    stats.add(classified=20)
    assert rep.report([src], stats, depth=2, lag=40)
    processes, sources = read_health(archive)
    assert [p.process for p in processes] == ["run@test"] and processes[0].role == "run"
    assert processes[0].stats["classified"] == 30 and processes[0].stats["queue_depth"] == 2
    assert processes[0].stats["lag"] == 40 and processes[0].stats["rate_per_s"] > 0
    assert [(s.name, s.connected, s.posts) for s in sources] == [("list", True, 1)]


def test_background_thread_reports_and_marks_the_process_stopped(tmp_path):
    archive = Archive(f"sqlite:///{tmp_path}/h.db")
    src = ListSource([])
    src.health.connected = True
    with HealthReporter(archive, "work@test").start(lambda: [src], lambda: {"classified": 1}, interval_s=60):
        pass
    processes, sources = read_health(archive)
    assert processes[0].stopped and not sources[0].connected


def test_a_database_failure_costs_one_heartbeat_not_the_process(tmp_path):
    archive = Archive(f"sqlite:///{tmp_path}/h.db")
    import sqlalchemy as sa
    with archive.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE heartbeats"))
    assert HealthReporter(archive, "run@test").report([], None) is False
