"""``civic-signal export``: archive slices as CSV or Parquet, for notebooks.

Tables: ``posts``, ``classifications``, ``classified`` (classifications joined with their posts:
text, post time, post coordinates), ``tickets``, ``dead_letters``, ``runs``. ``--since/--until``
filter on each table's time column (:data:`TIME_COLUMN`; for ``classified`` the post time);
``--run`` keeps one run's classifications (``classifications``, ``classified``) or one run
(``runs``). Times are written as ISO 8601 UTC in CSV and as timestamps in Parquet.

A file holding posts is recorded in ``exports``/``exported_posts``: when one of those posts is deleted at
its source, the file is removed (``civic_signal.sinks.forget``); export again to get one without it.
"""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

TABLES = ("posts", "classifications", "classified", "tickets", "dead_letters", "runs")
TIME_COLUMN = {"posts": "created_at", "classifications": "created_at", "classified": "post_created_at",
               "tickets": "created_at", "dead_letters": "created_at", "runs": "started_at"}


def export_query(table: str, *, since: datetime | None, until: datetime | None, run: str | None):
    """The SELECT for one slice. Raises :class:`ConfigError` for an unknown table or a misplaced ``--run``."""
    import sqlalchemy as sa

    from civic_signal.config.errors import ConfigError
    from civic_signal.sinks.archive.models import ClassificationRow, DeadLetterRow, PostRow, TicketRow
    from civic_signal.sinks.runs import RunRow

    if table not in TABLES:
        raise ConfigError(f"unknown table {table!r}", hint=f"choose one of: {', '.join(TABLES)}")
    if table == "classified":
        c, p = ClassificationRow.__table__, PostRow.__table__
        cols = [c.c.run_id, c.c.post_id, p.c.created_at.label("post_created_at"), p.c.source, p.c.text,
                p.c.language.label("post_language"), p.c.lat.label("post_lat"), p.c.lon.label("post_lon"), p.c.place]
        cols += [col for col in c.c if col.name not in ("id", "run_id", "post_id")]
        q = sa.select(*cols).join(p, p.c.id == c.c.post_id)
        time_col, run_col = p.c.created_at, c.c.run_id
    else:
        t = {"posts": PostRow, "classifications": ClassificationRow, "tickets": TicketRow,
             "dead_letters": DeadLetterRow, "runs": RunRow}[table].__table__
        q = sa.select(t)
        time_col = t.c[TIME_COLUMN[table]]
        run_col = {"classifications": t.c.get("run_id"), "runs": t.c.get("id")}.get(table)
    if run is not None:
        if run_col is None:
            raise ConfigError(f"--run does not apply to table {table!r}",
                              hint="use it with classifications, classified or runs")
        q = q.where(run_col == run)
    if since is not None:
        q = q.where(time_col >= since)
    if until is not None:
        q = q.where(time_col < until)
    return q.order_by(time_col)


def _utc(v):
    if isinstance(v, datetime):
        return (v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v.astimezone(timezone.utc))
    return v


def write_slice(archive, table: str, out: Path, fmt: str, *, since=None, until=None, run=None) -> int:
    """Write the slice to ``out`` as ``csv`` or ``parquet``; returns the number of rows."""
    from civic_signal.config.errors import ConfigError

    q = export_query(table, since=since, until=until, run=run)
    out.parent.mkdir(parents=True, exist_ok=True)
    with archive.engine.connect() as conn:
        result = conn.execute(q)
        names = list(result.keys())
        rows = [[_utc(v) for v in r] for r in result]
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(names)
            for r in rows:
                w.writerow(["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in r])
    elif fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError("Parquet export needs pyarrow", hint="pip install pyarrow (or the [dev] extras)") from None
        columns = {n: [r[i] for r in rows] for i, n in enumerate(names)}
        pq.write_table(pa.table(columns), out)
    else:
        raise ConfigError(f"unknown format {fmt!r}", hint="csv or parquet")
    # the file goes away when one of its posts is deleted at its source (civic_signal.sinks.forget)
    key = {"posts": "id", "tickets": "post_id", "dead_letters": "post_id"}.get(table, "post_id")
    if key in names:
        archive.register_export([out], (r[names.index(key)] for r in rows if r[names.index(key)]))
    return len(rows)


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(ctx: typer.Context,
               table: str = typer.Option("classified", "--table", help=f"One of: {', '.join(TABLES)}."),
               fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
               since: Optional[str] = typer.Option(None, "--since", help="From this time (ISO 8601, or 7d/12h ago)."),
               until: Optional[str] = typer.Option(None, "--until", help="Before this time (ISO 8601, or 7d/12h ago)."),
               run: Optional[str] = typer.Option(None, "--run", help="Only this run (classifications, classified, runs)."),
               out: Optional[Path] = typer.Option(None, "--out", help="Output file. Default: <table>.<format>.")) -> None:
        """Write an archive slice as CSV or Parquet."""
        from civic_signal.listener.cli import settings_from
        from civic_signal.listener.replay_runs import parse_when
        from civic_signal.sinks.archive import Archive

        archive = Archive.from_settings(settings_from(ctx))
        path = out or Path(f"{table}.{fmt}")
        n = write_slice(archive, table, path, fmt, since=parse_when(since), until=parse_when(until), run=run)
        typer.echo(f"{n} rows of {table} -> {path}")
