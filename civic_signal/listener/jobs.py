"""The background jobs every long-running command (``run``, ``listen``, ``work sink``) carries.

Today: the alert rules (``console.alert_check_s``) — evaluated, written to the archive and
posted to the webhook even when no console is open — and, where the retention feature is
present, the purge of old post texts (``privacy.retention_days``, once an hour).
"""

from __future__ import annotations

import logging
from typing import Any

from civic_signal.core.scheduler import Scheduler

log = logging.getLogger("civic_signal.jobs")


class BackgroundJobs:
    """Start with :meth:`start`, end with :meth:`close` (which runs the alert rules one last time)."""

    def __init__(self, settings: Any, archive: Any) -> None:
        from civic_signal.sinks.alerts import AlertMonitor

        self.monitor = AlertMonitor.from_settings(archive, settings)
        self.scheduler = Scheduler(max_workers=2)
        self.scheduler.every("alerts.check", settings.console.alert_check_s, self.monitor.check)
        try:
            from civic_signal.sinks.retention import purge_job  # the retention feature, where it is installed
        except ImportError:
            purge_job = None
        if purge_job is not None:
            self.scheduler.every("retention.purge", 3600.0, purge_job(archive, settings), first_run_now=True)

    def start(self) -> "BackgroundJobs":
        self.scheduler.start()
        return self

    def close(self) -> None:
        self.scheduler.shutdown(wait=True)
        try:
            self.monitor.check()
        except Exception as exc:  # the run's result matters more than a last alert check
            log.warning("final alert check failed: %s", exc)
        self.monitor.close()

    def __enter__(self) -> "BackgroundJobs":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
