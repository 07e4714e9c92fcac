"""Every source's parser on hypothesis-generated junk: a clear ParseError (a dead letter), never a crash."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from civic_signal.config.errors import ParseError
from civic_signal.config.settings import load_settings
from civic_signal.core.models import DeadLetter, Post, PostDeleted
from civic_signal.listener.sources.datasift import DataSiftStreamSource, parse_datasift
from civic_signal.listener.sources.formats import parse_any
from civic_signal.listener.sources.jetstream import JetstreamSource, parse_jetstream
from civic_signal.listener.sources.mastodon import MastodonSource, parse_event, parse_mastodon_status
from civic_signal.listener.sources.push import interactions_of
from civic_signal.listener.sources.x_common import parse_x_message
from civic_signal.listener.sources.x_stream import XStreamSource

# the field names the parsers look at, so that junk reaches deep into them
KEYS = ["data", "includes", "matching_rules", "id", "text", "created_at", "author_id", "users", "username",
        "places", "place_id", "geo", "coordinates", "media", "media_key", "attachments", "media_keys", "url",
        "referenced_tweets", "type", "lang", "errors", "delete", "tweet", "status", "id_str", "tag",
        "interaction", "content", "author", "latitude", "longitude", "twitter", "retweet", "retweeted",
        "language", "tags", "deleted", "tick", "hash", "link", "in_reply_to_status_id", "media_url", "place",
        "full_name", "did", "time_us", "kind", "commit", "operation", "collection", "rkey", "record", "langs",
        "createdAt", "embed", "images", "image", "ref", "$link", "reply", "uri", "account", "acct", "reblog",
        "spoiler_text", "media_attachments", "name", "in_reply_to_id", "interactions"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["commit", "create", "delete", "app.bsky.feed.post", "2026-11-20T12:00:00Z",
                     "Fri, 20 Nov 2026 12:00:00 +0000", "retweeted", "quoted", "replied_to", "", "\x00", "\ud800"]),
)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=6)), max_leaves=16)
OBJECTS = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=8)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PARSERS = {
    "x": parse_x_message, "datasift": parse_datasift, "jetstream": parse_jetstream,
    "mastodon": parse_mastodon_status, "any": parse_any, "push": interactions_of,
}


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(obj=st.one_of(OBJECTS, JSON))
def test_parsers_raise_only_parse_error(name, obj):
    try:
        result = PARSERS[name](obj)
    except ParseError as exc:
        assert exc.message
        return
    if name == "push":
        assert isinstance(result, list)
    else:
        assert result is None or isinstance(result, (Post, PostDeleted))
        if isinstance(result, Post):  # what comes out can be stored and sent on
            orjson.dumps(result.model_dump(mode="json"))


@FUZZ
@given(event=st.sampled_from(["update", "delete", "status.update", "notification", ""]), data=st.text(max_size=200))
def test_mastodon_events_raise_only_parse_error(event, data):
    try:
        parse_event(event, data)
    except ParseError as exc:
        assert exc.message


@pytest.fixture(scope="module")
def sources():
    import os
    os.environ["CIVIC_X__BEARER_TOKEN"] = "fuzz"
    try:
        s = load_settings(datasift={"stream_url": "http://127.0.0.1:9/s"},
                          mastodon={"streaming_url": "http://127.0.0.1:9/api/v1/streaming"})
        built = {"x": XStreamSource(s.x), "datasift": DataSiftStreamSource(s.datasift),
                 "jetstream": JetstreamSource(s.jetstream.model_copy(update={"keywords": []})),
                 "mastodon": MastodonSource(s.mastodon)}
    finally:
        del os.environ["CIVIC_X__BEARER_TOKEN"]
    return built


def raw_for(name: str, payload: bytes | str):
    if name == "mastodon":
        return ("public:local", "update", payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload)
    return payload


@pytest.mark.parametrize("name", ["x", "datasift", "jetstream", "mastodon"])
@FUZZ
@given(payload=st.one_of(st.binary(max_size=200), OBJECTS.map(lambda o: json.dumps(o)), st.text(max_size=100)))
def test_sources_turn_junk_into_dead_letters_and_go_on(sources, name, payload):
    source = sources[name]
    items = source.items_for(raw_for(name, payload))
    assert all(isinstance(i, (Post, PostDeleted, DeadLetter)) for i in items)
    for d in (i for i in items if isinstance(i, DeadLetter)):
        assert d.stage == "source" and d.reason.startswith(f"{source.name}: ") and len(d.reason) > len(source.name) + 2
