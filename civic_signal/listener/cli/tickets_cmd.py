"""``civic-signal tickets``: the tickets in the outbox with their delivery and 311 status."""

from __future__ import annotations

import sys
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("tickets")
    def tickets(ctx: typer.Context,
                status: Optional[str] = typer.Option(None, "--status", help="Only this status (pending, review, sending, sent, failed, rejected, closed)."),
                limit: int = typer.Option(50, help="Show at most this many, newest first."),
                sync: bool = typer.Option(False, "--sync", help="Ask the Open311 endpoint for status changes first."),
                requeue: list[str] = typer.Option([], "--requeue", help="Put this failed ticket back in the outbox (repeatable; 'failed' = all failed tickets)."),
                send_now: bool = typer.Option(False, "--send-now", help="Deliver every pending ticket now, ignoring backoff timers (after an outage); needs CIVIC_OPEN311__URL.")) -> None:
        """List tickets with their status, 311 request id, attempts and last error.

        With --send-now, every pending ticket is delivered first (idempotent: a ticket the
        endpoint already has is recorded, not sent twice); the exit code is 1 when some are
        still waiting because the endpoint failed."""
        import sqlalchemy as sa
        from rich.console import Console
        from rich.table import Table

        from civic_signal.listener.cli import settings_from
        from civic_signal.sinks.archive import Archive
        from civic_signal.sinks.archive.models import TicketRow
        from civic_signal.sinks.incident_tables import IncidentRow

        settings = settings_from(ctx)
        archive = Archive.from_settings(settings)
        console = Console(width=None if sys.stdout.isatty() else 200)
        from civic_signal.sinks.open311.delivery import configured_jurisdictions
        cities = configured_jurisdictions(settings)   # one worker per city with an endpoint
        if sync:
            if not cities:
                raise typer.BadParameter("--sync needs CIVIC_OPEN311__URL (or CIVIC_JURISDICTIONS__<ID>__OPEN311__URL)")
            from civic_signal.sinks.open311.delivery import DeliveryWorker
            for jid in cities:
                worker = DeliveryWorker.from_settings(archive, settings, jurisdiction=jid)
                try:
                    changed = worker.sync_status()
                finally:
                    worker.client.close()
                console.print(f"status sync{'' if len(cities) == 1 else f' [{jid}]'}: {changed} ticket(s) changed",
                              markup=False)
                for err in worker.errors:
                    typer.echo(f"error: {err}", err=True)
        if requeue:
            from civic_signal.sinks.open311.delivery import requeue_failed
            done = requeue_failed(archive, None if requeue == ["failed"] else list(requeue))
            console.print(f"requeued {len(done)} ticket(s): {' '.join(done) or '-'}", markup=False)
            missing = set(requeue) - set(done) - {"failed"}
            for tid in sorted(missing):
                typer.echo(f"error: ticket {tid} is not failed (or does not exist); not requeued", err=True)
        still_waiting = 0
        if send_now:
            if not cities:
                raise typer.BadParameter("--send-now needs CIVIC_OPEN311__URL (or CIVIC_JURISDICTIONS__<ID>__OPEN311__URL)")
            from collections import Counter

            from civic_signal.sinks.open311.delivery import DeliveryWorker
            results, errors = [], []
            for jid in cities:
                worker = DeliveryWorker.from_settings(archive, settings, jurisdiction=jid)
                try:
                    results += worker.send_now(stale_after_s=max(60.0, 3 * settings.open311.timeout_s))
                finally:
                    worker.client.close()
                still_waiting += worker.pending()
                errors += list(worker.errors)
            by = Counter(d.outcome for d in results)
            console.print("send now: " + (", ".join(f"{n} {k}" for k, n in sorted(by.items())) or "nothing pending"),
                          markup=False)
            for err in errors[-5:]:
                typer.echo(f"error: {err}", err=True)
        T, I = TicketRow.__table__, IncidentRow.__table__
        q = (sa.select(T.c.id, T.c.incident_id, T.c.jurisdiction, T.c.service_code, T.c.status, T.c.service_request_id, T.c.token,
                       T.c.external_status, T.c.attempts, T.c.last_error, T.c.created_at, I.c.report_count)
             .select_from(T.outerjoin(I, I.c.id == T.c.incident_id)).order_by(T.c.created_at.desc()).limit(limit))
        if status:
            q = q.where(T.c.status == status)
        with archive.engine.connect() as conn:
            rows = conn.execute(q).all()
            counts = dict(conn.execute(sa.select(T.c.status, sa.func.count()).group_by(T.c.status)).all())
        t = Table("ticket", "incident", "city", "service", "status", "311 id", "311 status", "reports", "tries", "last error",
                  title="tickets " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        for r in rows:
            t.add_row(r.id, r.incident_id or "-", r.jurisdiction, r.service_code, r.status,
                      r.service_request_id or (f"token {r.token}" if r.token else "-"), r.external_status or "-",
                      str(r.report_count or 1), str(r.attempts), (r.last_error or "")[:60])
        console.print(t)
        if still_waiting:
            typer.echo(f"{still_waiting} ticket(s) still pending: the endpoint failed; they are retried with "
                       "backoff by `civic-signal run`, or run --send-now again later", err=True)
            raise typer.Exit(1)
