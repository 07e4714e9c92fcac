"""Recent-search polling with tweepy.Client against a local /2/tweets/search/recent."""

from __future__ import annotations

import pytest

from civic_signal.config.settings import load_settings
from civic_signal.core.models import Post
from civic_signal.listener.sources.x_search import CURSOR, XSearchSource
from civic_signal.sinks.archive import Archive
from tests.listener.sources.servers import ScriptedServer, take

NOW = 1_800_000_000.0


def tweet(n: int) -> dict:
    return {"id": str(2000 + n), "text": f"Graffiti on the wall at Boston Common, report {n}", "author_id": "7",
            "created_at": "2026-11-20T12:00:00.000Z", "lang": "en"}


def page(ns, *, newest=None, next_token=None, remaining="100"):
    def step(reply):
        meta = {"result_count": len(ns)}
        if ns:
            meta["newest_id"], meta["oldest_id"] = newest or str(2000 + max(ns)), str(2000 + min(ns))
        if next_token:
            meta["next_token"] = next_token
        body = {"data": [tweet(n) for n in sorted(ns, reverse=True)], "meta": meta,
                "includes": {"users": [{"id": "7", "username": "common_walker", "name": "W"}]}}
        if not ns:
            body = {"meta": {"result_count": 0}}
        reply.status(200, body, {"x-rate-limit-remaining": remaining, "x-rate-limit-reset": str(int(NOW) + 900)})
    return step


@pytest.fixture(autouse=True)
def env_token(monkeypatch):
    monkeypatch.setenv("CIVIC_X__BEARER_TOKEN", "test-token")


def x_settings(url):
    return load_settings(x={"base_url": url, "search_query": "pothole boston", "search_max_results": 10}).x


def drain(source) -> list:
    """What the source yields for what it has queued so far (no scheduler involved)."""
    out = []
    while not source._queue.empty():
        raw = source._queue.get()
        out.extend(source.items_for(raw))
        source.done(raw)
    return out


def test_pages_come_oldest_first_and_the_cursor_survives_a_restart(tmp_path):
    archive = Archive(f"sqlite:///{tmp_path}/a.db")
    script = [page([5, 4], next_token="p2"), page([3, 2, 1]), page([7, 6]), page([])]
    with ScriptedServer({"GET /2/tweets/search/recent": script}) as server:
        source = XSearchSource(x_settings(server.url), archive, clock=lambda: NOW)
        assert source.poll_once() == 5
        items = drain(source)
        assert [i.id for i in items] == [f"x:{2000 + n}" for n in (1, 2, 3, 4, 5)]
        assert all(i.source == "x-search" and i.tags == ("x-search",) for i in items)
        assert archive.get_cursor(CURSOR) == "2005"
        reqs = server.requests_to("GET /2/tweets/search/recent")
        assert reqs[0].query["query"] == "pothole boston" and "since_id" not in reqs[0].query
        assert reqs[1].query["next_token"] == "p2"

        restarted = XSearchSource(x_settings(server.url), archive, clock=lambda: NOW)
        restarted.poll_once()
        assert [i.id for i in drain(restarted)] == ["x:2006", "x:2007"]
        assert server.requests_to("GET /2/tweets/search/recent")[2].query["since_id"] == "2005"
        assert archive.get_cursor(CURSOR) == "2007"


def test_rate_limit_headers_and_429_hold_requests_until_the_reset():
    clock = {"now": NOW}
    reset = str(int(NOW) + 900)
    script = [page([1], remaining="0"),
              lambda r: r.status(429, {"title": "Too Many Requests"}, {"x-rate-limit-reset": reset}),
              page([2])]
    with ScriptedServer({"GET /2/tweets/search/recent": script}) as server:
        source = XSearchSource(x_settings(server.url), clock=lambda: clock["now"])
        source.poll_once()
        assert source.not_before == NOW + 900
        assert source.poll_once() == 0 and server.calls["GET /2/tweets/search/recent"] == 1
        clock["now"] = NOW + 901
        assert source.poll_once() == 0  # the 429: nothing queued, no cursor move
        assert source.not_before == NOW + 900 and "429" in source.health.last_error
        clock["now"] = NOW + 1000
        source.poll_once()
        ids = [i.id for i in drain(source) if isinstance(i, Post)]
    assert ids == ["x:2001", "x:2002"]


def test_the_scheduler_job_polls_and_the_source_yields(tmp_path):
    script = [page([1, 2]), page([])]
    with ScriptedServer({"GET /2/tweets/search/recent": script}) as server:
        source = XSearchSource(x_settings(server.url), Archive(f"sqlite:///{tmp_path}/b.db"), interval_s=0.05)
        items = take(source, 2)
    assert [i.id for i in items] == ["x:2001", "x:2002"]
