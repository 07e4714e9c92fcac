"""Replay reads archived JSONL (plain or gzip) in every source's shape (issue item 6)."""

from __future__ import annotations

import gzip
import json

import pytest

from civic_signal.core.models import DeadLetter, Post
from civic_signal.listener.sources.replay import ReplaySource
from tests.listener.sources.test_datasift import interaction
from tests.listener.sources.test_jetstream import DID, create
from tests.listener.sources.test_mastodon import status
from tests.listener.sources.test_x_stream import tweet

LINES = [
    tweet(1).decode().strip(),
    json.dumps(interaction(2)),
    json.dumps(interaction(3)["data"]),
    create(4, "pothole on Washington St"),
    json.dumps(status(5)),
    json.dumps({"data": {"delete": {"tweet": {"id": "1001"}}}}),  # a delete carries no post
    json.dumps({"tick": 1}),
    json.dumps({"something": "else"}),
]


@pytest.mark.parametrize("gz", [False, True])
def test_replay_reads_every_shape(tmp_path, gz):
    path = tmp_path / ("mixed.jsonl.gz" if gz else "mixed.jsonl")
    data = ("\n".join(LINES) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    items = list(ReplaySource(path, speed=0))
    posts = [i for i in items if isinstance(i, Post)]
    assert [p.id for p in posts] == ["x:1001", "datasift:1e3a0002", "datasift:1e3a0003", f"bsky:{DID}/3k0004",
                                     "mastodon:110005"]
    dead = [i for i in items if isinstance(i, DeadLetter)]
    assert len(dead) == 1 and "unknown message shape" in dead[0].reason and dead[0].origin.endswith(":8")
