"""``make bench``: run every benchmark in a fresh process, print a table, write ``var/bench.json``.

    .venv/bin/python -m bench [--quick] [--only KEY ...] [--out PATH]

Keys: see :func:`plan` (``--list`` prints them). Each benchmark runs in its own spawned process,
so its peak RSS is its own and nothing warms up for the next one. A benchmark that cannot run
(no Java for Kafka, no PostgreSQL) is a row with the reason, never a crash.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.measure import child

REPO = Path(__file__).resolve().parent.parent

#: (key, "module:function", kwargs for a full run, kwargs for --quick)
Plan = list[tuple[str, str, dict[str, Any], dict[str, Any]]]


def plan(refs_dir: str) -> Plan:
    return [
        ("train-refs", "references:train_references", {"out": refs_dir, "max_rows": 12_000, "max_train_s": 90},
         {"out": refs_dir, "max_rows": 1_500, "max_train_s": 15}),
        ("classifier", "references:bench_ours", {"n": 10_000}, {"n": 2_000, "repeat": 1}),
        ("routing", "routing:routing_cost", {"n": 5_000}, {"n": 500, "repeat": 1}),
        ("keyword", "references:bench_ours", {"n": 20_000, "kind": "keyword"}, {"n": 2_000, "kind": "keyword", "repeat": 1}),
        ("spacy-ref", "references:bench_spacy_ref", {"n": 10_000, "model_dir": refs_dir},
         {"n": 1_000, "model_dir": refs_dir, "repeat": 1}),
        ("sklearn-ref", "references:bench_sklearn_ref", {"n": 20_000, "model_dir": refs_dir},
         {"n": 2_000, "model_dir": refs_dir, "repeat": 1}),
        ("pipeline", "stages:pipeline_inprocess", {"n": 5_000, "repeat": 2}, {"n": 600, "repeat": 1}),
        ("pipeline-inproc", "stages:pipeline_inprocess", {"n": 5_000, "repeat": 2, "processes": 0},
         {"n": 600, "repeat": 1, "processes": 0}),
        ("pipeline-load", "stages:pipeline_inprocess", {"n": 5_000, "speed": 1000, "repeat": 1},
         {"n": 500, "speed": 1000, "repeat": 1}),
        ("pipeline-archive-only", "stages:pipeline_inprocess", {"n": 10_000, "repeat": 2, "incidents": False},
         {"n": 600, "repeat": 1, "incidents": False}),
        ("kafka", "kafka:kafka_pipeline", {"n": 5_000, "load_n": 5_000}, {"n": 300, "load_n": 300}),
        ("archive-sqlite", "stages:archive_writes", {"n": 20_000}, {"n": 1_000, "repeat": 1}),
        ("archive-pg", "stages:archive_writes_pg", {"n": 20_000}, {"n": 1_000, "repeat": 1}),
        ("metrics-recording", "ops:metrics_recording", {"n": 200_000}, {"n": 20_000, "repeat": 1}),
        ("ops-http", "ops:ops_endpoints", {"n": 1_000}, {"n": 100}),
        ("forecast", "forecast:alert_baseline", {"n_reports": 50_000, "days": 365, "windows": 500},
         {"n_reports": 5_000, "days": 60, "windows": 100, "repeat": 1}),
    ]


NEEDS = {"spacy-ref": "train-refs", "sklearn-ref": "train-refs"}


def run_isolated(target: str, kwargs: dict[str, Any], timeout_s: float) -> list[dict[str, Any]]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(target, kwargs, q))
    p.start()
    result: Any = None
    deadline = time.monotonic() + timeout_s
    while result is None and time.monotonic() < deadline:
        try:
            result = q.get(timeout=1)
        except Exception:
            if not p.is_alive():
                break
    p.join(30)
    if p.is_alive():
        p.kill()
    if result is None:
        why = f"timed out after {timeout_s:.0f}s" if p.exitcode is None else f"exit code {p.exitcode}"
        result = {"name": target, "error": why}
    return result if isinstance(result, list) else [result]


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}" if v < 100 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


SHOWN = {"key", "name", "items_per_s", "median_items_per_s", "p50_latency_ms", "p99_latency_ms", "peak_rss_mb",
         "wall_s", "error", "accuracy", "runs"}


def results_table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="Civic Signal benchmarks (posts/s: best, median of runs)")
    for col, just in (("benchmark", "left"), ("posts/s", "right"), ("median", "right"), ("p50 ms", "right"),
                      ("p99 ms", "right"), ("peak RSS MB", "right"), ("held-out acc.", "right"), ("notes", "left")):
        table.add_column(col, justify=just, overflow="fold")
    for r in results:
        notes = r.get("error") or ", ".join(f"{k}={_num(v) if not isinstance(v, dict) else v}"
                                            for k, v in r.items() if k not in SHOWN)
        acc = r.get("accuracy")
        table.add_row(r["name"], _num(r.get("items_per_s")), _num(r.get("median_items_per_s")),
                      _num(r.get("p50_latency_ms")), _num(r.get("p99_latency_ms")), _num(r.get("peak_rss_mb")),
                      f"{acc:.3f}" if isinstance(acc, float) else "-", notes)
    return table


def comparisons(by_key: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ours = by_key.get("classifier", {}).get("items_per_s")
    out = {}
    for ref in ("spacy-ref", "sklearn-ref", "keyword"):
        other = by_key.get(ref, {}).get("items_per_s")
        if ours and other:
            out[f"ours / {ref}"] = round(ours / other, 2)
    return out


def targets(by_key: dict[str, dict[str, Any]], ratios: dict[str, Any], all_rows: list[dict[str, Any]]) -> list[dict]:
    """The issue's targets, each with the measured value and whether it was met (None: not measured)."""
    def val(key: str, field: str = "items_per_s"):
        return by_key.get(key, {}).get(field)

    kafka = [r for r in all_rows if r.get("key") == "kafka" and "error" not in r]
    kafka_tp = max((r["items_per_s"] for r in kafka if "offered" not in r["name"]), default=None)
    kafka_p99 = next((r["p99_latency_ms"] for r in kafka if "offered" in r["name"]), None)
    rss = max((r[f] for r in all_rows for f in ("peak_rss_mb", "worker_peak_rss_mb") if r.get(f) and r.get("key") in
               {"classifier", "pipeline", "pipeline-inproc", "pipeline-load", "kafka"}), default=None)
    rows = [("classifier >= 10,000 posts/s, one process", val("classifier"), lambda v: v >= 10_000),
            ("classifier >= 2x the stock spaCy pipeline", ratios.get("ours / spacy-ref"), lambda v: v >= 2),
            ("in-process pipeline >= 5,000 posts/s", val("pipeline"), lambda v: v >= 5_000),
            ("Kafka path >= 6,000 posts/s", kafka_tp, lambda v: v >= 6_000),
            ("Kafka p99 < 1 s at 1,000 posts/s offered", kafka_p99, lambda v: v < 1000),
            ("< 500 MB RSS per process", rss, lambda v: v < 500)]
    return [{"target": t, "measured": v, "met": None if v is None else bool(ok(v))} for t, v, ok in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, numbers mean nothing")
    ap.add_argument("--only", nargs="*", default=None, help="run only these keys (and what they need)")
    ap.add_argument("--out", default=str(REPO / "var" / "bench.json"))
    ap.add_argument("--list", action="store_true", help="print the benchmark keys and exit")
    args = ap.parse_args()
    sys.path.insert(0, str(REPO))
    out = Path(args.out)
    refs_dir = str(out.parent / ("bench-refs-quick" if args.quick else "bench-refs"))
    steps = plan(refs_dir)
    if args.list:
        for key, target, full, _ in steps:
            print(f"{key:24} {target}  {full}")
        return
    wanted = set(args.only) if args.only else {k for k, *_ in steps}
    unknown = wanted - {k for k, *_ in steps}
    if unknown:
        ap.error(f"unknown benchmark key(s): {', '.join(sorted(unknown))} (see --list)")
    wanted |= {NEEDS[k] for k in wanted if k in NEEDS}
    console = Console(width=None if sys.stdout.isatty() else 200)
    results: list[dict[str, Any]] = []
    t_all = time.time()
    for key, target, full, quick in steps:
        if key not in wanted:
            continue
        console.print(f"[bold]bench[/bold] {key} ...", highlight=False)
        t0 = time.time()
        rows = run_isolated(target, quick if args.quick else full, timeout_s=900)
        for r in rows:
            r["key"] = key
            r["wall_s"] = round(time.time() - t0, 1)
            results.append(r)
            console.print(json.dumps(r, default=str)[:400], highlight=False, markup=False)
    by_key = {r["key"]: r for r in results if "error" not in r}
    ratios = comparisons(by_key)
    goals = targets(by_key, ratios, results)
    console.print(results_table(results))
    if ratios:
        console.print("ratios (classifier posts/s): " + ", ".join(f"{k} = {v}x" for k, v in ratios.items()))
    goal_table = Table(title="targets")
    for col in ("target", "measured", "met"):
        goal_table.add_column(col)
    for g in goals:
        goal_table.add_row(g["target"], _num(g["measured"]), {True: "yes", False: "NO", None: "not measured"}[g["met"]])
    console.print(goal_table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "load_average_at_end": os.getloadavg()},
        "quick": args.quick, "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "total_wall_s": round(time.time() - t_all, 1),
        "results": results, "ratios": ratios, "targets": goals}, indent=2, default=str))
    console.print(f"wrote {out} in {time.time() - t_all:.0f}s", highlight=False)


if __name__ == "__main__":
    main()
