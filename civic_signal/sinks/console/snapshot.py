"""The state one console frame shows, frozen. Built by :mod:`civic_signal.sinks.console.collect`, drawn by the panels.

Panels get a :class:`Snapshot` and nothing else, so any frame can be rebuilt from data alone (tests
build snapshots from a seeded archive and render them into a capture console).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from civic_signal.sinks.alerts import Alert
from civic_signal.sinks.health import ProcessState, SourceState


@dataclass(frozen=True)
class PipelineView:
    processes_up: int = 0
    processes_total: int = 0
    posts_in: int = 0
    classified: int = 0
    actionable: int = 0
    rate_per_s: float | None = None
    queue_depth: int | None = None
    lag: int | None = None
    dead_letters_total: int = 0
    dead_letters_hour: int = 0
    dead_letter_series: tuple[int, ...] = ()
    sink_retries: int = 0
    last_error: str | None = None
    processes: tuple[ProcessState, ...] = ()


@dataclass(frozen=True)
class CategoryView:
    code: str
    name: str
    hour: int
    day: int
    series: tuple[int, ...] = ()  # hourly counts over the last day, oldest first


@dataclass(frozen=True)
class NeighbourhoodView:
    name: str
    open: int
    day: int = 0          # actionable reports in the last 24 h
    top: str | None = None  # the most reported category there in the last 24 h


@dataclass(frozen=True)
class HitView:
    at: datetime | None
    category: str | None
    location: str | None
    neighborhood: str | None
    score: float
    incident: str | None
    ticket_status: str | None
    text: str
    #: the city the post is about (a jurisdiction pack id); None: not routed, or no configured city
    jurisdiction: str | None = None


@dataclass(frozen=True)
class DeliveryView:
    sent: int = 0
    pending: int = 0
    sending: int = 0
    retrying: int = 0
    failed: int = 0
    review: int = 0
    closed: int = 0
    last_error: str | None = None

    @property
    def failing(self) -> int:
        return self.failed + self.retrying


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    sources: tuple[SourceState, ...] = ()
    pipeline: PipelineView = PipelineView()
    categories: tuple[CategoryView, ...] = ()
    neighbourhoods: tuple[NeighbourhoodView, ...] = ()
    neighbourhood_basis: str = "tickets"  # "incidents" once the incidents table exists
    hits: tuple[HitView, ...] = ()
    delivery: DeliveryView = DeliveryView()
    alerts: tuple[Alert, ...] = ()
    title: str = "Civic Signal"
    stale_after_s: float = 30.0  # a source row older than this is shown as silent
    error: str | None = None  # the archive could not be read: shown instead of stale numbers
    notes: tuple[str, ...] = field(default_factory=tuple)
