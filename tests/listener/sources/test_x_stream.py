"""tweepy's own StreamingClient against a local server speaking the X v2 stream format."""

from __future__ import annotations

import json

import pytest
import tweepy.streaming

from civic_signal.config.errors import ConfigError
from civic_signal.config.settings import load_settings
from civic_signal.core.models import DeadLetter, Post, PostDeleted
from civic_signal.listener.sources.x_stream import XStreamSource
from civic_signal.listener.sources.streaming import Backoff
from tests.listener.sources.servers import ScriptedServer, take

TOKEN = "test-bearer-token-not-real"


def tweet(n: int, *, tags=("boston-keywords",), geo: bool = False) -> bytes:
    data = {"id": str(1000 + n), "text": f"Pothole number {n} on Dorchester Ave", "author_id": "42",
            "created_at": "2026-11-20T12:00:00.000Z", "lang": "en", "attachments": {"media_keys": ["3_1"]}}
    includes = {"users": [{"id": "42", "username": "dot_neighbor", "name": "Dot Neighbor"}],
                "media": [{"media_key": "3_1", "type": "photo", "url": "https://pbs.example/1.jpg"}]}
    if geo:
        data["geo"] = {"place_id": "p1"}
        includes["places"] = [{"id": "p1", "full_name": "Boston, MA"}]
    rules = [{"id": str(i), "tag": t} for i, t in enumerate(tags)]
    return json.dumps({"data": data, "includes": includes, "matching_rules": rules}).encode() + b"\r\n"


def settings(url: str, watchdog_s: float = 0.5):
    return load_settings(x={"base_url": url, "watchdog_s": watchdog_s}).x


@pytest.fixture
def env_token(monkeypatch):
    monkeypatch.setenv("CIVIC_X__BEARER_TOKEN", TOKEN)


@pytest.fixture
def sleeps(monkeypatch):
    calls: list[float] = []
    monkeypatch.setattr(tweepy.streaming, "sleep", calls.append)
    return calls


def rules_get(reply):
    reply.status(200, {"data": [
        {"id": "900", "value": "old rule", "tag": "stale"},
        {"id": "901", "value": "@BOS311 -is:retweet", "tag": "mentions-311"},
    ], "meta": {"result_count": 2}})


def rules_post(reply):
    body = reply.json()
    if "add" in body:
        reply.status(201, {"data": [{"id": str(950 + i), **r} for i, r in enumerate(body["add"])],
                           "meta": {"summary": {"created": len(body["add"])}}})
    else:
        reply.status(200, {"meta": {"summary": {"deleted": len(body["delete"]["ids"])}}})


def conn_disconnect(reply):  # keep-alive, two posts, a malformed line, then the connection drops
    reply.start_stream()
    reply.chunk(b"\r\n")
    reply.chunk(tweet(1))
    reply.chunk(b"\r\n")
    reply.chunk(tweet(2, geo=True))
    reply.chunk(b'{"data": {"id": "77", "text": \r\n')
    reply.cut()


def conn_429(reply):
    reply.status(429, {"title": "ConnectionException", "detail": "This stream is currently at the maximum allowed "
                       "connection limit.", "connection_issue": "TooManyConnections"})


def conn_stall(reply):  # one post, then nothing at all: the watchdog must reconnect
    reply.start_stream()
    reply.chunk(tweet(3))
    reply.hold()


def conn_rest(reply):  # 3 again (backfill duplicate), a delete, an error notice, more posts, keep-alives
    reply.start_stream()
    reply.chunk(tweet(3))
    reply.chunk(tweet(4, tags=("boston-keywords", "boston-geo")))
    reply.chunk(json.dumps({"data": {"delete": {"tweet": {"id": "1001", "author_id": "42"},
                                                "event_at": "2026-11-20T12:05:00.000Z"}}}).encode() + b"\r\n")
    reply.chunk(b'{"errors": [{"title": "operational-disconnect", "detail": "upstream hiccup"}]}\r\n')
    reply.chunk(b"[1, 2, 3]\r\n")
    reply.chunk(tweet(5))
    reply.keep_alive_until_released()


