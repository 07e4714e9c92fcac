"""The Kafka bus on a real Apache Kafka broker (KRaft): keys, commits, redelivery, poison, lag."""

from __future__ import annotations

import time

import pytest

from civic_signal.config.errors import BusError
from civic_signal.listener.bus import DEAD_LETTER, RAW
from civic_signal.listener.bus.kafka import KafkaBus
from civic_signal.core.models import DeadLetter, Post
from tests.conftest import make_post
from tests.services.kafka import kafka_broker  # noqa: F401  (session fixture)

pytestmark = pytest.mark.kafka


def _drain(consumer, want: int, timeout_s: float = 60.0) -> list:
    got, deadline = [], time.monotonic() + timeout_s
    while len(got) < want and time.monotonic() < deadline:
        got += consumer.poll(500, timeout_s=0.5)
    return got


def test_posts_arrive_typed_keyed_by_post_id_and_one_post_stays_on_one_partition(kafka_broker):
    bus = KafkaBus(kafka_broker.settings("bus-keys").kafka)
    posts = [make_post(f"pothole number {i % 50}", n=i % 50) for i in range(200)]  # each id four times
    for p in posts:
        bus.publish(RAW, p.id, p)
    bus.flush()
    consumer = bus.consumer(RAW, "keys")
    try:
        got = _drain(consumer, 200)
        assert len(got) == 200 and all(isinstance(m.value, Post) and m.key == m.value.id for m in got)
        partitions: dict[str, set[str]] = {}
        for m in got:
            partitions.setdefault(m.key, set()).add(m.origin.split("@")[0])
        assert all(len(ps) == 1 for ps in partitions.values())
        assert len({p for ps in partitions.values() for p in ps}) > 1  # and the posts are spread
        assert all(m.origin.startswith("t.bus-keys.raw/") for m in got)
    finally:
        consumer.close()
        bus.close()


@pytest.mark.parametrize("batch_items", [1, 100])
def test_committed_messages_are_not_redelivered_and_uncommitted_ones_are(kafka_broker, batch_items):
    bus = KafkaBus(kafka_broker.settings(f"bus-commit-{batch_items}", batch_items=batch_items).kafka)
    for i in range(30):
        bus.publish(RAW, f"test:{i}", make_post("trash", n=i))
    bus.flush()
    first = bus.consumer(RAW, "commit")
    got = _drain(first, 30)
    assert len(got) == 30
    first.commit()
    assert bus.lag(RAW, "commit") == 0
    for i in range(30, 40):
        bus.publish(RAW, f"test:{i}", make_post("trash", n=i))
    bus.flush()
    assert len(_drain(first, 10)) == 10
    first.close()  # leaves the group without committing the last ten
    lag = bus.lag(RAW, "commit")  # in records: with batches, one per partition the ten posts hash to
    assert lag == 10 if batch_items == 1 else 1 <= lag < 10
    second = bus.consumer(RAW, "commit")
    try:
        again = _drain(second, 10)
        assert sorted(m.key for m in again) == sorted(f"test:{i}" for i in range(30, 40))
    finally:
        second.close()
        bus.close()


def test_rewind_returns_the_uncommitted_batch_again(kafka_broker):
    bus = KafkaBus(kafka_broker.settings("bus-rewind").kafka)
    for i in range(20):
        bus.publish(RAW, f"test:{i}", make_post("graffiti", n=i))
    bus.flush()
    consumer = bus.consumer(RAW, "rewind")
    try:
        got = _drain(consumer, 20)
        consumer.rewind()
        assert sorted(m.key for m in _drain(consumer, 20)) == sorted(m.key for m in got)
    finally:
        consumer.close()
        bus.close()


def test_a_poison_record_goes_to_the_dead_letter_topic_with_its_origin(kafka_broker):
    bus = KafkaBus(kafka_broker.settings("bus-poison").kafka)
    bus.publish(RAW, "test:1", make_post("pothole", n=1))
    bus.publish_raw(RAW, b"test:bad", b'{"v": 1, "type": "post", "data": {"id": "x"}}')
    bus.publish_raw(RAW, None, b"\x00\xffgarbage")
    bus.publish(RAW, "test:2", make_post("pothole", n=2))
    bus.flush()
    raw = bus.consumer(RAW, "poison")
    dlq = bus.consumer(DEAD_LETTER, "poison-dlq")
    try:
        got = _drain(raw, 2)
        assert sorted(m.key for m in got) == ["test:1", "test:2"] and raw.poisoned == 2
        raw.commit()  # flushes the dead letters first
        dead = _drain(dlq, 2)
        assert len(dead) == 2 and all(isinstance(m.value, DeadLetter) for m in dead)
        by_key = {m.value.post_id: m.value for m in dead}
        assert "invalid post" in by_key["test:bad"].reason and by_key["test:bad"].stage == "bus:raw"
        assert "not JSON" in by_key[None].reason
        assert all(d.origin.startswith("t.bus-poison.raw/") and "@" in d.origin for d in by_key.values())
    finally:
        raw.close()
        dlq.close()
        bus.close()


