"""The honest location check: real resident descriptions that name a place, their record's point as truth.

Source: the Boston Open311 dump (``boston_open311_2008_2018.jsonl.gz``). Each record has the
resident's own ``description`` and the city's resolved ``address`` and ``lat``/``long`` (where the
resident dropped the pin). Held out by date: the shipped gazetteer is built from records up to
2017 (``build --max-year 2017``); rows here come from 2018 only, split by date into a *dev* half
(January-June, used while working on the finder) and a *test* half (July-December, reported).

What counts as "a text that names a place" is decided from the record alone, never from the
finder (that would leak the answer): the description must contain

- ``address``: a house number right before the name of the record's own street ("543 Talbot ave");
- ``intersection``: the names of both streets of an "Intersection Of A & B" record;
- ``street``: the name of the record's street (or one street of its intersection). A name that
  is also an ordinary word ("Green", "Park", "Centre", "Water", "Main"...) counts only when a street
  type follows it ("Green St");
- ``place``: a landmark, station, park or square of ``boston_landmarks.csv`` lying within 300 m of the
  record's point, by one of its names of two words or more ("Franklin Park", "Andrew Station").

The most precise of these names the row's *gold kind*. Texts naming only a neighbourhood are not
counted: no answer within 300 m can come from a neighbourhood name. Rows whose point is outside
Boston, exact duplicate texts and texts under 12 characters are dropped. The raw description is kept
as written (form text such as "Vehicle License Plate State: NH" included, as residents' apps send it).

Raw descriptions are never written into the repository: :func:`write_rows` writes to a path the
caller gives (``var/`` is git-ignored).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from civic_signal.classifiers.location.gazetteer import distance_m
from civic_signal.classifiers.location.normalize import STREET_TYPES, tokens

KINDS = ("address", "intersection", "street", "place")

#: Street names that are also ordinary words: they name a street only with a type after them.
COMMON = frozenset("""green park centre center water main market union court central station square garden
school church river pond hill spring summer winter high field forest grove view way place street
avenue road lane drive north south east west new old first second third front back side end top
bay beach harbor island shore bridge brook mill fort mount rock stone wood hall pleasant prospect
liberty temple chapel college boston parking parker snow ice light lights car walk home house city
state dock lake farm garden common commons ocean sea sun moon star day night hope faith grace
""".split())
_INTER_RE = re.compile(r"^\s*intersection\s+of\s+(.+?)\s+(?:&|and)\s+(.+)$", re.I)
_NUM_RE = re.compile(r"^\s*(\d+)[a-z]?(?:\s*[-–]\s*\d+[a-z]?|\s+\d+)?\s+([A-Za-z].*)$", re.I)
_ORD = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth", "6th": "sixth",
        "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth"}
_DIRS = {"e", "w", "n", "s", "east", "west", "north", "south"}


def _core(street: str) -> list[str]:
    """The name tokens of a street without its type and leading direction ("E Fifth St" -> ["fifth"])."""
    t = tokens(street)
    if len(t) >= 2 and t[-1] in STREET_TYPES:
        t = t[:-1]
    if len(t) >= 2 and t[0] in _DIRS:
        t = t[1:]
    return t


def _name_re(core: list[str], need_type: bool) -> re.Pattern | None:
    if not core or (len(core) == 1 and len(core[0]) < 3 and not need_type):
        return None
    alts = []
    for tok in core:
        forms = {tok}
        for a, b in _ORD.items():
            if tok == a:
                forms.add(b)
            elif tok == b:
                forms.add(a)
        alts.append("(?:" + "|".join(re.escape(f) for f in sorted(forms)) + ")")
    body = r"[\s.']*".join(alts)
    if need_type:
        types = "|".join(sorted(STREET_TYPES, key=len, reverse=True))
        return re.compile(rf"\b{body}\s+(?:{types})\b", re.I)
    return re.compile(rf"\b{body}\b", re.I)


def _street_re(street: str) -> re.Pattern | None:
    core = _core(street)
    need_type = len(core) == 1 and (core[0] in COMMON or len(core[0]) < 3)
    return _name_re(core, need_type)


class _Landmarks:
    def __init__(self, path: Path):
        self.rows: list[tuple[float, float, re.Pattern]] = []
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                names = [row["name"], *(row["aliases"] or "").split(";")]
                for n in names:
                    t = tokens(n)
                    if len(t) >= 2 and not all(x in COMMON or x in {"the", "of"} for x in t):
                        self.rows.append((float(row["lat"]), float(row["lon"]),
                                          re.compile(r"\b" + r"\s+".join(re.escape(x) for x in t) + r"\b", re.I)))
        self._grid: dict[tuple[int, int], list[int]] = {}
        for i, (la, lo, _) in enumerate(self.rows):
            self._grid.setdefault((int(la / 0.005), int(lo / 0.005)), []).append(i)

    def named_near(self, text: str, lat: float, lon: float) -> bool:
        ci, cj = int(lat / 0.005), int(lon / 0.005)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                for i in self._grid.get((ci + di, cj + dj), ()):
                    la, lo, rx = self.rows[i]
                    if distance_m(lat, lon, la, lo) <= 300 and rx.search(text):
                        return True
        return False


def gold_kind(text: str, address: str, lat: float, lon: float, landmarks: _Landmarks | None) -> str | None:
    """How precisely ``text`` names the record's own place (see the module docstring), or None."""
    first = (address or "").split(",")[0]
    m = _INTER_RE.match(first)
    if m:
        ra, rb = _street_re(m.group(1)), _street_re(m.group(2))
        ha = bool(ra and ra.search(text))
        hb = bool(rb and rb.search(text))
        if ha and hb:
            return "intersection"
        if ha or hb:
            return "street"
    else:
        m = _NUM_RE.match(first)
        street = m.group(2) if m else (first if first and not first[:1].isdigit() else None)
        if street:
            core = _core(street)
            rx = _street_re(street)
            if m and core:
                num = m.group(1)
                nx = _name_re(core, False)
                if nx and re.search(rf"(?<![\d-]){num}[a-z]?(?:\s*[-–]\s*\d+)?\s*,?\s+" + nx.pattern[2:], text, re.I):
                    return "address"
            if rx and rx.search(text):
                return "street"
    if landmarks is not None and landmarks.named_near(text, lat, lon):
        return "place"
    return None


