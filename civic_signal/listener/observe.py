"""What a role checks and serves on its metrics port: the wiring of readiness and gauges per role.

:func:`observing` is the one call a long-running command makes::

    with observing(settings, "sink", bus=..., archive=archive, lag=[(CLASSIFIED, "sink")]):
        ...  # the work

With ``metrics.port = 0`` (the default) it does nothing. Otherwise it starts, for the duration of
the block, :class:`~civic_signal.listener.ops_http.OpsServer` on ``metrics.host:metrics.port`` and a
:class:`~civic_signal.listener.readiness.Readiness` thread with the checks that apply to the role:

- ``source``: every source is connected (roles that read sources: ``run``, ``listen``);
- ``bus``: the bus answers (Kafka: the lag of each ``lag`` pair could be measured; memory: always);
- ``archive``: the archive takes writes (:func:`civic_signal.sinks.archive.probe.unwritable`; roles
  that write it: ``run``, ``listen`` on the memory bus, ``work sink``).

and refreshes the gauges: bus lag per ``(topic, group)``, sources' state, tickets by state.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from civic_signal.core import metrics
from civic_signal.listener.ops_http import OpsServer
from civic_signal.listener.readiness import Readiness

log = logging.getLogger("civic_signal.observe")


def _source_check(sources: Sequence[Any]):
    def check() -> str | None:
        down = []
        for s in sources:
            h = s.health
            last = h.last_message_at.timestamp() if h.last_message_at else None
            metrics.source_state(h.name, bool(h.connected), last)
            if not h.connected:
                down.append(f"{h.name} not connected" + (f" ({h.last_error})" if h.last_error else ""))
        return "; ".join(down) or None
    return check


def _bus_check(settings: Any, bus: Any, lag: Sequence[tuple[str, str]]):
    """Kafka: measure each pair's lag with a probe bus of our own (the role's consumers are not
    thread-safe); memory: the depth of the queue."""
    probe: dict[str, Any] = {}

    def check() -> str | None:
        if bus is not None and getattr(bus, "name", "") != "kafka":
            for topic, group in lag:
                metrics.bus_lag(topic, group, bus.depth(topic))
            return None
        from civic_signal.config.errors import BusError
        if "bus" not in probe:
            from civic_signal.listener.bus.kafka import KafkaBus
            probe["bus"] = KafkaBus(settings.kafka, create_topics=False)
        errors = []
        for topic, group in lag:
            try:
                metrics.bus_lag(topic, group, probe["bus"].lag(topic, group))
            except BusError as exc:
                metrics.bus_lag(topic, group, None)
                errors.append(str(exc))
        if not lag:  # a pure producer: it is reachable if the metadata of its topic comes back
            try:
                probe["bus"].lag("raw", "classify")
            except BusError as exc:
                errors.append(str(exc))
        return "; ".join(errors)[:500] or None
    return check, probe


def _tickets_refresher(archive: Any, jurisdiction: str, default: str = "boston", cities: Sequence[str] = ()):
    """Ticket counts by state, one ``jurisdiction`` label per city (the default city's label is
    ``metrics.jurisdiction``; every active city is reported, with zeros when it has no ticket)."""
    def refresh() -> None:
        import sqlalchemy as sa

        from civic_signal.sinks.archive.models import TicketRow
        with archive.engine.connect() as conn:
            rows = conn.execute(sa.select(TicketRow.jurisdiction, TicketRow.status, sa.func.count())
                                .group_by(TicketRow.jurisdiction, TicketRow.status)).all()
        by_city: dict[str, dict[str, int]] = {c: {} for c in cities}
        for city, status, n in rows:
            by_city.setdefault(str(city), {})[str(status)] = int(n)
        by_city.setdefault(default, {})
        for city, counts in sorted(by_city.items()):
            metrics.tickets(counts, jurisdiction if city == default else city)
    return refresh


def readiness_for(settings: Any, *, sources: Sequence[Any] = (), bus: Any = None, archive: Any = None,
                  lag: Sequence[tuple[str, str]] = (), check_bus: bool = True) -> tuple[Readiness, list]:
    """The :class:`Readiness` of a role (not started) and what to close after it."""
    from civic_signal.sinks.archive.probe import unwritable

    checks: dict = {}
    refreshers: list = []
    closers: list = []
    if sources:
        checks["source"] = _source_check(list(sources))
    if check_bus:
        bus_check, probe = _bus_check(settings, bus, list(lag))
        checks["bus"] = bus_check
        closers.append(lambda: probe["bus"].close() if "bus" in probe else None)
    if archive is not None:
        checks["archive"] = lambda: unwritable(archive)
        refreshers.append(_tickets_refresher(archive, settings.metrics.jurisdiction, settings.routing.default or "boston",
                                             tuple(settings.routing.packs)))
    return Readiness(checks, refreshers=refreshers, interval_s=settings.metrics.refresh_s), closers


@contextlib.contextmanager
def observing(settings: Any, role: str, *, sources: Sequence[Any] = (), bus: Any = None, archive: Any = None,
              lag: Sequence[tuple[str, str]] = ()) -> Iterator[OpsServer | None]:
    """Serve ``/metrics``, ``/healthz``, ``/readyz`` for ``role`` while the block runs (if ``metrics.port``)."""
    if not settings.metrics.port:
        yield None
        return
    readiness, closers = readiness_for(settings, sources=sources, bus=bus, archive=archive, lag=lag)
    server = OpsServer(readiness, host=settings.metrics.host, port=settings.metrics.port).start()
    readiness.start()
    log.info("%s: metrics and health on %smetrics, %shealthz, %sreadyz", role, server.url, server.url, server.url)
    try:
        yield server
    finally:
        server.close()
        readiness.close()
        for close in closers:
            with contextlib.suppress(Exception):
                close()
