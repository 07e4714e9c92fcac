"""``civic-signal review list|suggest|approve ID|reject ID``: the queue of incidents a person decides
on, and the posts whose labels would teach the model most (``suggest``:
:mod:`civic_signal.sinks.learning_queue`, docs/learning.md).

An incident waits here when its confidence is between ``gating.review_threshold`` and
``gating.auto_threshold``. ``approve`` makes its ticket ``pending`` (sent by the next delivery,
at once when ``CIVIC_OPEN311__URL`` is set); ``reject`` marks it ``rejected`` (later reports of the
same problem attach to it and do not reopen it). ID is an incident id, a ticket id, or a
unique prefix of either. Either decision is recorded as a label of the incident's posts
(``labels``, kind ``review``, by ``--by`` or ``$USER``) for ``civic-signal model train``.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Optional

import typer


def _archive(ctx: typer.Context):
    from civic_signal.listener.cli import settings_from
    from civic_signal.sinks.archive import Archive
    settings = settings_from(ctx)
    return settings, Archive.from_settings(settings)


def resolve(conn, ident: str):
    """The (ticket, incident) rows for ``ident``; raises :class:`ConfigError`-like typer errors."""
    import sqlalchemy as sa

    from civic_signal.sinks.archive.models import TicketRow
    from civic_signal.sinks.incident_tables import IncidentRow
    T, I = TicketRow.__table__, IncidentRow.__table__
    q = sa.select(T, I.c.report_count, I.c.body).select_from(T.outerjoin(I, I.c.id == T.c.incident_id))
    rows = conn.execute(q.where(sa.or_(T.c.id == ident, T.c.incident_id == ident))).all()
    if not rows:
        rows = conn.execute(q.where(sa.or_(T.c.id.startswith(ident), T.c.incident_id.startswith(ident)))).all()
    if not rows:
        raise typer.BadParameter(f"no ticket or incident {ident!r} (see `civic-signal review list`)")
    if len(rows) > 1:
        raise typer.BadParameter(f"{ident!r} matches {len(rows)} tickets; give more characters")
    return rows[0]


def decide(archive, ident: str, approve: bool, who: str = "cli") -> tuple[str, str]:
    """Approve or reject the ticket in review behind ``ident``; returns (ticket id, new status).
    Only a ticket in ``review`` changes; anything else raises ``typer.BadParameter``."""
    import sqlalchemy as sa

    from civic_signal.sinks.archive.models import TicketRow
    from civic_signal.sinks.incident_tables import TicketEventRow
    T, E = TicketRow.__table__, TicketEventRow.__table__
    new = "pending" if approve else "rejected"
    now = datetime.now(timezone.utc)
    with archive.engine.begin() as conn:
        row = resolve(conn, ident)
        n = conn.execute(sa.update(T).where(T.c.id == row.id, T.c.status == "review").values(
            status=new, updated_at=now, next_attempt_at=None)).rowcount
        if n != 1:
            raise typer.BadParameter(f"ticket {row.id} is {row.status}, not in review")
        conn.execute(sa.insert(E).values(ticket_id=row.id, kind="review", detail=f"{new} by {who}", created_at=now))
        # the decision is a label of the incident's posts, for retraining (docs/learning.md):
        # approved -> a report of the ticket's category; rejected -> not a report to file
        from civic_signal.sinks.labels import Label, code_label, record, ticket_posts
        record(conn, ticket_posts(conn, row.id), code_label(row.service_code) if approve else Label(actionable=False),
               kind="review", by=who, now=now)
    return row.id, new


def register(app: typer.Typer) -> None:
    review_app = typer.Typer(help="The review queue: incidents between the review and auto thresholds, "
                                  "and posts to label (suggest).",
                             no_args_is_help=True)
    app.add_typer(review_app, name="review")

    @review_app.command("list")
    def list_(ctx: typer.Context, limit: int = typer.Option(50, help="Show at most this many.")) -> None:
        """List incidents waiting for review, oldest first."""
        import sqlalchemy as sa
        from rich.console import Console
        from rich.table import Table

        from civic_signal.sinks.archive.models import TicketRow
        from civic_signal.sinks.incident_tables import IncidentRow
        _, archive = _archive(ctx)
        T, I = TicketRow.__table__, IncidentRow.__table__
        with archive.engine.connect() as conn:
            rows = conn.execute(sa.select(T.c.id, T.c.incident_id, T.c.service_code, T.c.confidence, T.c.address,
                                          T.c.lat, T.c.lon, T.c.created_at, I.c.report_count, I.c.body)
                                .select_from(T.outerjoin(I, I.c.id == T.c.incident_id))
                                .where(T.c.status == "review").order_by(T.c.created_at).limit(limit)).all()
        console = Console(width=None if sys.stdout.isatty() else 200)
        if not rows:
            console.print("the review queue is empty")
            console.print("posts to label (they teach the model most): civic-signal review suggest")
            return
        t = Table("incident", "ticket", "service", "conf", "reports", "where", "report", title=f"review queue ({len(rows)})")
        for r in rows:
            where = r.address or (f"{r.lat:.5f},{r.lon:.5f}" if r.lat is not None else "-")
            text = " ".join((r.body or "").split())
            t.add_row(r.incident_id or "-", r.id, r.service_code, f"{r.confidence:.2f}", str(r.report_count or 1),
                      where[:30], text[:60] + ("…" if len(text) > 60 else ""))
        console.print(t)
        console.print("approve: civic-signal review approve ID    reject: civic-signal review reject ID")
        console.print("posts to label (they teach the model most): civic-signal review suggest")

    @review_app.command("suggest")
    def suggest_(ctx: typer.Context,
                 day: Optional[str] = typer.Option(None, "--day", metavar="YYYY-MM-DD",
                                                   help="The (UTC) day whose list to show (default: today).")) -> None:
        """Posts to label: those whose labels would teach the model most, a few a day."""
        from datetime import date

        from rich.console import Console
        from rich.table import Table

        from civic_signal.classifiers.base import load_classifier
        from civic_signal.classifiers.uncertainty import doubts
        from civic_signal.config.errors import ConfigError
        from civic_signal.sinks.learning_queue import QueueSettings, suggest
        settings, archive = _archive(ctx)
        if settings.classifier.kind != "spacy":
            raise ConfigError("posts to label need the model (classifier.kind = \"spacy\"): the keyword "
                              "classifier has no margins or vocabulary")
        try:
            when = date.fromisoformat(day) if day else None
        except ValueError:
            raise typer.BadParameter(f"--day {day!r} is not a date (YYYY-MM-DD)") from None
        clf = load_classifier(settings, follow=False)
        result = suggest(archive.engine, lambda posts: doubts(clf, posts), QueueSettings.of(settings), day=when)
        console = Console(width=None if sys.stdout.isatty() else 200)
        head = (f"posts to label, {result.day}: {result.offered} of {settings.review.suggest_per_day} offered "
                f"today, {result.labelled} labelled")
        if not result.suggestions:
            console.print(head + (" - nothing left for today" if result.offered else
                                  " - no post is near a decision, uses a new term or contradicts a 311 outcome"))
            return
        t = Table("post", "why", "prediction", "text", title=head)
        for s in result.suggestions:
            text = " ".join(s.text.split())
            t.add_row(s.post_id, "\n".join(s.reasons) + ("\n(offered earlier today)" if s.again else ""),
                      s.prediction, text[:80] + ("…" if len(text) > 80 else ""))
        console.print(t)
        # the commands on lines of their own, never cut: the best guess, change --type if wrong
        typer.echo("label them (the best guess; change --type TYPE or use --not-actionable if it is wrong):")
        for s in result.suggestions:
            typer.echo(f"  {s.command}")

    @review_app.command("approve")
    def approve(ctx: typer.Context, ident: str = typer.Argument(..., metavar="ID", help="Incident or ticket id (or a unique prefix)."),
                by: Optional[str] = typer.Option(None, "--by", help="Who decides (default: $USER).")) -> None:
        """Approve: the ticket is queued for sending (sent now when Open311 is configured)."""
        from civic_signal.listener.cli.label_cmd import who
        settings, archive = _archive(ctx)
        tid, status = decide(archive, ident, True, who(by))
        typer.echo(f"approved: ticket {tid} is {status}")
        import sqlalchemy as sa

        from civic_signal.config.jurisdictions import endpoint
        from civic_signal.sinks.archive.models import TicketRow
        with archive.engine.connect() as conn:   # the ticket goes to its own city's endpoint
            jid = conn.execute(sa.select(TicketRow.__table__.c.jurisdiction).where(
                TicketRow.__table__.c.id == tid)).scalar() or settings.routing.default
        if endpoint(settings, jid).url:
            from civic_signal.sinks.open311.delivery import DeliveryWorker
            worker = DeliveryWorker.from_settings(archive, settings, jurisdiction=jid)
            try:
                result = worker.deliver_one(tid)
            finally:
                worker.client.close()
            typer.echo(f"delivery: {result.outcome}" + (f" (service_request_id {result.service_request_id})"
                                                        if result.service_request_id else "")
                       + (f": {result.detail}" if result.detail and result.outcome != "sent" else ""),
                       err=result.outcome in ("retry", "failed"))
        else:
            typer.echo("it is sent by the next `civic-signal run` with CIVIC_OPEN311__URL set")

    @review_app.command("reject")
    def reject(ctx: typer.Context, ident: str = typer.Argument(..., metavar="ID", help="Incident or ticket id (or a unique prefix)."),
               by: Optional[str] = typer.Option(None, "--by", help="Who decides (default: $USER).")) -> None:
        """Reject: no ticket is sent for this incident."""
        from civic_signal.listener.cli.label_cmd import who
        _, archive = _archive(ctx)
        tid, status = decide(archive, ident, False, who(by))
        typer.echo(f"rejected: ticket {tid} is {status}")
