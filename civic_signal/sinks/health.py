"""How running processes publish their state for a console in another process.

Every process that does work (``run``, ``listen``, ``work`` ...) owns a :class:`HealthReporter`
and calls :meth:`HealthReporter.report` every few seconds, usually through
:meth:`HealthReporter.start` (a daemon thread). A report upserts one ``heartbeats`` row for the
process (its pipeline counters as JSON, see :func:`stats_dict`) and one ``source_health`` row per
source (its :class:`SourceHealth` snapshot). :func:`read_health` is the reading side.

A process whose heartbeat is older than ``stale_after_s`` is shown as silent: it crashed or hangs.
Reports never raise: a database hiccup costs one heartbeat, not the pipeline.

Adding it to a command::

    reporter = HealthReporter(archive, "listen", role="listen")
    with reporter.start(lambda: sources, lambda: stats, interval_s=settings.console.heartbeat_s):
        ...  # the work
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from civic_signal.sinks.console.models import HeartbeatRow, SourceHealthRow
from civic_signal.sinks.console.text import as_utc

log = logging.getLogger("civic_signal.health")

#: Counters copied from a ``PipelineStats`` (or any object or dict with these names).
COUNTERS = ("posts_in", "classified", "actionable", "dead_letters", "sink_retries")


@dataclass(frozen=True)
class SourceState:
    """One source as the console shows it."""

    name: str
    process: str = ""
    connected: bool = False
    posts: int = 0
    errors: int = 0
    reconnects: int = 0
    posts_per_minute: float = 0.0
    last_message_at: datetime | None = None
    last_error: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_health(cls, health: Any, process: str = "", now: datetime | None = None) -> "SourceState":
        """From a live :class:`civic_signal.core.source.SourceHealth`."""
        snap = health.snapshot()
        last = snap.get("last_message_at")
        return cls(name=str(snap["name"]), process=process, connected=bool(snap["connected"]),
                   posts=int(snap["posts"]), errors=int(snap["errors"]), reconnects=int(snap["reconnects"]),
                   posts_per_minute=float(snap.get("posts_per_minute") or 0.0),
                   last_message_at=datetime.fromisoformat(last) if isinstance(last, str) else last,
                   last_error=snap.get("last_error"), updated_at=now or datetime.now(timezone.utc))


@dataclass(frozen=True)
class ProcessState:
    """One reporting process: its last heartbeat and pipeline counters."""

    process: str
    role: str = ""
    host: str = ""
    pid: int = 0
    started_at: datetime | None = None
    updated_at: datetime | None = None
    stopped: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    def alive(self, now: datetime, stale_after_s: float) -> bool:
        """Reported within ``stale_after_s`` and not stopped."""
        return (not self.stopped and self.updated_at is not None
                and (now - self.updated_at).total_seconds() <= stale_after_s)


def stats_dict(stats: Any, *, depth: int | None = None, lag: int | None = None) -> dict[str, Any]:
    """The counters of a ``PipelineStats`` (or a dict) as plain JSON-able data."""
    if stats is None:
        out: dict[str, Any] = {}
    elif isinstance(stats, dict):
        out = dict(stats)
    else:
        lock = getattr(stats, "lock", None)
        if lock is not None:
            with lock:
                out = {k: getattr(stats, k, 0) for k in COUNTERS}
                out["last_error"] = getattr(stats, "last_error", None)
        else:
            out = {k: getattr(stats, k, 0) for k in COUNTERS}
        started = getattr(stats, "started_at", None)
        if isinstance(started, (int, float)):
            out["uptime_s"] = round(max(time.monotonic() - started, 0.0), 1)
    if depth is not None:
        out["queue_depth"] = depth
    if lag is not None:
        out["lag"] = lag
    return out


def _upsert(engine: sa.Engine, table: sa.Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    ins = postgresql.insert(table) if engine.dialect.name == "postgresql" else sqlite.insert(table)
    stmt = ins.on_conflict_do_update(index_elements=keys,
                                     set_={c: ins.excluded[c] for c in rows[0] if c not in keys})
    with engine.begin() as conn:
        conn.execute(stmt, rows)


def process_name(role: str) -> str:
    """``role@host``: stable across restarts on one machine, distinct across machines.
    Processes that run several copies of a role on one host add a suffix (``work-2@host``)."""
    return f"{role}@{socket.gethostname()}"[:200]


class HealthReporter:
    """Publishes one process's heartbeat and its sources' health into the archive."""

    def __init__(self, archive: Any, process_name: str, *, role: str | None = None) -> None:
        self.archive = archive
        self.process = process_name
        self.role = role or process_name.split("@", 1)[0]
        self.started_at = datetime.now(timezone.utc)
        self._prev: tuple[float, int] | None = None  # (monotonic, classified) for the rate

    def report(self, sources: Sequence[Any], stats: Any, *, depth: int | None = None, lag: int | None = None,
               stopped: bool = False) -> bool:
        """Upsert the heartbeat and one row per source; ``False`` (logged) if the database failed.

        ``sources`` are :class:`Source` objects (or anything with ``.health``) or ``SourceHealth``.
        ``stats`` is a ``PipelineStats``, a dict of counters, or ``None``.
        """
        now = datetime.now(timezone.utc)
        data = stats_dict(stats, depth=depth, lag=lag)
        mono, classified = time.monotonic(), int(data.get("classified") or 0)
        if self._prev is not None and mono > self._prev[0]:
            data["rate_per_s"] = round(max(classified - self._prev[1], 0) / (mono - self._prev[0]), 2)
        self._prev = (mono, classified)
        beat = dict(process=self.process, role=self.role, host=socket.gethostname()[:200], pid=os.getpid(),
                    started_at=self.started_at, updated_at=now, stopped=stopped,
                    stats=orjson.dumps(data, default=str).decode())
        rows = []
        for s in sources:
            st = SourceState.from_health(getattr(s, "health", s), self.process, now)
            rows.append(dict(process=self.process, source=st.name[:100], connected=st.connected and not stopped,
                             posts=st.posts, errors=st.errors, reconnects=st.reconnects,
                             posts_per_minute=st.posts_per_minute, last_message_at=st.last_message_at,
                             last_error=st.last_error, updated_at=now))
        try:
            _upsert(self.archive.engine, HeartbeatRow.__table__, [beat], ["process"])
            _upsert(self.archive.engine, SourceHealthRow.__table__, rows, ["process", "source"])
            return True
        except sa.exc.SQLAlchemyError as exc:
            log.warning("heartbeat of %s not written: %s", self.process, str(exc).splitlines()[0][:200])
            return False

    def start(self, sources: Callable[[], Sequence[Any]] | Sequence[Any], stats: Callable[[], Any] | Any, *,
              interval_s: float = 5.0, depth: Callable[[], int | None] | None = None,
              lag: Callable[[], int | None] | None = None) -> "HeartbeatThread":
        """Report every ``interval_s`` in a daemon thread; stop it with ``.stop()`` or ``with``.

        ``sources`` and ``stats`` may be values or zero-argument callables (read at each report).
        On stop a last report marks the process ``stopped``.
        """
        thread = HeartbeatThread(self, sources, stats, interval_s=interval_s, depth=depth, lag=lag)
        thread.start()
        return thread


class HeartbeatThread:
    """The background helper returned by :meth:`HealthReporter.start`."""

    def __init__(self, reporter: HealthReporter, sources: Any, stats: Any, *, interval_s: float,
                 depth: Callable[[], int | None] | None, lag: Callable[[], int | None] | None) -> None:
        self.reporter, self.interval_s = reporter, interval_s
        self._sources, self._stats, self._depth, self._lag = sources, stats, depth, lag
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{reporter.process}", daemon=True)

    def _once(self, stopped: bool = False) -> None:
        sources = self._sources() if callable(self._sources) else self._sources
        stats = self._stats() if callable(self._stats) else self._stats
        depth = lag = None
        try:
            depth = self._depth() if self._depth else None
            lag = self._lag() if self._lag else None
        except Exception as exc:  # a probe must not stop the heartbeat
            log.debug("depth/lag probe failed: %s", exc)
        self.reporter.report(list(sources or []), stats, depth=depth, lag=lag, stopped=stopped)

    def _loop(self) -> None:
        while True:
            try:
                self._once()
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write a final report marked ``stopped``."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._once(stopped=True)
        except Exception as exc:
            log.warning("final heartbeat failed: %s", exc)

    def __enter__(self) -> "HeartbeatThread":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_health(archive: Any) -> tuple[list[ProcessState], list[SourceState]]:
    """Every process's last heartbeat and every source's last snapshot, newest first."""
    with archive.engine.connect() as conn:
        beats = conn.execute(sa.select(HeartbeatRow.__table__).order_by(HeartbeatRow.__table__.c.updated_at.desc())).all()
        srcs = conn.execute(sa.select(SourceHealthRow.__table__)
                            .order_by(SourceHealthRow.__table__.c.source, SourceHealthRow.__table__.c.process)).all()
    processes = []
    for b in beats:
        try:
            stats = orjson.loads(b.stats or "{}")
        except orjson.JSONDecodeError:
            stats = {}
        processes.append(ProcessState(process=b.process, role=b.role, host=b.host, pid=b.pid,
                                      started_at=as_utc(b.started_at), updated_at=as_utc(b.updated_at),
                                      stopped=b.stopped, stats=stats))
    sources = [SourceState(name=r.source, process=r.process, connected=r.connected, posts=r.posts, errors=r.errors,
                           reconnects=r.reconnects, posts_per_minute=r.posts_per_minute,
                           last_message_at=as_utc(r.last_message_at), last_error=r.last_error,
                           updated_at=as_utc(r.updated_at)) for r in srcs]
    return processes, sources
