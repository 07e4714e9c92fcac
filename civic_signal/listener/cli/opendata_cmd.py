"""``civic-signal opendata --out DIR``: the anonymised public feed (see :mod:`civic_signal.sinks.opendata`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("opendata")
    def opendata(ctx: typer.Context,
                 out: Path = typer.Option(..., "--out", help="Directory to write the files into."),
                 since: Optional[str] = typer.Option(None, "--since", help="Posts from this time (ISO 8601, or 30d ago)."),
                 until: Optional[str] = typer.Option(None, "--until", help="Posts before this time (ISO 8601, or 1d ago)."),
                 k: Optional[int] = typer.Option(None, "--k", help="Suppress cells under k reports (default: opendata.k)."),
                 ) -> None:
        """Write anonymised aggregates (CSV, GeoJSON, data dictionary, licence) for publication."""
        from civic_signal.listener.cli import settings_from
        from civic_signal.listener.replay_runs import parse_when
        from civic_signal.sinks.archive import Archive
        from civic_signal.sinks.opendata import OpenDataOptions, build, read_reports

        settings = settings_from(ctx)
        opts = OpenDataOptions.from_settings(settings.opendata, k=k, since=parse_when(since), until=parse_when(until))
        archive = Archive.from_settings(settings)
        try:
            pub = build(read_reports(archive, opts.since, opts.until), out, opts)
        finally:
            archive.close()
        typer.echo(f"{pub.reports} reports -> {out}: {pub.daily_cells} daily cells "
                   f"({pub.daily_suppressed_cells} under k={opts.k} suppressed), {pub.point_cells} point cells "
                   f"({pub.point_suppressed_cells} suppressed); files: {', '.join(pub.files)}")
