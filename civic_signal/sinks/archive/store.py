"""The archive: one object over one database, SQLite or PostgreSQL.

Writes are insert-or-ignore on natural keys, so a redelivered batch never makes a second row.
The schema is brought up to date by Alembic when the archive opens.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, select

from civic_signal.config.errors import StorageError
from civic_signal.core import metrics
from civic_signal.core.models import DELETE_STAGE, ClassifiedPost, DeadLetter, Post, PostDeleted, Ticket
from civic_signal.core.sanitize import fit
from civic_signal.sinks.archive.models import (ClassificationRow, CursorRow, DeadLetterRow, ExportedPostRow, ExportRow,
                                              PostRow, TicketRow)

MIGRATIONS = Path(__file__).with_name("migrations")
_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith(":"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _rec):  # WAL: the console reads while the pipeline writes
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
        return engine
    return sa.create_engine(url, pool_pre_ping=True)


#: PostgreSQL advisory lock key held while migrating (any constant shared by every process).
_PG_MIGRATE_LOCK = 0x43495649  # "CIVI"


def migrate(engine: sa.Engine) -> None:
    """Upgrade the schema to every Alembic head.

    Several processes (listen, classify and sink workers) may open a new archive at the same
    moment: they migrate one at a time (a lock file beside a SQLite database, an advisory lock on
    PostgreSQL), and each one after the first finds nothing left to do.
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection_url"] = engine.url.render_as_string(hide_password=False)
    with contextlib.ExitStack() as stack:
        path = _sqlite_file(engine.url.render_as_string(hide_password=False))
        if path is not None:
            try:
                lock = stack.enter_context(open(f"{path}.migrate-lock", "a+b"))
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            except OSError:  # a read-only or vanished directory: the database itself will say why
                pass
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATE_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")


#: (dialect, driver, table, columns, conflict keys) or (dialect, driver, "stmt", name) -> (SQL, parameter
#: order, bind processors): each statement shape compiled once
_INSERTS: dict[tuple, tuple[str, list[str], list]] = {}


def _compiled_insert(dialect: sa.Dialect, table: sa.Table, cols: list[str], keys: list[str] | None):
    key = (dialect.name, dialect.driver, table.name, tuple(cols), None if keys is None else tuple(keys))
    hit = _INSERTS.get(key)
    if hit is None:
        ins = postgresql.insert(table) if dialect.name == "postgresql" else sqlite.insert(table)
        stmt = ins if keys is None else ins.on_conflict_do_nothing(index_elements=keys)
        compiled = stmt.compile(dialect=dialect, column_keys=cols)
        order = list(compiled.positiontup) if compiled.positional else cols
        # the dialect's own type (SQLite's DATETIME writes SQLAlchemy's text format; the generic
        # type would leave the value to the driver, which writes another one)
        procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in order]
        hit = _INSERTS[key] = (str(compiled), order, procs)
    return hit


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (same keys each) with the driver's executemany, like :func:`insert_ignore`
    but a conflict raises (``IntegrityError``)."""
    _insert(conn, table, rows, None)


def insert_ignore(target: sa.Engine | sa.Connection, table: sa.Table, rows: list[dict[str, Any]],
                   keys: list[str]) -> int:
    """Insert the rows that are not there yet (conflict on ``keys``); returns how many were new.

    The statement is compiled once per shape and run by the driver's own executemany with the
    columns' bind processors applied here: SQLAlchemy's per-row parameter handling was most of
    the write time (psycopg's executemany is pipelined; on PostgreSQL SQLAlchemy's multi-row
    VALUES form was re-parsed on every call). See docs/benchmarks.md.
    """
    if not rows:
        return 0
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            return _insert(conn, table, rows, keys)
    return _insert(target, table, rows, keys)


def execute_many(conn: sa.Connection, name: str, stmt: sa.Executable, rows: list[dict[str, Any]]) -> int:
    """Run ``stmt`` once per row with the driver's executemany. Every bound value of ``stmt``
    must be a named ``bindparam`` the rows supply; ``name`` identifies the statement (compiled
    once per dialect). Returns the driver's row count."""
    if not rows:
        return 0
    key = (conn.dialect.name, conn.dialect.driver, "stmt", name)
    hit = _INSERTS.get(key)
    if hit is None:
        compiled = stmt.compile(dialect=conn.dialect)
        order = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        procs = [compiled.binds[b].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for b in order]
        hit = _INSERTS[key] = (str(compiled), order, procs)
    return _run_many(conn, *hit, rows)


