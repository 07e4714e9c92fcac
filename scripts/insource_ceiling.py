"""In-source ceiling of the type head (docs/classifier.md, "In-source ceiling").

Usage: python scripts/insource_ceiling.py OUT.json SOURCE[,SOURCE...]
For each source: every 5th of its labelled reports (CRC-32 of the text, residue 1; the calibration
split uses residue 0) is held out, a model is trained on every other row (the source's other four
fifths included) and measured as `civic-signal eval --cross-source` measures a fold. Slow: one
training per source.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from civic_signal.classifiers.training import crosseval  # noqa: E402
from civic_signal.classifiers.training.train import load_rows  # noqa: E402


def main() -> int:
    out, sources = Path(sys.argv[1]), sys.argv[2].split(",")
    rows = load_rows()
    res = []
    for src in sources:
        def held(r: dict) -> bool:
            return r.get("source") == src and "label" in r and zlib.crc32(r["text"].encode()) % 5 == 1
        test = [r for r in rows if held(r)]
        r = crosseval.run_fold("in-source " + src, [r for r in rows if not held(r)], test)
        print(src, r["macro_accuracy"], r["n_typed"], flush=True)
        res.append(r)
    out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
