"""The Kafka path on a real broker: listen -> classify (1 or 2 processes) -> sink, each role its
own process, exactly the functions ``civic-signal listen`` / ``work classify`` / ``work sink`` run
(:mod:`civic_signal.listener.cli.kafka_roles`), with timing probes around them (:mod:`bench.probes`).

Per scenario: fresh topics and groups, a fresh SQLite archive; the sink and classify workers
start and join their groups first, then the listener replays ``n`` generated posts (as fast as
it can, or at a fixed ``speed``). Measured:

- end to end posts/s: ``n`` / (last ticket decision - first publish);
- each stage's own rate (listen: publish + flush; classify: first to last batch, all workers);
- p50/p99 latency from publish to ``raw`` to the sink's ticket decision (wall clock, one machine);
- peak RSS of every role process.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.measure import latency_ms, peak_rss_mb

ROLE_TIMEOUT_S = 90
STALL_S = 60.0


def _bridge(evt) -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=lambda: (evt.wait(), stop.set()), daemon=True).start()
    return stop


def _settings(overrides: dict[str, Any]):
    from civic_signal.config.settings import load_settings
    return load_settings(**overrides)


def classify_role(overrides: dict[str, Any], stop_evt, out) -> None:
    from bench.probes import TimedClassifier
    from civic_signal.classifiers.base import load_classifier
    from civic_signal.listener.cli.kafka_roles import run_classify

    settings = _settings(overrides)
    clf = TimedClassifier(load_classifier(settings))
    run_classify(settings, _bridge(stop_evt), classifier=clf)
    out.put({"role": "classify", "count": clf.count, "first": clf.first, "last": clf.last, "busy_s": clf.busy_s,
             "cpu_s": clf.cpu_last - clf.cpu_first, "rss": peak_rss_mb()})


def sink_role(overrides: dict[str, Any], expect: int, incidents: bool, stop_evt, done_evt, progress, out) -> None:
    from bench.probes import StampSink
    from civic_signal.listener.cli.kafka_roles import run_sink
    from civic_signal.listener.cli.run_cmd import build_sinks
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.archive_sink import ArchiveSink

    settings = _settings(overrides)
    archive = Archive.from_settings(settings)
    stamp = StampSink(expect)

    def report() -> None:
        while not stamp.done.wait(0.5):
            progress.value = len(stamp.decided)
        progress.value = len(stamp.decided)
        done_evt.set()
    threading.Thread(target=report, daemon=True).start()
    sinks = [*(build_sinks(settings, archive) if incidents else [ArchiveSink(archive)]), stamp]
    run_sink(settings, _bridge(stop_evt), sinks=sinks, archive=archive)
    out.put({"role": "sink", "decided": stamp.decided, "rss": peak_rss_mb(),
             "cpu_s": (stamp.cpu_last or 0.0) - (stamp.cpu_first or 0.0)})


def listen_role(overrides: dict[str, Any], path: str, speed: float, out) -> None:
    from bench.probes import StampBus
    from civic_signal.listener.bus.kafka import KafkaBus
    from civic_signal.listener.cli.kafka_roles import run_listen
    from civic_signal.listener.sources.replay import ReplaySource

    settings = _settings(overrides)
    bus = StampBus(KafkaBus(settings.kafka))
    t0, cpu0 = time.time(), time.process_time()
    run_listen(settings, [ReplaySource(path, speed=speed)], threading.Event(), bus=bus)
    t1 = time.time()
    bus.close()
    out.put({"role": "listen", "published": bus.published, "t0": t0, "t1": t1, "rss": peak_rss_mb(),
             "cpu_s": time.process_time() - cpu0})


def _overrides(bootstrap: str, slug: str, tmp: str, kind: str) -> dict[str, Any]:
    kafka = {"bootstrap_servers": [bootstrap], "topic_raw": f"bench.{slug}.raw",
             "topic_classified": f"bench.{slug}.classified", "topic_dead_letter": f"bench.{slug}.dead-letter",
             "topic_tickets": f"bench.{slug}.tickets", "group_prefix": f"bench.{slug}", "partitions": 6,
             "session_timeout_ms": 6000, "heartbeat_interval_ms": 2000}
    return {"kafka": kafka, "bus": {"kind": "kafka"}, "classifier": {"kind": kind},
            "database_url": f"sqlite:///{tmp}/{slug}.db"}


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def _scenario(bootstrap: str, tmp: str, stream: Path, n: int, *, workers: int, speed: float, kind: str,
              incidents: bool, slug: str) -> dict[str, Any]:
    from civic_signal.config.errors import BusError
    from civic_signal.listener.bus.kafka import KafkaBus

    ctx = mp.get_context("spawn")
    overrides = _overrides(bootstrap, slug, tmp, kind)
    admin = KafkaBus(_settings(overrides).kafka)  # creates the topics
    out, stop, done, progress = ctx.Queue(), ctx.Event(), ctx.Event(), ctx.Value("i", 0)
    procs = [ctx.Process(target=sink_role, args=(overrides, n, incidents, stop, done, progress, out), name="sink")]
    procs += [ctx.Process(target=classify_role, args=(overrides, stop, out), name=f"classify-{i}")
              for i in range(workers)]
    results: list[dict[str, Any]] = []
    try:
        for p in procs:
            p.start()

        def joined(group: str, members: int):
            def ready() -> bool:
                try:
                    return admin.group_members(group) == ("Stable", members)
                except BusError:
                    return False
            return ready
        _wait(joined("classify", workers), ROLE_TIMEOUT_S, f"{workers} classify worker(s) in their group")
        _wait(joined("sink", 1), ROLE_TIMEOUT_S, "the sink worker in its group")
        listen = ctx.Process(target=listen_role, args=(overrides, str(stream), speed, out), name="listen")
        listen.start()
        procs.append(listen)
        seen, last_change = -1, time.monotonic()
        while not done.wait(1.0):  # give up when the sink makes no progress for STALL_S
            if progress.value != seen:
                seen, last_change = progress.value, time.monotonic()
            elif time.monotonic() - last_change > STALL_S:
                raise TimeoutError(f"the sink decided {seen} of {n} posts, then nothing for {STALL_S:.0f}s "
                                   "(see the role processes' log lines above)")
    finally:
        stop.set()
        deadline = time.monotonic() + 60
        while len(results) < len(procs) and time.monotonic() < deadline:
            try:
                results.append(out.get(timeout=1))
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and out.empty():
                    break
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
        admin.close()
    by = {r["role"]: r for r in results if r["role"] != "classify"}
    cls = [r for r in results if r["role"] == "classify"]
    from bench.probes import latencies
    published, decided = by["listen"]["published"], by["sink"]["decided"]
    lat = latencies(published, decided)
    e2e = len(lat) / (max(decided.values()) - min(published.values()))
    cls_rate = sum(r["count"] for r in cls) / (max(r["last"] for r in cls) - min(r["first"] for r in cls))
    load = f"{speed:g} posts/s offered" if speed else "--speed max"
    return {"name": f"Kafka: listen -> {workers} classify -> sink, {load} ({kind})",
            "items_per_s": round(e2e, 1), **latency_ms(lat), "posts": n, "decided": len(decided),
            "listen_per_s": round(n / (by["listen"]["t1"] - by["listen"]["t0"]), 1),
            "classify_per_s": round(cls_rate, 1),
            "classify_busy_share": round(sum(r["busy_s"] for r in cls) / max(1e-9, sum(r["last"] - r["first"] for r in cls)), 2),
            # CPU each role spent per post, all its threads (kafka-python's included), between its
            # first and last batch: what the path costs, whatever else shares the machine
            "cpu_us_per_post": {"listen": round(by["listen"]["cpu_s"] / n * 1e6),
                                "classify": round(sum(r["cpu_s"] for r in cls) / n * 1e6),
                                "sink": round(by["sink"]["cpu_s"] / n * 1e6)},
            "peak_rss_mb": max(r["rss"] for r in results),
            "rss_by_role_mb": {**{role: r["rss"] for role, r in by.items()},
                               **{f"classify-{i}": r["rss"] for i, r in enumerate(cls)}}}


def kafka_pipeline(n: int, load_n: int, load_speed: float = 1000.0, kind: str | None = None,
                   workers: tuple[int, ...] = (1, 2), incidents: bool = True) -> list[dict[str, Any]]:
    """Throughput with each number of classify ``workers`` (``n`` posts at full speed), then
    latency at ``load_speed`` posts/s offered (``load_n`` posts, one classify worker)."""
    from bench.services import Unavailable, kafka_broker
    from bench.stages import _stream_file, our_kind

    kind = kind or our_kind()
    rows: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp, kafka_broker() as bootstrap:
            plans = [(f"w{w}", n, w, 0.0) for w in workers] + [("load", load_n, 1, load_speed)]
            for slug, count, w, speed in plans:
                stream = _stream_file(tmp, count, name=f"{slug}.jsonl")
                try:
                    rows.append(_scenario(bootstrap, tmp, stream, count, workers=w, speed=speed, kind=kind,
                                          incidents=incidents, slug=f"{slug}-{int(time.time())}"))
                except Exception as exc:  # one scenario failing leaves the others
                    load = f"{speed:g} posts/s offered" if speed else "--speed max"
                    rows.append({"name": f"Kafka: listen -> {w} classify -> sink, {load} ({kind})",
                                 "error": f"{exc.__class__.__name__}: {exc}"[:400]})
    except Unavailable as exc:
        return [{"name": "Kafka path (listen -> classify -> sink)", "error": f"not measured: {exc}"}]
    return rows
