"""``civic-signal label POST_ID (--code CODE | --type TYPE | --not-actionable) [--by NAME]``:
a person's label of an archived post, kept in the archive's ``labels`` table for the next
``civic-signal model train`` (docs/learning.md). Who: ``--by``, else ``$USER``. The post's
prediction at that moment (live classification) is kept beside the label."""

from __future__ import annotations

import os
from typing import Optional

import typer


def who(by: str | None) -> str:
    return by or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def register(app: typer.Typer) -> None:
    @app.command("label")
    def label(ctx: typer.Context,
              post_ids: list[str] = typer.Argument(..., metavar="POST_ID...", help="Archived post id(s)."),
              code: Optional[str] = typer.Option(None, "--code", help="A Boston service code (mapped to its type)."),
              type_: Optional[str] = typer.Option(None, "--type", help="A taxonomy type id (city-neutral)."),
              not_actionable: bool = typer.Option(False, "--not-actionable", help="Not a report of a problem."),
              by: Optional[str] = typer.Option(None, "--by", help="Who labels (default: $USER).")) -> None:
        """Record a person's label of archived post(s): what they are, for retraining."""
        from civic_signal.config.errors import ConfigError
        from civic_signal.listener.cli import settings_from
        from civic_signal.sinks.archive import Archive
        from civic_signal.sinks.labels import label_for, record
        lab = label_for(code=code, type_=type_, not_actionable=not_actionable)
        archive = Archive.from_settings(settings_from(ctx))
        with archive.engine.begin() as conn:
            n = record(conn, post_ids, lab, kind="person", by=who(by))
        if n < len(set(post_ids)):
            missing = len(set(post_ids)) - n
            if n == 0:
                raise ConfigError(f"no such archived post: {', '.join(post_ids)} (or deleted at its source)")
            typer.echo(f"{missing} post(s) not archived or deleted: skipped", err=True)
        what = "not actionable" if not lab.actionable else f"type {lab.type}" + (f" (code {lab.code})" if lab.code else "")
        typer.echo(f"labelled {n} post(s) {what} by {who(by)}")
