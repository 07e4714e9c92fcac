"""Mastodon SSE streaming (httpx) against a local server: updates, deletes, heartbeats, reconnects."""

from __future__ import annotations

import json

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.config.settings import load_settings
from civic_signal.core.models import DeadLetter, Post, PostDeleted
from civic_signal.listener.sources.mastodon import MastodonSource, html_to_text, stream_url
from civic_signal.listener.sources.streaming import Backoff
from tests.listener.sources.servers import ScriptedServer, take

TOKEN = "mastodon-token-for-tests"


def status(n: int, text: str = "Overflowing trash can on Tremont St") -> dict:
    return {"id": str(110_000 + n), "created_at": "2026-11-20T12:00:00.000Z", "language": "en",
            "content": f"<p>{text} <a href=\"https://m.example/tags/boston\">#<span>boston</span></a></p><p>#{n}</p>",
            "account": {"id": "9", "acct": "tremont_neighbor"}, "url": f"https://m.example/@t/{110_000 + n}",
            "media_attachments": [{"type": "image", "url": "https://m.example/m/1.png"}],
            "tags": [{"name": "boston"}], "in_reply_to_id": None, "reblog": None, "spoiler_text": ""}


def event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


def m_settings(url: str, **kw):
    return load_settings(mastodon={"streaming_url": url + "/api/v1/streaming", "watchdog_s": 0.5, **kw}).mastodon


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("CIVIC_MASTODON__TOKEN", TOKEN)


def test_updates_deletes_heartbeats_across_disconnect_stall_and_error():
    def conn1(r):
        r.start_stream("text/event-stream")
        r.chunk(b":thump\n\n")
        r.chunk(event("update", json.dumps(status(1))))
        r.chunk(event("update", "{not json"))
        r.chunk(b"event: update\ndata: " + json.dumps(status(2)).encode()[:30])  # cut mid-event
        r.cut()

    def conn3(r):
        r.start_stream("text/event-stream")
        r.chunk(event("update", json.dumps(status(2))))
        r.hold()  # no heartbeat: the watchdog reconnects

    def conn4(r):
        r.start_stream("text/event-stream")
        r.chunk(event("update", json.dumps(status(2))))  # seen already
        r.chunk(event("delete", "110001"))
        r.chunk(event("delete", "999"))  # not one of ours
        r.chunk(event("notification", "{}"))
        r.chunk(event("update", json.dumps(status(3))))
        r.keep_alive_until_released(b":thump\n\n")

    script = [conn1, lambda r: r.status(502, b"bad gateway"), conn3, conn4]
    with ScriptedServer({"GET /api/v1/streaming/public/local": script}) as server:
        source = MastodonSource(m_settings(server.url, streams=["public:local"]),
                                backoff_factory=lambda: Backoff(0, 0))
        items = take(source, 3, predicate=lambda i: isinstance(i, Post))
    posts = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in posts] == ["mastodon:110001", "mastodon:110002", "mastodon:110003"]
    assert posts[0].text.startswith("Overflowing trash can on Tremont St #boston") and "<" not in posts[0].text
    assert posts[0].author == "tremont_neighbor" and posts[0].tags == ("boston",)
    assert [d.post_id for d in items if isinstance(d, PostDeleted)] == ["mastodon:110001"]
    assert len([d for d in items if isinstance(d, DeadLetter)]) == 1
    assert source.heartbeats >= 1 and source.health.reconnects >= 3 and source.filtered == 1
    assert server.requests_to("GET /api/v1/streaming/public/local")[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_hashtag_and_local_streams_share_one_source_without_duplicates():
    def tagged(r):
        r.start_stream("text/event-stream")
        r.chunk(event("update", json.dumps(status(5))))
        r.chunk(event("update", json.dumps(status(6))))
        r.keep_alive_until_released(b":thump\n\n")

    def local(r):
        r.start_stream("text/event-stream")
        r.chunk(event("update", json.dumps(status(5))))
        r.keep_alive_until_released(b":thump\n\n")

    scripts = {"GET /api/v1/streaming/hashtag": [tagged], "GET /api/v1/streaming/public/local": [local]}
    with ScriptedServer(scripts) as server:
        source = MastodonSource(m_settings(server.url, streams=["public:local", "hashtag:boston"]))
        items = take(source, 2)
        assert server.requests_to("GET /api/v1/streaming/hashtag")[0].query == {"tag": "boston"}
    assert sorted(i.id for i in items) == ["mastodon:110005", "mastodon:110006"]


def test_stream_names_and_settings():
    assert stream_url("https://m.example/api/v1/streaming/", "hashtag:local:boston") == (
        "https://m.example/api/v1/streaming/hashtag/local", {"tag": "boston"})
    assert html_to_text("<p>a &amp; b<br>c</p><p>d</p>") == "a & b\nc\n\nd"
    with pytest.raises(ConfigError, match="CIVIC_MASTODON__STREAMING_URL"):
        MastodonSource(load_settings().mastodon)


def test_a_status_holding_raw_line_separators_is_archived_once_and_intact(tmp_path):
    """Issue 21 regression: Mastodon writes JSON as JavaScript's JSON.stringify does, so U+2028,
    U+2029 and U+0085 arrive raw inside the data line; the SSE reader split there and the status
    became a dead letter ("invalid JSON"), lost for good (Mastodon has no replay)."""
    import threading
    import time

    from sqlmodel import select

    from civic_signal.classifiers.keyword import KeywordClassifier
    from civic_signal.listener.bus.memory import MemoryBus
    from civic_signal.listener.pipeline import Pipeline
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.archive.models import DeadLetterRow, PostRow
    from civic_signal.sinks.archive_sink import ArchiveSink

    text = "Pothole on Tremont St\u2028right by the crosswalk\u2029deep one\x85careful"
    raw = json.dumps(status(7, text), ensure_ascii=False, separators=(",", ":"))
    assert "\u2028" in raw and "\u2029" in raw and "\x85" in raw  # raw, not escaped

    def conn(r):
        r.start_stream("text/event-stream")
        r.chunk(f"event: update\r\ndata: {raw}\r\n\r\n".encode())
        r.chunk(event("update", raw))  # the same status again (a second stream or a backfill)
        r.keep_alive_until_released(b":thump\n\n")

    archive = Archive(f"sqlite:///{tmp_path}/m.db")
    with ScriptedServer({"GET /api/v1/streaming/public/local": [conn]}) as server:
        source = MastodonSource(m_settings(server.url, streams=["public:local"]))
        pipe = Pipeline([source], MemoryBus(), KeywordClassifier(), [ArchiveSink(archive)],
                        dead_letter_writer=archive.write_dead_letters)
        t = threading.Thread(target=pipe.run, daemon=True)
        t.start()
        for _ in range(200):
            if archive.count(PostRow) or archive.count(DeadLetterRow):
                break
            time.sleep(0.05)
        time.sleep(0.3)  # room for a wrongly split second copy or dead letter to arrive
        source.close()
        t.join(10)
    with archive.session() as s:
        rows = s.exec(select(PostRow)).all()
    assert [r.id for r in rows] == ["mastodon:110007"]
    assert rows[0].text.startswith(text + " #boston")
    assert archive.count(DeadLetterRow) == 0
