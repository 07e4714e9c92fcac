"""``civic-signal console``: the operations console attached to a running deployment.

It reads the archive database (what every process writes, plus their heartbeats), evaluates the
alert rules (recording new alerts and posting them to ``alerts.webhook_url``), and on Kafka also
shows the consumer lag. ``--once`` prints one frame and exits.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

import typer

log = logging.getLogger("civic_signal.console")


class KafkaLag:
    """Consumer lag of the classify and sink groups, at most every ``every_s`` (a probe costs a connection).

    Optional: returns ``None`` when the Kafka bus or the broker is not there.
    """

    def __init__(self, settings, every_s: float = 10.0) -> None:
        self.settings, self.every_s = settings, every_s
        self._bus = None
        self._at = 0.0
        self._value: int | None = None
        self._lock = threading.Lock()

    def __call__(self) -> int | None:
        with self._lock:
            if time.monotonic() - self._at < self.every_s:
                return self._value
            self._at = time.monotonic()
            try:
                if self._bus is None:
                    from civic_signal.listener.bus.kafka import KafkaBus
                    self._bus = KafkaBus(self.settings.kafka, create_topics=False)
                lag = getattr(self._bus, "lag", None)
                if lag is None:
                    self._value = None
                else:
                    from civic_signal.listener.bus import CLASSIFIED, RAW
                    self._value = int(lag(RAW, "classify")) + int(lag(CLASSIFIED, "sink"))
            except Exception as exc:  # lag is optional: the console goes on without it
                log.info("kafka lag unavailable: %s", exc)
                self._value = None
            return self._value


def register(app: typer.Typer) -> None:
    @app.command("console")
    def console(ctx: typer.Context,
                once: bool = typer.Option(False, "--once", help="Print one frame (or plain lines) and exit."),
                width: Optional[int] = typer.Option(None, "--width", min=40, help="Frame width (default: the terminal's)."),
                height: Optional[int] = typer.Option(None, "--height", min=16, help="Frame height (default: the terminal's)."),
                plain: bool = typer.Option(False, "--plain", help="Plain lines even on a terminal."),
                frame: bool = typer.Option(False, "--frame", help="A drawn frame even when stdout is not a terminal."),
                no_record: bool = typer.Option(False, "--no-record",
                                               help="Show alerts but do not record them or call the webhook.")) -> None:
        """The operations console: sources, pipeline, categories, neighbourhoods, hits, tickets, alerts."""
        from datetime import datetime, timezone

        from rich.console import Console

        from civic_signal.listener.cli import settings_from
        from civic_signal.sinks.alerts import AlertMonitor, AlertRules
        from civic_signal.sinks.archive import Archive
        from civic_signal.sinks.console.collect import collect
        from civic_signal.sinks.console.dashboard import Dashboard

        settings = settings_from(ctx)
        archive = Archive.from_settings(settings)
        rules = AlertRules.from_settings(settings.alerts, settings.console)
        monitor = None if no_record else AlertMonitor.from_settings(archive, settings)
        lag = KafkaLag(settings) if settings.bus.kind == "kafka" else None
        last_check = {"at": float("-inf")}

        def snapshot():
            if monitor is not None and time.monotonic() - last_check["at"] >= settings.console.alert_check_s:
                last_check["at"] = time.monotonic()
                try:
                    monitor.check(datetime.now(timezone.utc))
                except Exception as exc:  # alerts must not take the console down
                    log.warning("alert check failed: %s", exc)
            return collect(archive, lag=lag, stale_after_s=settings.console.stale_after_s, rules=rules)

        con = Console(force_terminal=True if frame else None, width=width, height=height)
        use_plain = plain or (not con.is_terminal and not frame)
        dash = Dashboard(snapshot, console=con, refresh_per_second=settings.console.refresh_per_second,
                         poll_interval_s=settings.console.poll_interval_s, width=width, height=height,
                         plain=use_plain, plain_every_s=max(settings.console.poll_interval_s, 10.0))
        try:
            if once:
                dash.print_once()
            else:
                dash.run()
        finally:
            if monitor is not None:
                monitor.close()
            archive.close()
