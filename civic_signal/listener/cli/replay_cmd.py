"""``civic-signal replay SOURCE``: re-classify an archived stream into a run id of its own.

SOURCE is a JSONL(.gz) file, ``archive:`` (the SQL archive) or ``kafka:TOPIC``. Tickets are
never queued unless ``--send-tickets`` is given. A rich progress bar shows posts read, the rate
and the ETA (on a terminal; otherwise one plain line at the end).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def _rate_column():
    """Posts per second, or blank before the first estimate."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f} posts/s" if task.speed else "", style="progress.data.speed")
    return RateColumn()


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay(ctx: typer.Context,
               source: str = typer.Argument(..., help="JSONL(.gz) path, 'archive:' (SQL archive) or 'kafka:TOPIC'."),
               run_id: Optional[str] = typer.Option(None, "--run-id", help="Run id for the classifications. Default: replay-<UTC time>-<kind>."),
               classifier: Optional[str] = typer.Option(None, "--classifier", help="keyword or spacy. Default: classifier.kind."),
               model: Optional[str] = typer.Option(None, "--model", help="A model version (`civic-signal model list`) or a model directory. Default: the active version."),
               threshold: Optional[float] = typer.Option(None, "--threshold", help="classifier.actionable_threshold for this run."),
               speed: str = typer.Option("max", "--speed", help="Posts per second, or 'max'."),
               since: Optional[str] = typer.Option(None, "--since", help="From this time (ISO 8601, or 7d/12h ago)."),
               until: Optional[str] = typer.Option(None, "--until", help="Before this time (ISO 8601, or 7d/12h ago)."),
               send_tickets: bool = typer.Option(False, "--send-tickets", help="Also queue tickets in the outbox (off by default)."),
               plain: bool = typer.Option(False, "--plain", help="No progress bar, even on a terminal.")) -> None:
        """Replay archived posts through a classifier version into a separate run id."""
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        from civic_signal.config.errors import ConfigError
        from civic_signal.listener.cli import settings_from
        from civic_signal.listener.replay_runs import default_run_id, parse_source, parse_when, run_replay

        overrides: dict = {}
        if classifier is not None:
            if classifier not in ("keyword", "spacy"):
                raise ConfigError(f"--classifier must be keyword or spacy, got {classifier!r}")
            overrides.setdefault("classifier", {})["kind"] = classifier
        if model is not None:
            overrides.setdefault("classifier", {})["model_path"] = model
        settings = settings_from(ctx, **overrides)
        if settings.classifier.kind == "spacy":
            # one run, one version: a version name (`civic-signal model list`) or none (the active
            # one) is pinned to its folder, so a promotion during the replay does not mix versions
            from civic_signal.classifiers.registry import Registry
            reg = Registry.from_settings(settings)
            if model is None or not Path(model).exists():
                name = reg.active() if model is None else model
                overrides.setdefault("classifier", {})["model_path"] = str(reg.path(name))
                reg.get(name)  # a clear error for an unknown name
        if threshold is not None:
            overrides.setdefault("classifier", {})["actionable_threshold"] = threshold
        try:
            rate = 0.0 if speed.strip().lower() == "max" else float(speed)
        except ValueError:
            raise ConfigError(f"--speed must be a number of posts per second or 'max', got {speed!r}") from None
        if rate < 0:
            raise ConfigError("--speed must not be negative")
        settings = settings_from(ctx, **overrides)
        spec = parse_source(source, since=parse_when(since), until=parse_when(until))
        rid = run_id or default_run_id(settings.classifier.kind)
        console = Console()
        show_bar = console.is_terminal and not plain
        if show_bar:
            bar = Progress(TextColumn("[bold]replay[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                           TaskProgressColumn(), _rate_column(),
                           TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                           refresh_per_second=settings.console.refresh_per_second)
            task = bar.add_task(rid, total=None)

            def progress(seen: int, total: int | None) -> None:
                bar.update(task, completed=seen, total=total)
            with bar:
                run = run_replay(settings, spec, run_id=rid, speed=rate, send_tickets=send_tickets,
                                 progress=progress, handle_sigint=True)
        else:
            run = run_replay(settings, spec, run_id=rid, speed=rate, send_tickets=send_tickets, handle_sigint=True)
        typer.echo(f"run {run.id} {run.status}: {run.posts_in} posts read, {run.classified} classified, "
                   f"{run.actionable} actionable, {run.dead_letters} dead letters "
                   f"(source {run.source}; classifier {run.classifier_kind} {run.classifier_version}; "
                   f"tickets {'queued' if send_tickets else 'not sent'})")
        if run.status != "finished":
            raise typer.Exit(1)

    @app.command("runs")
    def list_runs_cmd(ctx: typer.Context) -> None:
        """List replay runs, newest first."""
        from civic_signal.listener.cli import settings_from
        from civic_signal.sinks.archive import Archive
        from civic_signal.sinks.runs import list_runs

        archive = Archive.from_settings(settings_from(ctx))
        for r in list_runs(archive):
            typer.echo(f"{r.id}\t{r.status}\t{r.started_at:%Y-%m-%d %H:%M}Z\t{r.classifier_kind} {r.classifier_version}"
                       f"\t{r.classified} classified\t{r.actionable} actionable\t{r.source}")
