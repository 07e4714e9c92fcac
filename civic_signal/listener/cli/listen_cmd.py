"""``civic-signal listen`` and ``civic-signal work classify|sink``: the stages as separate processes.

- ``listen [--source NAME] [--bus memory|kafka]``: sources -> ``raw``. With ``--bus kafka`` it only
  publishes (run classify and sink workers elsewhere); with ``--bus memory`` it runs the whole
  in-process pipeline on that source, like ``run``.
- ``work classify --bus kafka``: one classify worker; start as many as the ``raw`` topic has
  partitions, on any machines: they share the work in one consumer group.
- ``work sink --bus kafka``: writes classified posts and dead letters to the archive and tickets.
- ``work deliver [--jurisdiction ID ...]``: delivers the archive's ticket outbox to each city's Open311 endpoint
  (retries, status sync, service-list refresh); no bus, only the archive database. Run one per archive.

SIGTERM or Ctrl-C: finish the batch, commit, leave the group, exit 0.
"""

from __future__ import annotations

import contextlib
import threading
from contextlib import contextmanager
from typing import Optional

import typer

from civic_signal.config.errors import ConfigError


def _settings(ctx: typer.Context, bus: Optional[str]):
    from civic_signal.listener.cli import settings_from
    overrides = {"bus": {"kind": bus}} if bus else {}
    return settings_from(ctx, **overrides)


def _require_kafka(settings, command: str) -> None:
    if settings.bus.kind != "kafka":
        raise ConfigError(f"`{command}` runs one stage of the pipeline over Kafka and needs --bus kafka",
                          hint="or set bus.kind = \"kafka\" (CIVIC_BUS__KIND=kafka); `civic-signal run` "
                               "runs every stage in one process")


@contextmanager
def _operating(settings, role: str, sources, stats, *, jobs: bool = False, lag=(), bus=None,
               writes_archive: bool = False):
    """Publish this process's health for the console (and, with ``jobs``, run the background jobs:
    alert rules, retention) while the role works, and serve its metrics and health checks
    (``metrics.port``; readiness: ``sources`` connected, the bus answering for the ``lag`` pairs,
    the archive writable when ``writes_archive``). Best effort: a process that cannot reach the
    archive database still does its work, and says why it is not reporting."""
    from civic_signal.config.errors import CivicSignalError
    from civic_signal.listener.observe import observing
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.health import HealthReporter, process_name

    try:
        archive = Archive.from_settings(settings)
    except CivicSignalError as exc:
        typer.echo(f"warning: {role}: not reporting health to the console: {exc}", err=True)
        with observing(settings, role, sources=sources, bus=bus, lag=lag):
            yield
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(observing(settings, role, sources=sources, bus=bus, lag=lag,
                                      archive=archive if writes_archive else None))
        if jobs:
            from civic_signal.listener.jobs import BackgroundJobs
            stack.enter_context(BackgroundJobs(settings, archive))
        stack.enter_context(HealthReporter(archive, process_name(role)).start(
            sources, stats, interval_s=settings.console.heartbeat_s))
        yield


