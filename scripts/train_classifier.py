"""Rebuild the shipped classifier model (civic_signal/classifiers/model/) from civic_signal/classifiers/data/, deterministically.

Usage: python scripts/train_classifier.py [--out civic_signal/classifiers/model] [--no-eval]
Trains twice (once without a fifth of the real reports, to fit the calibration temperature on
them; then on every row, keeping that temperature). Also rewrites
civic_signal/classifiers/data/handwritten_eval.jsonl (from examples.json) and records the
figures on the shipped held-out files in the model's meta.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic_signal.classifiers.training.examples import write_eval  # noqa: E402
from civic_signal.classifiers.training.train import DATA_DIR, MODEL_DIR, load_rows, train_calibrated  # noqa: E402
from civic_signal.listener.model_training import heldout_figures  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(MODEL_DIR))
    ap.add_argument("--no-eval", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    n_eval = write_eval(DATA_DIR / "handwritten_eval.jsonl")
    t0 = time.perf_counter()
    rows = load_rows(DATA_DIR)
    model = train_calibrated(rows)
    model.save(out)
    print(f"trained on {len(rows)} rows, {model.meta['features']} features, temperature "
          f"{model.meta['temperature']}, in {time.perf_counter() - t0:.0f} s -> {out}")
    if not args.no_eval:
        figures = heldout_figures(out, DATA_DIR)   # the scorer `model train` and `model promote` use
        model.meta["heldout"] = figures
        model.save(out)
        print(json.dumps(figures, indent=2))
    print(f"hand-written eval set: {n_eval} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
