"""The in-process bus: one bounded queue per topic. Publishing blocks when a queue is full,
so a slow stage slows the ones before it instead of filling memory."""

from __future__ import annotations

import queue
import threading
from typing import Any

from civic_signal.core.bus import TOPICS, Bus, Consumer, Message

_END = object()


class _MemoryConsumer(Consumer):
    def __init__(self, bus: "MemoryBus", topic: str) -> None:
        self._bus = bus
        self._topic = topic
        self.ended = False

    def poll(self, max_records: int = 256, timeout_s: float = 0.5) -> list[Message]:
        if self.ended:
            return []
        q = self._bus._queue(self._topic)
        out: list[Message] = []
        try:
            item = q.get(timeout=timeout_s)
        except queue.Empty:
            return out
        while True:
            if item is _END:
                self.ended = True
                q.put(_END)  # let other consumers of the topic see the end too
                break
            out.append(item)
            if len(out) >= max_records:
                break
            try:
                item = q.get_nowait()
            except queue.Empty:
                break
        return out

    def lag(self) -> int | None:
        return self._bus.depth(self._topic)


class MemoryBus(Bus):
    name = "memory"

    def __init__(self, max_queue: int = 10_000) -> None:
        self.max_queue = max_queue
        self._queues: dict[str, queue.Queue[Any]] = {}
        self._lock = threading.Lock()
        for t in TOPICS:
            self._queue(t)

    def _queue(self, topic: str) -> queue.Queue[Any]:
        with self._lock:
            q = self._queues.get(topic)
            if q is None:
                q = self._queues[topic] = queue.Queue(maxsize=self.max_queue)
            return q

    def publish(self, topic: str, key: str | None, value: Any) -> None:
        self._queue(topic).put(Message(topic=topic, key=key, value=value))

    def end(self, topic: str) -> None:
        self._queue(topic).put(_END)

    def consumer(self, topic: str, group: str) -> Consumer:
        return _MemoryConsumer(self, topic)

    def depth(self, topic: str) -> int | None:
        return self._queue(topic).qsize()