def test_every_post_arrives_once_in_order_across_disconnect_429_stall_and_junk(env_token, sleeps):
    scripts = {"GET /2/tweets/search/stream": [conn_disconnect, conn_429, conn_stall, conn_rest],
               "GET /2/tweets/search/stream/rules": [rules_get], "POST /2/tweets/search/stream/rules": [rules_post]}
    with ScriptedServer(scripts) as server:
        source = XStreamSource(settings(server.url), backoff=Backoff(0, 0))
        items = take(source, 5, predicate=lambda i: isinstance(i, Post))

    posts = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in posts] == [f"x:{1000 + n}" for n in (1, 2, 3, 4, 5)]
    assert posts[0].tags == ("boston-keywords",) and posts[3].tags == ("boston-keywords", "boston-geo")
    assert posts[1].place == "Boston, MA" and posts[0].media_urls == ("https://pbs.example/1.jpg",)
    assert posts[0].author == "dot_neighbor" and posts[0].source == "x"
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert len(dead) == 2 and all(d.stage == "source" for d in dead)
    assert "invalid JSON" in dead[0].reason and '"id": "77"' in dead[0].payload
    assert [i for i in items if isinstance(i, PostDeleted)] == [
        PostDeleted(post_id="x:1001", source="x", reason="deleted (X compliance event)",
                    deleted_at=next(i for i in items if isinstance(i, PostDeleted)).deleted_at)]
    # 429 TooManyConnections backs off from 60 s as X documents (tweepy's sleep, patched here)
    assert 60 in sleeps
    assert source.health.reconnects >= 3
    assert "operational-disconnect" in (source.health.last_error or "") or source.health.errors >= 3
    assert server.calls["GET /2/tweets/search/stream"] >= 4
    # the bearer token travels in the header; expansions are asked for
    first = server.requests_to("GET /2/tweets/search/stream")[0]
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "geo.place_id" in first.query["expansions"] and "attachments.media_keys" in first.query["expansions"]
    assert "url" in first.query["media.fields"] and "full_name" in first.query["place.fields"]


def test_rules_are_synced_stale_deleted_missing_added_with_tags(env_token, sleeps):
    scripts = {"GET /2/tweets/search/stream/rules": [rules_get], "POST /2/tweets/search/stream/rules": [rules_post]}
    with ScriptedServer(scripts) as server:
        source = XStreamSource(settings(server.url))
        client = source.make_client()
        changed = source.sync_rules(client)
    posts = [r.json() for r in server.requests_to("POST /2/tweets/search/stream/rules")]
    assert posts[0] == {"delete": {"ids": ["900"]}}
    added = posts[1]["add"]
    assert {r["tag"] for r in added} == {"boston-keywords", "boston-geo"}
    assert all(r["value"] for r in added)
    assert changed["deleted"] == ["900"]


def test_rejected_rules_are_reported_in_health(env_token, sleeps):
    def reject(reply):
        if "add" in reply.json():
            reply.status(200, {"errors": [{"title": "UnprocessableEntity", "details": ["bad operator"]}],
                               "meta": {"summary": {"created": 0, "invalid": 1}}})
        else:
            rules_post(reply)
    scripts = {"GET /2/tweets/search/stream/rules": [lambda r: r.status(200, {"meta": {"result_count": 0}})],
               "POST /2/tweets/search/stream/rules": [reject]}
    with ScriptedServer(scripts) as server:
        source = XStreamSource(settings(server.url))
        source.sync_rules(source.make_client())
    assert source.rule_errors and "UnprocessableEntity" in source.health.last_error


def test_the_bearer_token_comes_from_the_environment_only():
    with pytest.raises(ConfigError) as err:
        XStreamSource(load_settings().x)
    assert "CIVIC_X__BEARER_TOKEN" in str(err.value)
