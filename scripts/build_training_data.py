"""Rebuild civic_signal/classifiers/data/reports.jsonl.gz (the labelled real reports of several cities,
scrubbed) and open311_train.jsonl.gz / heldout_2018.jsonl (from the Boston Open311 dump) from the
shared data, deterministically.

Usage: python scripts/build_training_data.py [--data ../shared/data] [--out civic_signal/classifiers/data]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from civic_signal.classifiers.training.open311_data import build  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data", help="folder holding boston_open311_2008_2018.jsonl.gz")
    ap.add_argument("--out", default="civic_signal/classifiers/data")
    args = ap.parse_args()
    from civic_signal.classifiers.training import sources
    dump = Path(args.data) / "boston_open311_2008_2018.jsonl.gz"
    if not dump.exists():
        print(f"{dump} not found: the shipped data in {args.out} stays as it is", file=sys.stderr)
        return 1
    counts = build(dump, Path(args.out))
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    counts = sources.build(Path(args.data), Path(args.out))
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
