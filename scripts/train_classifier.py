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


def evaluate(model_dir: Path, path: Path) -> dict:
    from civic_signal.classifiers.evaluate import score
    from civic_signal.classifiers.pipeline import SpacyClassifier
    from civic_signal.listener.cli.classify_cmd import classify_lines
    clf = SpacyClassifier.load(model_dir)
    lines = path.read_text().splitlines()
    gold = [json.loads(ln) for ln in lines]
    stripped = [json.dumps({k: v for k, v in g.items() if k not in ("lat", "lon")}) for g in gold]
    rep = score(gold, list(classify_lines(clf, stripped)))
    out = {"macro_f1": rep.macro_f1, "macro_accuracy": rep.macro_accuracy,
           "actionable_accuracy": rep.actionable_accuracy, "location_hit_rate_300m": rep.location_hit_rate,
           "n": rep.n}
    if rep.chatter_flagged is not None:
        out.update(chatter_flagged=rep.chatter_flagged, reports_kept=rep.reports_kept, type_accuracy=rep.type_accuracy)
    return out


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
        figures = {"heldout_2018": evaluate(out, DATA_DIR / "heldout_2018.jsonl"),
                   "handwritten_eval": evaluate(out, DATA_DIR / "handwritten_eval.jsonl"),
                   "written_heldout": evaluate(out, DATA_DIR / "written_heldout.jsonl")}
        model.meta["heldout"] = figures
        model.save(out)
        print(json.dumps(figures, indent=2))
    print(f"hand-written eval set: {n_eval} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
