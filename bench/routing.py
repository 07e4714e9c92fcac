"""Location CPU per post: Boston's finder alone against the jurisdiction router over the active packs.

Both read the same texts (the first ``n`` report texts of ``civic_signal/classifiers/data/reports.jsonl.gz``,
real resident wording), once to warm up; then the texts are cut into chunks of 250, and each chunk is read
``repeat`` times by each, alternating; a chunk's figure is the least CPU time (``time.process_time``) of its
runs (the run least disturbed by other processes on a busy machine), and the result is the sum over the chunks
divided by ``n``, in microseconds a post. Run alone with
``python -m bench.routing`` (prints the dict) or through ``make bench`` (key ``routing``).
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REPORTS = REPO / "civic_signal" / "classifiers" / "data" / "reports.jsonl.gz"


def texts(n: int) -> list[str]:
    out: list[str] = []
    with gzip.open(REPORTS, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["text"])
            if len(out) >= n:
                break
    return out


def _cpu_us(fn, items: list[str]) -> float:
    t0 = time.process_time()
    for t in items:
        fn(t)
    return (time.process_time() - t0) / len(items) * 1e6


def routing_cost(n: int = 5_000, repeat: int = 7) -> dict[str, Any]:
    from bench.measure import peak_rss_mb
    from civic_signal.classifiers.location.finder import LocationFinder
    from civic_signal.classifiers.location.router import JurisdictionRouter
    from civic_signal.config.jurisdictions import active_packs
    from civic_signal.config.settings import load_settings

    settings = load_settings()
    router = JurisdictionRouter.from_packs(active_packs(settings), settings.routing.default)
    finder = LocationFinder.default()
    items = texts(n)
    _cpu_us(finder.find, items)
    _cpu_us(router.find, items)
    a = r = 0.0
    for k in range(0, len(items), 250):
        chunk = items[k:k + 250]
        alone, routed = [], []
        for _ in range(repeat):
            alone.append(_cpu_us(finder.find, chunk))
            routed.append(_cpu_us(router.find, chunk))
        a += min(alone) * len(chunk) / len(items)
        r += min(routed) * len(chunk) / len(items)
    return {"name": "routing", "posts": len(items), "packs": [c.id for c in router.cities],
            "boston_finder_us_per_post": round(a, 1), "router_us_per_post": round(r, 1),
            "router_over_finder": round(r / a, 3), "items_per_s": round(1e6 / r, 1), "peak_rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    print(json.dumps(routing_cost(), indent=2))
