"""Build a jurisdiction pack's files from a city's open data (``civic-signal jurisdiction build ID``).

The manifest's ``source`` says where the data is and what its columns are called; this module holds no
city's name. Two kinds:

- ``"kind": "open_data"`` (Cambridge, any city whose GIS publishes the usual layers): a boundary GeoJSON,
  neighbourhood polygons (WGS84, a ``name`` property), street centrelines (LineStrings with ``name`` and
  optional ``alias``), an intersections CSV (``street_a, street_b, lat, lon``), address points CSV
  (``street_number``/``number_low``/``number_high``, ``street_name``, ``lat``, ``lon``, ``zip``), places CSV
  (``name, kind, lat, lon, aliases``) and a services JSON (``service_code``, ``service_name``, ``description``,
  ``group``, ``internal``). Output: ``boundary.geojson``, ``gazetteer.json.gz`` (format of
  :mod:`civic_signal.classifiers.location.gazetteer`), ``services.json`` (GeoReport v2 rows).
- ``"kind": "gazetteer_hoods"`` (Boston): the pack points at an existing gazetteer; the boundary is the
  union of its neighbourhood polygons.

Deterministic: sorted, rounded to 1e-5 degree, gzip mtime 0 (the same data gives the same bytes).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

from civic_signal.classifiers.location.build import _GENERIC, E5, _ascii, _Hoods, _rd, _round_geo, write
from civic_signal.classifiers.location.gazetteer import FORMAT_VERSION, Gazetteer, _depth
from civic_signal.classifiers.location.nicknames import STREET_NICKNAMES
from civic_signal.classifiers.location.normalize import street_key, tokens
from civic_signal.config.errors import ConfigError
from civic_signal.config.jurisdictions import Pack

_LINE_STEP_M = 120.0
_SKIP_PLACE_KINDS = frozenset({"neighborhood"})


def build_pack(pack: Pack, data_root: Path) -> dict:
    """Write the pack's built files into its folder; returns statistics (counts, bytes)."""
    src = pack.manifest.get("source") or {}
    kind = src.get("kind")
    if kind == "gazetteer_hoods":
        return _build_from_gazetteer(pack, Path(data_root))
    if kind != "open_data":
        raise ConfigError(f"pack {pack.id!r}: source.kind must be 'open_data' or 'gazetteer_hoods', got {kind!r}")
    data = Path(data_root) / src.get("data", pack.id)
    if not data.is_dir():
        raise ConfigError(f"pack {pack.id!r}: no data folder {data}", hint="pass --data or set CIVIC_SHARED_DATA")
    stats: dict = {}
    boundary = shape(_first_geometry(json.loads((data / src["boundary"]).read_text(encoding="utf-8"))))
    boundary = shapely.set_precision(shapely.make_valid(boundary.simplify(0.00003, preserve_topology=True)), 1e-5)
    _write_json(pack.dir / "boundary.geojson", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": pack.id, "name": pack.name},
         "geometry": {"type": boundary.geom_type, "coordinates": _round_geo(mapping(boundary)["coordinates"])}}]})
    gaz, gstats = _gazetteer(pack, data, src)
    stats.update(gstats)
    stats["gazetteer_bytes"] = write(gaz, pack.dir / "gazetteer.json.gz")
    Gazetteer(gaz)   # the result must load
    services = _services(data / src["services"])
    _write_json(pack.dir / "services.json", services)
    stats["services"] = len(services)
    stats["boundary_bytes"] = (pack.dir / "boundary.geojson").stat().st_size
    return stats


def _first_geometry(g: dict) -> dict:
    return g["features"][0]["geometry"] if g.get("type") == "FeatureCollection" else g


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=None, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n",
                    encoding="utf-8")


