"""Score the forecast on held-out years of Boston's Open311 history (docs/forecast.md).

Usage: python scripts/evaluate_forecast.py [--data ../shared/data] [--cache var/forecast] [--years 2016 2017 2018]
Reads the hourly aggregate cached by scripts/build_forecast_prior.py (computed once if missing) and
prints a Markdown table; also writes it to CACHE/evaluation.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from civic_signal.sinks.forecast.evaluate import evaluate, exceedance_markdown, exceedances, markdown  # noqa: E402
from civic_signal.sinks.forecast.history import load_or_aggregate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--cache", default="var/forecast")
    ap.add_argument("--years", type=int, nargs="+", default=[2016, 2017, 2018])
    ap.add_argument("--first-year", type=int, default=2013)
    ap.add_argument("--recent-days", type=int, default=0, help="recalibrate the level on the last N training days")
    ap.add_argument("--alerts-only", action="store_true", help="only the alert-rule replay on the last year")
    args = ap.parse_args()
    dump = Path(args.data) / "boston_open311_2008_2018.jsonl.gz"
    cache = Path(args.cache) / "open311_hourly.csv.gz"
    if not dump.exists() and not cache.exists():
        print(f"{dump} not found", file=sys.stderr)
        return 1
    rows = load_or_aggregate(dump, cache) if dump.exists() else __import__(
        "civic_signal.sinks.forecast.history", fromlist=["read_counts"]).read_counts(cache)
    keys = ["PRKGENFORC", "BOS311GEN", "UNSHVSDWLK", "ABNDVHCL", "MTRECYDBI", "ILGLDUMP", "RODENTACT", "REQPOTHL"]
    alerts = exceedance_markdown(exceedances(rows, args.years[-1], keys, args.first_year))
    table = "" if args.alerts_only else markdown(evaluate(rows, args.years, args.first_year, recent_days=args.recent_days))
    table += "\n" + alerts
    suffix = f"_recent{args.recent_days}" if args.recent_days else ""
    (Path(args.cache) / f"evaluation{suffix}.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