def register(app: typer.Typer) -> None:
    @app.command("listen")
    def listen(ctx: typer.Context,
               source: str = typer.Option("replay", "--source", "-s", help="Source name (see listener/sources/registry.py)."),
               bus: Optional[str] = typer.Option(None, "--bus", help="kafka: publish to the raw topic; memory: run the whole pipeline here."),
               path: Optional[str] = typer.Option(None, "--path", help="For --source replay: the JSONL(.gz) file."),
               speed: Optional[str] = typer.Option(None, "--speed", help="For --source replay: posts per second, or 'max'.")) -> None:
        """Listen to a source and publish its posts (the first stage)."""
        from civic_signal.listener.cli import kafka_roles
        from civic_signal.listener.sources.registry import make_source

        settings = _settings(ctx, bus)
        options: dict = {}
        if path is not None:
            options["path"] = path
        if speed is not None:
            options["speed"] = 0.0 if speed.strip().lower() == "max" else float(speed)
        src = make_source(source, settings, **options)
        if settings.bus.kind == "memory":
            _listen_in_process(settings, src)
            return
        stop = threading.Event()
        kafka_roles.stop_on_signals(stop)
        from civic_signal.listener.pipeline import PipelineStats
        stats = PipelineStats()
        with _operating(settings, "listen", [src], stats, lag=[("raw", kafka_roles.CLASSIFY_GROUP)]):
            kafka_roles.run_listen(settings, [src], stop, stats=stats)
        typer.echo(f"listen: {stats.posts_in} posts and {stats.dead_letters} dead letters published to "
                   f"{settings.kafka.topic_raw}")

    work_app = typer.Typer(help="Run one stage of the pipeline as its own process: classify, sink (over Kafka), deliver.",
                           no_args_is_help=True)
    app.add_typer(work_app, name="work")

    @work_app.command("classify")
    def classify(ctx: typer.Context,
                 bus: Optional[str] = typer.Option(None, "--bus", help="kafka (the only bus that crosses processes).")) -> None:
        """Classify posts from the raw topic into the classified topic, until SIGTERM."""
        from civic_signal.listener.cli import kafka_roles
        settings = _settings(ctx, bus)
        _require_kafka(settings, "work classify")
        stop = threading.Event()
        kafka_roles.stop_on_signals(stop)
        from civic_signal.listener.pipeline import PipelineStats
        stats = PipelineStats()
        with _operating(settings, "classify", [], stats, lag=[("raw", kafka_roles.CLASSIFY_GROUP)]):
            kafka_roles.run_classify(settings, stop, stats=stats)
        typer.echo(f"classify: {stats.classified} classified, {stats.actionable} actionable, "
                   f"{stats.dead_letters} dead letters")

    @work_app.command("sink")
    def sink(ctx: typer.Context,
             bus: Optional[str] = typer.Option(None, "--bus", help="kafka (the only bus that crosses processes).")) -> None:
        """Write classified posts (archive, tickets) and dead letters from Kafka, until SIGTERM."""
        from civic_signal.listener.cli import kafka_roles
        settings = _settings(ctx, bus)
        _require_kafka(settings, "work sink")
        stop = threading.Event()
        kafka_roles.stop_on_signals(stop)
        from civic_signal.listener.pipeline import PipelineStats
        stats = PipelineStats()
        with _operating(settings, "sink", [], stats, jobs=True, writes_archive=True,
                        lag=[("classified", kafka_roles.SINK_GROUP), ("dead_letter", kafka_roles.DEAD_LETTER_GROUP)]):
            kafka_roles.run_sink(settings, stop, stats=stats)
        typer.echo(f"sink: stopped; {stats.dead_letters} dead letters archived")

    _register_deliver(work_app)


def _register_deliver(work_app: typer.Typer) -> None:
    @work_app.command("deliver")
    def deliver(ctx: typer.Context,
                jurisdiction: Optional[list[str]] = typer.Option(
                    None, "--jurisdiction", "-j", help="Deliver only this city's tickets (repeat for several). "
                    "Default: every city with an endpoint.")) -> None:
        """Deliver the ticket outbox to each city's Open311 endpoint (retries, status sync), until SIGTERM."""
        from civic_signal.listener.cli import kafka_roles
        from civic_signal.listener.pipeline import PipelineStats
        from civic_signal.sinks.open311.runtime import run_deliver
        from civic_signal.listener.cli import settings_from
        settings = settings_from(ctx)
        stop = threading.Event()
        kafka_roles.stop_on_signals(stop)
        stats = PipelineStats()
        with _operating(settings, "deliver", [], stats, writes_archive=True):
            lines = run_deliver(settings, stop, jurisdictions=list(jurisdiction) if jurisdiction else None)
        for line in lines:
            typer.echo(line, err="ERROR" in line)
        typer.echo("deliver: stopped")


def _listen_in_process(settings, src) -> None:
    """``listen --bus memory``: the embedded pipeline on one source, with a summary at the end."""
    import signal

    from rich.console import Console

    from civic_signal.listener.cli.run_cmd import build_pipeline
    from civic_signal.sinks.console import summary_table

    pipe, archive = build_pipeline(settings, [src])
    previous = signal.getsignal(signal.SIGINT)
    presses = {"n": 0}

    def on_signal(signum, frame):  # first: drain; second: stop now
        presses["n"] += 1
        pipe.stop(hard=presses["n"] > 1)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        with _operating(settings, "listen", [src], pipe.stats, jobs=True, bus=pipe.bus, writes_archive=True,
                        lag=[("raw", "classify"), ("classified", "sink")]):
            stats = pipe.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    console = Console()
    console.print(summary_table(archive.summary()))
    console.print(f"listen: {stats.posts_in} posts read, {stats.classified} classified, "
                  f"{stats.actionable} actionable, {stats.dead_letters} dead letters", markup=False)
