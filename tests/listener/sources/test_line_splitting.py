"""Issue 21: lines are split as each protocol says, so a post text holding U+2028, U+2029, U+0085,
U+000B, U+000C, U+001C-U+001E or a lone CR arrives intact, once, from every source and replay.

Property tests (hypothesis) at two levels: the splitters over any cutting of the stream into
network chunks, and each real source against a local server speaking its wire format (SSE for
Mastodon, NDJSON for DataSift, tweepy's client on the X stream, WebSocket frames for Jetstream,
the signed push receiver, JSON-lines files and Kafka records for the replays, the classify CLI).
"""

from __future__ import annotations

import gzip
import html
import json
import threading

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from civic_signal.config.settings import load_settings
from civic_signal.core.models import Post
from civic_signal.listener.sources.datasift import DataSiftStreamSource
from civic_signal.listener.sources.jetstream import JetstreamSource
from civic_signal.listener.sources.kafka_replay import KafkaRangeSource
from civic_signal.listener.sources.lines import crlf_lines, file_lines, lf_lines, sse_lines
from civic_signal.listener.sources.mastodon import MastodonSource, html_to_text
from civic_signal.listener.sources.push import PushSource
from civic_signal.listener.sources.replay import ReplaySource
from civic_signal.listener.sources.streaming import Backoff
from civic_signal.listener.sources.x_stream import XStreamSource
from tests.listener.sources.servers import ScriptedServer, take

#: every character ``str.splitlines()`` breaks at, and a lone CR
BREAKERS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\r", "\n", "\r\n"]
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
#: a post text: words around at least one line-breaking character (NUL and lone surrogates are
#: cleaned by design, see civic_signal.core.sanitize)
texts = st.builds(lambda a, b, c, d: f"pothole {a}{b}{c}{d} end",
                  st.text(_chars, max_size=12), st.sampled_from(BREAKERS),
                  st.lists(st.one_of(_chars, st.sampled_from(BREAKERS)), max_size=20).map("".join),
                  st.sampled_from(BREAKERS))
LIVE = hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (any place: inside a character, between CR and LF)."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


def js(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)  # the characters travel raw, as Mastodon and Bluesky send them


# -- the splitters ---------------------------------------------------------------------------------
@given(st.lists(texts, min_size=1, max_size=4), st.lists(st.integers(0, 10_000), max_size=12),
       st.lists(st.sampled_from(["\n", "\r", "\r\n"]), min_size=8, max_size=8))
def test_sse_events_round_trip_over_any_chunking_and_line_end(bodies, cuts, ends):
    stream = "\ufeff:hello" + ends[0]
    for n, body in enumerate(bodies):
        e = ends[(n + 1) % len(ends)]
        stream += f"event: update{e}data: {js({'text': body})}{e}{e}"
    events, data = [], []
    for line in sse_lines(chunked(stream.encode(), cuts)):
        if line.startswith(":"):
            continue
        if not line:
            if data:
                events.append(json.loads("\n".join(data)))
            data = []
        elif line.startswith("data: "):
            data.append(line[6:])
    assert [e["text"] for e in events] == bodies


@given(st.lists(texts, min_size=1, max_size=4), st.lists(st.integers(0, 10_000), max_size=12), st.booleans())
def test_json_lines_split_on_lf_only(bodies, cuts, crlf):
    data = "".join(js({"text": b}) + ("\r\n" if crlf else "\n") for b in bodies).encode()
    assert [orjson.loads(x)["text"] for x in lf_lines(chunked(data, cuts))] == bodies
    assert [orjson.loads(x)["text"] for x in crlf_lines(chunked(data, cuts))] == (bodies if crlf else [])


def test_x_keep_alives_are_empty_lines_and_a_cut_line_is_not_yielded():
    assert list(crlf_lines([b"\r", b"\n{\"a\": 1}\r", b"\n\r\n{\"b\""])) == [b"", b'{"a": 1}', b""]
    assert list(sse_lines([b"a\r", b"\nb\rc\n", b"d"])) == ["a", "b", "c"]  # "d" never ended
    assert list(sse_lines([b"\xef", b"\xbb\xbfx\r"])) == ["x"]


