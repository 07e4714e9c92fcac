"""Readiness of a role, computed in the background and read from a cache.

:class:`Readiness` runs named checks (each returns ``None`` when fine, else why not) and
refreshers (which update gauges: bus lag, tickets) every ``interval_s`` in one daemon thread.
:meth:`Readiness.state` only reads the last results, so ``/readyz`` answers in microseconds
whatever the checks cost (a Kafka metadata round trip, a database write lock).

What callers may rely on: a check or refresher that raises counts as failed (the exception is the
reason) and never stops the thread; before the first round every check is failed ("not checked
yet"); results older than ``stale_after_s`` (the checker hangs) make the role unready.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from civic_signal.core import metrics

log = logging.getLogger("civic_signal.readiness")

Check = Callable[[], "str | None"]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ReadyState:
    """The cached answer: ``ready`` when every check passed in a round not older than allowed."""

    ready: bool
    checks: tuple[CheckResult, ...]
    age_s: float | None

    def as_dict(self) -> dict:
        return {"ready": self.ready, "age_s": None if self.age_s is None else round(self.age_s, 3),
                "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks}}


class Readiness:
    def __init__(self, checks: Mapping[str, Check], *, refreshers: Sequence[Callable[[], object]] = (),
                 interval_s: float = 5.0, stale_after_s: float | None = None) -> None:
        self.checks = dict(checks)
        self.refreshers = list(refreshers)
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s if stale_after_s is not None else max(30.0, 6 * interval_s)
        self._results: tuple[CheckResult, ...] = tuple(CheckResult(n, False, "not checked yet") for n in self.checks)
        self._at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0

    def run_once(self) -> ReadyState:
        """Run every check and refresher now (in the caller's thread) and cache the results."""
        results = []
        for name, check in self.checks.items():
            try:
                reason = check()
            except Exception as exc:  # noqa: BLE001 - a failing check is a result
                reason = f"{exc.__class__.__name__}: {exc}"
            results.append(CheckResult(name, reason is None, "" if reason is None else str(reason)[:500]))
            metrics.ready(name, reason is None)
        for refresh in self.refreshers:
            try:
                refresh()
            except Exception as exc:  # noqa: BLE001
                log.debug("metrics refresher failed: %s", exc)
        self._results, self._at = tuple(results), time.monotonic()
        self.rounds += 1
        return self.state()

    def state(self) -> ReadyState:
        """The last results (no I/O)."""
        results, at = self._results, self._at
        age = None if at is None else time.monotonic() - at
        fresh = age is not None and age <= self.stale_after_s
        ready = fresh and all(r.ok for r in results)
        if age is not None and not fresh:
            results = results + (CheckResult("checks", False, f"last checked {age:.0f}s ago (the checker hangs)"),)
        return ReadyState(ready, results, age)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval_s)

    def start(self) -> "Readiness":
        self._thread = threading.Thread(target=self._loop, name="readiness", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
