"""Every Prometheus metric Civic Signal exports, in one place, and the calls that record them.

The parts record through the small functions below (``posts_in``, ``classified``, ...), never
through the metric objects, so that names and labels are decided here once and any layer may
record (this module sits in ``core``, below every part). Recording is cheap and made per batch
where the caller has a batch; it is always on (a process without a metrics server just never
serves it). Roles expose :data:`REGISTRY` over HTTP (:mod:`civic_signal.listener.ops_http`).

What a caller may rely on: the recording functions never raise and never block on I/O; label
values that come from data (categories, dead-letter reasons) are bounded
(:data:`MAX_LABEL_VALUES` per metric, the rest counted as ``other``), so a flood of odd input
cannot blow up the number of time series.

Names (all prefixed ``civic_signal_``), as documented in docs/deploy.md:

- ``posts_in_total{source}``: posts read from each source (a :class:`SourceTally` per source thread:
  an integer add per post, brought into the counter at every scrape).
- ``posts_classified_total``; ``posts_actionable_total{category}``.
- ``posts_written_total``: classified posts written by every sink (archive, incidents, tickets).
- ``dead_letters_total{stage,reason}``: dead letters archived (``reason``: the error's kind).
- ``stage_seconds{stage}``: time a batch spends in a stage (``classify``, ``sink:<name>``).
- ``post_latency_seconds``: from the bus to written, of the oldest post of each sink batch.
- ``bus_lag{topic,group}``: messages waiting for a consumer group (Kafka) or on a queue (memory).
- ``tickets{state,jurisdiction}``: tickets in the archive by state.
- ``open311_request_errors_total{kind}``: failed Open311 requests (``timeout``, ``transport``, ``http_4xx``, ``http_5xx``).
- ``model_info{version}``: 1 for the classifier model in use.
- ``source_connected{source}``, ``source_last_post_timestamp_seconds{source}``: for stalled-source alerts.
- ``ready{check}``: 1 while a readiness check passes (what ``/readyz`` answers from).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import GCCollector, PlatformCollector, ProcessCollector, disable_created_metrics

from civic_signal.core.models import TicketStatus

disable_created_metrics()  # no ``*_created`` series: they double the output and nobody alerts on them

#: The registry every metric below is in (not prometheus_client's global one, so that importing
#: Civic Signal into another program adds nothing to that program's metrics).
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

#: The most distinct values a data-derived label takes per metric; further ones become ``other``.
MAX_LABEL_VALUES = 60

_P = "civic_signal_"
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class _CatchUp:
    """A collector that exports nothing: collected before the metrics below, it brings the
    :class:`SourceTally` counts into ``posts_in_total`` at every scrape."""

    def collect(self):
        for tally in list(_tallies):
            tally.flush()
        return []


_tallies: "weakref.WeakSet[SourceTally]" = weakref.WeakSet()
REGISTRY.register(_CatchUp())  # type: ignore[arg-type]
POSTS_IN = Counter(_P + "posts_in", "Posts read from a source.", ["source"], registry=REGISTRY)
CLASSIFIED = Counter(_P + "posts_classified", "Posts classified.", registry=REGISTRY)
ACTIONABLE = Counter(_P + "posts_actionable", "Posts classified actionable, by Open311 category code.",
                     ["category"], registry=REGISTRY)
WRITTEN = Counter(_P + "posts_written", "Classified posts written by every sink (archive, incidents).",
                  registry=REGISTRY)
DEAD_LETTERS = Counter(_P + "dead_letters", "Dead letters archived, by the stage that made them and the error's kind.",
                       ["stage", "reason"], registry=REGISTRY)
STAGE_SECONDS = Histogram(_P + "stage_seconds", "Seconds one batch spends in a stage.", ["stage"],
                          buckets=_LATENCY_BUCKETS, registry=REGISTRY)
POST_LATENCY = Histogram(_P + "post_latency_seconds",
                         "Seconds from entering the bus to written by the sinks (oldest post of each batch).",
                         buckets=_LATENCY_BUCKETS, registry=REGISTRY)
BUS_LAG = Gauge(_P + "bus_lag", "Messages waiting for a consumer group (Kafka) or on an in-process queue.",
                ["topic", "group"], registry=REGISTRY)
TICKETS = Gauge(_P + "tickets", "Tickets in the archive by state.", ["state", "jurisdiction"], registry=REGISTRY)
OPEN311_ERRORS = Counter(_P + "open311_request_errors", "Failed Open311 requests, by kind.", ["kind"],
                         registry=REGISTRY)
for _kind in ("timeout", "transport", "http_4xx", "http_5xx"):
    OPEN311_ERRORS.labels(_kind)  # exported as 0 from the start, so that rate() sees the first error
MODEL_INFO = Gauge(_P + "model_info", "1 for the classifier model version in use.", ["version"], registry=REGISTRY)
SOURCE_CONNECTED = Gauge(_P + "source_connected", "1 while a source is connected.", ["source"], registry=REGISTRY)
SOURCE_LAST_POST = Gauge(_P + "source_last_post_timestamp_seconds", "When a source last delivered a post (Unix time).",
                         ["source"], registry=REGISTRY)
READY = Gauge(_P + "ready", "1 while a readiness check passes.", ["check"], registry=REGISTRY)

_lock = threading.Lock()
_seen: dict[str, set[str]] = {}
_model: dict[str, str | None] = {"version": None}
#: every ticket state is reported from the first refresh (0 when none), so an alert never meets an absent series
_ticket_states: set[str] = {s.value for s in TicketStatus}
_KIND = re.compile(r"\b([A-Z][A-Za-z0-9]*(?:Error|Exception|Timeout|Refused))\b")


def _bounded(metric: str, value: str | None) -> str:
    """``value`` as a label, or ``other`` once ``metric`` has :data:`MAX_LABEL_VALUES` distinct ones."""
    value = (value or "none")[:60]
    seen = _seen.setdefault(metric, set())
    if value in seen:
        return value
    with _lock:
        if len(seen) >= MAX_LABEL_VALUES:
            return "other"
        seen.add(value)
    return value


def reason_kind(reason: str | None) -> str:
    """A dead letter's reason reduced to a bounded kind: the exception class it names
    (``JSONDecodeError``), else its first word (``deleted``, ``failed``), lower-case."""
    if not reason:
        return "none"
    m = _KIND.search(reason)
    if m:
        return m.group(1)
    word = re.match(r"[A-Za-z_][\w-]*", reason.strip())
    return word.group(0).lower()[:40] if word else "other"


# -- recording -----------------------------------------------------------------------------------
class SourceTally:
    """The posts of one source, for the per-post path: :meth:`add` is a plain integer add (no lock,
    no metric call), and ``posts_in_total`` catches up at every scrape (and at :meth:`flush`).
    Only one thread may call :meth:`add` (the source's); any thread may flush."""

    __slots__ = ("source", "n", "_flushed", "__weakref__")

    def __init__(self, source: str) -> None:
        self.source, self.n, self._flushed = source, 0, 0
        _tallies.add(self)

    def add(self, k: int = 1) -> None:
        self.n += k

    def flush(self) -> None:
        with _lock:
            delta = self.n - self._flushed
            if delta:
                self._flushed += delta
        if delta:
            posts_in(self.source, delta)


def posts_in(source: str, n: int = 1) -> None:
    """``n`` posts read from ``source``."""
    if n:
        POSTS_IN.labels(_bounded("source", source)).inc(n)


def classified(n: int, actionable_by_category: Mapping[str | None, int] | None = None) -> None:
    """A classified batch: ``n`` posts, and how many were actionable in each category (``None``: uncategorised)."""
    if n:
        CLASSIFIED.inc(n)
    for code, k in (actionable_by_category or {}).items():
        if k:
            ACTIONABLE.labels(_bounded("category", code or "none")).inc(k)


def dead_letters(items: Iterable[tuple[str, str | None]]) -> None:
    """Dead letters archived, as ``(stage, reason)`` pairs (counted per distinct pair)."""
    counts: dict[tuple[str, str], int] = {}
    for stage, reason in items:
        key = (_bounded("dl_stage", stage), _bounded("dl_reason", reason_kind(reason)))
        counts[key] = counts.get(key, 0) + 1
    for (stage, kind), k in counts.items():
        DEAD_LETTERS.labels(stage, kind).inc(k)


def stage_seconds(stage: str, seconds: float) -> None:
    """One batch took ``seconds`` in ``stage``."""
    STAGE_SECONDS.labels(_bounded("stage", stage)).observe(max(seconds, 0.0))


def written(n: int, oldest_age_s: float | None = None) -> None:
    """A batch of ``n`` classified posts written by every sink; its oldest post took
    ``oldest_age_s`` from the bus to written."""
    if n:
        WRITTEN.inc(n)
    if oldest_age_s is not None:
        POST_LATENCY.observe(max(oldest_age_s, 0.0))


def bus_lag(topic: str, group: str, value: int | None) -> None:
    """Set the lag of ``group`` on ``topic`` (``None``: unknown, the series is removed)."""
    if value is None:
        try:
            BUS_LAG.remove(topic, group)
        except KeyError:
            pass
        return
    BUS_LAG.labels(topic, group).set(value)


def tickets(by_state: Mapping[str, int], jurisdiction: str) -> None:
    """Set the ticket counts by state (states absent from ``by_state`` are set to 0)."""
    with _lock:
        gone = _ticket_states - set(by_state)
    for state in gone:
        TICKETS.labels(state, jurisdiction).set(0)
    for state, n in by_state.items():
        state = _bounded("ticket_state", state)
        with _lock:
            _ticket_states.add(state)
        TICKETS.labels(state, jurisdiction).set(n)


def open311_error(kind: str) -> None:
    """One failed Open311 request: ``timeout``, ``transport``, ``http_4xx`` or ``http_5xx``."""
    OPEN311_ERRORS.labels(_bounded("open311", kind)).inc()


def model_version(version: str | None) -> None:
    """The classifier model in use (cheap to call per batch: only a change touches the metric)."""
    if not version or version == _model["version"]:
        return
    with _lock:
        old, _model["version"] = _model["version"], version
        if old is not None:
            try:
                MODEL_INFO.remove(old)
            except KeyError:
                pass
        MODEL_INFO.labels(version[:100]).set(1)


def source_state(source: str, connected: bool, last_post_unix: float | None) -> None:
    """A source's connection and the time of its last post."""
    name = _bounded("source", source)
    SOURCE_CONNECTED.labels(name).set(1 if connected else 0)
    if last_post_unix is not None:
        SOURCE_LAST_POST.labels(name).set(last_post_unix)


def ready(check: str, ok: bool) -> None:
    READY.labels(check).set(1 if ok else 0)


def sample(name: str, labels: Mapping[str, str] | None = None) -> float | None:
    """The current value of a sample (e.g. ``civic_signal_posts_in_total``), for tests and checks."""
    return REGISTRY.get_sample_value(name, dict(labels or {}))
