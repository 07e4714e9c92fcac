"""``civic-signal purge [--days N]``: purge post texts and raw payloads older than the retention period."""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("purge")
    def purge_cmd(ctx: typer.Context,
                  days: Optional[int] = typer.Option(None, "--days", min=1,
                                                     help="Keep this many days (default: privacy.retention_days).")) -> None:
        """Purge post texts, raw payloads and dead-letter payloads stored more than N days ago."""
        from civic_signal.listener.cli import settings_from
        from civic_signal.sinks.archive import Archive
        from civic_signal.sinks.retention import purge

        settings = settings_from(ctx)
        archive = Archive.from_settings(settings)
        try:
            result = purge(archive, days or settings.privacy.retention_days)
        finally:
            archive.close()
        typer.echo(str(result))
