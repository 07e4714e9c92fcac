"""What observability costs: the metrics recording per post, and the answer time of /readyz and
/metrics (issue 18). Numbers, not pass/fail: see docs/deploy.md and docs/benchmarks.md."""

from __future__ import annotations

import time
from typing import Any

from bench.measure import latency_ms, peak_rss_mb

CATEGORIES = ("REQPOTHL", "STRLGTOUT", "GENGRAFFITI", None)


def metrics_recording(n: int = 200_000, batch: int = 1000, repeat: int = 3) -> dict[str, Any]:
    """The recording calls the pipeline makes for ``n`` posts in batches of ``batch``: a source
    tally per post, the category tally of actionable ones (half), and the per-batch calls."""
    from collections import Counter

    from civic_signal.core import metrics

    tally = metrics.SourceTally("bench")

    def recorded() -> None:
        for _ in range(n // batch):
            codes: list[str | None] = []
            for i in range(batch):
                tally.add()
                if i % 2:
                    codes.append(CATEGORIES[i % 4])
            metrics.classified(batch, Counter(codes))
            metrics.model_version("bench-1")
            metrics.stage_seconds("classify", 0.1)
            metrics.stage_seconds("sink:archive", 0.1)
            metrics.stage_seconds("sink:incidents", 0.1)
            metrics.written(batch, 0.2)
        tally.flush()

    def baseline() -> None:  # the same loops as before metrics: only the actionable count
        for _ in range(n // batch):
            actionable = 0
            for i in range(batch):
                if i % 2:
                    actionable += 1

    def best(fn) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    with_metrics, without = best(recorded), best(baseline)
    return {"name": f"metrics recording, {batch}-post batches (the pipeline's calls, no pipeline)",
            "items_per_s": round(n / with_metrics, 1), "added_ns_per_post": round((with_metrics - without) / n * 1e9),
            "runs": repeat, "peak_rss_mb": peak_rss_mb()}


def ops_endpoints(n: int = 1000, check_s: float = 0.5) -> dict[str, Any]:
    """GET /readyz and /metrics ``n`` times each over one kept-alive connection, while a readiness
    check that takes ``check_s`` runs in the background."""
    import httpx

    from civic_signal.listener.ops_http import OpsServer
    from civic_signal.listener.readiness import Readiness

    readiness = Readiness({"slow": lambda: time.sleep(check_s)}, interval_s=0.01).start()
    server = OpsServer(readiness).start()
    try:
        with httpx.Client() as client:
            times: dict[str, list[float]] = {"readyz": [], "metrics": []}
            for path, samples in times.items():
                for _ in range(n):
                    started = time.perf_counter()
                    client.get(server.url + path)
                    samples.append(time.perf_counter() - started)
    finally:
        server.close()
        readiness.close()
    metrics_lat = latency_ms(times["metrics"])
    return {"name": f"GET /readyz (a {check_s:g} s check in the background), keep-alive", **latency_ms(times["readyz"]),
            "metrics_p50_ms": metrics_lat["p50_latency_ms"], "metrics_p99_ms": metrics_lat["p99_latency_ms"],
            "items_per_s": round(n / sum(times["readyz"]), 1), "peak_rss_mb": peak_rss_mb()}
