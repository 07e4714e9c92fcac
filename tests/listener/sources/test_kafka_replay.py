"""Kafka time-range replay against a fake consumer (offsets, ranges, decoding, the end).

The real-broker test is test_kafka_replay_broker.py (marked kafka); the fake mirrors the
kafka-python 3.0 consumer calls used here.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime, timedelta, timezone

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndTimestamp

from civic_signal.config.errors import SourceError
from civic_signal.listener.bus.envelope import encode
from civic_signal.core.models import Classification, ClassifiedPost, DeadLetter, Post
from civic_signal.listener.sources.kafka_replay import KafkaRangeSource
from tests.conftest import make_post

Record = namedtuple("Record", "topic partition offset timestamp value")
T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


class FakeConsumer:
    """Two partitions; record n of a partition is stamped T0 + n hours. Serves 2 records per poll."""

    def __init__(self, topic: str, parts: dict[int, list[bytes | None]]) -> None:
        self.topic = topic
        self.logs = {p: [Record(topic, p, n, ms(T0 + timedelta(hours=n)), v) for n, v in enumerate(vals)]
                     for p, vals in parts.items()}
        self.pos: dict[int, int] = {}
        self.paused: set[int] = set()
        self.closed = False

    def partitions_for_topic(self, topic):
        return set(self.logs) if topic == self.topic else None

    def beginning_offsets(self, tps):
        return {tp: 0 for tp in tps}

    def end_offsets(self, tps):
        return {tp: len(self.logs[tp.partition]) for tp in tps}

    def offsets_for_times(self, query):
        out = {}
        for tp, t in query.items():
            rec = next((r for r in self.logs[tp.partition] if r.timestamp >= t), None)
            out[tp] = OffsetAndTimestamp(rec.offset, rec.timestamp, None) if rec else None
        return out

    def assign(self, tps):
        self.pos = {tp.partition: 0 for tp in tps}

    def seek(self, tp, offset):
        self.pos[tp.partition] = offset

    def position(self, tp):
        return self.pos[tp.partition]

    def pause(self, *tps):
        self.paused.update(tp.partition for tp in tps)

    def poll(self, timeout_ms=0, max_records=None):
        out = {}
        for p, at in self.pos.items():
            if p in self.paused:
                continue
            recs = self.logs[p][at:at + 2]
            if recs:
                out[TopicPartition(self.topic, p)] = recs
                self.pos[p] = at + len(recs)
        return out

    def close(self):
        self.closed = True


def post(n: int) -> Post:
    return make_post(f"pothole number {n}", n=n, created_at=T0 + timedelta(hours=n))


def values(n: int, start: int = 0) -> list[bytes]:
    return [encode(post(start + i)) for i in range(n)]


def source(fake, **kw) -> KafkaRangeSource:
    return KafkaRangeSource(fake.topic, consumer_factory=lambda: fake, **kw)


def test_reads_every_record_once_then_ends_and_closes():
    fake = FakeConsumer("raw", {0: values(5), 1: values(3, start=10)})
    src = source(fake)
    assert src.count() == 8
    items = list(src)
    assert sorted(p.id for p in items) == sorted(post(i).id for i in [0, 1, 2, 3, 4, 10, 11, 12])
    assert fake.closed


def test_time_range_maps_to_offsets_with_offsets_for_times():
    fake = FakeConsumer("raw", {0: values(6), 1: values(6, start=100)})
    src = source(fake, since=T0 + timedelta(hours=2), until=T0 + timedelta(hours=4))
    assert [(r.partition, r.start, r.end) for r in src.plan()] == [(0, 2, 4), (1, 2, 4)]
    assert sorted(p.id for p in src) == sorted(post(i).id for i in [2, 3, 102, 103])


def test_range_after_the_last_record_is_empty():
    fake = FakeConsumer("raw", {0: values(3)})
    src = source(fake, since=T0 + timedelta(days=30))
    assert src.count() == 0 and list(src) == []


def test_classified_envelopes_and_raw_posts_replay_and_bad_records_become_dead_letters():
    c = Classification(post_id=post(1).id, actionable=False, actionable_score=0.0, model_version="t")
    raw = b'{"id": "x:9", "source": "x", "text": "pothole", "created_at": "2026-11-20T03:00:00Z"}'
    fake = FakeConsumer("classified", {0: [encode(ClassifiedPost(post=post(1), classification=c)), raw,
                                           b"not json", None]})
    items = list(source(fake))
    assert [type(i) for i in items] == [Post, Post, DeadLetter, DeadLetter]
    assert items[0].id == post(1).id and items[1].id == "x:9"
    assert items[2].origin == "classified/0/2" and items[3].origin == "classified/0/3"


def test_unknown_topic_is_explained():
    src = KafkaRangeSource("nope", consumer_factory=lambda: FakeConsumer("raw", {0: []}))
    with pytest.raises(SourceError, match="does not exist"):
        src.plan()


def test_replay_run_from_a_kafka_topic_classifies_into_its_run(tmp_path):
    from civic_signal.config.settings import load_settings
    from civic_signal.listener.replay_runs import parse_source, run_replay

    fake = FakeConsumer("civic.posts.raw", {0: values(4), 1: values(4, start=20)})
    settings = load_settings(classifier={"kind": "keyword"})
    spec = parse_source("kafka:civic.posts.raw", since=T0 + timedelta(hours=1))
    run = run_replay(settings, spec, run_id="k1", kafka_consumer_factory=lambda: fake)
    assert (run.status, run.posts_in, run.classified, run.actionable) == ("finished", 6, 6, 6)
    assert run.source.startswith("kafka:civic.posts.raw [2026-11-20T01:00:00+00:00")