# -- every source, against a local server ----------------------------------------------------------
@pytest.fixture(autouse=True)
def tokens(monkeypatch):
    monkeypatch.setenv("CIVIC_MASTODON__TOKEN", "mastodon-token-for-tests")
    monkeypatch.setenv("CIVIC_X__BEARER_TOKEN", "x-token-for-tests")
    monkeypatch.setenv("CIVIC_DATASIFT__PUSH_SECRET", "push-secret-for-tests")


def served(key: str, body: bytes, content_type: str, keep_alive: bytes, extra=None) -> ScriptedServer:
    def stream(r):
        r.start_stream(content_type)
        r.chunk(body)
        r.keep_alive_until_released(keep_alive)
    return ScriptedServer({key: [stream], **(extra or {})}).__enter__()


def posts_of(items) -> list[Post]:
    return [i for i in items if isinstance(i, Post)]


@LIVE
@given(st.lists(texts, min_size=1, max_size=3))
def test_mastodon_statuses_arrive_once_and_intact(bodies):
    statuses = [{"id": str(110_000 + n), "created_at": "2026-11-20T12:00:00.000Z", "content": f"<p>{html.escape(b)}</p>",
                 "account": {"id": "9", "acct": "n"}, "url": None, "media_attachments": [], "tags": []}
                for n, b in enumerate(bodies)]
    body = b"".join(f"event: update\ndata: {js(s)}\n\n".encode() for s in statuses)
    server = served("GET /api/v1/streaming/public", body, "text/event-stream", b":thump\n\n")
    try:
        s = load_settings(mastodon={"streaming_url": server.url + "/api/v1/streaming", "streams": ["public"]}).mastodon
        items = take(MastodonSource(s, backoff_factory=lambda: Backoff(0, 0)), len(bodies))
    finally:
        server.__exit__(None, None, None)
    assert [p.text for p in posts_of(items)] == [html_to_text(s["content"]) for s in statuses]
    assert all(p.text.startswith("pothole") and p.text.endswith("end") for p in posts_of(items))
    assert len(items) == len(bodies)  # no dead letter: nothing was cut


def datasift_line(n: int, text: str) -> dict:
    return {"data": {"interaction": {"id": f"1e3a{n:04d}", "type": "twitter", "content": text,
                                     "created_at": "Fri, 20 Nov 2026 12:00:00 +0000", "author": {"username": "u"}}}}


@LIVE
@given(st.lists(texts, min_size=1, max_size=3))
def test_datasift_stream_lines_arrive_once_and_intact(bodies):
    body = b"".join(js(datasift_line(n, b)).encode() + b"\n" for n, b in enumerate(bodies))
    server = served("GET /stream", body, "application/json", b"\n")
    try:
        source = DataSiftStreamSource(load_settings(datasift={"stream_url": server.url + "/stream"}).datasift,
                                      backoff=Backoff(0, 0))
        items = take(source, len(bodies))
    finally:
        server.__exit__(None, None, None)
    assert [p.text for p in posts_of(items)] == bodies and len(items) == len(bodies)


@LIVE
@given(st.lists(texts, min_size=1, max_size=3))
def test_x_stream_messages_arrive_once_and_intact(bodies):
    def tweet(n, text):
        return js({"data": {"id": str(1000 + n), "text": text, "author_id": "42", "created_at": "2026-11-20T12:00:00.000Z"},
                   "includes": {"users": [{"id": "42", "username": "u"}]}, "matching_rules": [{"id": "1", "tag": "t"}]})
    body = b"".join(tweet(n, b).encode() + b"\r\n" for n, b in enumerate(bodies))
    rules = {"GET /2/tweets/search/stream/rules": [lambda r: r.status(200, {"meta": {"result_count": 0}})],
             "POST /2/tweets/search/stream/rules": [lambda r: r.status(201, {"meta": {"summary": {"created": 1}}})]}
    server = served("GET /2/tweets/search/stream", body, "application/json", b"\r\n", rules)
    try:
        items = take(XStreamSource(load_settings(x={"base_url": server.url}).x, backoff=Backoff(0, 0)), len(bodies))
    finally:
        server.__exit__(None, None, None)
    assert [p.text for p in posts_of(items)] == bodies and len(items) == len(bodies)


