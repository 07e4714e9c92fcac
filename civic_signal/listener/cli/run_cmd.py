"""``civic-signal run``: the main job on one machine.

Replays the sample stream (or ``--path``), classifies, archives, queues tickets, shows the run
display and ends with a summary table. Ctrl-C stops the sources and drains what is in flight;
a second Ctrl-C stops at once (what was not yet written is redone on the next run: writes are
idempotent by post id).
"""

from __future__ import annotations

import signal
from typing import Optional

import typer


def build_sinks(settings, archive, *, run_id: str = "live") -> list:
    """The sinks every pipeline writes to (embedded or the Kafka sink role): archive + ticket outbox."""
    from civic_signal.sinks.archive_sink import ArchiveSink
    from civic_signal.sinks.incidents import IncidentSink

    sinks = [ArchiveSink(archive, run_id=run_id)]
    if run_id == "live":
        sinks.append(IncidentSink.from_settings(archive, settings))  # one ticket per incident
    return sinks


def pipeline_classifier(settings):
    """The embedded pipeline's classifier: in ``classifier.processes`` worker processes, or in
    this process when that is 0. The caller closes it (:meth:`~civic_signal.classifiers.base.Classifier.close`)."""
    from civic_signal.classifiers.base import load_classifier

    if settings.classifier.processes > 0:
        from civic_signal.listener.classify_processes import ProcessClassifier
        from civic_signal.classifiers.registry import Registry
        # the workers follow the active version of this models_dir (resolved here: they do not read --config)
        section = settings.classifier.model_copy(update={"models_dir": str(Registry.from_settings(settings).dir)})
        return ProcessClassifier(section, settings.classifier.processes)
    return load_classifier(settings)


def build_pipeline(settings, sources, *, run_id: str = "live", classifier=None, own_classifier: bool | None = None):
    """The embedded pipeline: ``sources`` -> classifier -> archive + ticket outbox (over the settings' bus).

    Without ``classifier`` it makes :func:`pipeline_classifier` and closes it when the run ends
    (``own_classifier`` says whether a given one is closed too)."""
    from civic_signal.listener.bus import make_bus
    from civic_signal.listener.pipeline import Pipeline
    from civic_signal.sinks.archive import Archive

    archive = Archive.from_settings(settings)
    if own_classifier is None:
        own_classifier = classifier is None
    classifier = classifier or pipeline_classifier(settings)
    sinks = build_sinks(settings, archive, run_id=run_id)
    bus = make_bus(settings, "memory")
    pipe = Pipeline(sources, bus, classifier, sinks, dead_letter_writer=archive.write_dead_letters,
                    batch_size=settings.bus.batch_size, classify_workers=getattr(classifier, "processes", 1),
                    close_classifier=own_classifier)
    return pipe, archive


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(ctx: typer.Context,
            speed: Optional[str] = typer.Option(None, "--speed", help="Posts per second, or 'max'. Default: replay.speed."),
            path: Optional[str] = typer.Option(None, "--path", help="JSONL(.gz) stream to replay. Default: replay.path."),
            bus: Optional[str] = typer.Option(None, "--bus", help="memory (default) or kafka."),
            plain: bool = typer.Option(False, "--plain", help="Plain progress lines even on a terminal.")) -> None:
        """Run the main job: replay a stream, classify, archive, queue tickets, show a summary."""
        from rich.console import Console

        from civic_signal.listener.cli import settings_from
        from civic_signal.listener.sources.replay import ReplaySource
        from civic_signal.sinks.console import RunDisplay, summary_table
        from civic_signal.sinks.health import HealthReporter, process_name

        overrides: dict = {}
        if speed is not None:
            overrides.setdefault("replay", {})["speed"] = speed
        if path is not None:
            overrides.setdefault("replay", {})["path"] = path
        if bus is not None:
            overrides.setdefault("bus", {})["kind"] = bus
        settings = settings_from(ctx, **overrides)
        if settings.bus.kind == "kafka":
            from civic_signal.listener.cli import kafka_roles  # added by the Kafka feature
            from civic_signal.listener.observe import observing
            with observing(settings, "run", lag=[("raw", "classify"), ("classified", "sink")]):
                kafka_roles.run_all(settings)
            return
        source = ReplaySource(settings.resolve_path(settings.replay.path), speed=settings.replay.speed)
        pipe, archive = build_pipeline(settings, [source])
        from civic_signal.sinks.open311.runtime import start_delivery  # None unless CIVIC_OPEN311__URL is set
        delivery = start_delivery(settings, archive, pipe)
        console = Console(force_terminal=False) if plain else Console()
        previous = signal.getsignal(signal.SIGINT)
        presses = {"n": 0}

        def on_sigint(signum, frame):  # first: drain; second: stop now
            presses["n"] += 1
            pipe.stop(hard=presses["n"] > 1)
            if delivery:
                delivery.stop()  # do not wait for deliveries at the end
        signal.signal(signal.SIGINT, on_sigint)
        from civic_signal.listener.jobs import BackgroundJobs
        from civic_signal.listener.observe import observing
        try:
            with observing(settings, "run", sources=[source], bus=pipe.bus, archive=archive,
                           lag=[("raw", "classify"), ("classified", "sink")]), \
                    BackgroundJobs(settings, archive), HealthReporter(archive, process_name("run")).start(
                    [source], pipe.stats, interval_s=settings.console.heartbeat_s), \
                    RunDisplay(pipe.stats, [source], console=console, archive=archive, process=process_name("run"),
                               refresh_per_second=settings.console.refresh_per_second):
                stats = pipe.run()
            delivery_lines = delivery.finish() if delivery else []
        finally:
            signal.signal(signal.SIGINT, previous)
            if delivery:
                delivery.close()
        console.print(summary_table(archive.summary()))
        for line in delivery_lines:
            console.print(line, markup=False, soft_wrap=True, style="red" if "ERROR" in line else None)
        console.print(f"this run: {stats.posts_in} posts read, {stats.classified} classified, "
                      f"{stats.actionable} actionable, {stats.dead_letters} dead letters", markup=False)
