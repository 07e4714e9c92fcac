"""Measure the location finder: hit rate within 300 m and coverage.

- :func:`score_locations` takes ``(text, gold_lat, gold_lon)`` rows (``civic-signal eval`` calls it)
  and returns a :class:`LocationScore`.
- :func:`heldout_rows` writes post-like sentences from the 2018 Open311 records (never used to
  build the gazetteer), with local abbreviations and nicknames, e.g. "pothole outside 25 Sheridan
  St in JP", "light out at Saunders St and N Beacon St"; their gold point is the record's own.
- ``python -m civic_signal.classifiers.location.evaluate [--data DIR] [--n 3000]`` prints both.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from civic_signal.classifiers.location.gazetteer import distance_m

RADIUS_M = 300.0


@dataclass(frozen=True)
class LocationScore:
    n: int                    # rows with a gold point
    found: int                # rows where a location with coordinates came back
    hits: int                 # ... within ``radius_m`` of the gold point
    radius_m: float
    median_error_m: float | None

    @property
    def coverage(self) -> float:
        return self.found / self.n if self.n else 0.0

    @property
    def hit_rate(self) -> float:
        """Hits over all rows (a post with no location found counts as a miss)."""
        return self.hits / self.n if self.n else 0.0

    @property
    def precision(self) -> float:
        """Hits over rows where something was found."""
        return self.hits / self.found if self.found else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.hit_rate
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(coverage=round(self.coverage, 4), hit_rate=round(self.hit_rate, 4),
                 precision=round(self.precision, 4), f1=round(self.f1, 4))
        return d


def score_locations(rows: Iterable[tuple[str, float, float]], finder=None, radius_m: float = RADIUS_M) -> LocationScore:
    """Score the finder on (text, gold lat, gold lon) rows; rows without a gold point are skipped."""
    if finder is None:
        from civic_signal.classifiers.location.finder import LocationFinder
        finder = LocationFinder.default()
    n = found = hits = 0
    errors: list[float] = []
    for text, lat, lon in rows:
        if lat is None or lon is None:
            continue
        n += 1
        loc = finder.find(text)
        if loc is None or loc.lat is None or loc.lon is None:
            continue
        found += 1
        d = distance_m(lat, lon, loc.lat, loc.lon)
        errors.append(d)
        hits += d <= radius_m
    return LocationScore(n, found, hits, radius_m, round(statistics.median(errors), 1) if errors else None)


# -- held-out sentences from the 2018 records ------------------------------------------------------

_HOOD_NICK = {"Jamaica Plain": ["JP", "Jamaica Plain", "jp"], "South Boston": ["Southie", "South Boston"],
              "East Boston": ["Eastie", "East Boston"], "Roslindale": ["Rozzie", "Roslindale"],
              "Dorchester": ["Dorchester", "Dot"], "Allston": ["Allston"], "Brighton": ["Brighton"]}
_STREET_ABBR = [(r"\bMassachusetts Ave(nue)?\b", "Mass Ave"), (r"\bCommonwealth Ave(nue)?\b", "Comm Ave"),
                (r"\bDorchester Ave(nue)?\b", "Dot Ave")]
_TYPE_LONG = {"St": "Street", "Ave": "Avenue", "Rd": "Road", "Pl": "Place", "Ter": "Terrace", "Ct": "Court",
              "Blvd": "Boulevard", "Pkwy": "Parkway", "Sq": "Square", "Dr": "Drive", "Ln": "Lane"}
_ADDR_T = ["pothole outside {a}{h}", "streetlight out in front of {a}{h}", "trash bags piling up at {a}{h} again",
           "car parked on the sidewalk at {a}{h} @BOS311", "needles on the sidewalk near {a}{h}. please send someone",
           "{a}{h}: missed trash pickup this week", "there's a dead rat outside {a}{h}",
           "graffiti all over the wall at {a}{h} smh"]
_INTER_T = ["light out at {x} and {y}{h}", "huge pothole at the corner of {x} & {y}{h}",
            "{x} at {y}{h} - traffic signal broken", "{x}/{y}{h} is flooded again", "crosswalk paint gone on {x} and {y}{h}",
            "anyone know why the lights at {x} & {y} are out{h}?"]
_NUM = re.compile(r"^\s*(\d+)(?:\s*[-–]\s*\d+)?\s*([A-Za-z].*)$")
_INTER = re.compile(r"^\s*intersection\s+of\s+(.+?)\s+(?:&|and)\s+(.+)$", re.I)


def _street_text(s: str, rnd: random.Random) -> str:
    s = s.strip()
    for pat, rep in _STREET_ABBR:
        if re.search(pat, s) and rnd.random() < 0.7:
            s = re.sub(pat, rep, s)
    parts = s.split()
    if len(parts) >= 2 and parts[-1] in _TYPE_LONG and rnd.random() < 0.3:
        parts[-1] = _TYPE_LONG[parts[-1]]
    return " ".join(parts)


def _hood_text(hood: str | None, rnd: random.Random) -> str:
    if not hood or hood == "Boston" or rnd.random() < 0.5:
        return ""
    name = rnd.choice(_HOOD_NICK.get(hood, [hood]))
    return rnd.choice([f" in {name}", f", {name}", f" #{name.replace(' ', '')}"])


def heldout_rows(records: str | Path, year: int = 2018, n: int = 3000, seed: int = 7) -> list[tuple[str, float, float, str]]:
    """Post-like sentences from ``year``'s records: (text, lat, lon, kind) with kind address|intersection."""
    rnd = random.Random(seed)
    pool: list[tuple[str, float, float]] = []
    with gzip.open(records, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if (r.get("requested_datetime") or "")[:4] != str(year) or r.get("lat") is None:
                continue
            pool.append((r.get("address") or "", r["lat"], r["long"]))
    pool.sort()
    rnd.shuffle(pool)
    out = []
    for addr, lat, lon in pool:
        if len(out) >= n:
            break
        chunks = [c.strip() for c in addr.split(",")]
        hood = chunks[1] if len(chunks) > 1 and not chunks[1].isdigit() else None
        m = _INTER.match(chunks[0])
        if m:
            x, y = _street_text(m.group(1), rnd), _street_text(m.group(2), rnd)
            text = rnd.choice(_INTER_T).format(x=x, y=y, h=_hood_text(hood, rnd))
            kind = "intersection"
        else:
            m = _NUM.match(chunks[0])
            if not m:
                continue
            text = rnd.choice(_ADDR_T).format(a=f"{m.group(1)} {_street_text(m.group(2), rnd)}", h=_hood_text(hood, rnd))
            kind = "address"
        if rnd.random() < 0.2:
            text = text.lower()
        out.append((text, lat, lon, kind))
    return out


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[3]
    ap = argparse.ArgumentParser(description="Held-out location check on 2018 Open311 addresses.")
    ap.add_argument("--data", default=os.environ.get("CIVIC_SHARED_DATA") or str(root.parent / "shared" / "data"))
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--show-misses", type=int, default=0)
    args = ap.parse_args(argv)
    from civic_signal.classifiers.location.finder import LocationFinder
    t0 = time.perf_counter()
    finder = LocationFinder.default()
    load_s = time.perf_counter() - t0
    rows = heldout_rows(Path(args.data) / "boston_open311_2008_2018.jsonl.gz", n=args.n)
    report = {"load_seconds": round(load_s, 2)}
    for kind in ("address", "intersection", None):
        sub = [(t, la, lo) for t, la, lo, k in rows if kind is None or k == kind]
        report[kind or "all"] = score_locations(sub, finder).as_dict()
    texts = [t for t, *_ in rows] * 5
    t0 = time.process_time()  # CPU time of this process: less disturbed by other load on the machine
    for t in texts:
        finder.find(t)
    report["cpu_us_per_post"] = round((time.process_time() - t0) / len(texts) * 1e6, 1)
    print(json.dumps(report, indent=2))
    if args.show_misses:
        shown = 0
        for t, la, lo, _ in rows:
            loc = finder.find(t)
            d = distance_m(la, lo, loc.lat, loc.lon) if loc and loc.lat is not None else None
            if d is None or d > RADIUS_M:
                print(f"{'none' if d is None else f'{d:7.0f}m'}  {t!r}  -> {loc.address if loc else None} ({loc.kind if loc else ''})")
                shown += 1
                if shown >= args.show_misses:
                    break
    return 0


if __name__ == "__main__":
    sys.exit(main())
