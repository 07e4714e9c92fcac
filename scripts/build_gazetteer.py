"""Rebuild ``classifiers/data/gazetteer/gazetteer.json.gz`` from the shared data.

Usage: ``python scripts/build_gazetteer.py [--data DIR] [--out FILE] [--max-year 2017]``
(``make gazetteer`` runs it). ``DIR`` defaults to ``$CIVIC_SHARED_DATA`` or ``../shared/data``
relative to the repository root. Deterministic: the same data gives the same bytes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic_signal.classifiers.location.build import build, write  # noqa: E402
from civic_signal.classifiers.location.gazetteer import DEFAULT_PATH  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("CIVIC_SHARED_DATA") or str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(DEFAULT_PATH))
    ap.add_argument("--max-year", type=int, default=2017)
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "boston_open311_2008_2018.jsonl.gz").exists():
        print(f"error: no Open311 records under {data}; pass --data or set CIVIC_SHARED_DATA", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    gaz, stats = build(data, max_year=args.max_year)
    size = write(gaz, Path(args.out))
    stats["bytes"] = size
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    for k in sorted(stats):
        print(f"{k}: {stats[k]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
