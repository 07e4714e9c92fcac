"""The bus contract.

Stages talk through four logical topics. A producer ``publish``es typed items
(:class:`Post`, :class:`ClassifiedPost`, :class:`DeadLetter`, :class:`Ticket`) with a key (the
post id, so one post stays on one partition); a consumer ``poll``s batches and ``commit``s after
the work is done (at-least-once). ``end`` marks a topic finished, for bounded runs (replays,
tests); a consumer then reports ``ended`` once it has drained everything before the mark.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import time
from dataclasses import dataclass, field
from typing import Any

RAW = "raw"
CLASSIFIED = "classified"
DEAD_LETTER = "dead_letter"
TICKETS = "tickets"
TOPICS = (RAW, CLASSIFIED, DEAD_LETTER, TICKETS)


@dataclass(frozen=True)
class Message:
    topic: str
    key: str | None
    value: Any
    origin: str | None = None  # e.g. "civic.posts.raw/3@1200" on Kafka
    attempts: int = 0
    ts: float = field(default_factory=time.time)  # when it entered the bus (wall clock)


class Consumer(ABC):
    ended: bool = False

    @abstractmethod
    def poll(self, max_records: int = 256, timeout_s: float = 0.5) -> list[Message]:
        """Up to ``max_records`` messages, waiting at most ``timeout_s`` for the first."""

    def commit(self) -> None:
        """Mark everything polled so far as done."""

    def close(self) -> None:
        """Leave the group (after a final commit where the bus has one)."""

    def lag(self) -> int | None:
        """Messages waiting for this consumer, when the bus can tell."""
        return None


class Bus(ABC):
    name: str = "bus"

    @abstractmethod
    def publish(self, topic: str, key: str | None, value: Any) -> None:
        """Send one item. Blocks (backpressure) when the topic is full."""

    @abstractmethod
    def consumer(self, topic: str, group: str) -> Consumer:
        """A consumer of ``topic`` in consumer group ``group``."""

    def end(self, topic: str) -> None:
        """Mark the end of a bounded stream on ``topic``."""

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until everything published has been delivered."""

    def depth(self, topic: str) -> int | None:
        """Items waiting on ``topic``, when the bus can tell."""
        return None

    def close(self) -> None:
        pass
