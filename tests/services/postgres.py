"""PostgreSQL for tests marked ``postgres``.

``pg_server`` (session): ``CIVIC_TEST_PG_URL`` when set (``.ci/services/10-postgres.sh`` sets it),
else a throwaway cluster started here from Debian's binaries (``/usr/lib/postgresql/*/bin``, run
as user ``postgres`` when we are root), else a skip through ``require_or_skip`` (a failure
when ``CIVIC_REQUIRE_POSTGRES=1``). ``pg_url``: a fresh, empty database per test, dropped after.
``db_url``: parametrize a test over SQLite and PostgreSQL with ``@pytest.mark.parametrize(
"db_url", ["sqlite", "postgres"], indirect=True)``; import the fixtures into the test module.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.conftest import require_or_skip


def _bindir() -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    return dirs[-1] if dirs and os.path.exists(os.path.join(dirs[-1], "initdb")) else None


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--"] + cmd if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    url = os.environ.get("CIVIC_TEST_PG_URL")
    if url:
        yield url
        return
    bindir = _bindir()
    if bindir is None:
        require_or_skip("CIVIC_REQUIRE_POSTGRES", "PostgreSQL is not installed (apt-get install postgresql, "
                        "or set CIVIC_TEST_PG_URL)")
    tmp = tempfile.mkdtemp(prefix="civic-pg-")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(tmp, "data")
    try:
        subprocess.run(_as_pg([f"{bindir}/initdb", "-D", data, "--auth=trust", "-U", "postgres"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_pg([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "server.log"), "-w", "-o",
                               f"-p {port} -c listen_addresses=127.0.0.1 -k {tmp} -c fsync=off", "start"]),
                       check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        require_or_skip("CIVIC_REQUIRE_POSTGRES", f"could not start PostgreSQL: {exc}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_pg([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


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
