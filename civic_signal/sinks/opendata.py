"""The anonymised public feed: aggregates of the archive that partners and researchers may reuse.

:func:`build` reads live, actionable, categorised reports (deleted posts left out) and writes to a
directory:

- ``daily_counts.csv`` / ``daily_counts.geojson``: reports per local day (Boston time, by post
  time) x category x neighbourhood; in the GeoJSON each cell is a point at a point inside its
  neighbourhood (``neighborhoods.geojson`` holds the polygons to join on ``neighborhood``);
- ``incident_points.csv`` / ``incident_points.geojson``: reports with a location, snapped to the
  centre of a square grid cell ``grid_m`` wide (about a block) and counted per cell x category x
  ``points_period`` (month by default);
- ``README.md`` (data dictionary, method, licence), ``LICENSE`` and ``metadata.json``.

Guarantees a caller may rely on (and the tests check): no text, author, handle, URL or id of any
post, incident or ticket is written; no coordinate of a report is written, only grid-cell
centres; every published cell holds at least ``k`` reports: smaller cells are dropped, not
rounded, and only their global total is published (``metadata.json``), so published cells plus
``suppressed_reports`` equal the reports read. No per-day or per-neighbourhood totals are
published, so a suppressed cell cannot be recovered by subtraction within a file.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from civic_signal.config.errors import ConfigError
from civic_signal.sinks.forecast.model import LOCAL

UNKNOWN = "(unknown)"
REF_LAT = 42.33          # the grid's projection: equirectangular at Boston's latitude, fixed
M_PER_DEG = 111_320.0
LICENCES = {
    "ODC-BY-1.0": ("Open Data Commons Attribution License v1.0", "https://opendatacommons.org/licenses/by/1-0/"),
    "ODC-PDDL-1.0": ("Open Data Commons Public Domain Dedication and License v1.0",
                     "https://opendatacommons.org/licenses/pddl/1-0/"),
    "CC-BY-4.0": ("Creative Commons Attribution 4.0 International", "https://creativecommons.org/licenses/by/4.0/"),
    "CC0-1.0": ("Creative Commons Zero v1.0 Universal", "https://creativecommons.org/publicdomain/zero/1.0/"),
}


@dataclass(frozen=True)
class OpenDataOptions:
    """What to publish (settings section ``opendata``, the period from the command line)."""

    k: int = 5
    grid_m: float = 100.0
    points_period: str = "month"
    licence: str = "ODC-BY-1.0"
    publisher: str = "Civic Signal"
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_settings(cls, o: Any, **overrides: Any) -> "OpenDataOptions":
        base = dict(k=o.k, grid_m=o.grid_m, points_period=o.points_period, licence=o.licence, publisher=o.publisher)
        return cls(**{**base, **{k: v for k, v in overrides.items() if v is not None}})


@dataclass(frozen=True)
class Report:
    """What of a report may feed the aggregates: nothing that identifies it."""

    day: date
    category: str
    neighborhood: str
    lat: float | None
    lon: float | None


def read_reports(archive: Any, since: datetime | None = None, until: datetime | None = None) -> list[Report]:
    """Live, actionable, categorised reports of posts not deleted, by post time in ``[since, until)``."""
    import sqlalchemy as sa

    from civic_signal.sinks.archive.models import ClassificationRow, PostRow
    C, P = ClassificationRow.__table__, PostRow.__table__
    q = (sa.select(P.c.created_at, C.c.category_code, C.c.neighborhood, C.c.lat, C.c.lon)
         .join(P, P.c.id == C.c.post_id)
         .where(C.c.run_id == "live", C.c.actionable == sa.true(), C.c.category_code.is_not(None),
                P.c.deleted == sa.false()))
    if since is not None:
        q = q.where(P.c.created_at >= since)
    if until is not None:
        q = q.where(P.c.created_at < until)
    with archive.engine.connect() as conn:
        rows = conn.execute(q).all()
    out = []
    for at, code, hood, lat, lon in rows:
        at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
        ok = lat is not None and lon is not None and math.isfinite(lat) and math.isfinite(lon)
        out.append(Report(at.astimezone(LOCAL).date(), code, hood or UNKNOWN, lat if ok else None, lon if ok else None))
    return out


def snap(lat: float, lon: float, grid_m: float) -> tuple[float, float]:
    """The centre of the ``grid_m`` cell that holds the point (latitude, longitude; 5 decimals)."""
    kx = M_PER_DEG * math.cos(math.radians(REF_LAT))
    i, j = math.floor(lon * kx / grid_m), math.floor(lat * M_PER_DEG / grid_m)
    return round((j + 0.5) * grid_m / M_PER_DEG, 5), round((i + 0.5) * grid_m / kx, 5)


def period_of(day: date, period: str) -> str:
    if period == "day":
        return day.isoformat()
    if period == "week":
        return (day - timedelta(days=day.weekday())).isoformat()  # the Monday
    if period == "month":
        return day.strftime("%Y-%m")
    raise ConfigError(f"unknown points period {period!r}", hint="day, week or month")


def suppress(counts: Counter, k: int) -> tuple[dict, int, int]:
    """``(cells with at least k, suppressed cells, suppressed reports)``."""
    kept = {c: n for c, n in counts.items() if n >= k}
    small = [n for n in counts.values() if n < k]
    return kept, len(small), sum(small)


@dataclass(frozen=True)
class Published:
    """What :func:`build` wrote, with the counts that let a reader check the totals."""

    files: tuple[str, ...]
    reports: int
    daily_cells: int
    daily_suppressed_cells: int
    daily_suppressed_reports: int
    point_reports: int
    point_cells: int
    point_suppressed_cells: int
    point_suppressed_reports: int


def build(reports: Sequence[Report], out: Path, opts: OpenDataOptions = OpenDataOptions(),
          generated_at: datetime | None = None) -> Published:
    """Write the feed for ``reports`` into ``out`` (created if needed). Raises :class:`ConfigError`
    for a bad option."""
    if opts.k < 2:
        raise ConfigError("opendata.k must be at least 2", hint="5 is the default")
    if opts.licence not in LICENCES:
        raise ConfigError(f"unknown licence {opts.licence!r}", hint=f"one of: {', '.join(LICENCES)}")
    from civic_signal.config.taxonomy import service_name
    from civic_signal.sinks.reports.geo import load_neighborhoods

    out.mkdir(parents=True, exist_ok=True)
    generated_at = generated_at or datetime.now(timezone.utc)
    daily, d_small_cells, d_small_n = suppress(Counter((r.day.isoformat(), r.category, r.neighborhood)
                                                       for r in reports), opts.k)
    located = [r for r in reports if r.lat is not None]
    points, p_small_cells, p_small_n = suppress(
        Counter((period_of(r.day, opts.points_period), r.category, *snap(r.lat, r.lon, opts.grid_m)) for r in located),
        opts.k)
    hoods = load_neighborhoods()
    anchor = {n: s.representative_point() for n, s in zip(hoods.names, hoods.shapes)}

    with (out / "daily_counts.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "category", "category_name", "neighborhood", "count"])
        for (d, c, h), n in sorted(daily.items()):
            w.writerow([d, c, service_name(c), h, n])
    feats = []
    for (d, c, h), n in sorted(daily.items()):
        pt = anchor.get(h)
        geom = {"type": "Point", "coordinates": [round(pt.x, 5), round(pt.y, 5)]} if pt is not None else None
        feats.append({"type": "Feature", "geometry": geom,
                      "properties": {"date": d, "category": c, "category_name": service_name(c), "neighborhood": h,
                                     "count": n}})
    _geojson(out / "daily_counts.geojson", feats)

    with (out / "incident_points.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["period", "category", "category_name", "lat", "lon", "count"])
        for (p, c, lat, lon), n in sorted(points.items()):
            w.writerow([p, c, service_name(c), f"{lat:.5f}", f"{lon:.5f}", n])
    _geojson(out / "incident_points.geojson", [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"period": p, "category": c, "category_name": service_name(c), "count": n}}
        for (p, c, lat, lon), n in sorted(points.items())])
    _geojson(out / "neighborhoods.geojson", [
        {"type": "Feature", "geometry": s.__geo_interface__, "properties": {"neighborhood": n}}
        for n, s in zip(hoods.names, hoods.shapes)])

    pub = Published(files=(), reports=len(reports), daily_cells=len(daily), daily_suppressed_cells=d_small_cells,
                    daily_suppressed_reports=d_small_n, point_reports=len(located), point_cells=len(points),
                    point_suppressed_cells=p_small_cells, point_suppressed_reports=p_small_n)
    days = sorted({r.day for r in reports})
    meta = {
        "title": "Civic Signal: resident reports of city problems, anonymised aggregates",
        "publisher": opts.publisher, "licence": opts.licence, "licence_url": LICENCES[opts.licence][1],
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "first_day": days[0].isoformat() if days else None, "last_day": days[-1].isoformat() if days else None,
        "timezone": "America/New_York", "k": opts.k, "grid_m": opts.grid_m, "points_period": opts.points_period,
        "reports": pub.reports,
        "daily_counts": {"cells": pub.daily_cells, "reports": sum(daily.values()),
                         "suppressed_cells": d_small_cells, "suppressed_reports": d_small_n},
        "incident_points": {"reports_with_location": pub.point_reports, "cells": pub.point_cells,
                            "reports": sum(points.values()), "suppressed_cells": p_small_cells,
                            "suppressed_reports": p_small_n},
        "neighborhoods_source": "City of Boston (Analyze Boston), ODC-PDDL, simplified",
    }
    (out / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / "README.md").write_text(_readme(meta, opts), encoding="utf-8")
    name, url = LICENCES[opts.licence]
    (out / "LICENSE").write_text(
        f"{name} ({opts.licence})\n{url}\n\nThe files in this folder are published by {opts.publisher} under "
        f"this licence. The neighbourhood polygons are the City of Boston's (Analyze Boston), ODC-PDDL.\n",
        encoding="utf-8")
    files = tuple(sorted(p.name for p in out.iterdir()))
    return Published(**{**pub.__dict__, "files": files})


def _geojson(path: Path, features: Iterable[dict]) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": list(features)}, separators=(",", ":")) + "\n",
                    encoding="utf-8")


def _readme(meta: dict, opts: OpenDataOptions) -> str:
    d, p = meta["daily_counts"], meta["incident_points"]
    return f"""# {meta['title']}

