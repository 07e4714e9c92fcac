"""The pipeline's stages as separate processes over Kafka: listen, classify, sink.

Each role is a function that runs until its ``stop`` event is set (SIGTERM or Ctrl-C in the
commands) and reuses the stages of :mod:`civic_signal.listener.pipeline`:

- :func:`run_listen`: sources -> ``raw`` (:func:`civic_signal.listener.pipeline.run_source`); returns when
  the sources end (a replay) or on stop, after flushing the producer.
- :func:`run_classify`: ``raw`` -> :class:`ClassifyStage` -> ``classified``. Start any number of
  them: they share the work through the consumer group ``<prefix>.classify``.
- :func:`run_sink`: ``classified`` -> :class:`SinkStage` (archive, tickets: the sinks of
  :func:`civic_signal.listener.cli.run_cmd.build_sinks`) and ``dead_letter`` -> the archive.

What callers may rely on: offsets are committed only after a batch is done and what it produced
is on the brokers (at-least-once; the sinks are idempotent, so a redelivery changes nothing).
A batch that raises is retried message by message; a message that still fails after
``kafka.max_tries`` goes to the dead-letter topic with the error and its origin
(``topic/partition@offset``), and the stage goes on. On stop a role finishes its batch, commits
and leaves its group.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from civic_signal.config.errors import BusError
from civic_signal.listener.bus import CLASSIFIED, DEAD_LETTER, RAW, Bus, Message
from civic_signal.listener.bus.envelope import encode
from civic_signal.core.models import DeadLetter
from civic_signal.listener.pipeline import ClassifyStage, PipelineStats, SinkStage, run_source

log = logging.getLogger("civic_signal.kafka_roles")

CLASSIFY_GROUP = "classify"
SINK_GROUP = "sink"
DEAD_LETTER_GROUP = "sink-dlq"


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (the role then finishes its batch, commits and leaves)."""
    def handler(signum, frame):
        log.info("signal %s: finishing the batch, committing, leaving the group", signum)
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def open_bus(settings: Any):
    from civic_signal.listener.bus.kafka import KafkaBus  # kafka-python only where Kafka is used
    return KafkaBus(settings.kafka)


class _OriginStamp(Bus):
    """Passes everything to ``bus``; a dead letter for a post of the current batch gets the
    post's origin (``topic/partition@offset``) where the stage left it empty."""

    name = "kafka"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.origins: dict[str, str] = {}

    def publish(self, topic: str, key: str | None, value: Any) -> None:
        if topic == DEAD_LETTER and isinstance(value, DeadLetter) and value.origin is None and key in self.origins:
            value = value.model_copy(update={"origin": self.origins[key]})
        self.bus.publish(topic, key, value)

    def consumer(self, topic: str, group: str):
        return self.bus.consumer(topic, group)

    def flush(self, timeout_s: float | None = None) -> None:
        self.bus.flush(timeout_s)


def _payload(m: Message) -> str:
    try:
        return encode(m.value).decode("utf-8")
    except Exception:
        return repr(m.value)[:100_000]


def consume(consumer, bus: Bus, stop: threading.Event, handle: Callable[[Sequence[Message]], object], *,
            stage: str, stats: PipelineStats, batch_size: int = 256, max_tries: int = 3,
            dead_letter_failures: bool = True, backoff_s: float = 1.0) -> None:
    """Poll -> ``handle(batch)`` -> commit, until ``stop`` is set.

    ``handle`` returning ``False`` means "stopping, not done": the batch stays uncommitted. If
    ``handle`` raises, each message is retried alone up to ``max_tries`` times; one that still
    fails becomes a dead letter (or, with ``dead_letter_failures=False``, the batch is redone
    after a pause). A :class:`BusError` (Kafka unreachable) never blames the message: the batch
    is rewound and redone after a pause.
    """
    while not stop.is_set():
        batch = consumer.poll(batch_size, timeout_s=0.5)
        if not batch:
            continue
        try:
            try:
                done = handle(batch)
            except BusError:
                raise
            except Exception as exc:
                log.warning("%s: a batch of %d failed (%s: %s); trying each message alone", stage, len(batch),
                            exc.__class__.__name__, exc)
                stats.error(f"{stage}: {exc.__class__.__name__}: {exc}")
                if not dead_letter_failures:
                    consumer.rewind()
                    stop.wait(backoff_s)
                    continue
                done = _one_by_one(batch, bus, stop, handle, stage=stage, stats=stats, max_tries=max_tries)
            if done is False:
                consumer.rewind()
                break
            consumer.commit()
        except BusError as exc:
            log.warning("%s: %s; the batch will be processed again", stage, exc)
            stats.error(f"{stage}: {exc}")
            consumer.rewind()
            stop.wait(backoff_s)


