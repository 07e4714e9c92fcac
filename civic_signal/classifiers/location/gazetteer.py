"""The shipped gazetteer, loaded once, and the geocoding look-ups on it.

Everything here is a dict or list access, a binary search, or a prepared point-in-polygon test:
no look-up reads a file or builds a model. Coordinates are WGS84 degrees.

What callers may rely on:
- ``Gazetteer.load(path)`` raises :class:`civic_signal.config.errors.ConfigError` with a clear message when the
  file is missing or of another format (rebuild it with ``make gazetteer``).
- Every geocoding method returns ``None`` rather than raising when it cannot place something.
"""

from __future__ import annotations

import bisect
import gzip
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from civic_signal.config.errors import ConfigError

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "gazetteer" / "gazetteer.json.gz"
FORMAT_VERSION = 2
_E5 = 100_000.0
_GRID = 0.002  # degrees, for the nearest-address grid (about 200 m)
_CACHE_MAX = 50_000  # answers kept per look-up cache (cleared when full)
#: weight of an OpenStreetMap line point (every ~120 m of a street) against an Open311 point's record
#: count, in a street's centre and extent: where residents reported before, with the whole length kept
_LINE_WEIGHT = 3
_SPREAD_Q = 0.65


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371000.0 * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Hit:
    """A geocoded point: where, in which neighbourhood, how sure, and the normalised address."""
    lat: float
    lon: float
    hood: str | None
    score: float
    address: str | None = None
    radius: float = 50.0   # metres: how far the true spot may be from (lat, lon)


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    kind: str
    lat: float
    lon: float
    hood: str | None


