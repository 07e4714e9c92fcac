"""A run's rows out of the archive, as plain frozen values the charts and tables read.

Each :class:`ReportRow` is one post classified in the run. Its ``lat``/``lon`` is the
classifier's location if it placed the post, else the post's own coordinates; its
``neighborhood`` is the classifier's, else the neighbourhood polygon the point falls in.
``location`` is the most specific place text known (address, location text, place, neighbourhood).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from civic_signal.config.errors import ConfigError
from civic_signal.sinks.archive.models import ClassificationRow, PostRow, TicketRow
from civic_signal.sinks.reports.geo import Neighborhoods

NOT_ACTIONABLE = "(not actionable)"


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


@dataclass(frozen=True)
class ReportRow:
    post_id: str
    created_at: datetime
    text: str
    actionable: bool
    category: str | None
    actionable_score: float
    category_score: float | None
    location: str | None
    neighborhood: str | None
    lat: float | None
    lon: float | None
    model_version: str
    reason: str | None

    @property
    def label(self) -> str:
        """The category for tables: the service code, or ``(not actionable)``."""
        return self.category if self.actionable and self.category else NOT_ACTIONABLE


@dataclass(frozen=True)
class TicketLatency:
    ticket_id: str
    post_id: str
    service_code: str
    status: str
    post_created_at: datetime
    ticket_created_at: datetime
    jurisdiction: str = "boston"   # the city whose 311 gets the ticket

    @property
    def minutes(self) -> float:
        return (self.ticket_created_at - self.post_created_at).total_seconds() / 60


def load_rows(archive, run_id: str, hoods: Neighborhoods | None = None) -> list[ReportRow]:
    """Every post classified in ``run_id``, oldest first. Raises :class:`ConfigError` for an empty run."""
    c, p = ClassificationRow.__table__, PostRow.__table__
    q = (sa.select(c.c.post_id, p.c.created_at, p.c.text, c.c.actionable, c.c.category_code, c.c.actionable_score,
                   c.c.category_score, c.c.address, c.c.location_text, p.c.place, c.c.neighborhood,
                   c.c.lat, c.c.lon, p.c.lat.label("plat"), p.c.lon.label("plon"), c.c.model_version, c.c.reason)
         .join(p, p.c.id == c.c.post_id).where(c.c.run_id == run_id).order_by(p.c.created_at, c.c.post_id))
    with archive.engine.connect() as conn:
        raw = conn.execute(q).all()
    if not raw:
        raise ConfigError(f"run {run_id!r} has no classifications in the archive",
                          hint="list runs with `civic-signal runs`; 'live' is the main job")
    rows = []
    for r in raw:
        lat, lon = (r.lat, r.lon) if r.lat is not None and r.lon is not None else (r.plat, r.plon)
        hood = r.neighborhood or (hoods.locate(lon, lat) if hoods else None)
        rows.append(ReportRow(
            post_id=r.post_id, created_at=_utc(r.created_at), text=r.text or "", actionable=bool(r.actionable),
            category=r.category_code, actionable_score=r.actionable_score, category_score=r.category_score,
            location=r.address or r.location_text or r.place or hood, neighborhood=hood, lat=lat, lon=lon,
            model_version=r.model_version, reason=r.reason))
    return rows


def load_latencies(archive, run_id: str) -> list[TicketLatency]:
    """Tickets for the posts of ``run_id``, with when the post was made and the ticket created."""
    c, p, t = ClassificationRow.__table__, PostRow.__table__, TicketRow.__table__
    q = (sa.select(t.c.id, t.c.post_id, t.c.service_code, t.c.status, p.c.created_at.label("post_at"),
                   t.c.created_at.label("ticket_at"), t.c.jurisdiction)
         .join(p, p.c.id == t.c.post_id).join(c, sa.and_(c.c.post_id == t.c.post_id, c.c.run_id == run_id))
         .order_by(t.c.created_at))
    with archive.engine.connect() as conn:
        return [TicketLatency(r.id, r.post_id, r.service_code, r.status, _utc(r.post_at), _utc(r.ticket_at),
                              r.jurisdiction)
                for r in conn.execute(q).all()]
