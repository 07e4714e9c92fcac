"""The source contract: a source yields posts (and, for what it cannot parse, dead letters).

A source never drops a message silently: whatever it cannot turn into a :class:`Post` comes out
as a :class:`DeadLetter` with the reason and the origin, and the stream goes on. Sources that
reconnect update their :class:`SourceHealth`, which the console reads.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from civic_signal.core.models import DeadLetter, Post


@dataclass
class SourceHealth:
    """Live health of one source; updated by the source thread, read by the console."""

    name: str
    connected: bool = False
    posts: int = 0
    errors: int = 0
    reconnects: int = 0
    last_message_at: datetime | None = None
    last_error: str | None = None
    _recent: deque[float] = field(default_factory=lambda: deque(maxlen=10_000), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def saw_post(self) -> None:
        with self._lock:
            self.posts += 1
            self.last_message_at = datetime.now(timezone.utc)
            self._recent.append(time.monotonic())

    def saw_error(self, message: str) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = message[:500]

    def posts_per_minute(self) -> float:
        cutoff = time.monotonic() - 60
        with self._lock:
            return float(sum(1 for t in self._recent if t >= cutoff))

    def snapshot(self) -> dict[str, object]:
        return {
            "name": self.name, "connected": self.connected, "posts": self.posts,
            "errors": self.errors, "reconnects": self.reconnects,
            "last_message_at": self.last_message_at.isoformat() if self.last_message_at else None,
            "last_error": self.last_error, "posts_per_minute": self.posts_per_minute(),
        }


class Source(ABC):
    """Yields :class:`Post` or :class:`DeadLetter` items until exhausted or closed."""

    name: str = "source"

    def __init__(self) -> None:
        self.health = SourceHealth(self.name)
        self._closed = threading.Event()

    @abstractmethod
    def __iter__(self) -> Iterator[Post | DeadLetter]:
        ...

    def close(self) -> None:
        """Ask the source to stop; iteration ends soon after."""
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


class ListSource(Source):
    """A source over a fixed list: for tests and embedding."""

    name = "list"

    def __init__(self, items: list[Post | DeadLetter]) -> None:
        super().__init__()
        self._items = list(items)

    def __iter__(self) -> Iterator[Post | DeadLetter]:
        self.health.connected = True
        for item in self._items:
            if self.closed:
                break
            if isinstance(item, Post):
                self.health.saw_post()
            yield item
        self.health.connected = False
