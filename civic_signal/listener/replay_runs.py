"""Replay runs: re-classify archived posts with any classifier into a run id of their own.

A replay reads a SOURCE (a JSONL(.gz) file, the SQL archive, or a Kafka topic), optionally only
a time range of it, at a chosen speed, through the same pipeline as the main job. Its
classifications go to ``classifications`` under the replay's run id (never ``live``), and the
``runs`` table records the source, the classifier kind and version, the settings and the counts.
A replay queues no ticket unless ``send_tickets=True``.

SOURCE strings (:func:`parse_source`):

- ``path/to/stream.jsonl`` or ``.jsonl.gz``: the range filters on the posts' ``created_at``;
- ``archive:`` (or ``archive``, ``sql``, ``sql:``): posts in the archive, range over ``posts.created_at``;
- ``kafka:TOPIC``: the range is over the records' timestamps, found with ``offsets_for_times``.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from civic_signal.config.errors import ConfigError, SourceError
from civic_signal.core.models import DeadLetter, Post
from civic_signal.core.source import Source

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """``2026-11-20``, ``2026-11-20T12:00``, ``...Z``/``+01:00``, or ``7d`` / ``12h`` / ``30m`` ago -> aware UTC."""
    if text is None or not str(text).strip():
        return None
    text = str(text).strip()
    m = _RELATIVE.match(text)
    if m:
        return (now or datetime.now(timezone.utc)) - timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"not a time: {text!r}",
                          hint="use ISO 8601 (2026-11-20 or 2026-11-20T12:00Z) or a span ago (7d, 12h, 30m)") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


@dataclass(frozen=True)
class SourceSpec:
    """What to replay: ``kind`` is ``file``, ``sql`` or ``kafka``; ``target`` the path or topic."""

    kind: str
    target: str
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        rng = ""
        if self.since or self.until:
            rng = f" [{self.since.isoformat() if self.since else '…'} .. {self.until.isoformat() if self.until else '…'})"
        where = {"file": f"file:{self.target}", "sql": "archive:posts", "kafka": f"kafka:{self.target}"}[self.kind]
        return where + rng


def parse_source(text: str, *, since: datetime | None = None, until: datetime | None = None) -> SourceSpec:
    """Parse a SOURCE argument; a file must exist. Raises :class:`ConfigError` otherwise."""
    if since and until and since >= until:
        raise ConfigError(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    t = text.strip()
    if t.lower() in ("archive", "archive:", "sql", "sql:"):
        return SourceSpec("sql", "posts", since, until)
    if t.lower().startswith("kafka:"):
        topic = t[len("kafka:"):].strip()
        if not topic:
            raise ConfigError("kafka: needs a topic name", hint="e.g. kafka:civic.posts.raw")
        return SourceSpec("kafka", topic, since, until)
    if not Path(t).exists():
        raise ConfigError(f"replay source {t!r} is neither an existing file nor archive: / kafka:TOPIC",
                          hint="give a JSONL(.gz) path, 'archive:' for the SQL archive, or kafka:TOPIC")
    return SourceSpec("file", str(Path(t).resolve()), since, until)


class PacedSource(Source):
    """Wraps a source: keeps posts with ``since <= created_at < until``, at ``speed`` posts/s (0 = max).

    Dead letters always pass. :attr:`seen` counts every item read from the inner source (the
    progress bar's numerator), kept or not.
    """

    def __init__(self, inner: Source, *, speed: float = 0.0, since: datetime | None = None,
                 until: datetime | None = None, sleep: Callable[[float], object] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = inner.name
        super().__init__()
        self.inner, self.speed, self.since, self.until = inner, speed, since, until
        self.health = inner.health
        self._sleep, self._clock = sleep, clock
        self.seen = 0
        self.skipped = 0

    def close(self) -> None:
        super().close()
        self.inner.close()

    def __iter__(self) -> Iterator[Post | DeadLetter]:
        interval = 1.0 / self.speed if self.speed > 0 else 0.0
        next_at = self._clock()
        for item in self.inner:
            self.seen += 1
            if isinstance(item, Post):
                if (self.since and item.created_at < self.since) or (self.until and item.created_at >= self.until):
                    self.skipped += 1
                    continue
                if interval:
                    next_at += interval
                    delay = next_at - self._clock()
                    if delay > 0:
                        self._sleep(delay)
            yield item
            if self.closed:
                break


def _count_lines(path: Path) -> int:
    from civic_signal.listener.sources.replay import open_text
    with open_text(path) as fh:
        return sum(1 for line in fh if line.strip())


def open_source(spec: SourceSpec, settings, *, archive=None, speed: float = 0.0,
                kafka_consumer_factory: Callable[[], Any] | None = None) -> tuple[PacedSource, int | None]:
    """The source for ``spec`` and how many items it will read (``None`` if unknown)."""
    if spec.kind == "file":
        from civic_signal.listener.sources.replay import ReplaySource
        path = Path(spec.target)
        return PacedSource(ReplaySource(path, speed=0), speed=speed, since=spec.since, until=spec.until), _count_lines(path)
    if spec.kind == "sql":
        from civic_signal.listener.sources.archive_replay import ArchiveSource
        if archive is None:
            raise ConfigError("replaying the SQL archive needs the archive")
        inner = ArchiveSource(archive, since=spec.since, until=spec.until)
        return PacedSource(inner, speed=speed), inner.count()
    if spec.kind == "kafka":
        from civic_signal.listener.sources.kafka_replay import KafkaRangeSource, default_consumer_factory
        factory = kafka_consumer_factory or (lambda: default_consumer_factory(settings.kafka))
        inner = KafkaRangeSource(spec.target, consumer_factory=factory, since=spec.since, until=spec.until)
        return PacedSource(inner, speed=speed), inner.count()
    raise ConfigError(f"unknown source kind {spec.kind!r}")


def default_run_id(kind: str, now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return f"replay-{now:%Y%m%dT%H%M%SZ}-{kind}"


#: progress(seen, total) is called a few times a second while a replay runs, and once at the end.
Progress = Callable[[int, int | None], None]


def run_replay(settings, spec: SourceSpec, *, run_id: str, speed: float = 0.0, send_tickets: bool = False,
               classifier=None, progress: Progress | None = None, kafka_consumer_factory=None,
               handle_sigint: bool = False, tick_s: float = 0.25):
    """Replay ``spec`` into ``run_id`` and return the finished :class:`civic_signal.sinks.runs.Run`.

    The classifier is ``classifier`` or the one ``settings.classifier`` names. With
    ``handle_sigint`` a first Ctrl-C stops reading and drains (status ``interrupted``), a second
    stops at once.
    """
    from civic_signal.listener.cli.run_cmd import build_pipeline, pipeline_classifier
    from civic_signal.sinks import runs
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.tickets import OutboxSink

    if run_id == runs.LIVE_RUN:
        raise ConfigError("a replay cannot write into run 'live'", hint="pass another --run-id")
    archive = Archive.from_settings(settings)
    source, total = open_source(spec, settings, archive=archive, speed=speed,
                                kafka_consumer_factory=kafka_consumer_factory)
    own_classifier = classifier is None
    classifier = classifier or pipeline_classifier(settings)
    recorded = {"classifier": settings.classifier.model_dump(), "speed": speed,
                "since": spec.since.isoformat() if spec.since else None,
                "until": spec.until.isoformat() if spec.until else None,
                "batch_size": settings.bus.batch_size, "send_tickets": send_tickets}
    runs.start_run(archive, run_id, source=spec.describe(), classifier_kind=settings.classifier.kind,
                   classifier_version=getattr(classifier, "version", "unknown"), settings=recorded,
                   send_tickets=send_tickets)
    pipe, _ = build_pipeline(settings, [source], run_id=run_id, classifier=classifier, own_classifier=own_classifier)
    if send_tickets:
        pipe.sinks.append(OutboxSink(archive, auto_threshold=settings.gating.auto_threshold,
                                     review_threshold=settings.gating.review_threshold))
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["stats"] = pipe.run()
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    presses = {"n": 0}
    previous = None
    if handle_sigint and threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)

        def on_sigint(signum, frame):
            presses["n"] += 1
            pipe.stop(hard=presses["n"] > 1)
        signal.signal(signal.SIGINT, on_sigint)
    worker = threading.Thread(target=work, name=f"replay-{run_id}", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            if progress:  # a Kafka range is counted in records; a batch record holds many posts
                progress(source.seen, max(total, source.seen) if total is not None else None)
            worker.join(tick_s)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    stats = pipe.stats
    if progress:
        progress(source.seen, max(total, source.seen) if total is not None else source.seen)
    status = "failed" if "error" in outcome else ("interrupted" if presses["n"] or source.closed else "finished")
    if status == "finished" and source.health.last_error and source.seen == 0:
        status = "failed"
    run = runs.finish_run(archive, run_id, status=status, posts_in=stats.posts_in, classified=stats.classified,
                          actionable=stats.actionable, dead_letters=stats.dead_letters)
    archive.close()
    if "error" in outcome:
        err = outcome["error"]
        raise err if isinstance(err, Exception) else SourceError(f"replay stopped: {err!r}")
    return run