@LIVE
@given(st.lists(texts, min_size=1, max_size=3))
def test_jetstream_frames_arrive_once_and_intact(bodies):
    from websockets.sync.server import serve
    did, release = "did:plc:linesplittingtest00001", threading.Event()

    def handler(ws):
        for n, b in enumerate(bodies):
            ws.send(js({"did": did, "time_us": 1_763_640_000_000_000 + n, "kind": "commit",
                        "commit": {"operation": "create", "collection": "app.bsky.feed.post", "rkey": f"3k{n:011d}",
                                   "record": {"text": b, "createdAt": "2026-11-20T12:00:00.000Z"}}}))
        release.wait(10)
    server = serve(handler, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/subscribe"
        items = take(JetstreamSource(load_settings(jetstream={"url": url, "keywords": []}).jetstream, None,
                                     backoff=Backoff(0, 0)), len(bodies))
    finally:
        release.set()
        server.shutdown()
    assert [p.text for p in posts_of(items)] == bodies and len(items) == len(bodies)


@LIVE
@given(st.lists(texts, min_size=1, max_size=3))
def test_push_batches_arrive_once_and_intact(tmp_path_factory, bodies):
    from civic_signal.listener.sources.push import sign
    import time
    source = PushSource(load_settings().datasift, tmp_path_factory.mktemp("spool"), host="127.0.0.1", port=0)
    source.start()
    try:
        batch = js({"interactions": [datasift_line(n, b)["data"] for n, b in enumerate(bodies)]}).encode()
        ts = str(int(time.time()))
        headers = {"X-Civic-Timestamp": ts, "X-Civic-Signature": sign(b"push-secret-for-tests", ts, batch)}
        with httpx.Client(timeout=10) as client:
            for _ in range(200):
                try:
                    r = client.post(source.url, content=batch, headers=headers)
                    break
                except httpx.TransportError:
                    time.sleep(0.01)
        assert r.status_code == 200
        items = take(source, len(bodies))
    finally:
        source.close()
    assert [p.text for p in posts_of(items)] == bodies and len(items) == len(bodies)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(texts, min_size=1, max_size=4), st.booleans())
def test_replay_files_give_every_line_once_and_intact(tmp_path_factory, bodies, gz):
    data = "".join(js(datasift_line(n, b)) + "\n" for n, b in enumerate(bodies)).encode()
    path = tmp_path_factory.mktemp("replay") / ("s.jsonl.gz" if gz else "s.jsonl")
    path.write_bytes(gzip.compress(data) if gz else data)
    items = list(ReplaySource(path))
    assert [p.text for p in posts_of(items)] == bodies and len(items) == len(bodies)


@hsettings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4))
def test_kafka_replay_records_arrive_intact(bodies):
    from civic_signal.listener.bus.envelope import encode
    from tests.conftest import make_post
    from tests.listener.sources.test_kafka_replay import FakeConsumer
    fake = FakeConsumer("raw", {0: [encode(make_post(b, n=n)) for n, b in enumerate(bodies)]})
    items = list(KafkaRangeSource(fake.topic, consumer_factory=lambda: fake))
    assert [p.text for p in posts_of(items)] == bodies


@hsettings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4))
def test_classify_input_lines_split_on_lf_only(bodies):
    import io
    from civic_signal.listener.cli.classify_cmd import parse_line, read_lines
    data = "".join(js({"id": n, "text": b}) + "\n" for n, b in enumerate(bodies)).encode()
    lines = list(read_lines(io.BytesIO(data)))
    assert [parse_line(x, n)[1].text for n, x in enumerate(lines, 1)] == bodies
    assert list(file_lines(io.BytesIO(data), chunk_size=3)) == data.split(b"\n")[:-1]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(texts, min_size=1, max_size=4))
def test_archive_replay_gives_the_texts_intact(tmp_path_factory, bodies):
    from civic_signal.listener.sources.archive_replay import ArchiveSource
    from civic_signal.sinks.archive import Archive
    from tests.conftest import make_post
    archive = Archive(f"sqlite:///{tmp_path_factory.mktemp('a')}/a.db")
    archive.write_posts([make_post(b, n=n) for n, b in enumerate(bodies)])
    assert sorted(p.text for p in ArchiveSource(archive)) == sorted(bodies)
    archive.close()
