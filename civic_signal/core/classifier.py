"""The classifier contract: a batch of posts in, one :class:`Classification` per post out, in order.

Implementations must never raise for one bad post: a post they cannot judge comes back
non-actionable with a ``reason``. They load their model once, at construction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from civic_signal.core.models import Classification, Post


class Classifier(ABC):
    version: str = "unknown"

    @abstractmethod
    def classify(self, posts: Sequence[Post]) -> list[Classification]:
        """One classification per post, in the same order."""

    def classify_one(self, post: Post) -> Classification:
        return self.classify([post])[0]

    def close(self) -> None:
        """Release what the classifier holds (worker processes); in-process ones hold nothing."""
