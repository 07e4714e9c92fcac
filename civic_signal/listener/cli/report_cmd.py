"""``civic-signal report --run ID [--compare ID] --out DIR``: charts, map, CSV and one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(ctx: typer.Context,
               run: str = typer.Option("live", "--run", help="Run id to report on ('live' is the main job)."),
               compare: Optional[str] = typer.Option(None, "--compare", help="Another run id: show what changed from it to --run."),
               out: Path = typer.Option(Path("report"), "--out", help="Directory for report.html, PNG charts and CSV files.")) -> None:
        """Write an offline HTML report with PNG charts and CSV files for a run."""
        from civic_signal.listener.cli import settings_from
        from civic_signal.sinks.archive import Archive
        from civic_signal.sinks.reports import build_report

        archive = Archive.from_settings(settings_from(ctx))
        rep = build_report(archive, run, out, compare=compare)
        typer.echo(f"report for run {run}: {rep.posts} posts, {rep.actionable} actionable -> {rep.html}")
        if rep.comparison is not None:
            c = rep.comparison
            typer.echo(f"compared with {c.run_a}: {c.common} posts in both, {len(c.gained)} gained, "
                       f"{len(c.lost)} lost, {len(c.changed)} changed category, agreement {c.agreement:.1%}")
        typer.echo("files: " + ", ".join(p.name for p in [*rep.charts.values(), *rep.csv]))
