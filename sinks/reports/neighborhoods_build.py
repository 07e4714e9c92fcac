"""How ``config/data/boston_neighborhoods.geojson`` was made (run once; kept for the record).

The Analyze Boston neighbourhood polygons in ``/work/shared/data/boston_gazetteer`` are in
Massachusetts State Plane Mainland, US survey feet (EPSG:2249), not longitude/latitude. This
module converts them with the Lambert conformal conic inverse (Snyder, *Map Projections: A
Working Manual*, eq. 15-9 to 15-11; GRS80 ellipsoid, which NAD83 uses), simplifies each polygon
with shapely (tolerance 0.0003 degrees, about 25 m) and rounds coordinates to 5 decimals
(about 1 m), which takes the file from 1.2 MB to a few tens of kB::

    .venv/bin/python -m sinks.reports.neighborhoods_build SRC.geojson config/data/boston_neighborhoods.geojson

No pyproj needed: the projection is one closed formula and a short fixed-point iteration.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

_A = 6378137.0
_F = 1 / 298.257222101
_E = math.sqrt(2 * _F - _F * _F)
_FT = 1200 / 3937  # US survey foot in metres
_LAT1, _LAT2, _LAT0 = math.radians(42 + 41 / 60), math.radians(41 + 43 / 60), math.radians(41.0)
_LON0 = math.radians(-71.5)
_X0, _Y0 = 200000.0, 750000.0


def _m(phi: float) -> float:
    return math.cos(phi) / math.sqrt(1 - (_E * math.sin(phi)) ** 2)


def _t(phi: float) -> float:
    s = _E * math.sin(phi)
    return math.tan(math.pi / 4 - phi / 2) / ((1 - s) / (1 + s)) ** (_E / 2)


_N = (math.log(_m(_LAT1)) - math.log(_m(_LAT2))) / (math.log(_t(_LAT1)) - math.log(_t(_LAT2)))
_BIGF = _m(_LAT1) / (_N * _t(_LAT1) ** _N)
_RHO0 = _A * _BIGF * _t(_LAT0) ** _N


def stateplane_ft_to_lonlat(x_ft: float, y_ft: float) -> tuple[float, float]:
    """EPSG:2249 (feet) -> (longitude, latitude) in degrees, to well under a metre."""
    x = x_ft * _FT - _X0
    y = y_ft * _FT - _Y0
    rho = math.copysign(math.hypot(x, _RHO0 - y), _N)
    theta = math.atan2(x, _RHO0 - y)
    t = (rho / (_A * _BIGF)) ** (1 / _N)
    lon = theta / _N + _LON0
    phi = math.pi / 2 - 2 * math.atan(t)
    for _ in range(15):
        s = _E * math.sin(phi)
        phi = math.pi / 2 - 2 * math.atan(t * ((1 - s) / (1 + s)) ** (_E / 2))
    return math.degrees(lon), math.degrees(phi)


def _convert(coords: Any) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return list(stateplane_ft_to_lonlat(coords[0], coords[1]))
    return [_convert(c) for c in coords]


def _round(coords: Any) -> Any:
    if coords and isinstance(coords[0], (int, float)):
        return [round(coords[0], 5), round(coords[1], 5)]
    return [_round(c) for c in coords]


def build(src: Path, dest: Path, tolerance: float = 0.0003) -> int:
    """Write the simplified lon/lat copy; returns its size in bytes."""
    from shapely.geometry import mapping, shape

    data = json.loads(src.read_text())
    features = []
    for f in data["features"]:
        geom = f["geometry"]
        ll = shape({"type": geom["type"], "coordinates": _convert(geom["coordinates"])})
        simple = mapping(ll.simplify(tolerance, preserve_topology=True))
        features.append({"type": "Feature",
                         "properties": {"name": f["properties"]["Name"], "id": f["properties"]["Neighborhood_ID"]},
                         "geometry": {"type": simple["type"], "coordinates": _round(simple["coordinates"])}})
    out = {"type": "FeatureCollection",
           "source": "Analyze Boston 'Boston Neighborhoods' (ODC-PDDL) via dashamet/Boston-Elections; "
                     "reprojected from EPSG:2249 to lon/lat and simplified (sinks/reports/neighborhoods_build.py)",
           "features": features}
    text = json.dumps(out, separators=(",", ":"))
    dest.write_text(text)
    return len(text)


if __name__ == "__main__":  # pragma: no cover
    print(build(Path(sys.argv[1]), Path(sys.argv[2])), "bytes")