def _build_from_gazetteer(pack: Pack, data_root: Path) -> dict:
    gz = Gazetteer.load(pack.gazetteer_path)
    geoms = [shape({"type": "MultiPolygon" if _depth(g) == 4 else "Polygon", "coordinates": g}) for g in gz._hood_geo]
    u = shapely.make_valid(shapely.union_all(geoms).buffer(0.0004).buffer(-0.0004))
    u = shapely.set_precision(u.simplify(0.00005, preserve_topology=True), 1e-5)
    _write_json(pack.dir / "boundary.geojson", {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": pack.id, "name": pack.name},
         "geometry": {"type": u.geom_type, "coordinates": _round_geo(mapping(u)["coordinates"])}}]})
    stats = {"boundary_bytes": (pack.dir / "boundary.geojson").stat().st_size, "hoods": len(geoms)}
    near = (pack.manifest.get("source") or {}).get("nearby")
    if near:
        stats["nearby"] = _nearby(data_root / near["file"], int(near.get("min_population", 0)), u,
                                  pack.dir / "nearby.json")
    return stats


def _nearby(path: Path, min_population: int, boundary, out: Path) -> int:
    """Towns around the city (a GeoNames-style CSV: ``name, latitude, longitude, population``) outside its
    boundary: ``[name, lat, lon]`` rows, so that a point outside every pack is named ("near Somerville")."""
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            la, lo = float(r["latitude"]), float(r["longitude"])
            if int(r.get("population") or 0) >= min_population and not boundary.contains(shapely.Point(lo, la)):
                rows.append([r["name"].strip(), round(la, 5), round(lo, 5)])
    _write_json(out, sorted(rows))
    return len(rows)


