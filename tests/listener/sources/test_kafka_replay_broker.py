"""Kafka time-range replay against a real broker (the session fixture in tests/services/kafka.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

try:
    from tests.services.kafka import kafka_broker  # noqa: F401  (the session fixture)
except ImportError:  # pragma: no cover - the fixture module ships with the Kafka bus
    pytest.skip("tests/services/kafka.py (the broker fixture) is not there", allow_module_level=True)

from civic_signal.listener.bus.envelope import encode
from tests.conftest import make_post

pytestmark = pytest.mark.kafka
T0 = datetime(2026, 11, 20, tzinfo=timezone.utc)


def test_replay_reads_exactly_the_time_range_of_a_topic(kafka_broker):
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    from civic_signal.listener.replay_runs import parse_source, run_replay

    settings = kafka_broker.settings("replay-range")
    topic = settings.kafka.topic_raw
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    for n in range(10):
        post = make_post(f"pothole number {n}", n=n, created_at=T0 + timedelta(hours=n))
        producer.send(topic, key=post.id.encode(), value=encode(post), partition=n % 2,
                      timestamp_ms=int((T0 + timedelta(hours=n)).timestamp() * 1000))
    producer.flush()
    producer.close()

    spec = parse_source(f"kafka:{topic}", since=T0 + timedelta(hours=3), until=T0 + timedelta(hours=7))
    run = run_replay(settings, spec, run_id="kafka-range")
    assert (run.status, run.posts_in, run.classified, run.actionable) == ("finished", 4, 4, 4)
