"""The archive as a sink: every classified post and its classification, once."""

from __future__ import annotations

from collections.abc import Sequence

from civic_signal.core.models import ClassifiedPost
from civic_signal.sinks.archive import Archive
from civic_signal.core.sink import Sink


class ArchiveSink(Sink):
    name = "archive"

    def __init__(self, archive: Archive, run_id: str = "live") -> None:
        self.archive = archive
        self.run_id = run_id

    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        self.archive.write_classified(items, run_id=self.run_id)