class Gazetteer:
    def __init__(self, data: dict):
        if data.get("format") != FORMAT_VERSION:
            raise ConfigError(f"gazetteer format {data.get('format')!r}, expected {FORMAT_VERSION}: "
                              "rebuild it with `make gazetteer`")
        self.max_year = data.get("max_year")
        self.hood_names: list[str] = [h[0] for h in data["hoods"]]
        self.hood_centroids = {h[0]: (h[1] / _E5, h[2] / _E5) for h in data["hoods"]}
        self._hood_geo = [h[3] for h in data["hoods"]]
        self._hoods: list | None = None   # (prepared polygon, bounds..., name), built on first use
        self.street_keys: list[str] = [s[0] for s in data["streets"]]
        self.street_display: list[str] = [s[1] for s in data["streets"]]
        self.street_hoods: list[tuple[str, ...]] = [tuple(self.hood_names[i] for i in s[2]) for s in data["streets"]]
        self.street_index = {k: i for i, k in enumerate(self.street_keys)}
        hn = self.hood_names
        # per street: numbered points sorted by number, and all points (numbered or not)
        self._nums: dict[int, list[int]] = {}
        self._pts: dict[int, list[tuple[int, float, float, str]]] = {}
        grid: dict[tuple[int, int], list[tuple[float, float, int, int]]] = defaultdict(list)
        for s, rows in data["points"].items():
            si = int(s)
            # (number, lat, lon, hood, weight): the weight is how many records were filed there
            pts = [(r[0], r[1] / _E5, r[2] / _E5, hn[r[3]], r[4] if len(r) > 4 else 1) for r in rows]
            numbered = [p for p in pts if p[0] > 0]
            self._pts[si] = pts
            self._nums[si] = [p[0] for p in numbered]
            self._pts[si] = numbered + [p for p in pts if p[0] == 0]
            for p in numbered:
                grid[(int(p[1] / _GRID), int(p[2] / _GRID))].append((p[1], p[2], si, p[0]))
        self._grid = dict(grid)
        self._near: dict[tuple[int, int], tuple | None] = {}  # 3 x 3 cell blocks as arrays, built on use
        self._street_cache: dict = {}
        self._near_cache: dict = {}
        self._inter_cache: dict = {}
        self._thin_arrays: dict[int, tuple] = {}
        self._hood_split: dict[int, dict[str, tuple[list[int], list[tuple]]]] = {}
        self._inter: dict[tuple[int, int], list[tuple[float, float, str, int]]] = defaultdict(list)
        for a, b, la, lo, h, n in data["intersections"]:
            self._inter[(min(a, b), max(a, b))].append((la / _E5, lo / _E5, hn[h], n))
            # intersection points are street points too (no number)
            for si in (a, b):
                self._pts.setdefault(si, []).append((0, la / _E5, lo / _E5, hn[h], n))
        # OpenStreetMap centreline points (every ~120 m): street points too, and each street's extent.
        # A gazetteer whose address points carry record counts (Boston's) weighs them against the line
        # points; one without (a pack's assessor points) keeps every point at weight 1, 60th percentile
        weighted = any(len(r) > 4 for rows in data["points"].values() for r in rows[:1])
        line_w = _LINE_WEIGHT if weighted else 1
        self._spread_q = _SPREAD_Q if weighted else 0.6
        for s, rows in data.get("lines", {}).items():
            pts = self._pts.setdefault(int(s), [])
            pts.extend((0, la / _E5, lo / _E5, hn[h], line_w) for la, lo, h in rows)
        self.places: list[Place] = []
        self.place_phrases: list[tuple[str, int]] = []
        for name, kind, la, lo, h, phrases in data["places"]:
            self.places.append(Place(name, kind, la / _E5, lo / _E5, hn[h]))
            self.place_phrases += [(ph, len(self.places) - 1) for ph in phrases]
        self.foreign: list[str] = list(data["foreign"])
        # the local names no data file holds: Boston's (nicknames.py) unless the gazetteer carries its own
        # (a jurisdiction pack's, see civic_signal.classifiers.location.packbuild)
        from civic_signal.classifiers.location import nicknames as _n
        self.street_nicknames: dict[str, str] = dict(data.get("street_nicknames", _n.STREET_NICKNAMES))
        self.hood_nicknames: dict[str, str] = dict(data.get("hood_nicknames", _n.NEIGHBORHOOD_NICKNAMES))
        self.other_cities: tuple[str, ...] = tuple(data.get("other_cities", _n.OTHER_CITIES))
        self.zips = {z: (la / _E5, lo / _E5, hn[h]) for z, la, lo, h in data["zips"]}
        # house-number ranges and ZIPs of each street per neighbourhood (the City's street segments;
        # absent from a gazetteer built without them: then nothing is filtered)
        self._ranges: dict[int, dict[str, tuple[tuple[int, int], ...]]] = {}
        for s, rows in data.get("ranges", {}).items():
            d: dict[str, list] = defaultdict(list)
            for h, lo, hi in rows:
                d[hn[h]].append((lo, hi))
            self._ranges[int(s)] = {k: tuple(v) for k, v in d.items()}
        self._street_zips: dict[int, dict[str, tuple[str, ...]]] = {}
        for s, rows in data.get("street_zips", {}).items():
            dz: dict[str, list] = defaultdict(list)
            for h, z in rows:
                dz[f"{z:05d}"].append(hn[h])
            self._street_zips[int(s)] = {k: tuple(v) for k, v in dz.items()}
        # read-only from here: tuples of plain values, which the cyclic garbage collector stops
        # tracking (lists it would walk on every full collection of a long-running process)
        self._nums = {k: tuple(v) for k, v in self._nums.items()}
        self._pts = {k: tuple(v) for k, v in self._pts.items()}
        self._inter = {k: tuple(v) for k, v in self._inter.items()}
        self._grid = {k: tuple(v) for k, v in self._grid.items()}

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Gazetteer":
        path = Path(path or DEFAULT_PATH)
        try:
            with gzip.open(path, "rb") as fh:
                data = json.loads(fh.read())
        except FileNotFoundError:
            raise ConfigError(f"no gazetteer at {path}: build it with `make gazetteer`") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"gazetteer {path} is unreadable ({exc}): rebuild it with `make gazetteer`") from exc
        return cls(data)

    # -- neighbourhoods --------------------------------------------------------------------
    def hood_at(self, lat: float, lon: float) -> str | None:
        """The Boston neighbourhood containing the point, or None outside Boston (the first
        neighbourhood, in gazetteer order, whose polygon contains it)."""
        hoods = self._hoods
        if hoods is None:
            hoods = self._prepare_hoods()
        contains_xy = self._contains_xy
        for geom, x0, y0, x1, y1, name in hoods:
            # a point outside a polygon's bounding box is not in it: two comparisons instead of GEOS
            if x0 <= lon <= x1 and y0 <= lat <= y1 and contains_xy(geom, lon, lat):
                return name
        return None

    def _prepare_hoods(self) -> list:
        import shapely
        from shapely.geometry import shape
        geoms = [shape({"type": "MultiPolygon" if _depth(g) == 4 else "Polygon", "coordinates": g})
                 for g in self._hood_geo]
        for g in geoms:
            shapely.prepare(g)
        self._hood_geoms = geoms
        self._contains_xy = shapely.contains_xy
        self._hoods = [(g, *map(float, shapely.bounds(g)), name) for g, name in zip(geoms, self.hood_names)]
        return self._hoods

    # -- streets ---------------------------------------------------------------------------
    def has_points(self, si: int) -> bool:
        return bool(self._pts.get(si))

    def _by_hood(self, si: int) -> dict[str, tuple[list[int], list[tuple]]]:
        """Numbered points of a street split by neighbourhood, each sorted by number (cached)."""
        d = self._hood_split.get(si)
        if d is None:
            d = {}
            for p in self._pts[si][:len(self._nums[si])]:
                d.setdefault(p[3], ([], []))
                d[p[3]][0].append(p[0])
                d[p[3]][1].append(p)
            self._hood_split[si] = d
        return d

    def covers(self, si: int, hood: str, num: int) -> bool | None:
        """Whether the City's segment ranges of the street in ``hood`` hold the number (None: no ranges
        known for the street there)."""
        rs = self._ranges.get(si, {}).get(hood)
        if rs is None:
            return None
        return any(lo <= num <= hi for lo, hi in rs)

    def zip_hoods(self, si: int, zips) -> tuple[str, ...]:
        """The neighbourhoods of the street whose segments carry a ZIP written in the post (the first
        such ZIP; empty if none does)."""
        d = self._street_zips.get(si)
        if d:
            for z in zips:
                hs = d.get(z)
                if hs:
                    return hs
        return ()

    def zip_hood(self, si: int, zips) -> str | None:
        """The one neighbourhood of the street that a ZIP written in the post points at, else None."""
        hs = self.zip_hoods(si, zips)
        return hs[0] if len(hs) == 1 else None

    def address(self, si: int, num: int, hood: str | None = None, within: tuple[str, ...] = ()) -> Hit | None:
        """A house number on a street: the exact point, else interpolated between the nearest
        known numbers on the same side (same parity) in the same neighbourhood. Streets of one
        name in several neighbourhoods are each tried when ``hood`` does not settle it: those whose
        segment ranges hold the number are kept when any does ("45 Adams St" is on the Adams St whose
        ranges reach 45), and the best fit wins (ties go to the neighbourhood with most records on
        that street). A number no Open311 point is near, on a street stretch whose ranges hold it,
        is the stretch (:meth:`street` in that neighbourhood, score 0.6). ``within``: neighbourhoods
        the post points at otherwise (a written ZIP's), kept when the street has points there."""
        split = self._by_hood(si) if self._nums.get(si) else {}
        if within and any(h in split for h in within):
            split = {h: v for h, v in split.items() if h in within}
        if hood in split:
            hit = _address_in(split[hood][0], split[hood][1], num, self.street_display[si])
            if hit is not None:
                return hit
        best = None
        hits = []
        cands = []
        for h, (nums, pts) in split.items():
            hit = _address_in(nums, pts, num, self.street_display[si])
            if hit is not None:
                cands.append((hit, len(nums), self.covers(si, h, num)))
        if any(c[2] for c in cands):
            cands = [c for c in cands if c[2]]
        if not cands:
            return self._range_stretch(si, num, hood)
        for hit, n, _ in cands:
            hits.append((hit, n))
            if best is None or (hit.score, n) > best[0]:
                best = ((hit.score, n), hit)
        hit, n_best = best[1], best[0][1]
        # one name, several streets ("120 Washington St" in Brighton and in Dorchester): as uncertain
        # as the good candidates are apart, unless the neighbourhood settled it or one of them is
        # much the better known (a third of its records or fewer: "10 Tremont St" is downtown)
        far = max((distance_m(hit.lat, hit.lon, o.lat, o.lon) for o, n in hits
                   if o.score >= 0.85 and n * 3 > n_best), default=0.0)
        if far > hit.radius:
            hit = Hit(hit.lat, hit.lon, hit.hood, hit.score, hit.address, far)
        return hit

    def _range_stretch(self, si: int, num: int, hood: str | None) -> Hit | None:
        """A number no Open311 point is near (within 60 numbers, or between two known ones), on the
        stretch of the street (the one neighbourhood, ``hood`` if named, whose segment ranges hold
        it): placed along the stretch by the numbers known on it (a straight fit of number against
        position along the stretch's main axis, where it holds: ``radius`` its error plus the
        distance to the nearest point of the street), else the stretch's middle with its extent."""
        rs = self._ranges.get(si)
        if not rs:
            return None
        hs = [h for h, iv in rs.items() if any(lo <= num <= hi for lo, hi in iv)]
        if hood in hs:
            hs = [hood]
        if len(hs) != 1:
            return None
        h = hs[0]
        disp = f"{num} {self.street_display[si]}"
        fit = self._along(si, h, num)
        if fit is not None:
            la, lo, radius = fit
            return Hit(la, lo, h, 0.65, disp, radius)
        hit = self.street(si, h)
        if hit is None or hit.hood != h:
            return None
        return Hit(hit.lat, hit.lon, hit.hood, 0.6, disp, hit.radius)

    def _along(self, si: int, hood: str, num: int) -> tuple[float, float, float] | None:
        """(lat, lon, radius) of ``num`` by the known numbers of the street in ``hood``, see above."""
        pts = [p for p in self._pts.get(si, ()) if p[3] == hood]
        nums, numbered = self._by_hood(si).get(hood, ((), ())) if self._nums.get(si) else ((), ())
        if len(pts) < 3 or len(set(nums)) < 3:
            return None
        lat0, lon0 = pts[0][1], pts[0][2]
        xy = np.array([((p[2] - lon0) * 82_000, (p[1] - lat0) * 111_000) for p in pts])
        c = xy.mean(axis=0)
        w, v = np.linalg.eigh(np.cov((xy - c).T))
        axis = v[:, int(np.argmax(w))]
        t_all = (xy - c) @ axis
        t = np.array([((p[2] - lon0) * 82_000 - c[0]) * axis[0] + ((p[1] - lat0) * 111_000 - c[1]) * axis[1]
                      for p in numbered])
        n = np.array(nums, dtype=float)
        if np.std(t) < 1 or abs(np.corrcoef(n, t)[0, 1]) < 0.9:
            return None   # numbers do not run along the stretch in one direction: no fit
        b, a = np.polyfit(n, t, 1)
        err = float(np.median(np.abs(a + b * n - t)))
        tp = a + b * num
        if tp < t_all.min() - 100 or tp > t_all.max() + 100:
            return None   # beyond the street's known extent
        k = int(np.argmin(np.abs(t_all - tp)))
        p = pts[k]
        radius = 60.0 + 2 * err + abs(float(t_all[k] - tp))
        return p[1], p[2], radius

    def street(self, si: int, hood: str | None = None, near: tuple[float, float] | None = None) -> Hit | None:
        """A point on the street: nearest to ``near`` if given, else the middle of its points in
        ``hood`` (or in the neighbourhood where it has most points). Cached per (street, hood)."""
        key = (si, hood)
        cached = self._street_cache.get(key)
        if cached is None:
            cached = self._street_cache[key] = self._street_mid(si, hood)
        if cached is False:
            return None
        hit, pts = cached
        if near is not None:
            # near is a place of the gazetteer: few distinct keys, each answer kept
            nkey = (si, hood, near)
            got = self._near_cache.get(nkey)
            if got is None:
                p = min(pts, key=lambda p: (p[1] - near[0]) ** 2 + ((p[2] - near[1]) * 0.74) ** 2)
                got = Hit(p[1], p[2], p[3], 0.6, hit.address, distance_m(p[1], p[2], near[0], near[1]) + 120.0)
                if len(self._near_cache) >= _CACHE_MAX:
                    self._near_cache.clear()
                self._near_cache[nkey] = got
            return got
        return hit

    def _street_mid(self, si: int, hood: str | None):
        allpts = self._pts.get(si)
        if not allpts:
            return False
        pts = allpts
        if hood and any(p[3] == hood for p in pts):
            pts = [p for p in pts if p[3] == hood]
        by_hood: dict[str, list] = defaultdict(list)
        for p in pts:
            by_hood[p[3]].append(p)
        h, hp = max(by_hood.items(), key=lambda kv: (sum(p[4] for p in kv[1]), kv[0]))
        # the record-weighted middle: where residents reported on this street before
        mid = (_wmedian([(p[1], p[4]) for p in hp]), _wmedian([(p[2], p[4]) for p in hp]))
        # snap to the nearest real point so the answer lies on the street
        p = min(hp, key=lambda p: (p[1] - mid[0]) ** 2 + (p[2] - mid[1]) ** 2)
        score = 0.5 if len(by_hood) == 1 or hood else 0.4
        # how far the spot may be: the record-weighted 60th percentile distance to the street's points
        # (in the named neighbourhood, else anywhere: a name in several places is as uncertain as its spread)
        radius = _spread(p[1], p[2], pts, self._spread_q) + 30.0
        return Hit(p[1], p[2], h, score, self.street_display[si], radius), _thin(sorted(pts), 150)

    def distance_to_street(self, si: int, lat: float, lon: float) -> float:
        """Metres from the point to the nearest known point of the street (inf if it has none)."""
        pts = self._pts.get(si)
        if not pts:
            return math.inf
        return min(math.hypot((p[1] - lat) * 111_000, (p[2] - lon) * 82_000) for p in pts)

    def street_extent(self, si: int, hood: str | None = None) -> float | None:
        """The radius (m) of a point on the street (in ``hood`` if it runs there): see :meth:`street`."""
        hit = self.street(si, hood)
        return hit.radius if hit else None

    def intersection(self, a_cands, b_cands, hood: str | None = None, approx: bool = True) -> tuple[Hit, int, int] | None:
        """Where a street of ``a_cands`` meets one of ``b_cands``: from the Open311 intersection
        records, else (``approx``) the closest pair of points of the two streets if under 120 m.
        The answer for each distinct question is kept (a pure function of the gazetteer)."""
        key = (tuple(a_cands), tuple(b_cands), hood, approx)
        got = self._inter_cache.get(key, _MISSING)
        if got is _MISSING:
            got = self._intersection(a_cands, b_cands, hood, approx)
            if len(self._inter_cache) >= _CACHE_MAX:
                self._inter_cache.clear()
            self._inter_cache[key] = got
        return got

    def _intersection(self, a_cands, b_cands, hood: str | None, approx: bool) -> tuple[Hit, int, int] | None:
        found = []
        for a in a_cands:
            for b in b_cands:
                if a == b:
                    continue
                for la, lo, h, n in self._inter.get((min(a, b), max(a, b)), ()):
                    found.append((h == hood, n, la, lo, h, a, b))
        if found:
            m, n, la, lo, h, a, b = max(found, key=lambda f: (f[0], f[1]))
            disp = f"{self.street_display[a]} & {self.street_display[b]}"
            return Hit(la, lo, h, 0.9 if n >= 2 else 0.8, disp, 80.0), a, b
        if not approx:
            return None
        best = None
        for a in a_cands:
            for b in b_cands:
                pa, pb = self._pts.get(a), self._pts.get(b)
                if not pa or not pb or a == b:
                    continue
                d, p, q = self._closest(a, b)
                if best is None or d < best[0]:
                    best = (d, p, q, a, b)
        if best is None or math.sqrt(best[0]) * 111_000 > 120:
            return None
        _, p, q, a, b = best
        disp = f"{self.street_display[a]} & {self.street_display[b]}"
        return Hit((p[1] + q[1]) / 2, (p[2] + q[2]) / 2, p[3], 0.65, disp, 60.0 + math.sqrt(best[0]) * 111_000), a, b

    def _thinned(self, si: int) -> tuple[list, np.ndarray, np.ndarray]:
        t = self._thin_arrays.get(si)
        if t is None:
            pts = _thin(self._pts[si])
            t = self._thin_arrays[si] = (pts, np.array([p[1] for p in pts]), np.array([p[2] for p in pts]))
        return t

    def _closest(self, a: int, b: int) -> tuple[float, tuple, tuple]:
        """The closest pair of (thinned) points of streets ``a`` and ``b``, with its squared
        distance: the first such pair in the order of a loop over ``a``'s points then ``b``'s."""
        pa, la, oa = self._thinned(a)
        pb, lb, ob = self._thinned(b)
        d = ((la[:, None] - lb[None, :]) ** 2 + ((oa[:, None] - ob[None, :]) * 0.74) ** 2).ravel()
        k = int(d.argmin())
        # as in nearest_address: near-ties are scored again the Python way, in loop order
        best = None
        nb = len(pb)
        for i in np.flatnonzero(d <= d[k] * (1 + 1e-12) + 1e-300).tolist():
            p, q = pa[i // nb], pb[i % nb]
            dd = (p[1] - q[1]) ** 2 + ((p[2] - q[2]) * 0.74) ** 2
            if best is None or dd < best[0]:
                best = (dd, p, q)
        return best

    def nearest_address(self, lat: float, lon: float, max_m: float = 150.0) -> str | None:
        """The closest known address point to the coordinates, as "25 Sheridan St" (among the
        points of the 3 x 3 grid cells around it; the first one, in cell order, on a tie)."""
        ci, cj = int(lat / _GRID), int(lon / _GRID)
        block = self._near.get((ci, cj), _MISSING)
        if block is _MISSING:
            block = self._near[(ci, cj)] = self._block(ci, cj)
        if block is None:
            return None
        lats, lons, pts = block
        d = (lats - lat) ** 2 + ((lons - lon) * 0.74) ** 2
        k = int(d.argmin())
        # numpy squares by multiplying, Python's ``** 2`` calls pow(): they may differ in the last
        # bit, so every point within a hair of the minimum is scored again the Python way, in
        # order, and the first strict minimum wins (exactly what a loop over the points gave)
        close = np.flatnonzero(d <= d[k] * (1 + 1e-12) + 1e-300).tolist()
        best = None
        for i in close:
            p = pts[i]
            dd = (p[0] - lat) ** 2 + ((p[1] - lon) * 0.74) ** 2
            if best is None or dd < best[0]:
                best = (dd, p)
        if math.sqrt(best[0]) * 111_000 > max_m:
            return None
        _, (_, _, si, num) = best
        return f"{num} {self.street_display[si]}"

    def _block(self, ci: int, cj: int) -> tuple | None:
        pts = [p for di in (-1, 0, 1) for dj in (-1, 0, 1) for p in self._grid.get((ci + di, cj + dj), ())]
        if not pts:
            return None
        if len(self._near) > 100_000:
            self._near.clear()
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts]), pts