def _insert(target: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], keys: list[str] | None) -> int:
    if not rows:
        return 0
    cols = list(rows[0])
    sql, order, procs = _compiled_insert(target.dialect, table, cols, keys)
    if len(order) != len(cols):  # a column left to its Python-side default: SQLAlchemy fills it in
        ins = postgresql.insert(table) if target.dialect.name == "postgresql" else sqlite.insert(table)
        stmt = ins if keys is None else ins.on_conflict_do_nothing(index_elements=keys)
        return max(target.execute(stmt, rows).rowcount or 0, 0)
    return _run_many(target, sql, order, procs, rows)


def _run_many(target: sa.Connection, sql: str, order: list[str], procs: list, rows: list[dict[str, Any]]) -> int:
    build = _row_builder(tuple(order), tuple(procs), target.dialect.paramstyle in ("qmark", "numeric", "format"))
    return max(target.exec_driver_sql(sql, [build(r) for r in rows]).rowcount or 0, 0)


_BUILDERS: dict[tuple, Callable[[dict[str, Any]], Any]] = {}


def _row_builder(order: tuple[str, ...], procs: tuple, positional: bool) -> Callable[[dict[str, Any]], Any]:
    """A function row -> the driver's parameters (a tuple in ``order``, or a dict), each value
    through its column's bind processor: one generated expression per statement shape, because
    looping over the columns of every row in Python was a third of the archive's write time."""
    key = (order, procs, positional)
    fn = _BUILDERS.get(key)
    if fn is None:
        env = {f"p{i}": proc for i, proc in enumerate(procs) if proc is not None}
        parts = [(f"p{i}(r.get({c!r}))" if proc is not None else f"r.get({c!r})")
                 for i, (c, proc) in enumerate(zip(order, procs))]
        body = ("(" + ", ".join(parts) + ",)") if positional else \
            ("{" + ", ".join(f"{c!r}: {v}" for c, v in zip(order, parts)) + "}")
        fn = _BUILDERS[key] = eval(f"lambda r: {body}", env)  # noqa: S307 - built from column names only
    return fn


