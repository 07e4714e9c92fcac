"""One function per benchmark. Each runs in a fresh process (see ``bench.__main__``) and returns a dict."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.generate import posts as gen_posts
from bench.measure import peak_rss_mb, percentile, throughput


def classifier_ours(n: int) -> dict[str, Any]:
    """Our classifier (spaCy pipeline if shipped, else keyword) on generated posts, one process."""
    from classifiers.base import load_classifier
    from config.settings import load_settings

    settings = load_settings()
    clf = load_classifier(settings)
    batch = gen_posts(n)
    clf.classify(batch[:500])  # warm-up
    res = throughput(lambda: clf.classify(batch), n)
    return {"name": f"classifier ({settings.classifier.kind}, {clf.version})", **res, "peak_rss_mb": round(peak_rss_mb(), 1)}


def classifier_keyword(n: int) -> dict[str, Any]:
    from classifiers.keyword import KeywordClassifier

    clf = KeywordClassifier()
    batch = gen_posts(n)
    res = throughput(lambda: clf.classify(batch), n)
    return {"name": "classifier (keyword rules)", **res, "peak_rss_mb": round(peak_rss_mb(), 1)}


def pipeline_inprocess(n: int) -> dict[str, Any]:
    """Replay file -> classify -> SQLite archive -> outbox, in one process; latency post -> ticket decision."""
    from config.settings import load_settings
    from listener.cli.run_cmd import build_pipeline
    from listener.sources.replay import ReplaySource

    with tempfile.TemporaryDirectory() as tmp:
        stream = Path(tmp) / "stream.jsonl"
        stream.write_bytes(b"".join(orjson.dumps(p.model_dump(mode="json")) + b"\n" for p in gen_posts(n)))
        os.environ["CIVIC_DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"
        settings = load_settings()
        source = ReplaySource(stream, speed=0)
        pipe, archive = build_pipeline(settings, [source])
        t0 = time.perf_counter()
        stats = pipe.run()
        elapsed = time.perf_counter() - t0
        lat = list(stats.latencies)
        rows = archive.summary()["posts"]
    return {"name": "in-process pipeline (replay -> classify -> SQLite -> outbox)",
            "items_per_s": round(n / elapsed, 1), "posts_archived": rows,
            "p50_latency_ms": round(1000 * (percentile(lat, 50) or 0), 1),
            "p99_latency_ms": round(1000 * (percentile(lat, 99) or 0), 1),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def archive_writes(n: int, url: str | None = None, label: str = "SQLite") -> dict[str, Any]:
    """Rows/s of ``Archive.write_classified`` (posts + classifications) in batches of 500."""
    from classifiers.keyword import KeywordClassifier
    from listener.models import ClassifiedPost
    from sinks.archive import Archive

    batch = gen_posts(n)
    cls = KeywordClassifier().classify(batch)
    items = [ClassifiedPost(post=p, classification=c) for p, c in zip(batch, cls)]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(url or f"sqlite:///{tmp}/w.db")
        t0 = time.perf_counter()
        for i in range(0, n, 500):
            archive.write_classified(items[i:i + 500])
        elapsed = time.perf_counter() - t0
        written = archive.summary()["posts"]
        archive.close()
    return {"name": f"archive writes ({label})", "items_per_s": round(n / elapsed, 1), "rows": written,
            "peak_rss_mb": round(peak_rss_mb(), 1)}
