"""Timing probes the benchmarks wrap around the real parts (nothing here changes what they do).

- :class:`StampBus`: passes everything to a bus and notes when each post was published to
  ``raw`` (wall clock, by post id): the "post" end of the post -> ticket decision latency.
- :class:`StampSink`: a last sink that notes when each post's batch got past every sink
  before it (the archive and the incident sink, which decides the ticket): the other end.
- :class:`TimedClassifier`: counts what a classifier did and when its first and last batch ran.

Wall clock (``time.time``) so that stamps taken in different processes on this machine compare.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from civic_signal.core.classifier import Classifier
from civic_signal.listener.bus import RAW, Bus
from civic_signal.core.models import Classification, ClassifiedPost, Post
from civic_signal.core.sink import Sink


class StampBus(Bus):
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.name = bus.name
        self.published: dict[str, float] = {}

    def publish(self, topic: str, key: str | None, value: Any) -> None:
        if topic == RAW and key is not None:
            self.published[key] = time.time()
        self.bus.publish(topic, key, value)

    def consumer(self, topic: str, group: str):
        return self.bus.consumer(topic, group)

    def end(self, topic: str) -> None:
        self.bus.end(topic)

    def flush(self, timeout_s: float | None = None) -> None:
        self.bus.flush(timeout_s)

    def depth(self, topic: str) -> int | None:
        return self.bus.depth(topic)

    def close(self) -> None:
        self.bus.close()


class StampSink(Sink):
    """Put last in the sink list. ``done`` is set once ``expect`` distinct posts came through."""

    name = "bench-stamp"

    def __init__(self, expect: int | None = None) -> None:
        self.decided: dict[str, float] = {}
        self.expect = expect
        self.cpu_first: float | None = None
        self.cpu_last: float | None = None
        self.batches = 0
        self.done = threading.Event()

    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        now = time.time()
        cpu = time.process_time()  # the whole process (every thread) from first to last batch
        self.cpu_first = cpu if self.cpu_first is None else self.cpu_first
        self.cpu_last = cpu
        self.batches += 1
        for i in items:
            self.decided.setdefault(i.post.id, now)
        if self.expect is not None and len(self.decided) >= self.expect:
            self.done.set()


class TimedClassifier(Classifier):
    def __init__(self, inner: Classifier) -> None:
        self.inner = inner
        self.version = inner.version
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self.busy_s = 0.0
        self.cpu_first = self.cpu_last = 0.0  # process CPU seconds at the first / after the last batch

    def classify(self, posts: Sequence[Post]) -> list[Classification]:
        t0, cpu = time.time(), time.process_time()
        out = self.inner.classify(posts)
        t1 = time.time()
        self.cpu_first = cpu if self.first is None else self.cpu_first
        self.cpu_last = time.process_time()
        self.first = t0 if self.first is None else self.first
        self.last, self.count = t1, self.count + len(posts)
        self.busy_s += t1 - t0
        return out


def latencies(published: dict[str, float], decided: dict[str, float]) -> list[float]:
    """Seconds from publish to decision, for every post seen at both ends."""
    return [decided[k] - t for k, t in published.items() if k in decided]
