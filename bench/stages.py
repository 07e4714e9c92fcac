"""One function per benchmark. Each runs in a fresh process (see ``bench.__main__``) and returns a dict.

Keys every result may carry: ``name``, ``items_per_s`` (best run), ``median_items_per_s``,
``p50_latency_ms`` / ``p99_latency_ms``, ``peak_rss_mb`` (this process), ``error`` (why it could
not run), and benchmark-specific notes.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from bench.generate import posts as gen_posts
from bench.measure import best_and_median, latency_ms, peak_child_rss_mb, peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
STALL_S = 60.0


def our_kind() -> str:
    """``spacy`` once the spaCy classifier and its model are shipped, else ``keyword``."""
    shipped = importlib.util.find_spec("civic_signal.classifiers.pipeline") is not None and (REPO / "civic_signal" / "classifiers" / "model").is_dir()
    return "spacy" if shipped else "keyword"


def load_ours(kind: str | None = None):
    from civic_signal.classifiers.base import load_classifier
    from civic_signal.config.settings import load_settings

    kind = kind or our_kind()
    return load_classifier(load_settings(classifier={"kind": kind})), kind


def _stream_file(tmp: str, n: int, seed: int = 2026, name: str = "stream.jsonl") -> Path:
    """``n`` generated posts as a JSONL stream file the replay source reads."""
    stream = Path(tmp) / name
    stream.write_bytes(b"".join(orjson.dumps(p.model_dump(mode="json")) + b"\n" for p in gen_posts(n, seed)))
    return stream


def _one_pipeline_run(tmp: str, stream: Path, n: int, run: int, speed: float, kind: str,
                      incidents: bool, processes: int | None) -> dict[str, Any]:
    from bench.probes import StampBus, StampSink, latencies
    from civic_signal.config.settings import load_settings
    from civic_signal.listener.bus.memory import MemoryBus
    from civic_signal.listener.cli.run_cmd import build_sinks, pipeline_classifier
    from civic_signal.listener.pipeline import Pipeline
    from civic_signal.listener.sources.replay import ReplaySource
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.archive_sink import ArchiveSink

    cls_settings: dict[str, Any] = {"kind": kind}
    if processes is not None:
        cls_settings["processes"] = processes
    settings = load_settings(database_url=f"sqlite:///{tmp}/bench-{run}.db", classifier=cls_settings)
    archive = Archive.from_settings(settings)
    classifier = pipeline_classifier(settings)  # the shipped default: classifier.processes workers
    stamp = StampSink()
    sinks = build_sinks(settings, archive) if incidents else [ArchiveSink(archive)]
    bus = StampBus(MemoryBus(max_queue=settings.bus.max_queue))
    pipe = Pipeline([ReplaySource(stream, speed=speed)], bus, classifier, [*sinks, stamp],
                    dead_letter_writer=archive.write_dead_letters, batch_size=settings.bus.batch_size,
                    classify_workers=max(1, settings.classifier.processes), close_classifier=True)
    stalled: list[str] = []

    def watchdog() -> None:  # a sink that keeps failing would retry forever: give up after STALL_S
        seen, since = -1, time.monotonic()
        while not finished.wait(1.0):
            if len(stamp.decided) != seen:
                seen, since = len(stamp.decided), time.monotonic()
            elif time.monotonic() - since > STALL_S:
                stalled.append(f"the sinks decided {seen} of {n} posts, then nothing for {STALL_S:.0f}s "
                               f"(last error: {pipe.stats.last_error})")
                pipe.stop(hard=True)
                return
    finished = threading.Event()
    threading.Thread(target=watchdog, daemon=True).start()
    t0 = time.perf_counter()
    stats = pipe.run()
    elapsed = time.perf_counter() - t0
    finished.set()
    if stalled:
        archive.close()
        raise RuntimeError(stalled[0])
    out = {"elapsed_s": elapsed, "posts": stats.posts_in, "archived": archive.summary()["posts"],
           "lat": latencies(bus.published, stamp.decided)}
    archive.close()
    return out


def pipeline_inprocess(n: int, speed: float = 0.0, repeat: int = 2, kind: str | None = None,
                       incidents: bool = True, processes: int | None = None) -> dict[str, Any]:
    """Replay file -> classify -> SQLite archive -> incidents/outbox: the embedded pipeline (threads
    over the memory bus; the classifier in ``classifier.processes`` worker processes, the shipped
    default unless ``processes`` is given), each run on a fresh database. Latency: publish to
    ``raw`` -> every sink done with the post's batch (the ticket decision is the incident sink's)."""
    kind = kind or our_kind()
    with tempfile.TemporaryDirectory() as tmp:
        stream = _stream_file(tmp, n)
        runs = [_one_pipeline_run(tmp, stream, n, r, speed, kind, incidents, processes) for r in range(repeat)]
    lat = [x for r in runs for x in r["lat"]]
    load = f"{speed:g} posts/s offered" if speed else "--speed max"
    sinks = "SQLite archive + incidents/outbox" if incidents else "SQLite archive only"
    where = "" if processes is None else (", classify in-process" if processes == 0 else f", {processes} classify processes")
    return {"name": f"embedded pipeline, {load} ({sinks}, {kind}{where})",
            **best_and_median([r["posts"] / r["elapsed_s"] for r in runs]), **latency_ms(lat),
            "posts": n, "archived": min(r["archived"] for r in runs), "peak_rss_mb": peak_rss_mb(),
            "worker_peak_rss_mb": peak_child_rss_mb()}


def archive_writes(n: int, url: str | None = None, label: str = "SQLite", repeat: int = 2) -> dict[str, Any]:
    """Rows/s of ``Archive.write_classified`` (a post row and a classification row per item) in
    batches of 256, each run into an empty database. ``url``: PostgreSQL server to use (a fresh
    database is created in it); ``"auto"`` starts a throwaway cluster (:mod:`bench.services`)."""
    from civic_signal.classifiers.keyword import KeywordClassifier
    from civic_signal.core.models import ClassifiedPost
    from civic_signal.sinks.archive import Archive

    batch = gen_posts(n)
    items = [ClassifiedPost(post=p, classification=c) for p, c in zip(batch, KeywordClassifier().classify(batch))]
    rates, written = [], 0
    with tempfile.TemporaryDirectory() as tmp, _database(url, tmp) as make_url:
        for r in range(repeat):
            archive = Archive(make_url(r))
            t0 = time.perf_counter()
            for i in range(0, n, 256):
                archive.write_classified(items[i:i + 256])
            rates.append(n / (time.perf_counter() - t0))
            written = archive.summary()["posts"]
            archive.close()
    return {"name": f"archive writes ({label}, batches of 256)", **best_and_median(rates), "rows": written,
            "peak_rss_mb": peak_rss_mb()}


class _database:
    """Context: a function run -> a fresh database URL (SQLite file, or a new PostgreSQL database)."""

    def __init__(self, url: str | None, tmp: str) -> None:
        self.url, self.tmp, self.server, self.created = url, tmp, None, []

    def __enter__(self):
        if self.url is None:
            return lambda r: f"sqlite:///{self.tmp}/w{r}.db"
        from bench.services import postgres_server
        self.server = postgres_server(self.url)
        base = self.server.__enter__()
        return self._pg_database(base)

    def _pg_database(self, base: str):
        import uuid

        import sqlalchemy as sa

        def make(_r: int) -> str:
            name = "civic_bench_" + uuid.uuid4().hex[:10]
            admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(sa.text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.created.append((base, name))
            return sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
        return make

    def __exit__(self, *exc) -> None:
        if self.server is None:
            return
        import sqlalchemy as sa
        for base, name in self.created:
            admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        self.server.__exit__(*exc)


def archive_writes_pg(n: int, repeat: int = 2) -> dict[str, Any]:
    """:func:`archive_writes` into PostgreSQL: ``CIVIC_TEST_PG_URL`` if set, else a throwaway cluster."""
    return archive_writes(n, url=os.environ.get("CIVIC_TEST_PG_URL") or "auto", label="PostgreSQL", repeat=repeat)
