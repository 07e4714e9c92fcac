"""Build the compact gazetteer from the shared public data (run by ``make gazetteer``).

Inputs (all under ``DATA_DIR``, see ``/work/shared/data/SOURCES.md``):
Open311 records (only their resolved ``address`` and ``lat``/``long``, and how many records share an address; no
description is read), the City's street segments (house-number ranges and ZIPs per street and neighbourhood),
street names, neighbourhood polygons (EPSG:2249, projected here), landmarks, GeoNames places
and ZIPs. Output: one gzip JSON file, written deterministically (sorted, rounded, mtime 0), so a
rebuild from the same data gives the same bytes.

Records after ``max_year`` (default 2017) are left out of the address-point index so that 2018
stays a held-out check (``civic_signal.classifiers.location.evaluate``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import statistics
from collections import defaultdict
from pathlib import Path

import shapely
from shapely.geometry import Point, shape

from civic_signal.classifiers.location.nicknames import EXTRA_PLACES, NEIGHBORHOOD_NICKNAMES, STREET_NICKNAMES
from civic_signal.classifiers.location.normalize import display_street, street_key, tokens
from civic_signal.classifiers.location.projection import stateplane_ft_to_lonlat

FORMAT_VERSION = 2
_LINE_STEP_M = 120.0  # spacing of the street-line points kept from the OSM centrelines
E5 = 100_000  # coordinates are stored as integers of 1e-5 degree (about 1 m)

_NUM_RE = re.compile(r"^\s*(\d+)(?:[a-z](?=[\s\-–]))?(?:\s*[-–\s]\s*(\d+)(?:[a-z](?=[\s\-–]))?)?\s*(\D.*)$", re.I)
_INTER_RE = re.compile(r"^\s*intersection\s+of\s+(.+)$", re.I)
_SPLIT_RE = re.compile(r"\s+(?:&|and)\s+", re.I)

# Generic landmark words: a landmark name made only of these is too vague to match on.
_GENERIC = frozenset("""park playground garden gardens community lot tot field fields school station
square plaza building center centre library urban wild the of and at a street st ave green common
yard courtyard open space memorial pool beach court courts path greenway terrace reservation""".split())


class BuildError(RuntimeError):
    pass


def _rd(v: float) -> int:
    return int(round(v * E5))


def _hood_index(data_dir: Path):
    g = json.loads((data_dir / "boston_gazetteer" / "boston_neighborhoods.geojson").read_text())
    names, geoms = [], []
    for feat in sorted(g["features"], key=lambda f: f["properties"]["Name"]):
        geom = shape(feat["geometry"])
        geom = shapely.transform(geom, lambda xy: _project_array(xy))
        geom = shapely.make_valid(geom.simplify(0.00005, preserve_topology=True))
        names.append(feat["properties"]["Name"])
        geoms.append(geom)
    return names, geoms


def _project_array(xy):
    import numpy as np
    out = np.empty_like(xy)
    for i, (x, y) in enumerate(xy):
        out[i] = stateplane_ft_to_lonlat(float(x), float(y))
    return out


class _Hoods:
    def __init__(self, names, geoms):
        self.names, self.geoms = names, geoms
        self.tree = shapely.STRtree(geoms)
        for g in geoms:
            shapely.prepare(g)

    def of(self, lat: float, lon: float, buffer_deg: float = 0.0) -> int:
        """Index of the neighbourhood containing the point, -1 if none."""
        p = Point(lon, lat)
        for i in sorted(self.tree.query(p)):
            if self.geoms[i].contains(p):
                return int(i)
        if buffer_deg:
            idx = [i for i in self.tree.query(p.buffer(buffer_deg)) if self.geoms[i].distance(p) <= buffer_deg]
            if idx:
                return int(min(idx, key=lambda i: (self.geoms[i].distance(p), i)))
        return -1


def _load_streets(data_dir: Path):
    """key -> (display, csv hoods)."""
    streets: dict[str, tuple[str, str]] = {}
    with open(data_dir / "boston_gazetteer" / "boston_street_names.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = row["st_name"].strip()
            if not name or re.match(r"^(public|private) alley no", name, re.I):
                continue
            disp = display_street(row["pre_dir"], name, row["st_type"], row["suf_dir"])
            key = street_key(disp)
            if key and key not in streets:
                streets[key] = (disp, row["neighborhoods"])
    return streets


def _street_of(text: str, street_keys) -> str | None:
    """The longest prefix of ``text`` that is a known street key."""
    toks = tokens(text)
    for n in range(len(toks), 0, -1):
        k = street_key(toks[:n])
        if k in street_keys:
            return k
    return None


def _parse_records(path: Path, street_keys, max_year: int):
    addr_pts: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    inter_pts: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    stats = defaultdict(int)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            year = int((rec.get("requested_datetime") or "0000")[:4] or 0)
            if year > max_year:
                stats["held_out"] += 1
                continue
            addr, lat, lon = rec.get("address") or "", rec.get("lat"), rec.get("long")
            if lat is None or lon is None or not (42.2 < lat < 42.45 and -71.22 < lon < -70.9):
                stats["no_coords"] += 1
                continue
            m = _INTER_RE.match(addr)
            if m:
                parts = _SPLIT_RE.split(m.group(1).split(",")[0], maxsplit=1)
                if len(parts) == 2:
                    a, b = _street_of(parts[0], street_keys), _street_of(parts[1], street_keys)
                    if a and b and a != b:
                        inter_pts[tuple(sorted((a, b)))].append((lat, lon))
                        stats["intersection"] += 1
                        continue
                stats["unparsed"] += 1
                continue
            m = _NUM_RE.match(addr)
            if m:
                lo, hi = int(m.group(1)), int(m.group(2)) if m.group(2) else None
                num = lo
                if hi is not None and 10 < hi - lo <= 300:
                    # a block range (the record was placed on the segment): its middle number
                    num = (lo + hi) // 2
                    num += (lo - num) % 2
                s = _street_of(m.group(3).split(",")[0], street_keys)
                if s and 0 < num < 100000:
                    addr_pts[(s, num)].append((lat, lon))
                    stats["address"] += 1
                    continue
            s = _street_of(addr.split(",")[0], street_keys) if not addr[:1].isdigit() else None
            if s:
                addr_pts[(s, 0)].append((lat, lon))   # a point on the street, number unknown
                stats["street_only"] += 1
                continue
            stats["unparsed"] += 1
    return addr_pts, inter_pts, dict(stats)


def _median(pts):
    return statistics.median(p[0] for p in pts), statistics.median(p[1] for p in pts)


def _clusters(pts, cell=0.004):
    """Split a point list into clusters on a coarse grid (same name, different places)."""
    cells: dict[tuple[int, int], list] = defaultdict(list)
    for p in pts:
        cells[(round(p[0] / cell), round(p[1] / cell))].append(p)
    merged: list[list] = []
    for _, cps in sorted(cells.items(), key=lambda kv: -len(kv[1])):
        c = _median(cps)
        for m in merged:
            mc = _median(m)
            if abs(mc[0] - c[0]) < cell * 1.5 and abs(mc[1] - c[1]) < cell * 1.5:
                m.extend(cps)
                break
        else:
            merged.append(list(cps))
    return merged


def _ascii(s: str) -> bool:
    return all(ord(c) < 128 for c in s)


def build(data_dir: Path, max_year: int = 2017) -> tuple[dict, dict]:
    """The gazetteer as a JSON-able dict, plus build statistics."""
    data_dir = Path(data_dir)
    gz = data_dir / "boston_gazetteer"
    names, geoms = _hood_index(data_dir)
    hoods = _Hoods(names, geoms)
    streets = _load_streets(data_dir)
    keys = sorted(streets)
    sidx = {k: i for i, k in enumerate(keys)}
    addr_pts, inter_pts, stats = _parse_records(data_dir / "boston_open311_2008_2018.jsonl.gz", streets, max_year)

    # address points: per street, rows [num, lat, lon, hood]
    points: dict[int, list[list[int]]] = defaultdict(list)
    for (s, num), pts in sorted(addr_pts.items()):
        for cl in (_clusters(pts) if num == 0 else [pts]):
            lat, lon = _median(cl)
            h = hoods.of(lat, lon, 0.002)
            if h >= 0:
                points[sidx[s]].append([num, _rd(lat), _rd(lon), h, len(cl)])   # n: records there
    inters = []
    for (a, b), pts in sorted(inter_pts.items()):
        for cl in _clusters(pts):
            lat, lon = _median(cl)
            h = hoods.of(lat, lon, 0.002)
            if h >= 0:
                inters.append([sidx[a], sidx[b], _rd(lat), _rd(lon), h, len(cl)])
    osm_inters, lines, osm_stats = _osm(gz, sidx, hoods, inters)
    inters += osm_inters
    stats.update(osm_stats)
    ranges, szips, seg_stats = _segments(gz, sidx, names, points, lines, inters)
    stats.update(seg_stats)
    inter_lookup: dict[tuple[str, str], tuple[float, float]] = {}
    for a, b, la, lo, h, n in inters:
        k = tuple(sorted((keys[a], keys[b])))
        if k not in inter_lookup or n > inter_lookup[k][2]:
            inter_lookup[k] = (la / E5, lo / E5, n)

    # places: landmarks + geonames inside Boston; outside -> foreign names
    places: list[list] = []
    foreign: set[str] = set()
    hood_phrases = {n.lower() for n in names} | set(NEIGHBORHOOD_NICKNAMES) | {"boston"}

    def add_place(name: str, aliases: list[str], kind: str, lat: float, lon: float, outside: bool = False) -> None:
        # bridges over the Charles touch Boston on one bank: allow them a wider margin
        h = -1 if outside else hoods.of(lat, lon, 0.005 if kind == "bridge" else 0.0006)
        all_names = [n for n in [name, *aliases] if n and _ascii(n)]
        good = []
        for n in all_names:
            toks = tokens(n)
            if not toks or all(t in _GENERIC for t in toks) or " ".join(toks) in hood_phrases:
                continue
            good.append(" ".join(toks))
        if not good:
            return
        if h < 0:
            foreign.update(g for g in good if len(g) > 3)
            return
        places.append([name, kind, _rd(lat), _rd(lon), h, sorted(set(good))])

    with open(gz / "boston_landmarks.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            aliases = [a.strip() for a in (row["aliases"] or "").split(";") if a.strip()]
            add_place(row["name"].strip(), aliases, row["kind"], float(row["lat"]), float(row["lon"]),
                      outside="cambridge" in (row["source"] or "").lower() and row["kind"] != "bridge")
    hood_names_lc = {n.lower() for n in names}
    with open(gz / "geonames_greater_boston_places.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            nm = row["name"].strip()
            if nm.lower() in ("boston",) or nm.lower() in hood_names_lc:
                continue
            alts = [a for a in (row["alternatenames"] or "").split("|") if a and a[:1].isupper()]
            add_place(nm, alts, "section", float(row["latitude"]), float(row["longitude"]))
    groups: dict[tuple, list[str]] = defaultdict(list)
    for name, spec in sorted(EXTRA_PLACES.items()):
        groups[tuple(spec)].append(name)
    for spec, group in sorted(groups.items(), key=lambda kv: sorted(kv[1])):
        if spec[0] == "@":
            k = tuple(sorted((street_key(spec[1]), street_key(spec[2]))))
            if k not in inter_lookup:
                raise BuildError(f"extra place {group[0]!r}: intersection {k} not in the Open311 records; "
                                 "fix nicknames.py")
            lat, lon, _ = inter_lookup[k]
        else:
            lat, lon = spec
        main = max(group, key=lambda n: (len(n), n))
        add_place(main.title(), sorted(set(group) - {main}), "local", lat, lon)

    for nick, target in sorted(STREET_NICKNAMES.items()):
        if target not in sidx:
            raise BuildError(f"street nickname {nick!r} -> {target!r}: no such street; fix nicknames.py")
    for nick, target in sorted(NEIGHBORHOOD_NICKNAMES.items()):
        if target not in names:
            raise BuildError(f"neighbourhood nickname {nick!r} -> {target!r}: no such neighbourhood")

    zips = []
    with open(gz / "zipcodes_suffolk_county_ma.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            lat, lon = float(row["lat"]), float(row["long"])
            h = hoods.of(lat, lon, 0.003)
            if h >= 0 and row["city"].strip().lower() == "boston":
                zips.append([row["zip_code"], _rd(lat), _rd(lon), h])

    hood_rows = []
    for n, g in zip(names, geoms):
        c = g.centroid if g.contains(g.centroid) else g.representative_point()
        geo = shapely.geometry.mapping(shapely.set_precision(g, 1e-5))
        hood_rows.append([n, _rd(c.y), _rd(c.x), _round_geo(geo["coordinates"])])

    street_rows = []
    for k in keys:
        disp, csv_hoods = streets[k]
        hs = sorted({names.index(h) for h in _csv_hoods(csv_hoods, names)})
        street_rows.append([k, disp, hs])

    out = {
        "format": FORMAT_VERSION,
        "max_year": max_year,
        "hoods": hood_rows,
        "streets": street_rows,
        "points": {str(s): sorted(rows) for s, rows in sorted(points.items())},
        "intersections": sorted(inters),
        "lines": {str(s): sorted(rows) for s, rows in sorted(lines.items())},
        "places": sorted(places, key=lambda p: (p[0], p[2], p[3])),
        "ranges": {str(s): rows for s, rows in sorted(ranges.items())},
        "street_zips": {str(s): rows for s, rows in sorted(szips.items())},
        "foreign": sorted(foreign),
        "zips": sorted(zips),
    }
    stats.update({"streets": len(keys), "address_points": sum(len(v) for v in points.values()),
                  "intersections": len(inters), "places": len(places), "foreign_names": len(foreign),
                  "zips": len(zips)})
    return out, stats


def _osm(gz: Path, sidx: dict[str, int], hoods: "_Hoods", inters: list) -> tuple[list, dict, dict]:
    """Street geometry from the OpenStreetMap centrelines (ODbL, "(c) OpenStreetMap contributors").

    Returns the crossings of ``boston_intersections.csv`` (computed from the centreline nodes) that
    the Open311 records lack (a pair already within 60 m of a record cluster is not added again),
    as intersection rows with ``n = 1``; and per street, points every ~120 m along its lines in
    Boston (``[lat, lon, hood]``), which give each street its extent per neighbourhood."""
    from civic_signal.classifiers.location.normalize import street_key
    have: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for a, b, la, lo, h, n in inters:
        have[(min(a, b), max(a, b))].append((la, lo))
    out, stats = [], defaultdict(int)
    path = gz / "boston_intersections.csv"
    if path.exists():
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["municipality"] != "Boston":
                    continue
                a, b = sidx.get(street_key(row["street_a"])), sidx.get(street_key(row["street_b"]))
                if a is None or b is None or a == b:
                    stats["osm_crossings_unmatched"] += 1
                    continue
                la, lo = _rd(float(row["lat"])), _rd(float(row["lon"]))
                k = (min(a, b), max(a, b))
                if any(abs(la - x) < 55 and abs(lo - y) < 75 for x, y in have[k]):
                    stats["osm_crossings_known"] += 1
                    continue
                h = hoods.of(la / E5, lo / E5, 0.002)
                if h >= 0:
                    out.append([k[0], k[1], la, lo, h, 1])
                    have[k].append((la, lo))
                    stats["osm_crossings_added"] += 1
    lines: dict[int, set] = defaultdict(set)
    path = gz / "boston_street_centerlines.geojson"
    if path.exists():
        import math
        g = json.loads(path.read_text(encoding="utf-8"))
        for f in g["features"]:
            p = f["properties"]
            if p.get("municipality") != "Boston" or not p.get("name"):
                continue
            si = sidx.get(street_key(p["name"]))
            if si is None:
                stats["osm_lines_unmatched"] += 1
                continue
            geom = f["geometry"]
            parts = geom["coordinates"] if geom["type"] == "MultiLineString" else [geom["coordinates"]]
            for coords in parts:
                pts = [coords[0]]
                acc = 0.0
                for (x0, y0), (x1, y1) in zip(coords, coords[1:]):
                    d = math.hypot((x1 - x0) * 82_000, (y1 - y0) * 111_000)
                    acc += d
                    if acc >= _LINE_STEP_M:
                        pts.append((x1, y1))
                        acc = 0.0
                if pts[-1] != coords[-1]:
                    pts.append(coords[-1])
                for x, y in pts:
                    lines[si].add((_rd(y), _rd(x)))
            stats["osm_lines"] += 1
    rows: dict[int, list] = {}
    for si, pts in lines.items():
        kept, seen = [], set()
        for la, lo in sorted(pts):
            cell = (la // 40, lo // 55)   # about 40 m: one point per cell is enough
            if cell in seen:
                continue
            seen.add(cell)
            h = hoods.of(la / E5, lo / E5, 0.001)
            if h >= 0:
                kept.append([la, lo, h])
        if kept:
            rows[si] = kept
    stats["line_points"] = sum(len(v) for v in rows.values())
    return out, rows, dict(stats)


#: the segments file's neighbourhood spellings that differ from the polygons' names
_SEG_HOOD_FIX = {"Dorcheseter": "Dorchester", "HydePark": "Hyde Park"}


def _num(v: str) -> int:
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return 0


def _segments(gz: Path, sidx: dict[str, int], names: list[str], points: dict, lines: dict,
              inters: list) -> tuple[dict, dict, dict]:
    """House-number ranges and ZIPs of each street per neighbourhood, from ``boston_street_segments.csv``.

    The segments have no geometry and a coarse neighbourhood ("Boston" covers every central
    neighbourhood, "Allston-Brighton" two): a segment neighbourhood is mapped to the polygon
    neighbourhoods where the Open311 points of the same street and a number inside the segment's
    range lie (at least 5% of them), and a street's ranges go to the polygon neighbourhoods in
    which the street has points (Open311, crossings or OSM line points). Returns
    ``{street: [[hood, lo, hi], ...]}`` (merged intervals, both sides, sorted) and
    ``{street: [[hood, zip], ...]}``."""
    from civic_signal.classifiers.location.normalize import street_key
    path = gz / "boston_street_segments.csv"
    stats: dict[str, int] = defaultdict(int)
    if not path.exists():
        return {}, {}, {}
    segs: dict[int, list[tuple[str, int, int, str]]] = defaultdict(list)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            if (row["MUN_L"] or row["MUN_R"] or "Boston") != "Boston":
                continue
            disp = display_street(row["PRE_DIR"], row["ST_NAME"], row["ST_TYPE"], row["SUF_DIR"])
            si = sidx.get(street_key(disp))
            if si is None:
                stats["segments_unmatched"] += 1
                continue
            for side in ("L", "R"):
                a, b = _num(row[f"{side}_F_ADD"]), _num(row[f"{side}_T_ADD"])
                hood = (row[f"NBHD_{side}"] or "").strip()
                hood = _SEG_HOOD_FIX.get(hood, hood)
                z = (row[f"TRACT00_{side}"] or "").strip()
                if a <= 0 and b <= 0 or not hood:
                    continue
                lo, hi = min(a, b) if min(a, b) > 0 else max(a, b), max(a, b)
                segs[si].append((hood, lo, hi, z if re.fullmatch(r"02\d\d\d", z) else ""))
            stats["segments"] += 1
    street_hoods: dict[int, set[int]] = defaultdict(set)
    for si, rows in points.items():
        street_hoods[si].update(r[3] for r in rows)
    for si, rows in lines.items():
        street_hoods[si].update(r[2] for r in rows)
    for a, b, _, _, h, _ in inters:
        street_hoods[a].add(h)
        street_hoods[b].add(h)
    # segment neighbourhood -> polygon neighbourhoods: the same name, and those holding 1% (or 20) or more of
    # the Open311 numbered points of streets whose segments all carry that one segment neighbourhood
    # (a name used in one place only, so the pairing is certain)
    glob: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for si, rows in points.items():
        seg_hoods = {s[0] for s in segs.get(si, ())}
        if len(seg_hoods) != 1:
            continue
        hood = next(iter(seg_hoods))
        for r in rows:
            if r[0] > 0:
                glob[hood][r[3]] += 1
    glob_map = {hood: {h for h, n in v.items() if n >= 20 or n >= 0.01 * sum(v.values())} for hood, v in glob.items()}

    def polygons(si: int, hood: str) -> set[int]:
        out = set(glob_map.get(hood, ()))
        if hood in names:
            out.add(names.index(hood))
        return out & street_hoods.get(si, set())

    ranges: dict[int, list] = {}
    szips: dict[int, list] = {}
    for si, sg in sorted(segs.items()):
        per: dict[int, list[tuple[int, int]]] = defaultdict(list)
        zs: set[tuple[int, int]] = set()
        for hood, lo, hi, z in sg:
            for h in sorted(polygons(si, hood)):
                per[h].append((lo, hi))
                if z:
                    zs.add((h, int(z)))
        rows = []
        for h, iv in sorted(per.items()):
            iv.sort()
            cur = list(iv[0])
            for lo, hi in iv[1:]:
                if lo <= cur[1] + 2:
                    cur[1] = max(cur[1], hi)
                else:
                    rows.append([h, cur[0], cur[1]])
                    cur = [lo, hi]
            rows.append([h, cur[0], cur[1]])
        if rows:
            ranges[si] = rows
        if zs:
            szips[si] = sorted([h, z] for h, z in zs)
    stats["range_rows"] = sum(len(v) for v in ranges.values())
    stats["range_streets"] = len(ranges)
    return ranges, szips, dict(stats)


def _csv_hoods(s: str, names: list[str]) -> list[str]:
    out = []
    for h in (s or "").split(";"):
        h = h.strip()
        if h == "Allston-Brighton":
            out += ["Allston", "Brighton"]
        elif h in names:
            out.append(h)
    return out


def _round_geo(coords):
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(coords[0], 5), round(coords[1], 5)]
    return [_round_geo(c) for c in coords]


def write(gaz: dict, out_path: Path) -> int:
    """Write deterministically; returns the size in bytes."""
    raw = json.dumps(gaz, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
        g.write(raw)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(buf.getvalue())
    return len(buf.getvalue())