_MISSING = object()


def _address_in(nums: list[int], pts: list[tuple], num: int, street: str) -> Hit | None:
    """Exact, interpolated (same parity, neighbours <= 400 numbers and 1.5 km apart) or nearest
    (within 60 numbers) point for ``num`` among one street's points in one neighbourhood."""
    disp = f"{num} {street}"
    pos = bisect.bisect_left(nums, num)
    if pos < len(nums) and nums[pos] == num:
        p = pts[pos]
        return Hit(p[1], p[2], p[3], 0.95, disp, 30.0)
    for parity in (True, False):
        lo = hi = None
        for i in range(pos - 1, max(-1, pos - 40), -1):
            if not parity or (nums[i] - num) % 2 == 0:
                lo = i
                break
        for i in range(pos, min(len(nums), pos + 40)):
            if not parity or (nums[i] - num) % 2 == 0:
                hi = i
                break
        if lo is not None and hi is not None:
            a, b = pts[lo], pts[hi]
            if b[0] - a[0] <= 400 and distance_m(a[1], a[2], b[1], b[2]) < 1500:
                f = (num - a[0]) / (b[0] - a[0])
                gap = distance_m(a[1], a[2], b[1], b[2])
                return Hit(a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]), a[3], 0.85, disp,
                           40.0 + min(gap, 1500.0) * min(f, 1 - f) * 0.5)
        near = [i for i in (lo, hi) if i is not None and abs(nums[i] - num) <= 60]
        if near:
            p = pts[min(near, key=lambda i: abs(nums[i] - num))]
            return Hit(p[1], p[2], p[3], 0.7, disp, 60.0 + 3.0 * abs(p[0] - num))
    return None


