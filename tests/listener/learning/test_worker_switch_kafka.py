"""Done when (issue 17), on a real Apache Kafka broker: a classify worker switches versions
mid-stream, without a restart, and without losing or repeating a post.

As tests/listener/learning/test_worker_switch.py, but the worker (:func:`run_classify`) reads
the raw topic and writes the classified topic of a throwaway broker (tests/services/kafka.py,
4 partitions, the worker's own consumer group with its commits): 150 posts, ``civic-signal model
promote v2``, 150 more. Every post is read back from the classified topic by a group of the
test's own, exactly once; the first half carries the shipped version, the second ``v2``; the
worker's group has committed everything (lag 0) when it stops.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from civic_signal.classifiers.registry import SHIPPED_DIR, Registry
from civic_signal.config.settings import load_settings
from civic_signal.core.models import Post
from civic_signal.listener.bus import CLASSIFIED, RAW
from civic_signal.listener.cli import app, kafka_roles
from tests.services.kafka import kafka_broker  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
N = 300


def _drain(consumer, into: list, want: int, timeout_s: float = 120) -> None:
    end = time.monotonic() + timeout_s
    while len(into) < want and time.monotonic() < end:
        into.extend(m.value for m in consumer.poll(256, 0.5))
        consumer.commit()
    assert len(into) >= want, f"only {len(into)} of {want} classified"


def test_a_classify_worker_on_kafka_picks_up_a_promotion_between_batches(kafka_broker, monkeypatch):
    from civic_signal.listener.bus.kafka import KafkaBus
    monkeypatch.setenv("CIVIC_CLASSIFIER__RELOAD_CHECK_S", "0")
    settings = load_settings(kafka=kafka_broker.kafka_settings("model-switch"),
                             bus={"kind": "kafka", "batch_size": 16}, classifier={"kind": "spacy"})
    reg = Registry.from_settings(settings)
    # v2: the shipped weights under another version name (the switch, not the training, is under test)
    shutil.copytree(SHIPPED_DIR, reg.dir / "v2")
    meta = json.loads((reg.dir / "v2" / "meta.json").read_text())
    meta["version"] = "spacy-linear-2@v2"
    (reg.dir / "v2" / "meta.json").write_text(json.dumps(meta))

    bus = KafkaBus(settings.kafka)
    stop, ready = threading.Event(), threading.Event()
    worker = threading.Thread(target=kafka_roles.run_classify, args=(settings, stop), kwargs={"ready": ready},
                              daemon=True)
    worker.start()
    assert ready.wait(120), "the classify worker did not start"
    out = bus.consumer(CLASSIFIED, "test-read")
    now = datetime.now(timezone.utc)
    posts = [Post(id=f"t:{i}", source="t", text=f"pothole number {i} on Elm St", created_at=now) for i in range(N)]
    got: list = []
    try:
        for p in posts[:N // 2]:
            bus.publish(RAW, p.id, p)
        bus.flush()
        _drain(out, got, N // 2)
        result = CliRunner().invoke(app, ["model", "promote", "v2", "--by", "t"])
        assert result.exit_code == 0, result.output
        for p in posts[N // 2:]:
            bus.publish(RAW, p.id, p)
        bus.flush()
        _drain(out, got, N)
        time.sleep(2)   # anything repeated would arrive now
        got.extend(m.value for m in out.poll(256, 1.0))
        out.commit()
    finally:
        stop.set()
        worker.join(60)
        out.close()
    assert not worker.is_alive()
    ids = Counter(c.post.id for c in got)
    assert set(ids) == {p.id for p in posts} and max(ids.values()) == 1  # none lost, none repeated
    versions = [c.classification.model_version for c in sorted(got, key=lambda c: int(c.post.id[2:]))]
    assert set(versions[:N // 2]) == {"spacy-linear-2"}
    assert set(versions[N // 2:]) == {"spacy-linear-2@v2"}
    assert bus.lag(RAW, kafka_roles.CLASSIFY_GROUP) == 0   # the worker committed every batch it classified
    bus.close()
