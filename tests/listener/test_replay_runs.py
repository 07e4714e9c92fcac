"""Replay run plumbing: SOURCE strings, times, pacing and the time filter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.core.models import DeadLetter
from civic_signal.listener.replay_runs import PacedSource, default_run_id, parse_source, parse_when
from civic_signal.core.source import ListSource
from tests.conftest import make_post

T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


def test_parse_when_accepts_dates_times_zones_and_spans_ago():
    assert parse_when("2026-11-20") == T0
    assert parse_when("2026-11-20T12:00Z") == T0 + timedelta(hours=12)
    assert parse_when("2026-11-20T12:00+01:00") == T0 + timedelta(hours=11)
    assert parse_when("7d", now=T0) == T0 - timedelta(days=7)
    assert parse_when("90m", now=T0) == T0 - timedelta(minutes=90)
    assert parse_when(None) is None and parse_when("") is None
    with pytest.raises(ConfigError, match="not a time"):
        parse_when("last tuesday")


def test_parse_source_kinds(tmp_path):
    f = tmp_path / "s.jsonl"
    f.write_text("")
    assert parse_source(str(f)).kind == "file"
    for text in ("archive:", "archive", "sql", "SQL:"):
        assert parse_source(text).kind == "sql"
    spec = parse_source("kafka:civic.posts.raw", since=T0)
    assert (spec.kind, spec.target, spec.since) == ("kafka", "civic.posts.raw", T0)
    with pytest.raises(ConfigError, match="topic"):
        parse_source("kafka:")
    with pytest.raises(ConfigError, match="neither an existing file"):
        parse_source(str(tmp_path / "missing.jsonl"))
    with pytest.raises(ConfigError, match="not before"):
        parse_source("archive:", since=T0, until=T0)


def test_paced_source_filters_by_post_time_and_lets_dead_letters_through():
    posts = [make_post("p", n=i, created_at=T0 + timedelta(hours=i)) for i in range(5)]
    dead = DeadLetter(stage="source", reason="bad", payload="x")
    src = PacedSource(ListSource([posts[0], dead, *posts[1:]]), since=T0 + timedelta(hours=1),
                      until=T0 + timedelta(hours=3))
    out = list(src)
    assert out == [dead, posts[1], posts[2]]
    assert (src.seen, src.skipped) == (6, 3)


def test_paced_source_sleeps_to_hold_the_speed_without_real_time():
    now = {"t": 0.0}
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 6))
        now["t"] += s
    posts = [make_post("p", n=i) for i in range(4)]
    out = list(PacedSource(ListSource(posts), speed=2.0, sleep=sleep, clock=lambda: now["t"]))
    assert out == posts
    assert slept == [0.5, 0.5, 0.5, 0.5]


def test_default_run_id_names_time_and_kind():
    assert default_run_id("keyword", T0) == "replay-20261120T000000Z-keyword"
