"""The SQL archive (sqlmodel): posts, classifications, tickets (the outbox), dead letters."""

from civic_signal.sinks.archive.store import Archive

__all__ = ["Archive"]
