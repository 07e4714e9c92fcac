"""The Kafka wire format: every core type survives the trip; anything else is a ParseError."""

from datetime import datetime, timezone

import orjson
import pytest
from hypothesis import given, settings, strategies as st

from civic_signal.config.errors import ParseError
from civic_signal.listener.bus.envelope import VERSION, decode, decode_items, encode, encode_batch
from civic_signal.core.models import (Category, Classification, ClassifiedPost, Coordinates, DeadLetter, Location,
                             LocationKind, Post, Ticket, TicketStatus)
from tests.conftest import make_post

POST = make_post("Pothole on Dot Ave at Savin Hill ❤ \U0001f6a7", n=7, coordinates=Coordinates(lat=42.31, lon=-71.05),
                 media_urls=("https://img.example/1.jpg",), tags=("boston-geo",), raw={"data": {"id": "7", "x": [1, 2.5]}})
CLASSIFIED = ClassifiedPost(post=POST, classification=Classification(
    post_id=POST.id, actionable=True, actionable_score=0.9, category=Category(code="REQPOTHL", name="Pothole", score=0.8),
    location=Location(text="Dot Ave", kind=LocationKind.STREET, lat=42.31, lon=-71.05, score=0.5),
    language="en", model_version="keyword-1"))
DEAD = DeadLetter(stage="classify", reason="boom", payload="{}", origin="t.raw/3@12", post_id=POST.id)
TICKET = Ticket(id="t-abc", post_id=POST.id, service_code="REQPOTHL", description="Pothole", confidence=0.72,
                status=TicketStatus.REVIEW, created_at=datetime(2026, 11, 20, 12, tzinfo=timezone.utc))


@pytest.mark.parametrize("value", [POST, CLASSIFIED, DEAD, TICKET], ids=["post", "classified", "dead_letter", "ticket"])
def test_every_core_type_survives_the_round_trip(value):
    assert decode(encode(value)) == value
    assert decode(encode(value), type(value)) == value


def test_the_envelope_is_versioned_json_naming_its_type():
    obj = orjson.loads(encode(POST))
    assert obj["v"] == 1 and VERSION == 2 and obj["type"] == "post" and obj["data"]["id"] == "test:7"


@pytest.mark.parametrize("raw, words", [
    (None, "empty message"),
    (b"", "not JSON"),
    (b"{not json", "not JSON"),
    (b"\xff\xfe\x00", "not JSON"),
    (b"[1, 2]", "not an envelope"),
    (b'{"data": {}}', "not an envelope"),
    (b'{"v": 3, "type": "post", "data": {}}', "version 3 is not supported"),
    (b'{"v": 2, "type": "post", "data": {}}', "version 2 needs an 'items' list"),
    (b'{"v": 1, "type": "post", "items": []}', "version 1 needs 'data'"),
    (b'{"v": "1", "type": "post", "data": {}}', "version '1'"),
    (b'{"v": true, "type": "post", "data": {}}', "version True"),
    (b'{"v": 1, "type": "tweet", "data": {}}', "unknown envelope type 'tweet'"),
    (b'{"v": 1, "type": "post", "data": []}', "data must be an object"),
    (b'{"v": 1, "type": "post", "data": {"id": "x"}}', "invalid post"),
    (b'{"v": 1, "type": "post", "data": {"id": "x", "source": "s", "text": "t", "created_at": "2026-11-20T12:00:00"}}',
     "created_at"),  # naive datetimes are refused
])
def test_a_bad_message_raises_parse_error_with_the_reason(raw, words):
    with pytest.raises(ParseError) as err:
        decode(raw, where="t.raw/0@5")
    assert words in str(err.value) and "t.raw/0@5" in str(err.value)


def test_an_envelope_of_another_type_than_the_topic_carries_is_refused():
    with pytest.raises(ParseError, match="expected a 'post' envelope on this topic, got 'ticket'"):
        decode(encode(TICKET), Post)


def test_only_core_types_can_be_sent():
    with pytest.raises(TypeError, match="cannot travel on the bus"):
        encode(Coordinates(lat=1, lon=2))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_never_raises_anything_but_parse_error(raw):
    try:
        decode(raw)
    except ParseError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500), st.text(min_size=1, max_size=50))
def test_any_post_text_round_trips(text, author):
    post = make_post(text, author=author)
    assert decode(encode(post), Post) == post


# -- version 2: a batch of items in one record --------------------------------------------------

def test_a_batch_envelope_carries_many_items_each_with_its_key():
    other = make_post("Streetlight out on Centre St", n=8)
    raw = encode_batch([(POST.id, POST), (other.id, other)])
    assert orjson.loads(raw)["v"] == 2
    assert decode_items(raw, Post) == [(POST.id, POST), (other.id, other)]
    assert decode_items(encode(POST), Post) == [(None, POST)]  # version 1 reads as one item
    with pytest.raises(ParseError, match="batch envelope"):
        decode(raw)


def test_one_bad_item_of_a_batch_costs_only_itself():
    good = orjson.loads(encode_batch([(POST.id, POST)]))["items"][0]
    raw = orjson.dumps({"v": 2, "type": "post", "items": [good, {"key": "x:9", "data": {"id": "x:9"}}, "junk", good]})
    out = decode_items(raw, Post, where="t.raw/0@5")
    assert [k for k, _ in out] == [POST.id, "x:9", None, POST.id]
    assert out[0][1] == POST and out[3][1] == POST
    assert isinstance(out[1][1], ParseError) and "t.raw/0@5#1" in str(out[1][1]) and "invalid post" in str(out[1][1])
    assert b'"x:9"' in out[1][1].raw  # the dead letter keeps the item, not the whole batch
    assert isinstance(out[2][1], ParseError) and "t.raw/0@5#2" in str(out[2][1])


def test_a_batch_holds_one_type():
    with pytest.raises(TypeError):
        encode_batch([(POST.id, POST), (None, TICKET)])
    with pytest.raises(ValueError):
        encode_batch([])
