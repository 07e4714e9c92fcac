"""Rebuild civic_signal/classifiers/data/open311_train.jsonl.gz and heldout_2018.jsonl from the shared dump.

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
    dump = Path(args.data) / "boston_open311_2008_2018.jsonl.gz"
    if not dump.exists():
        print(f"{dump} not found: the shipped data in {args.out} stays as it is", file=sys.stderr)
        return 1
    counts = build(dump, Path(args.out))
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
