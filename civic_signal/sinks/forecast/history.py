"""Boston's Open311 history (2008-2018) reduced to counts: one row per (type, neighbourhood, local
date, local hour) with how many requests were opened then.

This is the only place that reads the raw dump (``boston_open311_2008_2018.jsonl.gz``, shared,
never committed). Nothing of a record survives but its type, its neighbourhood and its hour:

- the type key is today's Boston category code: the record's own service name where it maps to one
  (Illegal Parking -> PRKGENFORC, ...), else the first rule of
  :mod:`civic_signal.classifiers.categories` that matches the description (weak label, the same one
  the classifier's training data uses), else ``BOS311GEN``. When the city-neutral taxonomy lands, a
  ``type_of(code)`` mapping applied to :attr:`HourCount.key` is all that changes;
- the neighbourhood is the polygon of the shipped neighbourhoods that holds the record's point
  (``"?"`` when none does);
- times are Boston wall-clock times (America/New_York), which is what seasonality follows.

:func:`aggregate` is deterministic (same dump, same rows, sorted) and is cached as a small CSV by
:func:`load_or_aggregate` so that the fit and the evaluation never re-read the dump.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BOSTON = ZoneInfo("America/New_York")
UNKNOWN_HOOD = "?"


@dataclass(frozen=True)
class HourCount:
    """``n`` requests of type ``key`` in ``hood`` opened during local hour ``hour`` of ``day``."""

    key: str
    hood: str
    day: date
    hour: int
    n: int


def _label(record: dict) -> str:
    from civic_signal.classifiers.categories import GENERAL, weak_label
    from civic_signal.classifiers.training.open311_data import NAME_TO_CODE
    code = NAME_TO_CODE.get(record.get("service_name") or "")
    if code:
        return code
    text = (record.get("description") or "").lower()
    return (weak_label(text) if text else None) or GENERAL


def aggregate(dump: Path) -> list[HourCount]:
    """Every record of the dump counted once (records without a parseable time are skipped)."""
    import numpy as np
    import shapely

    from civic_signal.sinks.reports.geo import load_neighborhoods

    keys, stamps, lons, lats = [], [], [], []
    with gzip.open(dump, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            try:
                t = datetime.fromisoformat(r["requested_datetime"]).astimezone(BOSTON)
            except (KeyError, TypeError, ValueError):
                continue
            keys.append(_label(r))
            stamps.append((t.date(), t.hour))
            lons.append(r.get("long") if isinstance(r.get("long"), (int, float)) else np.nan)
            lats.append(r.get("lat") if isinstance(r.get("lat"), (int, float)) else np.nan)
    hoods = load_neighborhoods()
    x, y = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    where = np.full(len(x), UNKNOWN_HOOD, dtype=object)
    for name, shp in zip(hoods.names, hoods.shapes):
        inside = shapely.contains_xy(shp, x, y) & (where == UNKNOWN_HOOD)
        where[inside] = name
    counts = Counter((k, str(h), d, hr) for k, h, (d, hr) in zip(keys, where, stamps))
    return [HourCount(k, h, d, hr, n) for (k, h, d, hr), n in sorted(counts.items())]


def write_counts(rows: list[HourCount], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "hood", "day", "hour", "n"])
        for r in rows:
            w.writerow([r.key, r.hood, r.day.isoformat(), r.hour, r.n])


def read_counts(path: Path) -> list[HourCount]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        return [HourCount(r["key"], r["hood"], date.fromisoformat(r["day"]), int(r["hour"]), int(r["n"]))
                for r in csv.DictReader(fh)]


def load_or_aggregate(dump: Path, cache: Path) -> list[HourCount]:
    """The aggregate, from ``cache`` when it is newer than ``dump``, else computed and cached."""
    if cache.exists() and cache.stat().st_mtime >= dump.stat().st_mtime:
        return read_counts(cache)
    rows = aggregate(dump)
    write_counts(rows, cache)
    return rows
