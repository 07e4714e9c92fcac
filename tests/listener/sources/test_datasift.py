"""DataSift-style stream (httpx against a local chunked JSON stream) and the push receiver (uvicorn)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.config.settings import load_settings
from civic_signal.core.models import DeadLetter, Post, PostDeleted
from civic_signal.listener.sources.datasift import DataSiftStreamSource, parse_datasift
from civic_signal.listener.sources.push import PushSource, sign
from civic_signal.listener.sources.streaming import Backoff
from tests.listener.sources.servers import ScriptedServer, take

SECRET = "push-secret-for-tests"


def interaction(n: int, **extra) -> dict:
    inter = {"id": f"1e3a{n:04d}", "type": "twitter", "content": f"Streetlight out on Centre St, JP #{n}",
             "created_at": "Fri, 20 Nov 2026 12:00:00 +0000", "author": {"username": "jp_resident", "id": 5},
             "geo": {"latitude": 42.31, "longitude": -71.11}, "link": f"https://x.example/s/{n}",
             "tags": ["boston"]}
    inter.update(extra)
    return {"hash": "abc123", "data": {"interaction": inter, "language": {"tag": "en", "confidence": 99},
                                       "twitter": {"id": str(5000 + n), "place": {"full_name": "Boston, MA"}}}}


def line(obj) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def ds_settings(**kw):
    return load_settings(datasift=kw).datasift


def test_parse_interaction_fields():
    post = parse_datasift(interaction(1))
    assert post.id == "datasift:1e3a0001" and post.author == "jp_resident" and post.language == "en"
    assert post.coordinates.lat == 42.31 and post.place == "Boston, MA" and post.tags == ("boston",)
    assert post.created_at.tzinfo is not None
    assert parse_datasift({"tick": 1763640000, "status": "success"}) is None
    gone = parse_datasift({"hash": "abc123", "data": {"deleted": True, "interaction": {"id": "1e3a0001"}}})
    assert gone == PostDeleted(post_id="datasift:1e3a0001", source="datasift", reason="deleted (DataSift)",
                               deleted_at=gone.deleted_at)


def test_stream_delivers_every_post_once_in_order_across_errors():
    def conn1(r):
        r.start_stream()
        r.chunk(line({"tick": 1, "status": "success", "message": "connected"}))
        r.chunk(line(interaction(1)))
        r.chunk(b"\n")
        r.chunk(line(interaction(2)))
        r.chunk(b"{broken json\n")
        r.cut()

    def conn3(r):  # stall after one post
        r.start_stream()
        r.chunk(line(interaction(3)))
        r.hold()

    def conn4(r):
        r.start_stream()
        r.chunk(line(interaction(3)))  # a duplicate after the reconnect
        r.chunk(line({"status": "warning", "message": "usage limit near"}))
        r.chunk(line({"hash": "abc123", "data": {"deleted": True, "interaction": {"id": "1e3a0002"}}}))
        r.chunk(line(interaction(4)))
        r.keep_alive_until_released(b"\n")

    script = [conn1, lambda r: r.status(503, {"error": "busy"}), conn3, conn4]
    with ScriptedServer({"GET /stream": script}) as server:
        source = DataSiftStreamSource(ds_settings(stream_url=server.url + "/stream", watchdog_s=0.5),
                                      backoff=Backoff(0, 0))
        items = take(source, 4, predicate=lambda i: isinstance(i, Post))
    assert [i.id for i in items if isinstance(i, Post)] == [f"datasift:1e3a000{n}" for n in (1, 2, 3, 4)]
    assert [i.post_id for i in items if isinstance(i, PostDeleted)] == ["datasift:1e3a0002"]
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert len(dead) == 1 and "invalid JSON" in dead[0].reason
    assert source.health.reconnects >= 3 and source.duplicates == 1
    assert "warning" in (source.health.last_error or "") or source.health.errors >= 2


def test_stream_needs_its_url():
    with pytest.raises(ConfigError, match="CIVIC_DATASIFT__STREAM_URL"):
        DataSiftStreamSource(ds_settings())


# -- push -------------------------------------------------------------------------------------------

@pytest.fixture
def push(monkeypatch, tmp_path):
    monkeypatch.setenv("CIVIC_DATASIFT__PUSH_SECRET", SECRET)
    settings = ds_settings(push_max_body_bytes=20_000, push_max_skew_s=300)
    source = PushSource(settings, tmp_path / "spool", host="127.0.0.1", port=0)
    source.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{source.port}", timeout=10) as client:
        for _ in range(200):  # until uvicorn listens (it accepts on the bound socket; usually at once)
            try:
                client.post("/push", content=b"")
                break
            except httpx.TransportError:
                time.sleep(0.01)
        yield source, client
    source.close()


def send(client, body: bytes, *, ts: int | None = None, secret: str = SECRET, sig: str | None = None):
    ts = int(time.time()) if ts is None else ts
    headers = {"X-Civic-Timestamp": str(ts), "X-Civic-Signature": sig or sign(secret.encode(), str(ts), body),
               "Content-Type": "application/json"}
    return client.post("/push", content=body, headers=headers)


def spooled(source) -> list:
    return source.spool.pending()


def test_push_stores_before_answering_then_yields_and_clears_the_spool(push):
    source, client = push
    batch = json.dumps({"id": "d1", "count": 3, "interactions": [
        interaction(1)["data"], {"interaction": {"id": "bad"}}, interaction(2)["data"]]}).encode()
    r = send(client, batch)
    assert r.status_code == 200 and r.json()["count"] == 3
    assert len(spooled(source)) == 1  # on disk when the 200 was sent
    assert send(client, batch, ts=int(r.request.headers["X-Civic-Timestamp"]),
                sig=r.request.headers["X-Civic-Signature"]).json().get("duplicate") is True
    items = take(source, 3)
    assert [i.id for i in items if isinstance(i, Post)] == ["datasift:1e3a0001", "datasift:1e3a0002"]
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert len(dead) == 1 and "#1" in dead[0].origin and "interaction" in dead[0].reason
    assert spooled(source) == []


def test_push_refuses_bad_signature_oversize_stale_and_junk_and_stores_nothing(push):
    source, client = push
    body = json.dumps({"interactions": [interaction(1)["data"]]}).encode()
    assert send(client, body, secret="wrong-secret").status_code == 401
    assert client.post("/push", content=body).status_code == 401  # unsigned
    assert send(client, body, ts=int(time.time()) - 3600).status_code == 401  # replayed old request
    big = json.dumps({"interactions": [interaction(n)["data"] for n in range(60)]}).encode()
    assert len(big) > 20_000 and send(client, big).status_code == 413
    assert send(client, b"not json").status_code == 400
    assert send(client, b'{"no": "interactions"}').status_code == 400
    assert spooled(source) == []


def test_batches_left_in_the_spool_are_delivered_after_a_restart(monkeypatch, tmp_path):
    monkeypatch.setenv("CIVIC_DATASIFT__PUSH_SECRET", SECRET)
    settings = ds_settings()
    first = PushSource(settings, tmp_path / "spool", host="127.0.0.1", port=0)
    first.spool.store(json.dumps([interaction(7)["data"]]).encode())  # stored, then the process died
    second = PushSource(settings, tmp_path / "spool", host="127.0.0.1", port=0)
    items = take(second, 1)
    assert [i.id for i in items] == ["datasift:1e3a0007"] and second.spool.pending() == []


def test_push_needs_its_secret(tmp_path):
    with pytest.raises(ConfigError, match="CIVIC_DATASIFT__PUSH_SECRET"):
        PushSource(ds_settings(), tmp_path)