def test_one_bad_item_in_a_batch_record_is_dead_lettered_alone(kafka_broker):
    import orjson

    from civic_signal.listener.bus.envelope import encode_batch
    bus = KafkaBus(kafka_broker.settings("bus-batch-poison").kafka)
    good = [make_post("pothole", n=n) for n in (1, 2)]
    items = orjson.loads(encode_batch([(p.id, p) for p in good]))["items"]
    items.insert(1, {"key": "test:bad", "data": {"id": "test:bad"}})
    bus.publish_raw(RAW, b"test:1", orjson.dumps({"v": 2, "type": "post", "items": items}))
    bus.flush()
    raw = bus.consumer(RAW, "batch-poison")
    dlq = bus.consumer(DEAD_LETTER, "batch-poison-dlq")
    try:
        got = _drain(raw, 2)
        assert [m.value for m in got] == good and raw.poisoned == 1
        assert got[0].origin.endswith("#0") and got[1].origin.endswith("#2")
        raw.commit()
        (dead,) = _drain(dlq, 1)
        assert dead.value.post_id == "test:bad" and "invalid post" in dead.value.reason
        assert dead.value.origin.endswith("#1") and '"test:bad"' in dead.value.payload and "pothole" not in dead.value.payload
    finally:
        raw.close()
        dlq.close()
        bus.close()


def test_a_lone_post_is_sent_after_the_linger_without_a_flush(kafka_broker):
    """A quiet source: its one post must not wait in a half-empty batch for the next one."""
    bus = KafkaBus(kafka_broker.settings("bus-linger", batch_items=100, linger_ms=50).kafka)
    other = KafkaBus(kafka_broker.settings("bus-linger", batch_items=100, linger_ms=50).kafka)
    consumer = other.consumer(RAW, "linger")
    try:
        bus.publish(RAW, "test:1", make_post("streetlight out", n=1))  # no flush, no close
        got = _drain(consumer, 1, timeout_s=30)
        assert [m.key for m in got] == ["test:1"]
    finally:
        consumer.close()
        other.close()
        bus.close()


def test_an_unreachable_cluster_is_a_bus_error_naming_the_setting(kafka_broker):
    from civic_signal.config.settings import load_settings
    from tests.services.kafka import TEST_KAFKA
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    settings = load_settings(kafka={"bootstrap_servers": [f"127.0.0.1:{port}"], "request_timeout_ms": 2000, **TEST_KAFKA})
    with pytest.raises(BusError, match="CIVIC_KAFKA__BOOTSTRAP_SERVERS"):
        KafkaBus(settings.kafka)


def test_a_batch_the_linger_thread_cannot_hand_over_makes_the_next_flush_fail():
    """Unit test (no broker): a batch sent by the linger thread must not vanish when the producer
    refuses it; the stage's next flush raises, so it does not commit and the posts come again."""
    from kafka.errors import KafkaTimeoutError

    from civic_signal.config.settings import load_settings

    class Refusing:
        def send(self, *a, **kw):
            raise KafkaTimeoutError("no metadata")

        def partitions_for(self, name):
            return {0, 1}

        def flush(self, timeout=None):
            pass

        def close(self):
            pass

    settings = load_settings(kafka={"batch_items": 100, "linger_ms": 20, "create_topics": False})
    bus = KafkaBus(settings.kafka)
    bus._producer = Refusing()
    bus.publish(RAW, "test:1", make_post("pothole", n=1))
    deadline = time.monotonic() + 10
    while bus._pending and time.monotonic() < deadline:  # the linger thread takes it
        time.sleep(0.02)
    assert not bus._pending
    with pytest.raises(BusError, match="not handed to the producer"):
        bus.flush()
    bus.flush()  # reported once; nothing left
    bus._closed.set()
