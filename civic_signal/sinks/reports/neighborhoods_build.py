"""How ``config/data/boston_neighborhoods.geojson`` was made (run once; kept for the record).

The Analyze Boston neighbourhood polygons in ``/work/shared/data/boston_gazetteer`` are in
Massachusetts State Plane Mainland, US survey feet (EPSG:2249), not longitude/latitude. This
module converts them with the Lambert conformal conic inverse (Snyder, *Map Projections: A
Working Manual*, eq. 15-9 to 15-11; GRS80 ellipsoid, which NAD83 uses), simplifies each polygon
with shapely (tolerance 0.0003 degrees, about 25 m) and rounds coordinates to 5 decimals
(about 1 m), which takes the file from 1.2 MB to a few tens of kB::

    .venv/bin/python -m civic_signal.sinks.reports.neighborhoods_build SRC.geojson config/data/boston_neighborhoods.geojson

No pyproj needed: the projection is the location package's (``civic_signal.classifiers.location.projection``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from civic_signal.classifiers.location.projection import stateplane_ft_to_lonlat  # the one EPSG:2249 inverse



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