def _spread(lat: float, lon: float, pts, q: float | None = None) -> float:
    """Record-weighted ``q`` quantile (default :data:`_SPREAD_Q`) of the distance (m) from (lat, lon)
    to the points (flat-earth, fine at city scale): with the true spot spread along the street as
    past reports were, it holds the spot in about 4 of 5 real posts (calibrated on the dev half)."""
    d = [(math.hypot((p[1] - lat) * 111_000, (p[2] - lon) * 82_000), p[4]) for p in pts]
    return _wquantile(d, _SPREAD_Q if q is None else q) if d else 0.0


def _wquantile(vals: list[tuple[float, int]], q: float) -> float:
    """The weighted ``q`` quantile of (value, weight) pairs: the first value whose cumulative
    weight passes ``q`` of the total (the upper one on a tie)."""
    vals = sorted(vals)
    limit = sum(w for _, w in vals) * q
    acc = 0
    for v, w in vals:
        acc += w
        if acc > limit:
            return v
    return vals[-1][0]


def _wmedian(vals: list[tuple[float, int]]) -> float:
    """The weighted median of (value, weight) pairs (the upper one on a tie)."""
    return _wquantile(vals, 0.5)


def _thin(pts, limit: int = 60):
    if len(pts) <= limit:
        return pts
    step = len(pts) / limit
    return [pts[int(i * step)] for i in range(limit)]


def _depth(coords) -> int:
    d = 0
    while isinstance(coords, list) and coords:
        coords = coords[0]
        d += 1
    return d
