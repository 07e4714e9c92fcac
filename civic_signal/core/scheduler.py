"""Background jobs: a small registry over APScheduler 3's ``BackgroundScheduler``.

Jobs are plain functions. A feature registers its recurring jobs with :meth:`Scheduler.every`
(or a :class:`Job` list with :meth:`Scheduler.add`) and one-off jobs with :meth:`Scheduler.at`
(e.g. a ticket's retry); :meth:`Scheduler.kick` runs a recurring job now. Every job runs at
most once at a time, missed runs are coalesced, and an exception in a job is logged, never
raised into the scheduler. Times are aware UTC datetimes.

Registered today (by ``civic_signal.sinks.open311.runtime``), per city with an endpoint:
``open311.deliver:<jurisdiction>`` (the outbox sweep), ``open311.status_sync:<jurisdiction>``
(``open311.status_sync_minutes``), ``open311.services:<jurisdiction>`` (``open311.services_refresh_minutes``);
and one ``open311.retry:<ticket>`` per scheduled retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger("civic_signal.scheduler")


@dataclass(frozen=True)
class Job:
    """A recurring job: ``fn()`` every ``seconds``; ``first_run_now`` also runs it at start."""

    name: str
    fn: Callable[[], Any]
    seconds: float
    first_run_now: bool = False


def _safe(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:  # a job must not die silently, nor take the scheduler down
            log.exception("job %s failed", name)
            return None
    run.__name__ = f"job_{name}"
    return run


class Scheduler:
    def __init__(self, *, max_workers: int = 4) -> None:
        self._sched = BackgroundScheduler(
            timezone=timezone.utc,
            executors={"default": {"type": "threadpool", "max_workers": max_workers}},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        self._names: set[str] = set()
        # "skipped: maximum number of running instances reached" after a kick is expected; job
        # failures are logged by the wrapper below, so only the scheduler's own errors remain
        logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)

    def every(self, name: str, seconds: float, fn: Callable[[], Any], *, first_run_now: bool = False) -> None:
        """Run ``fn`` every ``seconds`` (replacing a job of the same name)."""
        kw: dict[str, Any] = {"next_run_time": datetime.now(timezone.utc)} if first_run_now else {}
        self._sched.add_job(_safe(name, fn), "interval", seconds=seconds, id=name, name=name,
                            replace_existing=True, **kw)
        self._names.add(name)

    def add(self, jobs: Iterable[Job]) -> None:
        for j in jobs:
            self.every(j.name, j.seconds, j.fn, first_run_now=j.first_run_now)

    def at(self, name: str, when: datetime, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once at ``when`` (an aware datetime); a job of the same name is replaced."""
        if when.tzinfo is None:
            raise ValueError("when must be an aware datetime")
        self._sched.add_job(_safe(name, fn), "date", run_date=when, args=args, id=name, name=name,
                            replace_existing=True)

    def kick(self, name: str) -> None:
        """Run the recurring job ``name`` as soon as possible (its interval continues afterwards)."""
        job = self._sched.get_job(name)
        if job is not None:
            job.modify(next_run_time=datetime.now(timezone.utc))

    def names(self) -> list[str]:
        return sorted(j.id for j in self._sched.get_jobs())

    def start(self) -> None:
        if not self._sched.running:
            self._sched.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop; with ``wait`` the jobs that are running finish first."""
        if self._sched.running:
            self._sched.shutdown(wait=wait)

    @property
    def running(self) -> bool:
        return bool(self._sched.running)