def _one_by_one(batch: Sequence[Message], bus: Bus, stop: threading.Event, handle, *, stage: str,
                stats: PipelineStats, max_tries: int) -> bool:
    for m in batch:
        for attempt in range(1, max_tries + 1):
            try:
                if handle([m]) is False:
                    return False
                break
            except BusError:
                raise
            except Exception as exc:
                if attempt < max_tries:
                    if stop.wait(0.05 * attempt):
                        return False
                    continue
                reason = f"failed {max_tries} times in {stage}: {exc.__class__.__name__}: {exc}"[:1000]
                log.error("poison message %s -> dead-letter topic: %s", m.origin, reason)
                bus.publish(DEAD_LETTER, m.key, DeadLetter(stage=stage, reason=reason, payload=_payload(m),
                                                           origin=m.origin, post_id=m.key))
                stats.add(dead_letters=1)
    return True


# -- the roles ------------------------------------------------------------------------------------
def run_listen(settings: Any, sources: Sequence, stop: threading.Event, *, stats: PipelineStats | None = None,
               bus: Bus | None = None) -> PipelineStats:
    """Publish every source's posts to ``raw`` until they end or ``stop`` is set; then flush."""
    stats = stats or PipelineStats()
    own = bus is None
    bus = bus or open_bus(settings)
    threads = [threading.Thread(target=run_source, args=(s, bus, stats, stop), name=f"source-{s.name}", daemon=True)
               for s in sources]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)
        bus.flush()
    finally:
        if own:
            bus.close()
    return stats


def run_classify(settings: Any, stop: threading.Event, *, classifier=None, stats: PipelineStats | None = None,
                 ready: threading.Event | None = None) -> PipelineStats:
    """One classify worker in the group ``<prefix>.classify``, until ``stop`` is set."""
    from civic_signal.classifiers.base import load_classifier
    stats = stats or PipelineStats()
    bus = open_bus(settings)
    classifier = classifier or load_classifier(settings)
    stamp = _OriginStamp(bus)
    stage = ClassifyStage(stamp, classifier, stats, batch_size=settings.bus.batch_size, group=CLASSIFY_GROUP)

    def handle(batch: Sequence[Message]) -> None:
        stamp.origins = {m.key: m.origin for m in batch if m.key and m.origin}
        stage.process(batch)

    consumer = bus.consumer(RAW, CLASSIFY_GROUP)
    try:
        if ready is not None:
            ready.set()
        consume(consumer, bus, stop, handle, stage="classify", stats=stats,
                batch_size=settings.bus.batch_size, max_tries=settings.kafka.max_tries)
    finally:
        consumer.close()
        bus.close()
    return stats


def run_sink(settings: Any, stop: threading.Event, *, sinks=None, archive=None,
             stats: PipelineStats | None = None) -> PipelineStats:
    """The sink worker: ``classified`` -> sinks (group ``<prefix>.sink``), ``dead_letter`` -> archive
    (group ``<prefix>.sink-dlq``), until ``stop`` is set. Run one per archive database."""
    from civic_signal.listener.cli.run_cmd import build_sinks
    from civic_signal.sinks.archive import Archive
    stats = stats or PipelineStats()
    archive = archive or Archive.from_settings(settings)
    sinks = list(sinks) if sinks is not None else build_sinks(settings, archive)
    bus = open_bus(settings)
    stage = SinkStage(bus, sinks, stats, dead_letter_writer=archive.write_dead_letters,
                      batch_size=settings.bus.batch_size, group=SINK_GROUP)
    classified = bus.consumer(CLASSIFIED, SINK_GROUP)
    dead = bus.consumer(DEAD_LETTER, DEAD_LETTER_GROUP)

    def write_dead(batch: Sequence[Message]) -> None:
        archive.write_dead_letters([m.value for m in batch])
        stats.add(dead_letters=len(batch))

    dl_thread = threading.Thread(
        target=consume, args=(dead, bus, stop, write_dead),
        kwargs=dict(stage="dead-letters", stats=stats, batch_size=settings.bus.batch_size,
                    dead_letter_failures=False), name="sink-dead-letters", daemon=True)
    try:
        dl_thread.start()
        consume(classified, bus, stop, lambda batch: stage.process(batch, stop), stage="sink", stats=stats,
                batch_size=settings.bus.batch_size, max_tries=settings.kafka.max_tries)
    finally:
        stop.set()
        dl_thread.join(30)
        classified.close()
        dead.close()
        bus.close()
        for s in sinks:
            s.close()
    return stats


def wait_drained(bus, *, expect_archived: int | None = None, archive=None, timeout_s: float = 300,
                 stop: threading.Event | None = None, poll_s: float = 0.5) -> bool:
    """Wait until the classify and sink groups have committed everything on their topics (and,
    with ``expect_archived``, the archive holds that many posts). False on timeout or stop."""
    from civic_signal.sinks.archive.models import PostRow
    deadline = time.monotonic() + timeout_s
    stop = stop or threading.Event()
    while time.monotonic() < deadline and not stop.is_set():
        try:
            archived_ok = expect_archived is None or archive.count(PostRow) >= expect_archived
            if archived_ok and bus.lag(RAW, CLASSIFY_GROUP) == 0 and bus.lag(CLASSIFIED, SINK_GROUP) == 0 \
                    and bus.lag(DEAD_LETTER, DEAD_LETTER_GROUP) == 0:
                return True
        except BusError as exc:
            log.info("waiting for the groups: %s", exc)
        stop.wait(poll_s)
    return False


