"""Boston's neighbourhoods as shapely polygons, and which neighbourhood a point falls in.

The polygons come from the first file that exists of :data:`CANDIDATES`: the gazetteer's copy
(``classifiers/data/gazetteer/boston_neighborhoods.geojson``, if that feature ships one in
longitude/latitude) or the simplified copy in ``config/data`` (about 30 kB, see
:mod:`civic_signal.sinks.reports.neighborhoods_build`). Either must be GeoJSON in longitude/latitude with a
``name`` (or ``Name``) property per feature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from civic_signal.config.errors import ConfigError

PACKAGE = Path(__file__).resolve().parents[2]  # the civic_signal package
CANDIDATES = (
    PACKAGE / "classifiers" / "data" / "gazetteer" / "boston_neighborhoods.geojson",
    PACKAGE / "config" / "data" / "boston_neighborhoods.geojson",
)


@dataclass(frozen=True)
class Neighborhoods:
    """Names and polygons, in the same order; :meth:`locate` answers point-in-polygon."""

    names: tuple[str, ...]
    shapes: tuple  # shapely geometries
    path: Path

    def locate(self, lon: float | None, lat: float | None) -> str | None:
        if lon is None or lat is None:
            return None
        from shapely import Point
        pt = Point(lon, lat)
        for name, shp in zip(self.names, self.shapes):
            if shp.covers(pt):
                return name
        return None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        from shapely.ops import unary_union
        return unary_union(list(self.shapes)).bounds


def _is_lonlat(data: dict) -> bool:
    try:
        coords = data["features"][0]["geometry"]["coordinates"]
        while isinstance(coords[0], list):
            coords = coords[0]
        return -180 <= coords[0] <= 180 and -90 <= coords[1] <= 90
    except (KeyError, IndexError, TypeError):
        return False


@lru_cache(maxsize=4)
def load_neighborhoods(path: Path | None = None) -> Neighborhoods:
    """The polygons (cached). Raises :class:`ConfigError` if no usable file exists."""
    from shapely.geometry import shape

    paths = [path] if path else [p for p in CANDIDATES if p.exists()]
    for p in paths:
        data = json.loads(Path(p).read_text())
        if not _is_lonlat(data):
            continue
        names, shapes = [], []
        for f in data["features"]:
            props = f.get("properties") or {}
            names.append(str(props.get("name") or props.get("Name") or "?"))
            shapes.append(shape(f["geometry"]))
        return Neighborhoods(tuple(names), tuple(shapes), Path(p))
    raise ConfigError("no Boston neighbourhood polygons in longitude/latitude found",
                      hint=f"expected one of: {', '.join(str(c) for c in CANDIDATES)}")
