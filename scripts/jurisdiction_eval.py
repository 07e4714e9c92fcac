"""Measure routing: the share of right jurisdictions on written posts, and Boston's location figures with
the Boston finder alone (before packs) and through the router (after).

Usage: ``python scripts/jurisdiction_eval.py [--data DIR] [--sets FILE...]``. A set is JSON lines with
``text``, ``jurisdiction`` (pack id or null) and optional ``lat``/``lon``. The Boston figures are those of
:mod:`civic_signal.classifiers.location.realtext` (2018 Open311 descriptions, test half July-December, never
used to build the gazetteer) and :mod:`civic_signal.classifiers.location.evaluate` (held-out 2018 records as
post-like sentences); "after" counts an answer only when the router also chose Boston.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic_signal.classifiers.location.router import JurisdictionRouter  # noqa: E402
from civic_signal.core.models import Coordinates  # noqa: E402


def score_set(router: JurisdictionRouter, path: Path) -> dict:
    right, n, per, tot, wrong = 0, 0, Counter(), Counter(), []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        o = json.loads(line)
        c = Coordinates(lat=o["lat"], lon=o["lon"]) if "lat" in o else None
        got = router.find(o["text"], c).jurisdiction
        key = str(o["jurisdiction"])
        n += 1
        tot[key] += 1
        if got == o["jurisdiction"]:
            right += 1
            per[key] += 1
        else:
            wrong.append((o["text"], o["jurisdiction"], got))
    return {"set": path.name, "n": n, "right": right, "share": round(right / n, 4) if n else None,
            "per_city": {k: f"{per[k]}/{tot[k]}" for k in sorted(tot)}, "wrong": wrong}


class _BostonThroughRouter:
    """A finder-like view of the router: the location only when the router chose Boston."""

    def __init__(self, router: JurisdictionRouter) -> None:
        self.router = router

    def find(self, text: str, coordinates=None):
        r = self.router.find(text, coordinates)
        return r.location if r.jurisdiction == "boston" else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("CIVIC_SHARED_DATA") or str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--sets", nargs="*", default=[str(p) for p in sorted(
        (ROOT / "tests" / "classifiers" / "location" / "data").glob("jurisdiction_*.jsonl"))])
    ap.add_argument("--no-boston", action="store_true", help="skip Boston's location figures (slow)")
    args = ap.parse_args(argv)
    router = JurisdictionRouter.default()
    out = {"sets": [score_set(router, Path(p)) for p in args.sets]}
    if not args.no_boston:
        from civic_signal.classifiers.location.evaluate import heldout_rows, score_locations
        from civic_signal.classifiers.location.finder import LocationFinder
        from civic_signal.classifiers.location.realtext import real_rows, score_real
        rows = list(real_rows(args.data, "2018-07-01", "2019-01-01"))
        before, after = LocationFinder.default(), _BostonThroughRouter(router)
        out["boston_realtext_test"] = {"before": score_real(rows, before), "after": score_real(rows, after)}
        syn = heldout_rows(Path(args.data) / "boston_open311_2008_2018.jsonl.gz")
        syn3 = [(t, la, lo) for t, la, lo, _ in syn]
        out["boston_heldout_sentences"] = {"before": score_locations(syn3, before).as_dict(),
                                           "after": score_locations(syn3, after).as_dict()}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