def _sqlite_file(url: str) -> Path | None:
    """The file of a file-based SQLite URL, else ``None``."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path) if path and not path.startswith(":") and "mode=memory" not in url else None


def _inode(path: Path | None) -> int | None:
    try:
        return path.stat().st_ino if path is not None else None
    except OSError:
        return None


def fingerprint(*parts: str | None) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update((p or "").encode("utf-8", "replace"))
        h.update(b"\x1f")
    return h.hexdigest()


def author_handle(author: str | None, hash_authors: bool) -> str | None:
    """Author handles are stored hashed unless the settings allow plain ones."""
    if author is None or not hash_authors:
        return author
    return "h:" + hashlib.sha256(author.encode("utf-8", "replace")).hexdigest()[:16]


class Archive:
    """Posts, classifications, tickets and dead letters in one SQL database."""

    def __init__(self, url: str, *, hash_authors: bool = True, create: bool = True) -> None:
        self.url = url
        self.hash_authors = hash_authors
        try:
            self.engine = make_engine(url)
            if create:
                with _migrate_lock:
                    if url not in _migrated or url.endswith(":memory:"):
                        migrate(self.engine)
                        _migrated.add(url)
        except OperationalError as exc:
            raise StorageError(f"cannot open the archive at {self.engine.url!r}: {exc.orig}",
                               hint="check database_url / CIVIC_DATABASE_URL") from None
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot migrate the archive at {self.engine.url!r}: "
                               f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:300]}",
                               hint="check database_url / CIVIC_DATABASE_URL") from None
        self._file = _sqlite_file(url)
        self._inode = _inode(self._file)

    @classmethod
    def from_settings(cls, settings) -> "Archive":
        return cls(settings.sqlalchemy_url, hash_authors=settings.privacy.hash_authors)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- writes ---------------------------------------------------------------------------
    def _post_row(self, p: Post) -> dict[str, Any]:
        return dict(
            # strings are cut to their column's length: PostgreSQL refuses longer ones, and one odd
            # post must not block its whole batch
            id=p.id, source=fit(p.source, 50), author=fit(author_handle(p.author, self.hash_authors), 200),
            text=p.text, created_at=p.created_at, language=fit(p.language, 20),
            lat=p.coordinates.lat if p.coordinates else None, lon=p.coordinates.lon if p.coordinates else None,
            place=fit(p.place, 300), url=fit(p.url, 500), is_repost=p.is_repost,
            reposted_id=fit(p.reposted_id, 200), quoted_id=fit(p.quoted_id, 200),
            raw=orjson.dumps(p.raw).decode() if p.raw is not None else None, deleted=False,
            archived_at=datetime.now(timezone.utc),
        )

    def write_posts(self, posts: Sequence[Post]) -> int:
        """Insert posts not yet archived; returns how many were new."""
        return self._guard(lambda: insert_ignore(self.engine, PostRow.__table__, [self._post_row(p) for p in posts], ["id"]))

    def write_classified(self, items: Sequence[ClassifiedPost], run_id: str = "live") -> int:
        """Archive each post (once) and its classification for ``run_id`` (once)."""
        def do() -> int:
            with self.engine.begin() as conn:  # the posts and their classifications: one commit
                insert_ignore(conn, PostRow.__table__, [self._post_row(i.post) for i in items], ["id"])
                gone = self.deleted_ids(conn, (i.post.id for i in items))  # deleted at the source: no classification
                return insert_ignore(conn, ClassificationRow.__table__, classification_rows(gone), ["post_id", "run_id"])

        def classification_rows(gone: set[str]) -> list[dict[str, Any]]:
            now = datetime.now(timezone.utc)
            rows = []
            for i in items:
                if i.post.id in gone:
                    continue
                c = i.classification
                loc = c.location
                rows.append(dict(
                    post_id=c.post_id, run_id=run_id, actionable=c.actionable, actionable_score=c.actionable_score,
                    category_code=fit(c.category.code, 40) if c.category else None,
                    category_score=c.category.score if c.category else None,
                    location_text=loc.text[:300] if loc else None, location_kind=loc.kind.value if loc else None,
                    address=fit(loc.address, 300) if loc else None,
                    neighborhood=fit(loc.neighborhood, 100) if loc else None,
                    lat=loc.lat if loc else None, lon=loc.lon if loc else None,
                    location_score=loc.score if loc else None, language=fit(c.language, 20),
                    model_version=fit(c.model_version, 100), reason=(c.reason or None) and c.reason[:300],
                    jurisdiction=fit(c.jurisdiction, 40), created_at=now,
                ))
            return rows
        return self._guard(do)

    def write_dead_letters(self, items: Iterable[DeadLetter]) -> int:
        items = list(items)
        for d in items:  # a delete travels as a dead letter (civic_signal.core.models.PostDeleted): apply it
            deleted = PostDeleted.from_dead_letter(d)
            if deleted is not None:
                self.forget_post(deleted.post_id)

        def do() -> int:
            with self.engine.begin() as conn:  # a letter of a post deleted before it came keeps no payload
                gone = self.deleted_ids(conn, (d.post_id for d in items if d.post_id and d.stage != DELETE_STAGE))
                rows = [dict(fingerprint=fingerprint(d.stage, d.origin, d.payload), stage=fit(d.stage, 50),
                             reason=d.reason, payload=("[deleted at the source]" if d.post_id in gone and d.stage != DELETE_STAGE
                                                   else d.payload),
                             origin=fit(d.origin, 500), post_id=fit(d.post_id, 200), created_at=d.created_at)
                        for d in items]
                return insert_ignore(conn, DeadLetterRow.__table__, rows, ["fingerprint"])
        n = self._guard(do)
        metrics.dead_letters((d.stage, d.reason) for d in items if d.stage != DELETE_STAGE)
        return n

    def queue_tickets(self, tickets: Sequence[Ticket], incident_ids: Sequence[str | None] | None = None) -> int:
        """Put tickets in the outbox (insert-or-ignore on the idempotency key); none for a post
        deleted at its source."""
        now = datetime.now(timezone.utc)

        def do() -> int:
            with self.engine.begin() as conn:
                gone = self.deleted_ids(conn, (t.post_id for t in tickets))
                return insert_ignore(conn, TicketRow.__table__, [r for r in rows if r["post_id"] not in gone], ["id"])
        rows = [dict(id=t.id, post_id=t.post_id, incident_id=(incident_ids[n] if incident_ids else None),
                     service_code=t.service_code, jurisdiction=t.jurisdiction, description=t.description,
                     lat=t.lat, lon=t.lon,
                     address=fit(t.address, 300),
                     media_url=t.media_url if t.media_url and len(t.media_url) <= 500 else None,  # never a cut URL
                     confidence=t.confidence, status=t.status.value,
                     attempts=0, created_at=t.created_at, updated_at=now)
                for n, t in enumerate(tickets)]
        return self._guard(do)

    # -- deletes ------------------------------------------------------------------------------
    def forget_post(self, post_id: str) -> dict[str, int]:
        """The post was deleted at its source: every copy of its text goes, in one transaction
        (the post, its classifications, incidents and their tickets, dead letters, exported
        files; see :mod:`civic_signal.sinks.forget`), and its tickets not yet sent are cancelled.

        Idempotent. A delete that arrives before its post leaves a tombstone (a ``deleted`` row
        without text), so the post, when it comes later, is not archived with its text (writes
        are insert-or-ignore) and gets no classification, ticket or incident report. Returns
        counts: ``{"posts": ..., "tickets_cancelled": ..., ...}``.
        """
        from civic_signal.sinks.forget import forget_post

        def do() -> dict[str, int]:
            with self.engine.begin() as conn:
                return forget_post(conn, post_id, datetime.now(timezone.utc))
        return self._guard(do)

    def deleted_ids(self, conn: sa.Connection, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` whose post was deleted at its source (a tombstone in ``posts``)."""
        ids = sorted(set(ids))
        out: set[str] = set()
        posts = PostRow.__table__
        for i in range(0, len(ids), 500):
            out.update(r[0] for r in conn.execute(sa.select(posts.c.id).where(
                posts.c.id.in_(ids[i:i + 500]), posts.c.deleted == sa.true())))
        return out

    def register_export(self, paths: Sequence[str | Path], post_ids: Iterable[str]) -> int:
        """Record that the files ``paths``, written together, hold the posts ``post_ids``: a later
        delete of one of the posts removes them. Files of an earlier export with one of these
        paths were overwritten: they leave that export. Returns the export's id."""
        exports, posts = ExportRow.__table__, ExportedPostRow.__table__
        names = [str(Path(p).resolve()) for p in paths]
        ids = sorted(set(post_ids))

        def do() -> int:
            with self.engine.begin() as conn:
                for row in conn.execute(sa.select(exports.c.id, exports.c.paths)).all():
                    old = orjson.loads(row.paths)
                    left = [p for p in old if p not in names]
                    if not left:
                        conn.execute(sa.delete(posts).where(posts.c.export_id == row.id))
                        conn.execute(sa.delete(exports).where(exports.c.id == row.id))
                    elif len(left) != len(old):
                        conn.execute(sa.update(exports).where(exports.c.id == row.id)
                                     .values(paths=orjson.dumps(left).decode()))
                export_id = conn.execute(sa.insert(exports).values(
                    paths=orjson.dumps(names).decode(), created_at=datetime.now(timezone.utc))).inserted_primary_key[0]
                insert_ignore(conn, posts, [dict(export_id=export_id, post_id=i) for i in ids], ["export_id", "post_id"])
                return export_id
        return self._guard(do)

    # -- cursors ----------------------------------------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        with self.session() as s:
            row = s.get(CursorRow, name)
            return row.value if row else None

    def set_cursor(self, name: str, value: str) -> None:
        def do() -> None:
            with self.session() as s:
                row = s.get(CursorRow, name)
                if row is None:
                    s.add(CursorRow(name=name, value=value))
                else:
                    row.value = value
                    row.updated_at = datetime.now(timezone.utc)
                s.commit()
        self._guard(do)

    # -- reads --------------------------------------------------------------------------------
    def count(self, model: type[SQLModel], *where: Any) -> int:
        with self.session() as s:
            return s.exec(select(sa.func.count()).select_from(model).where(*where)).one()

    def summary(self, run_id: str = "live") -> dict[str, Any]:
        """Counts for the end-of-run summary and the console."""
        with self.session() as s:
            per_cat = s.exec(
                select(ClassificationRow.category_code, sa.func.count())
                .where(ClassificationRow.run_id == run_id, ClassificationRow.actionable == sa.true())
                .group_by(ClassificationRow.category_code)
                .order_by(sa.func.count().desc())
            ).all()
            tickets = s.exec(select(TicketRow.status, sa.func.count()).group_by(TicketRow.status)).all()
        return {
            "posts": self.count(PostRow),
            "classified": self.count(ClassificationRow, ClassificationRow.run_id == run_id),
            "actionable": self.count(ClassificationRow, ClassificationRow.run_id == run_id,
                                     ClassificationRow.actionable == sa.true()),
            "categories": {code or "-": n for code, n in per_cat},
            "tickets": {status: n for status, n in tickets},
            "dead_letters": self.count(DeadLetterRow),
        }

    def _check_file(self) -> None:
        """A SQLite archive whose file was removed must not take writes: pooled connections would
        write into the deleted file and lose them, and a new connection would create an empty one."""
        if self._file is None:
            return
        inode = _inode(self._file)
        if inode is None:
            self.engine.dispose()
            raise StorageError(f"the archive file {self._file} is gone (removed, or its volume unmounted)",
                               hint="restore it or its volume; the batch was not committed and will be retried")
        if inode != self._inode:  # restored or replaced: reconnect to the file now at the path
            self.engine.dispose()
            self._inode = inode

    def _guard(self, fn):
        try:
            self._check_file()
            return fn()
        except SQLAlchemyError as exc:
            raise StorageError(f"archive write failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:300]}",
                               hint="the batch was not committed and will be retried") from exc

    def close(self) -> None:
        self.engine.dispose()
