"""Inverse of EPSG:2249 (NAD83 / Massachusetts Mainland, US survey feet) to WGS84 lat/lon.

The neighbourhood polygons from Analyze Boston come in this state-plane projection. pyproj is
not a dependency, so the Lambert Conformal Conic (2SP) inverse is written out here (formulas from
Snyder, "Map Projections: A Working Manual", p. 107). NAD83 and WGS84 differ by about a metre,
which we ignore. Used only when building the gazetteer.
"""

from __future__ import annotations

import math

_A = 6378137.0                     # GRS80 semi-major axis, metres
_F = 1 / 298.257222101
_E = math.sqrt(2 * _F - _F * _F)
_FT = 1200 / 3937                  # US survey foot in metres
_LAT1, _LAT2, _LAT0 = math.radians(42 + 41 / 60), math.radians(41 + 43 / 60), math.radians(41.0)
_LON0 = math.radians(-71.5)
_X0, _Y0 = 200000.0, 750000.0      # false easting / northing, metres


def _m(phi: float) -> float:
    return math.cos(phi) / math.sqrt(1 - (_E * math.sin(phi)) ** 2)


def _t(phi: float) -> float:
    s = _E * math.sin(phi)
    return math.tan(math.pi / 4 - phi / 2) / ((1 - s) / (1 + s)) ** (_E / 2)


_N = (math.log(_m(_LAT1)) - math.log(_m(_LAT2))) / (math.log(_t(_LAT1)) - math.log(_t(_LAT2)))
_FF = _m(_LAT1) / (_N * _t(_LAT1) ** _N)
_RHO0 = _A * _FF * _t(_LAT0) ** _N


def stateplane_ft_to_lonlat(x_ft: float, y_ft: float) -> tuple[float, float]:
    """(lon, lat) in degrees for a point in EPSG:2249 feet."""
    x = x_ft * _FT - _X0
    y = _RHO0 - (y_ft * _FT - _Y0)
    rho = math.copysign(math.hypot(x, y), _N)
    theta = math.atan2(x, y)
    t = (rho / (_A * _FF)) ** (1 / _N)
    phi = math.pi / 2 - 2 * math.atan(t)
    for _ in range(8):
        s = _E * math.sin(phi)
        phi = math.pi / 2 - 2 * math.atan(t * ((1 - s) / (1 + s)) ** (_E / 2))
    lon = theta / _N + _LON0
    return math.degrees(lon), math.degrees(phi)
