"""Rebuild civic_signal/config/data/forecast_prior_boston.json from the shared Open311 dump.

The dump is read once and reduced to hourly counts per (type, neighbourhood), cached in
var/forecast/open311_hourly.csv.gz (gitignored); the prior is fitted on 2013-2018 (earlier years
hold too few requests) and keeps only fitted factors: no record, text, address or point.

Usage: python scripts/build_forecast_prior.py [--data ../shared/data] [--out PATH] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from civic_signal.sinks.forecast.fit import fit  # noqa: E402
from civic_signal.sinks.forecast.history import load_or_aggregate  # noqa: E402
from civic_signal.sinks.forecast.model import PRIOR_PATH, params_to_json  # noqa: E402

FIRST_YEAR, END_YEAR = 2013, 2019


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data", help="folder holding boston_open311_2008_2018.jsonl.gz")
    ap.add_argument("--out", default=str(PRIOR_PATH))
    ap.add_argument("--cache", default="var/forecast")
    args = ap.parse_args()
    dump = Path(args.data) / "boston_open311_2008_2018.jsonl.gz"
    if not dump.exists():
        print(f"{dump} not found: the shipped prior stays as it is", file=sys.stderr)
        return 1
    rows = load_or_aggregate(dump, Path(args.cache) / "open311_hourly.csv.gz")
    params = fit(rows, FIRST_YEAR, END_YEAR)
    meta = {"source": "Boston Open311 service requests (boston_open311_2008_2018.jsonl.gz), "
                      "City of Boston open data (Analyze Boston), ODC-PDDL",
            "years": [FIRST_YEAR, END_YEAR - 1], "level_year": END_YEAR - 1, "timezone": "America/New_York",
            "built_by": "scripts/build_forecast_prior.py (make forecast-prior)",
            "model": "civic_signal.sinks.forecast.fit: NB2 GLM year+month+weekday on daily counts"}
    Path(args.out).write_bytes(params_to_json(params, meta))
    print(f"{len(params) - 1} types -> {args.out} ({Path(args.out).stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
