"""The archive on SQLite and PostgreSQL: migrations to every head, idempotent writes, the outbox."""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.config import Config

from civic_signal.core.models import DeadLetter, Ticket, TicketStatus
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import ClassificationRow, DeadLetterRow, PostRow, TicketRow
from civic_signal.sinks.archive.store import MIGRATIONS
from tests.services.postgres import BACKENDS, db_url, pg_server, pg_url  # noqa: F401
from tests.sinks.test_incidents import classified


@BACKENDS
def test_migrations_reach_every_head(db_url):
    a = Archive(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with a.engine.connect() as c:
        applied = {v for (v,) in c.execute(sa.text("select version_num from alembic_version"))}
    assert applied == heads and "0002_incidents" in {r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()}
    names = set(sa.inspect(a.engine).get_table_names())
    assert {"posts", "classifications", "tickets", "incidents", "incident_reports", "ticket_events"} <= names
    Archive(db_url)  # opening again is a no-op


@BACKENDS
def test_writes_are_idempotent(db_url):
    a = Archive(db_url)
    items = [classified(n) for n in range(1, 6)]
    assert a.write_posts([i.post for i in items]) == 5
    assert a.write_posts([i.post for i in items]) == 0
    assert a.write_classified(items) == 5
    a.write_classified(items)
    d = DeadLetter(stage="parse", reason="bad", payload="{", origin="f:1")
    a.write_dead_letters([d, d])
    a.write_dead_letters([d])
    assert (a.count(PostRow), a.count(ClassificationRow), a.count(DeadLetterRow)) == (5, 5, 1)
    with a.engine.connect() as c:
        created = c.execute(sa.select(PostRow.created_at).where(PostRow.id == "x:1")).scalar_one()
    assert created.replace(tzinfo=created.tzinfo or timezone.utc) == datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


@BACKENDS
def test_outbox_queues_each_ticket_once(db_url):
    a = Archive(db_url)
    t = Ticket(id="t-1", post_id="x:1", service_code="REQPOTHL", description="d", lat=42.3, lon=-71.0,
               confidence=0.9, status=TicketStatus.PENDING)
    assert a.queue_tickets([t], ["i-1"]) == 1
    assert a.queue_tickets([t], ["i-1"]) == 0
    assert a.count(TicketRow) == 1 and a.summary()["tickets"] == {"pending": 1}


def _open_archive(url, q):
    try:
        from civic_signal.sinks.archive import Archive
        Archive(url).close()
        q.put("ok")
    except Exception as exc:  # report, don't hang the parent
        q.put(repr(exc))


def test_processes_opening_a_new_archive_at_once_all_succeed(tmp_path):
    """Workers started together (listen, classify, sink) migrate one at a time, never racing."""
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    for trial in range(3):
        url = f"sqlite:///{tmp_path}/race{trial}.db"
        q = ctx.Queue()
        procs = [ctx.Process(target=_open_archive, args=(url, q)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [q.get(timeout=5) for _ in procs] == ["ok"] * 4
