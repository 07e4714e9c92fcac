"""PostgreSQL for tests marked ``postgres``.

``pg_server`` (session): ``CIVIC_TEST_PG_URL`` when set (``.ci/services/10-postgres.sh`` sets it),
else a throwaway cluster started here from Debian's binaries (``/usr/lib/postgresql/*/bin``, run
as user ``postgres`` when we are root), else a skip through ``require_or_skip`` (a failure
when ``CIVIC_REQUIRE_POSTGRES=1``). ``pg_url``: a fresh, empty database per test, dropped after.
``db_url``: parametrize a test over SQLite and PostgreSQL with ``@pytest.mark.parametrize(
"db_url", ["sqlite", "postgres"], indirect=True)``; import the fixtures into the test module.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.conftest import require_or_skip


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The server: the one ``make bench`` also starts (:func:`bench.services.postgres_server`)."""
    from bench.services import Unavailable, postgres_server
    try:
        server = postgres_server(os.environ.get("CIVIC_TEST_PG_URL") or "auto")
        url = server.__enter__()
    except Unavailable as exc:
        require_or_skip("CIVIC_REQUIRE_POSTGRES", str(exc))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database on the server, dropped after the test."""
    name = "civic_t_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        require_or_skip("CIVIC_REQUIRE_POSTGRES", f"PostgreSQL at CIVIC_TEST_PG_URL is not reachable: {exc.orig}")
    url = sa.engine.make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """``sqlite`` or ``postgres`` (indirect parameter): a fresh archive database URL."""
    if request.param == "postgres":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path}/archive.db"


#: Use as ``@BACKENDS`` on a test that takes ``db_url``.
BACKENDS = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
