"""Classify in worker processes, so the embedded pipeline uses more than one core.

In one process the classify stage and the sinks share one interpreter lock: the pipeline ran at
the speed of their sum. :class:`ProcessClassifier` is a :class:`~civic_signal.classifiers.base.Classifier`
that hands each batch to a pool of worker processes (``classifier.processes``), each holding its
own copy of the model, and so plugs into :class:`civic_signal.listener.pipeline.ClassifyStage` unchanged.

What crosses the process boundary is kept small, because the pipeline's process pays for it:
a post travels as the fields a classifier reads (:data:`FIELDS_READ`), a classification comes
back as a tuple and is rebuilt with :func:`civic_signal.classifiers.trusted.trusted` (pickling the pydantic
models themselves cost about 90 µs a post, a third of the classification).

Failures: an exception in a worker comes back to the caller (the classify stage then retries one
by one, so a bad post costs only itself); a worker that dies (a crash, the OOM killer) breaks
the pool, which is started again once for that call, and a second break is a
:class:`~civic_signal.config.errors.ClassifierError`; a batch that takes longer than ``timeout_s`` (a post
that makes the classifier loop) gets its workers killed and replaced and is a ClassifierError
too, so the stage retries its posts one by one and only the culprit is dead-lettered.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone

from civic_signal.core.classifier import Classifier
from civic_signal.classifiers.trusted import trusted
from civic_signal.config.errors import ClassifierError
from civic_signal.core.models import Category, Classification, Coordinates, Location, LocationKind, Post

log = logging.getLogger("civic_signal.classify")

#: The post fields a classifier reads; the only ones sent to the workers. A classifier that
#: starts reading another field must be listed here (tests compare the pool with in-process).
FIELDS_READ = ("id", "text", "language", "is_repost", "coordinates")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TEMPLATE = {name: f.default for name, f in Post.model_fields.items()}
_CLASSIFIER: Classifier | None = None


# -- in the worker process ---------------------------------------------------------------------

def _init(kind: str, model_path: str, threshold: float, models_dir: str = "models",
          reload_check_s: float = 5.0) -> None:
    global _CLASSIFIER
    # Ctrl-C at a terminal and a service manager's SIGTERM reach the whole process group: the
    # pipeline's process decides (drain, then close the pool); a worker whose parent is gone
    # ends by itself when its pipe closes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from civic_signal.classifiers.base import load_classifier
    from civic_signal.config.settings import load_settings
    # models_dir: each worker follows the active model version (switches between batches)
    settings = load_settings(classifier={"kind": kind, "model_path": model_path, "actionable_threshold": threshold,
                                         "models_dir": models_dir, "reload_check_s": reload_check_s})
    _CLASSIFIER = load_classifier(settings)


def _version() -> str:
    assert _CLASSIFIER is not None
    return _CLASSIFIER.version


def _post(t: tuple) -> Post:
    values = dict(_TEMPLATE)
    values.update(id=t[0], source="worker", text=t[1], created_at=_EPOCH, language=t[2], is_repost=t[3],
                  coordinates=None if t[4] is None else trusted(Coordinates, {"lat": t[4], "lon": t[5]}))
    return trusted(Post, values)


def _classify(batch: list[tuple]) -> list[tuple]:
    assert _CLASSIFIER is not None
    return [_pack(c) for c in _CLASSIFIER.classify([_post(t) for t in batch])]


def _pack(c: Classification) -> tuple:
    cat, loc = c.category, c.location
    return (c.post_id, c.actionable, c.actionable_score,
            None if cat is None else (cat.code, cat.name, cat.score, cat.type),
            None if loc is None else (loc.text, loc.kind.value, loc.address, loc.neighborhood, loc.lat, loc.lon,
                                      loc.score, loc.radius_m),
            c.language, c.model_version, c.reason, c.jurisdiction)


# -- in the pipeline's process -----------------------------------------------------------------

def _unpack(t: tuple) -> Classification:
    cat, loc = t[3], t[4]
    return trusted(Classification, {
        "post_id": t[0], "actionable": t[1], "actionable_score": t[2],
        "category": None if cat is None else trusted(Category, {"code": cat[0], "name": cat[1], "score": cat[2],
                                                                       "type": cat[3]}),
        "location": None if loc is None else trusted(Location, {
            "text": loc[0], "kind": LocationKind(loc[1]), "address": loc[2], "neighborhood": loc[3],
            "lat": loc[4], "lon": loc[5], "score": loc[6], "radius_m": loc[7]}),
        "language": t[5], "model_version": t[6], "reason": t[7], "jurisdiction": t[8]})


def _travel(p: Post) -> tuple:
    c = p.coordinates
    return (p.id, p.text, p.language, p.is_repost, None if c is None else c.lat, None if c is None else c.lon)


class ProcessClassifier(Classifier):
    """The classifier ``classifier_settings`` names, run in ``processes`` worker processes.

    Loads the model in every worker before returning (a model that cannot load fails here, not
    on the first post). Call :meth:`close` when done; it is safe to call twice.
    """

    def __init__(self, classifier_settings, processes: int, *, timeout_s: float = 120.0) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.processes = processes
        self.timeout_s = timeout_s  # a batch taking longer means a stuck worker: it is replaced
        self._args = (classifier_settings.kind, classifier_settings.model_path,
                      classifier_settings.actionable_threshold, str(classifier_settings.models_dir),
                      classifier_settings.reload_check_s)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        try:
            self._pool = self._start()
            self.version = self._pool.submit(_version).result()
        except Exception as exc:
            self.close()
            raise ClassifierError(f"the classifier could not start in a worker process: {exc}",
                                  hint="check classifier.kind / classifier.model_path") from exc

    def _start(self) -> ProcessPoolExecutor:
        # spawn, not fork: the pipeline's process runs threads (a forked lock can stay held)
        pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init, initargs=self._args)
        for f in [pool.submit(_version) for _ in range(self.processes)]:
            f.result()  # every worker has loaded the model
        return pool

    def classify(self, posts: Sequence[Post]) -> list[Classification]:
        if not posts:
            return []
        batch = [_travel(p) for p in posts]
        for attempt in (1, 2):
            pool = self._pool
            if pool is None:
                raise ClassifierError("the classifier's worker processes are closed")
            try:
                return [_unpack(t) for t in pool.submit(_classify, batch).result(timeout=self.timeout_s)]
            except FutureTimeout:
                # a post that makes the classifier loop (or a stopped worker): replace the workers;
                # the classify stage then retries the batch one by one, so only that post is lost
                log.error("the classifier took over %.0fs on a batch of %d; replacing its worker processes",
                          self.timeout_s, len(batch))
                self._restart(pool, kill=True)
                raise ClassifierError(f"the classifier took over {self.timeout_s:.0f}s on a batch of {len(batch)}",
                                      hint="the posts are retried one by one") from None
            except BrokenProcessPool as exc:
                log.error("a classifier worker process died (%s); starting the pool again", exc)
                self._restart(pool)
                if attempt == 2:
                    raise ClassifierError("the classifier worker process died twice on this batch",
                                          hint="see the log; the posts are retried one by one") from exc
        raise AssertionError("unreachable")

    def _restart(self, broken: ProcessPoolExecutor, *, kill: bool = False) -> None:
        with self._lock:
            if self._pool is broken:  # another thread may have restarted it already
                if kill:  # the executor has no public way to stop a busy worker
                    for proc in list(getattr(broken, "_processes", {}).values()):
                        proc.kill()
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
