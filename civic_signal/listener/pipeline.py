"""Wires sources -> classify -> sinks over a bus, and nothing else.

Three kinds of stage, each a loop over the bus that any process can run on its own (the Kafka
roles do exactly that) or that :class:`Pipeline` runs as threads in one process:

- :func:`run_source`: a source's posts to ``raw``, its dead letters to ``dead_letter``.
- :class:`ClassifyStage`: batches from ``raw`` -> classifier -> ``classified``.
- :class:`SinkStage`: batches from ``classified`` -> every sink; ``dead_letter`` -> the archive.

Failures are data: a post the classifier chokes on, or a batch a sink refuses for good, becomes
a dead letter with the reason; a sink that fails for now (database locked, 311 down) is retried
with backoff and its batch is not committed until it succeeds, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from civic_signal.core import metrics
from civic_signal.core.classifier import Classifier
from civic_signal.config.errors import ClassifierError, PermanentSinkError
from civic_signal.listener.bus import CLASSIFIED, DEAD_LETTER, RAW, Bus, Message
from civic_signal.core.models import Classification, ClassifiedPost, DeadLetter, Post, PostDeleted
from civic_signal.core.source import Source
from civic_signal.core.sink import Sink

log = logging.getLogger("civic_signal.pipeline")


@dataclass
class PipelineStats:
    """Counters shared by the stages and read by the console. Updated under one lock."""

    posts_in: int = 0
    classified: int = 0
    actionable: int = 0
    dead_letters: int = 0
    deletes: int = 0
    sink_retries: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    latest: deque[ClassifiedPost] = field(default_factory=lambda: deque(maxlen=50))
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    last_error: str | None = None
    started_at: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for k, v in counts.items():
                setattr(self, k, getattr(self, k) + v)

    def error(self, message: str) -> None:
        with self.lock:
            self.last_error = message[:500]


def run_source(source: Source, bus: Bus, stats: PipelineStats, stop: threading.Event) -> None:
    """Publish everything ``source`` yields until it ends or ``stop`` is set.

    A :class:`PostDeleted` goes to ``dead_letter`` wrapped by :meth:`PostDeleted.to_dead_letter`
    (keyed by the post id), where the archive's dead-letter writer applies it
    (:meth:`civic_signal.sinks.archive.Archive.forget_post`). A source that yields nothing for a while still
    stops: a watcher closes it as soon as ``stop`` is set.
    """
    done = threading.Event()

    def close_on_stop() -> None:
        while not done.is_set():
            if stop.wait(0.2):
                source.close()
                return

    threading.Thread(target=close_on_stop, name=f"stop-{source.name}", daemon=True).start()
    tally = metrics.SourceTally(source.name)  # per post: an integer add; the metric catches up when scraped
    try:
        for item in source:
            if isinstance(item, Post):
                bus.publish(RAW, item.id, item)
                stats.add(posts_in=1)
                tally.add()
            elif isinstance(item, PostDeleted):
                bus.publish(DEAD_LETTER, item.post_id, item.to_dead_letter())
                stats.add(deletes=1)
            else:
                bus.publish(DEAD_LETTER, item.post_id, item)
                stats.add(dead_letters=1)
            if stop.is_set():
                source.close()
                break
    except Exception as exc:  # a source must not take the process down with it
        msg = f"source {source.name} stopped: {exc.__class__.__name__}: {exc}"
        log.error(msg)
        source.health.saw_error(msg)
        stats.error(msg)
        bus.publish(DEAD_LETTER, None, DeadLetter(stage="source", reason=msg, payload="", origin=source.name))
        stats.add(dead_letters=1)
    finally:
        tally.flush()
        done.set()


class ClassifyStage:
    """``raw`` -> classifier -> ``classified``. One instance per worker thread or process."""

    def __init__(self, bus: Bus, classifier: Classifier, stats: PipelineStats, *, batch_size: int = 256,
                 group: str = "classify") -> None:
        self.bus, self.classifier, self.stats = bus, classifier, stats
        self.batch_size, self.group = batch_size, group

    def classify(self, posts: Sequence[Post]) -> list[Classification | DeadLetter]:
        """Classify a batch; if the batch fails, classify one by one so one bad post costs only itself."""
        try:
            results = list(self.classifier.classify(posts))
            if len(results) != len(posts) or not all(isinstance(r, Classification) for r in results):
                raise ClassifierError(f"the classifier returned {len(results)} results for {len(posts)} posts")
            return results
        except Exception as batch_exc:
            log.warning("classifier failed on a batch of %d (%s); retrying one by one", len(posts), batch_exc)
            out: list[Classification | DeadLetter] = []
            for p in posts:
                try:
                    result = self.classifier.classify([p])[0]
                    if not isinstance(result, Classification):
                        raise ClassifierError(f"the classifier returned a {type(result).__name__}")
                    out.append(result)
                except Exception as exc:
                    out.append(DeadLetter(stage="classify", reason=f"{exc.__class__.__name__}: {exc}"[:1000],
                                          payload=p.model_dump_json(), post_id=p.id))
            return out

    def process(self, messages: Sequence[Message]) -> None:
        started = time.perf_counter()
        posts = [m.value for m in messages]
        results = self.classify(posts)
        codes: list[str | None] = []  # of the actionable posts; counted once per batch (C-speed Counter)
        version = None
        for msg, post, result in zip(messages, posts, results):
            if isinstance(result, DeadLetter):
                self.bus.publish(DEAD_LETTER, post.id, result)
                self.stats.add(dead_letters=1)
                continue
            cp = ClassifiedPost(post=post, classification=result)
            self.bus.publish(CLASSIFIED, post.id, cp)
            version = result.model_version
            if result.actionable:
                codes.append(result.category.code if result.category else None)
        self.stats.add(classified=len(results), actionable=len(codes))
        metrics.classified(len(results), Counter(codes))
        metrics.model_version(version)
        metrics.stage_seconds("classify", time.perf_counter() - started)

    def run(self, stop: threading.Event) -> None:
        consumer = self.bus.consumer(RAW, self.group)
        try:
            while not stop.is_set() and not consumer.ended:
                batch = consumer.poll(self.batch_size, timeout_s=0.2)
                if batch:
                    self.process(batch)
                    consumer.commit()
        finally:
            consumer.close()


class SinkStage:
    """``classified`` -> every sink, and ``dead_letter`` -> ``dead_letter_writer``."""

    def __init__(self, bus: Bus, sinks: Sequence[Sink], stats: PipelineStats, *,
                 dead_letter_writer: Callable[[Sequence[DeadLetter]], object],
                 batch_size: int = 256, group: str = "sink", retry_max_s: float = 30.0) -> None:
        self.bus, self.sinks, self.stats = bus, list(sinks), stats
        self.write_dead_letters = dead_letter_writer
        self.batch_size, self.group, self.retry_max_s = batch_size, group, retry_max_s

    def _retry(self, what: str, fn: Callable[[], object], stop: threading.Event) -> bool:
        """Call ``fn`` until it succeeds; back off on failure. A permanent error propagates."""
        delay = 0.2
        while True:
            try:
                fn()
                return True
            except PermanentSinkError:
                raise
            except Exception as exc:
                msg = f"{what} failed, will retry in {delay:.1f}s: {exc}"
                log.warning(msg)
                self.stats.error(msg)
                self.stats.add(sink_retries=1)
                if stop.wait(delay):
                    return False  # stopping: the batch stays uncommitted and is redelivered
                delay = min(delay * 2, self.retry_max_s)

    def process(self, messages: Sequence[Message], stop: threading.Event) -> bool:
        items: list[ClassifiedPost] = [m.value for m in messages]
        for sink in self.sinks:
            started = time.perf_counter()
            try:
                if not self._retry(f"sink {sink.name}", lambda s=sink: s.write_batch(items), stop):
                    return False
                metrics.stage_seconds(f"sink:{sink.name}", time.perf_counter() - started)
            except PermanentSinkError as exc:
                # the sink refuses the batch for good: find which items it refuses, one by one,
                # so that one bad post costs only itself
                refused = [(m, i, exc) for m, i in zip(messages, items)] if len(items) == 1 else \
                    self._one_by_one(sink, messages, items, stop)
                dead = [DeadLetter(stage=f"sink:{sink.name}", reason=str(e), payload=i.model_dump_json(),
                                   post_id=i.post.id, origin=m.origin) for m, i, e in refused]
                if dead:
                    self._retry("dead letters", lambda: self.write_dead_letters(dead), stop)
                    self.stats.add(dead_letters=len(dead))
        now = time.time()
        if messages:
            metrics.written(len(messages), now - min(m.ts for m in messages))
        with self.stats.lock:
            for m, i in zip(messages, items):
                self.stats.latest.append(i)
                self.stats.latencies.append(now - m.ts)
                if i.classification.actionable and i.classification.category:
                    self.stats.by_category[i.classification.category.code] += 1
        return True

    def _one_by_one(self, sink: Sink, messages: Sequence[Message], items: Sequence[ClassifiedPost],
                    stop: threading.Event) -> list[tuple[Message, ClassifiedPost, Exception]]:
        refused = []
        for m, i in zip(messages, items):
            try:
                self._retry(f"sink {sink.name}", lambda: sink.write_batch([i]), stop)
            except PermanentSinkError as exc:
                refused.append((m, i, exc))
        return refused

    def run(self, stop: threading.Event) -> None:
        classified = self.bus.consumer(CLASSIFIED, self.group)
        dead = self.bus.consumer(DEAD_LETTER, self.group + "-dlq")
        try:
            while not stop.is_set() and not (classified.ended and dead.ended):
                dl = dead.poll(self.batch_size, timeout_s=0.0 if not dead.ended else 0)
                if dl:
                    values = [m.value for m in dl]
                    if self._retry("dead letters", lambda: self.write_dead_letters(values), stop):
                        dead.commit()
                batch = classified.poll(self.batch_size, timeout_s=0.2)
                if batch and self.process(batch, stop):
                    classified.commit()
        finally:
            classified.close()
            dead.close()


class Pipeline:
    """Runs sources, ``classify_workers`` classify threads and one sink thread on one bus.

    With a :class:`civic_signal.listener.classify_processes.ProcessClassifier` each classify thread hands its
    batches to the worker processes, so classification runs beside the sinks, not under their lock.

    :meth:`run` returns when every source has ended and everything has drained, or soon after
    :meth:`stop`: sources stop first, and what is already on the bus is still classified and
    written before the stages end.
    """

    def __init__(self, sources: Sequence[Source], bus: Bus, classifier: Classifier, sinks: Sequence[Sink], *,
                 dead_letter_writer: Callable[[Sequence[DeadLetter]], object], batch_size: int = 256,
                 classify_workers: int = 1, close_classifier: bool = False) -> None:
        self.sources, self.bus, self.classifier, self.sinks = list(sources), bus, classifier, list(sinks)
        self.close_classifier = close_classifier  # the pipeline owns it (worker processes to stop)
        self.stats = PipelineStats()
        self.batch_size = batch_size
        self.classify_workers = classify_workers
        self.dead_letter_writer = dead_letter_writer
        self._stop_sources = threading.Event()
        self._stop_all = threading.Event()

    def stop(self, *, hard: bool = False) -> None:
        self._stop_sources.set()
        if hard:
            self._stop_all.set()

    def run(self) -> PipelineStats:
        src_threads = [threading.Thread(target=run_source, args=(s, self.bus, self.stats, self._stop_sources),
                                        name=f"source-{s.name}", daemon=True) for s in self.sources]
        cls_threads = [threading.Thread(
            target=ClassifyStage(self.bus, self.classifier, self.stats, batch_size=self.batch_size).run,
            args=(self._stop_all,), name=f"classify-{n}", daemon=True) for n in range(self.classify_workers)]
        sink = SinkStage(self.bus, self.sinks, self.stats, dead_letter_writer=self.dead_letter_writer,
                         batch_size=self.batch_size)
        sink_thread = threading.Thread(target=sink.run, args=(self._stop_all,), name="sink", daemon=True)
        for t in src_threads + cls_threads + [sink_thread]:
            t.start()
        for t in src_threads:
            while t.is_alive():
                t.join(0.2)
        self.bus.end(RAW)
        for t in cls_threads:
            while t.is_alive():
                t.join(0.2)
        self.bus.end(CLASSIFIED)
        self.bus.end(DEAD_LETTER)
        while sink_thread.is_alive():
            sink_thread.join(0.2)
        for s in self.sinks:
            s.close()
        if self.close_classifier:
            self.classifier.close()
        return self.stats
