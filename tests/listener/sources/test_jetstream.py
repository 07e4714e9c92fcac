"""Jetstream against a real ``websockets`` server in the test: delivery, filter, deletes, cursor resume."""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.sync.server import serve

from civic_signal.config.settings import load_settings
from civic_signal.core.models import DeadLetter, Post, PostDeleted
from civic_signal.listener.sources.jetstream import CURSOR, JetstreamSource, parse_jetstream
from civic_signal.listener.sources.streaming import Backoff
from civic_signal.sinks.archive import Archive
from tests.listener.sources.servers import take

DID = "did:plc:testtesttesttesttesttest"


def create(n: int, text: str) -> str:
    return json.dumps({"did": DID, "time_us": 1_763_640_000_000_000 + n, "kind": "commit",
                       "commit": {"rev": "r", "operation": "create", "collection": "app.bsky.feed.post",
                                  "rkey": f"3k{n:04d}", "cid": "bafy",
                                  "record": {"$type": "app.bsky.feed.post", "text": text, "langs": ["en"],
                                             "createdAt": "2026-11-20T12:00:00.000Z"}}})


def delete(n: int, t: int) -> str:
    return json.dumps({"did": DID, "time_us": 1_763_640_000_000_000 + t, "kind": "commit",
                       "commit": {"rev": "r", "operation": "delete", "collection": "app.bsky.feed.post",
                                  "rkey": f"3k{n:04d}"}})


class JetServer:
    """Serves one script (a list of messages, then close or hold) per connection; records the query."""

    def __init__(self, scripts):
        self.scripts, self.queries, self.release = scripts, [], threading.Event()

        def handler(ws):
            n = len(self.queries)
            self.queries.append({k: v[-1] for k, v in parse_qs(urlsplit(ws.request.path).query).items()})
            messages, then = self.scripts[min(n, len(self.scripts) - 1)]
            for m in messages:
                ws.send(m)
            if then == "hold":
                self.release.wait(10)
            elif then == "ping":
                while not self.release.wait(0.05):
                    ws.send(json.dumps({"did": DID, "time_us": 1, "kind": "identity", "identity": {}}))
        self.server = serve(handler, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/subscribe"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def jet():
    servers = []

    def make(scripts):
        servers.append(JetServer(scripts))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


def js_settings(url, **kw):
    return load_settings(jetstream={"url": url, "keywords": ["pothole", "Boston"], "watchdog_s": 0.5,
                                    "cursor_rewind_s": 0.000002, **kw}).jetstream


def test_posts_filter_deletes_and_reconnect_with_cursor(jet, tmp_path):
    archive = Archive(f"sqlite:///{tmp_path}/j.db")
    server = jet([
        ([create(1, "Pothole on Blue Hill Ave"), create(2, "cat pictures"), "{oops", create(3, "BOSTON snow")], "close"),
        ([create(3, "BOSTON snow"), delete(1, 4), delete(99, 5), create(6, "another pothole")], "hold"),
        ([], "ping"),
    ])
    source = JetstreamSource(js_settings(server.url), archive, backoff=Backoff(0, 0))
    items = take(source, 3, predicate=lambda i: isinstance(i, Post))
    posts = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in posts] == [f"bsky:{DID}/3k0001", f"bsky:{DID}/3k0003", f"bsky:{DID}/3k0006"]
    assert posts[0].url == f"https://bsky.app/profile/{DID}/post/3k0001" and posts[0].language == "en"
    assert [d.post_id for d in items if isinstance(d, PostDeleted)] == [f"bsky:{DID}/3k0001"]  # 99 was never ours
    assert len([d for d in items if isinstance(d, DeadLetter)]) == 1
    assert source.filtered == 2 and source.duplicates == 1
    assert server.queries[0] == {"wantedCollections": "app.bsky.feed.post"}
    # the reconnect resumes from the last time_us handled (minus the 2 µs rewind)
    assert server.queries[1]["cursor"] == str(1_763_640_000_000_000 + 3 - 2)
    assert archive.get_cursor(CURSOR) == str(1_763_640_000_000_000 + 6)


def test_a_restart_resumes_from_the_stored_cursor(jet, tmp_path):
    archive = Archive(f"sqlite:///{tmp_path}/j.db")
    archive.set_cursor(CURSOR, "1763640000000042")
    server = jet([([create(50, "pothole again")], "ping")])
    source = JetstreamSource(js_settings(server.url, cursor_rewind_s=1), archive, backoff=Backoff(0, 0))
    items = take(source, 1)
    assert items[0].id == f"bsky:{DID}/3k0050"
    assert server.queries[0]["cursor"] == str(1763640000000042 - 1_000_000)


def test_other_events_carry_no_post():
    assert parse_jetstream({"did": DID, "time_us": 1, "kind": "account", "account": {}}) is None
    other = {"did": DID, "time_us": 1, "kind": "commit", "commit": {"collection": "app.bsky.feed.like",
                                                                     "operation": "create", "rkey": "x"}}
    assert parse_jetstream(other) is None
