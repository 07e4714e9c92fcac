"""Can the archive take writes right now? A quick probe for readiness checks.

:func:`unwritable` answers ``None`` when a write could be committed now, else why not. It writes
nothing: on SQLite it opens the file read-write (never creating it) and takes the write lock
(``BEGIN IMMEDIATE``) for an instant; elsewhere (PostgreSQL) it runs a rolled-back ``UPDATE`` that
touches no row, which a read-only server or a missing table refuses. The archive being busy
(another writer holds the lock) counts as writable. It never raises and waits at most
``timeout_s`` (plus the database driver's connect time).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError


def unwritable(archive: Any, *, timeout_s: float = 0.5) -> str | None:
    """``None`` if ``archive`` (:class:`civic_signal.sinks.archive.Archive`) takes writes, else the reason."""
    path = getattr(archive, "_file", None)
    if path is not None:
        return _sqlite(Path(path), timeout_s)
    try:
        with archive.engine.connect() as conn:
            tx = conn.begin()
            try:
                conn.execute(sa.text("UPDATE cursors SET value = value WHERE 1 = 0"))
            finally:
                tx.rollback()
        return None
    except SQLAlchemyError as exc:
        return f"archive not writable: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
    except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
        return f"archive probe failed: {exc.__class__.__name__}: {exc}"[:300]


def _sqlite(path: Path, timeout_s: float) -> str | None:
    if not path.is_file():
        return f"the archive file {path} is gone (removed, or its volume unmounted)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        return f"cannot open the archive {path} for writing: {exc}"
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return None
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None  # another writer holds the lock: busy, not broken
        return f"the archive {path} does not take writes: {exc}"
    except sqlite3.Error as exc:
        return f"the archive {path} does not take writes: {exc}"
    finally:
        conn.close()
