"""``make bench``: run every benchmark in a fresh process, print a table, write ``var/bench.json``.

    .venv/bin/python -m bench [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import child

REPO = Path(__file__).resolve().parent.parent


def run_isolated(name: str, **kwargs: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(name, kwargs, q))
    p.start()
    p.join()
    return q.get() if not q.empty() else {"name": name, "error": f"exit code {p.exitcode}"}


def plan(quick: bool) -> list[tuple[str, dict[str, Any]]]:
    n = 5_000 if quick else 50_000
    return [
        ("classifier_ours", {"n": n}),
        ("classifier_keyword", {"n": n}),
        ("pipeline_inprocess", {"n": n // 2 if quick else 20_000}),
        ("archive_writes", {"n": n // 2 if quick else 20_000}),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    results = []
    for name, kwargs in plan(args.quick):
        if args.only and name not in args.only:
            continue
        t0 = time.time()
        res = run_isolated(name, **kwargs)
        res["wall_s"] = round(time.time() - t0, 1)
        results.append(res)
        print(json.dumps(res), flush=True)
    table = Table(title="Civic Signal benchmarks")
    for col in ("benchmark", "items/s", "p50 ms", "p99 ms", "peak RSS MB", "notes"):
        table.add_column(col)
    for r in results:
        notes = r.get("error") or ", ".join(f"{k}={v}" for k, v in r.items()
                                           if k not in {"name", "items_per_s", "p50_latency_ms", "p99_latency_ms",
                                                        "peak_rss_mb", "wall_s", "error"})
        table.add_row(r["name"], f"{r.get('items_per_s', '-')}", f"{r.get('p50_latency_ms', '-')}",
                      f"{r.get('p99_latency_ms', '-')}", f"{r.get('peak_rss_mb', '-')}", notes)
    Console().print(table)
    out = REPO / "var" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": {"python": platform.python_version(), "cpus": mp.cpu_count(),
                                           "platform": platform.platform()},
                               "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "results": results}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