def real_rows(data_dir: str | Path, start: str = "2018-07-01", end: str = "2019-01-01",
              hoods=None) -> Iterator[dict]:
    """Rows ``{"id", "text", "lat", "lon", "kind", "date"}`` of records requested in [start, end) whose
    description names their place. ``hoods``: a callable (lat, lon) -> neighbourhood or None, to
    drop points outside Boston (default: the shipped gazetteer's polygons)."""
    data_dir = Path(data_dir)
    if hoods is None:
        from civic_signal.classifiers.location.gazetteer import Gazetteer
        hoods = Gazetteer.load().hood_at
    lm = _Landmarks(data_dir / "boston_gazetteer" / "boston_landmarks.csv")
    seen: set[bytes] = set()
    with gzip.open(data_dir / "boston_open311_2008_2018.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            when = r.get("requested_datetime") or ""
            if not (start <= when < end):
                continue
            text, lat, lon = r.get("description"), r.get("lat"), r.get("long")
            if not text or len(text.strip()) < 12 or lat is None or lon is None:
                continue
            h = hashlib.sha1(text.strip().lower().encode()).digest()
            if h in seen:
                continue
            seen.add(h)
            kind = gold_kind(text, r.get("address") or "", lat, lon, lm)
            if kind is None or hoods(lat, lon) is None:
                continue
            yield {"id": r.get("service_request_id"), "text": text, "lat": lat, "lon": lon, "kind": kind,
                   "date": when[:10]}


def write_rows(rows, path: str | Path) -> int:
    """Write rows as JSON lines (gold for ``civic-signal eval --location``); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    return n


def score_real(rows: list[dict], finder=None, radius_m: float = 300.0) -> dict:
    """Precision, recall and F1 within ``radius_m`` over all rows and by kind.

    A row is *given* a point when the finder returns a location with lat/lon (a location whose
    ``radius_m`` is over 300 m has none: it is not a point). ``precision`` = hits / given,
    ``recall`` = hits / rows. ``by_gold_kind``: what the text names (recall per kind);
    ``by_answer_kind``: what the finder answered (precision per kind, given and hits)."""
    from civic_signal.classifiers.location.evaluate import LocationScore
    if finder is None:
        from civic_signal.classifiers.location.finder import LocationFinder
        finder = LocationFinder.default()
    import statistics
    per_gold: dict[str, list[int]] = {}
    per_ans: dict[str, list[int]] = {}
    n = given = hits = 0
    errs: list[float] = []
    for r in rows:
        n += 1
        g = per_gold.setdefault(r.get("kind") or "?", [0, 0, 0])
        g[0] += 1
        loc = finder.find(r["text"])
        if loc is None or loc.lat is None:
            if loc is not None:
                per_ans.setdefault(f"{loc.kind.value} (no point)", [0, 0])[0] += 1
            continue
        given += 1
        g[1] += 1
        d = distance_m(r["lat"], r["lon"], loc.lat, loc.lon)
        errs.append(d)
        ok = d <= radius_m
        hits += ok
        g[2] += ok
        a = per_ans.setdefault(loc.kind.value, [0, 0])
        a[0] += 1
        a[1] += ok
    s = LocationScore(n, given, hits, radius_m, round(statistics.median(errs), 1) if errs else None)
    out = {"n": n, "given": given, "hits": hits, "precision": round(s.precision, 4), "recall": round(s.hit_rate, 4),
           "f1": round(s.f1, 4), "median_error_m": s.median_error_m,
           "by_gold_kind": {}, "by_answer_kind": {}}
    for k, (m, gv, h) in sorted(per_gold.items()):
        p = h / gv if gv else 0.0
        rc = h / m if m else 0.0
        out["by_gold_kind"][k] = {"n": m, "given": gv, "hits": h, "precision": round(p, 4), "recall": round(rc, 4),
                                  "f1": round(2 * p * rc / (p + rc), 4) if p + rc else 0.0}
    for k, (gv, h) in sorted(per_ans.items()):
        out["by_answer_kind"][k] = {"given": gv, "hits": h, "precision": round(h / gv, 4) if gv else None}
    return out


def render(rep: dict) -> str:
    """The figures of :func:`score_real` as a small text table."""
    lines = [f"location within 300 m: precision {rep['precision']:.3f}  recall {rep['recall']:.3f}  "
             f"F1 {rep['f1']:.3f}  (n={rep['n']}, points given {rep['given']}, hits {rep['hits']}, "
             f"median error {rep['median_error_m']} m)",
             "by what the text names:   n  given  hits  precision  recall     F1"]
    for k, v in rep["by_gold_kind"].items():
        lines.append(f"  {k:<20}{v['n']:>6}{v['given']:>7}{v['hits']:>6}{v['precision']:>11.3f}{v['recall']:>8.3f}{v['f1']:>7.3f}")
    lines.append("by the answer's kind:      given  hits  precision")
    for k, v in rep["by_answer_kind"].items():
        p = "-" if not v["hits"] and "no point" in k else f"{v['precision']:.3f}"
        lines.append(f"  {k:<24}{v['given']:>6}{v['hits']:>6}{p:>11}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import sys
    root = Path(__file__).resolve().parents[3]
    ap = argparse.ArgumentParser(description="Real-text held-out location check (Open311 2018 descriptions).")
    ap.add_argument("--data", default=os.environ.get("CIVIC_SHARED_DATA") or str(root.parent / "shared" / "data"))
    ap.add_argument("--split", choices=("dev", "test"), default="test",
                    help="dev: 2018-01..06, test: 2018-07..12 (the reported figures)")
    ap.add_argument("--out", help="write the rows as JSON lines here (under var/: never commit them)")
    ap.add_argument("--show-misses", type=int, default=0)
    args = ap.parse_args(argv)
    start, end = ("2018-01-01", "2018-07-01") if args.split == "dev" else ("2018-07-01", "2019-01-01")
    rows = list(real_rows(args.data, start, end))
    if args.out:
        write_rows(rows, args.out)
    print(json.dumps(score_real(rows), indent=2))
    if args.show_misses:
        from civic_signal.classifiers.location.finder import LocationFinder
        f = LocationFinder.default()
        shown = 0
        for r in rows:
            loc = f.find(r["text"])
            d = distance_m(r["lat"], r["lon"], loc.lat, loc.lon) if loc and loc.lat is not None else None
            if d is None or d > 300:
                print(f"{'none' if d is None else f'{d:6.0f}m'} [{r['kind']}] {r['text'][:160]!r} -> "
                      f"{(loc.kind.value, loc.text, loc.address) if loc else None}", file=sys.stderr)
                shown += 1
                if shown >= args.show_misses:
                    break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