Published by {meta['publisher']} on {meta['generated_at']} under {meta['licence']} ({meta['licence_url']}).
Reports of city problems that residents posted publicly on social media, classified by Civic
Signal, from {meta['first_day']} to {meta['last_day']} (days in Boston time, by when the post was written).
Nothing here identifies a post or a person: no text, author, handle, link or id; no exact location.

## Method
- Only reports the classifier found actionable and gave a category; deleted posts are left out.
- Small-count suppression: a cell (a row below) with fewer than **k = {opts.k}** reports is left
  out; only the total of what was left out is given (here and in `metadata.json`), never per day
  or neighbourhood. Daily counts: {d['cells']} cells with {d['reports']} reports published,
  {d['suppressed_cells']} cells with {d['suppressed_reports']} reports suppressed ({meta['reports']} in all).
  Points: {p['cells']} cells with {p['reports']} reports published, {p['suppressed_cells']} cells with
  {p['suppressed_reports']} reports suppressed ({p['reports_with_location']} reports had a location).
- Locations are snapped to the centre of a square grid cell {opts.grid_m:g} m wide (an equirectangular
  grid at latitude {REF_LAT}, cells aligned on multiples of {opts.grid_m:g} m), and time to the {opts.points_period}.
- Categories are Boston 311 service codes (`category`) with their names (`category_name`).
- Classification is automatic and imperfect; a report is one post (a problem can be reported many times).

## Files and fields
`daily_counts.csv` (and `daily_counts.geojson`, the same rows as points placed inside their neighbourhood):
| field | meaning |
|---|---|
| date | local date (America/New_York), YYYY-MM-DD |
| category | Boston 311 service code |
| category_name | the service's name |
| neighborhood | Boston neighbourhood (`{UNKNOWN}` when the report could not be placed) |
| count | reports, at least k |

`incident_points.csv` (and `incident_points.geojson`):
| field | meaning |
|---|---|
| period | `{opts.points_period}` of the reports: YYYY-MM (month), the Monday (week) or the date (day) |
| category, category_name | as above |
| lat, lon | centre of the grid cell (WGS84), not a report's location |
| count | reports in the cell, at least k |

`neighborhoods.geojson`: the neighbourhood polygons (`neighborhood` property), City of Boston, ODC-PDDL.
`metadata.json`: the figures above, machine-readable. `LICENSE`: the licence.
"""
