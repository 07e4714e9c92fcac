"""Done when (issue 17): a classify worker switches versions mid-stream, without a restart, and
without losing or repeating a post.

The real classify worker loop (:func:`civic_signal.listener.cli.kafka_roles.run_classify`) runs
over the in-memory bus (the Kafka wire path is tested in tests/listener/cli/test_kafka_roles.py;
what is under test here is the switch between batches), with the classifier ``load_classifier``
gives it: the active version of ``classifier.models_dir``, checked before every batch. Half the
stream is classified, ``civic-signal model promote v2`` runs, the other half follows.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from datetime import datetime, timezone

from typer.testing import CliRunner

from civic_signal.classifiers.registry import SHIPPED_DIR, Registry
from civic_signal.config.settings import load_settings
from civic_signal.core.models import Post
from civic_signal.listener.bus import CLASSIFIED, RAW
from civic_signal.listener.bus.memory import MemoryBus
from civic_signal.listener.cli import app, kafka_roles

N = 300


class _Bus(MemoryBus):
    def close(self) -> None:  # the worker closes its bus; the test keeps reading it
        pass


def _drain(consumer, into: list, want: int, timeout_s: float = 120) -> None:
    end = time.monotonic() + timeout_s
    while len(into) < want and time.monotonic() < end:
        into.extend(m.value for m in consumer.poll(256, 0.2))
        consumer.commit()
    assert len(into) >= want, f"only {len(into)} of {want} classified"


def test_a_running_classify_worker_picks_up_a_promotion_between_batches(monkeypatch):
    monkeypatch.setenv("CIVIC_CLASSIFIER__RELOAD_CHECK_S", "0")
    monkeypatch.setenv("CIVIC_BUS__BATCH_SIZE", "16")
    settings = load_settings()
    reg = Registry.from_settings(settings)
    # v2: the shipped weights under another version name (the switch, not the training, is under test)
    shutil.copytree(SHIPPED_DIR, reg.dir / "v2")
    meta = json.loads((reg.dir / "v2" / "meta.json").read_text())
    meta["version"] = "spacy-linear-2@v2"
    (reg.dir / "v2" / "meta.json").write_text(json.dumps(meta))

    bus = _Bus()
    monkeypatch.setattr(kafka_roles, "open_bus", lambda s: bus)
    stop = threading.Event()
    worker = threading.Thread(target=kafka_roles.run_classify, args=(settings, stop), daemon=True)
    worker.start()
    out = bus.consumer(CLASSIFIED, "test")
    now = datetime.now(timezone.utc)
    posts = [Post(id=f"t:{i}", source="t", text=f"pothole number {i} on Elm St", created_at=now) for i in range(N)]
    got: list = []
    try:
        for p in posts[:N // 2]:
            bus.publish(RAW, p.id, p)
        _drain(out, got, N // 2)
        result = CliRunner().invoke(app, ["model", "promote", "v2", "--by", "t"])
        assert result.exit_code == 0, result.output
        for p in posts[N // 2:]:
            bus.publish(RAW, p.id, p)
        _drain(out, got, N)
        time.sleep(0.5)
        got.extend(m.value for m in out.poll(256, 0.2))
    finally:
        stop.set()
        worker.join(30)
    ids = Counter(c.post.id for c in got)
    assert set(ids) == {p.id for p in posts} and max(ids.values()) == 1  # none lost, none repeated
    versions = [c.classification.model_version for c in sorted(got, key=lambda c: int(c.post.id[2:]))]
    assert set(versions[:N // 2]) == {"spacy-linear-2"}
    assert set(versions[N // 2:]) == {"spacy-linear-2@v2"}