def run_all(settings: Any) -> PipelineStats:
    """``civic-signal run --bus kafka``: the three roles in one process, for a demo.

    Replays ``replay.path`` into Kafka, classifies and writes it, and returns once the groups
    have caught up (or on Ctrl-C / SIGTERM), printing the summary.
    """
    from rich.console import Console

    from civic_signal.listener.sources.replay import ReplaySource
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.console import summary_table

    stop = threading.Event()
    stop_on_signals(stop)
    console = Console()
    archive = Archive.from_settings(settings)
    stats = PipelineStats()
    workers_stop = threading.Event()
    workers = [threading.Thread(target=run_classify, args=(settings, workers_stop), kwargs={"stats": stats},
                                name="classify", daemon=True),
               threading.Thread(target=run_sink, args=(settings, workers_stop), kwargs={"stats": stats, "archive": archive},
                                name="sink", daemon=True)]
    for t in workers:
        t.start()
    source = ReplaySource(settings.resolve_path(settings.replay.path), speed=settings.replay.speed)
    console.print(f"kafka: {', '.join(settings.kafka.bootstrap_servers)}; replaying {source.path.name}", markup=False)
    run_listen(settings, [source], stop, stats=stats)
    bus = open_bus(settings)
    try:
        drained = wait_drained(bus, stop=stop, timeout_s=600)
    finally:
        bus.close()
    workers_stop.set()
    for t in workers:
        t.join(60)
    console.print(summary_table(archive.summary()))
    console.print(f"this run: {stats.posts_in} posts sent to Kafka, {stats.classified} classified, "
                  f"{stats.actionable} actionable, {stats.dead_letters} dead letters"
                  + ("" if drained else " (stopped before the groups caught up)"), markup=False)
    return stats


# -- throughput, for benchmarks ---------------------------------------------------------------------
@dataclass(frozen=True)
class Throughput:
    """One timed run of :func:`measure_throughput`."""

    posts: int
    classify_workers: int
    seconds: float

    @property
    def posts_per_s(self) -> float:
        return self.posts / self.seconds if self.seconds > 0 else float("inf")


def _role_main(role: str, settings: Any) -> None:
    """Entry point of a role in a child process (multiprocessing, spawn)."""
    logging.basicConfig(level=logging.ERROR)
    stop = threading.Event()
    stop_on_signals(stop)
    (run_classify if role == "classify" else run_sink)(settings, stop)


def measure_throughput(settings: Any, posts: Sequence, *, classify_workers: int = 1,
                       timeout_s: float = 600.0) -> Throughput:
    """Push ``posts`` through listen -> classify (``classify_workers`` processes) -> sink on Kafka
    and time it: from the first publish until both groups have committed everything.

    Uses topics and groups of its own (the settings' names plus a random suffix) on the settings'
    cluster and writes to the settings' archive. Worker processes are started, joined to their
    groups before the clock starts, and stopped (SIGTERM) afterwards. Raises :class:`BusError`
    when the run does not finish within ``timeout_s``.
    """
    import multiprocessing
    import uuid

    from civic_signal.config.settings import with_overrides
    from civic_signal.core.source import ListSource

    k, tag = settings.kafka, uuid.uuid4().hex[:8]
    settings = with_overrides(settings, bus={"kind": "kafka"}, kafka={
        "topic_raw": f"{k.topic_raw}.{tag}", "topic_classified": f"{k.topic_classified}.{tag}",
        "topic_dead_letter": f"{k.topic_dead_letter}.{tag}", "topic_tickets": f"{k.topic_tickets}.{tag}",
        "group_prefix": f"{k.group_prefix}.{tag}", "create_topics": True})
    bus = open_bus(settings)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_role_main, args=("classify", settings), daemon=True) for _ in range(classify_workers)]
    procs.append(ctx.Process(target=_role_main, args=("sink", settings), daemon=True))
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + min(timeout_s, 120)
        while bus.group_members(CLASSIFY_GROUP) != ("Stable", classify_workers):
            if time.monotonic() > deadline or not all(p.is_alive() for p in procs):
                raise BusError(f"the {classify_workers} classify worker(s) did not join their group")
            time.sleep(0.2)
        started = time.perf_counter()
        run_listen(settings, [ListSource(list(posts))], threading.Event(), bus=bus)
        if not wait_drained(bus, timeout_s=timeout_s, poll_s=0.1):
            raise BusError(f"{len(posts)} posts did not get through Kafka within {timeout_s:.0f}s")
        return Throughput(posts=len(posts), classify_workers=classify_workers,
                          seconds=time.perf_counter() - started)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: finish the batch, commit, leave
        for p in procs:
            p.join(60)
        bus.close()