def _services(path: Path) -> list[dict]:
    """GeoReport v2 ``services.json`` rows for the public request types (staff-only ones left out)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for r in sorted(rows, key=lambda r: r["service_code"]):
        if r.get("internal"):
            continue
        out.append({"service_code": r["service_code"], "service_name": r["service_name"],
                    "description": r.get("description") or "", "group": r.get("group") or "",
                    "keywords": "", "metadata": False, "type": "realtime"})
    return out


def _gazetteer(pack: Pack, data: Path, src: dict) -> tuple[dict, dict]:
    hood_src = src["neighborhoods"]
    g = json.loads((data / hood_src["file"]).read_text(encoding="utf-8"))
    feats = sorted(g["features"], key=lambda f: f["properties"][hood_src.get("name", "name")])
    names = [f["properties"][hood_src.get("name", "name")] for f in feats]
    geoms = [shapely.make_valid(shape(f["geometry"]).simplify(0.00005, preserve_topology=True)) for f in feats]
    hoods = _Hoods(names, geoms)

    # streets: City labels; aliases become nicknames of the label they stand for
    cl = json.loads((data / src["centerlines"]).read_text(encoding="utf-8"))
    display: dict[str, str] = {}
    street_hoods: dict[str, set[int]] = defaultdict(set)
    aliases: dict[str, str] = {}
    segs: list[tuple[str, list]] = []
    for f in cl["features"]:
        p = f["properties"]
        nm = (p.get("name") or "").strip()
        k = street_key(nm)
        if not k:
            continue
        display.setdefault(k, nm)
        for a in (p.get("alias") or "").split(";"):
            ak = street_key(a.strip())
            if ak and ak != k:
                aliases.setdefault(ak, k)
        geom = f["geometry"]
        parts = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
        segs += [(k, c) for c in parts]
    keys = sorted(display)
    sidx = {k: i for i, k in enumerate(keys)}
    lines: dict[int, set] = defaultdict(set)
    for k, coords in segs:
        pts = [coords[0]]
        acc = 0.0
        for (x0, y0), (x1, y1) in zip(coords, coords[1:]):
            acc += math.hypot((x1 - x0) * 82_000, (y1 - y0) * 111_000)
            if acc >= _LINE_STEP_M:
                pts.append((x1, y1))
                acc = 0.0
        if pts[-1] != coords[-1]:
            pts.append(coords[-1])
        for x, y in pts:
            lines[sidx[k]].add((_rd(y), _rd(x)))
    line_rows: dict[int, list] = {}
    for si, pts in lines.items():
        kept, seen = [], set()
        for la, lo in sorted(pts):
            cell = (la // 40, lo // 55)
            if cell in seen:
                continue
            seen.add(cell)
            h = hoods.of(la / E5, lo / E5, 0.001)
            if h >= 0:
                kept.append([la, lo, h])
                street_hoods[keys[si]].add(h)
        if kept:
            line_rows[si] = kept

    def sid(name: str) -> int | None:
        k = street_key(name)
        return sidx.get(k, sidx.get(aliases.get(k, ""), None))

    stats: dict = defaultdict(int)
    inters = []
    with open(data / src["intersections"], newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            a, b = sid(row["street_a"]), sid(row["street_b"])
            if a is None or b is None or a == b:
                stats["intersections_unmatched"] += 1
                continue
            la, lo = float(row["lat"]), float(row["lon"])
            h = hoods.of(la, lo, 0.002)
            if h >= 0:
                inters.append([min(a, b), max(a, b), _rd(la), _rd(lo), h, 2])
    points: dict[int, list] = defaultdict(list)
    zips: dict[str, list] = defaultdict(list)
    opener = gzip.open if src["address_points"].endswith(".gz") else open
    with opener(data / src["address_points"], "rt", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            si = sid(row["street_name"])
            la, lo = float(row["lat"]), float(row["lon"])
            h = hoods.of(la, lo, 0.002)
            if row.get("zip"):
                zips[row["zip"]].append((la, lo))
            if si is None or h < 0:
                stats["address_points_unmatched"] += 1
                continue
            nums = {row.get("number_low"), row.get("number_high")} - {None, ""}
            for n in sorted(int(x) for x in nums if x.isdigit()):
                if 0 < n < 100000:
                    points[si].append([n, _rd(la), _rd(lo), h])
    hood_phrases = {n.lower() for n in names}
    places, place_names = [], set()
    with open(data / src["places"], newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] in _SKIP_PLACE_KINDS:
                continue
            la, lo = float(row["lat"]), float(row["lon"])
            h = hoods.of(la, lo, 0.004 if row["kind"] == "bridge" else 0.002)
            if h < 0:
                continue
            good = []
            for n in [row["name"], *(a for a in (row.get("aliases") or "").split("|"))]:
                toks = tokens(n.strip()) if n and _ascii(n) else []
                if not toks or all(t in _GENERIC for t in toks) or " ".join(toks) in hood_phrases:
                    continue
                good.append(" ".join(toks))
            if good:
                places.append([row["name"].strip(), row["kind"], _rd(la), _rd(lo), h, sorted(set(good))])
                place_names.update(good)
    own = hood_phrases | place_names | set(pack.city_names)
    foreign = sorted({n.lower() for n in src.get("elsewhere", [])} - own)
    nick = {a: k for a, k in sorted(aliases.items()) if a not in sidx}
    nick.update({n: k for n, k in STREET_NICKNAMES.items() if k in sidx and n not in sidx})
    hood_nicks = {k.lower(): v for k, v in (src.get("neighborhood_nicknames") or {}).items() if v in names}
    zip_rows = []
    for z, pts in sorted(zips.items()):
        if len(pts) >= 20:
            la, lo = statistics.median(p[0] for p in pts), statistics.median(p[1] for p in pts)
            h = hoods.of(la, lo, 0.002)
            if h >= 0:
                zip_rows.append([z, _rd(la), _rd(lo), h])
    hood_rows = []
    for n, geom in zip(names, geoms):
        c = geom.centroid if geom.contains(geom.centroid) else geom.representative_point()
        geo = mapping(shapely.set_precision(geom, 1e-5))
        hood_rows.append([n, _rd(c.y), _rd(c.x), _round_geo(geo["coordinates"])])
    out = {
        "format": FORMAT_VERSION, "max_year": None, "hoods": hood_rows,
        "streets": [[k, display[k], sorted(street_hoods.get(k, ()))] for k in keys],
        "points": {str(s): sorted(r) for s, r in sorted(points.items())},
        "intersections": sorted(inters),
        "lines": {str(s): sorted(r) for s, r in sorted(line_rows.items())},
        "places": sorted(places, key=lambda p: (p[0], p[2], p[3])),
        "foreign": foreign, "zips": zip_rows,
        "street_nicknames": nick, "hood_nicknames": hood_nicks, "other_cities": [],
    }
    stats.update({"streets": len(keys), "street_nicknames": len(nick), "address_points": sum(len(v) for v in points.values()),
                  "intersections": len(inters), "places": len(places), "foreign_names": len(foreign),
                  "zips": len(zip_rows), "line_points": sum(len(v) for v in line_rows.values())})
    return out, dict(stats)
