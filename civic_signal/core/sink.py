"""The sink contract: a sink writes a batch of classified posts; ``close`` releases it.

A sink raises :class:`RetryableSinkError` (or :class:`StorageError`) when the batch may succeed
later and :class:`PermanentSinkError` when it never will; the pipeline retries the first and
dead-letters the second. Sinks are idempotent: writing the same batch twice changes nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from civic_signal.core.models import ClassifiedPost


class Sink(ABC):
    name: str = "sink"

    @abstractmethod
    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        """Write every item, or raise without partial effects that a retry would duplicate."""

    def close(self) -> None:
        pass


class ListSink(Sink):
    """Collects what it is given: for tests and embedding."""

    name = "list"

    def __init__(self) -> None:
        self.items: list[ClassifiedPost] = []

    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        self.items.extend(items)
