"""Throwaway services for the benchmarks: a PostgreSQL cluster and an Apache Kafka broker.

Both are started the way the tests start them (``tests/services/postgres.py``,
``scripts/kafka.sh``) in a temporary directory, and stopped and deleted on exit. When one cannot
be had, :class:`Unavailable` says why; the benchmark turns that into a note in the table.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KAFKA_SCRIPT = REPO / "scripts" / "kafka.sh"


class Unavailable(RuntimeError):
    """The service cannot be started here; the message says what is missing."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--"] + cmd if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server(url: str | None = "auto") -> Iterator[str]:
    """A PostgreSQL server URL: ``url`` itself unless it is ``"auto"``, else a throwaway cluster
    (Debian's binaries, fsync off, as user ``postgres`` when root)."""
    if url and url != "auto":
        yield url
        return
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    if not dirs or not os.path.exists(f"{dirs[-1]}/initdb"):
        raise Unavailable("PostgreSQL is not installed (apt-get install postgresql, or set CIVIC_TEST_PG_URL)")
    bindir, tmp, port = dirs[-1], tempfile.mkdtemp(prefix="civic-bench-pg-"), _free_port()
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
    data = os.path.join(tmp, "data")
    try:
        subprocess.run(_as_pg([f"{bindir}/initdb", "-D", data, "--auth=trust", "-U", "postgres"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_pg([f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "server.log"), "-w", "-o",
                               f"-p {port} -c listen_addresses=127.0.0.1 -k {tmp} -c fsync=off", "start"]),
                       check=True, capture_output=True, timeout=120)
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise Unavailable(f"could not start PostgreSQL: {exc}") from None
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_pg([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True,
                       timeout=60)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def kafka_broker() -> Iterator[str]:
    """A bootstrap address: ``CIVIC_BENCH_KAFKA`` if set (a broker you run), else one broker
    started by ``scripts/kafka.sh up`` in a temporary directory and purged afterwards."""
    given = os.environ.get("CIVIC_BENCH_KAFKA")
    if given:
        yield given
        return
    if shutil.which("java") is None:
        raise Unavailable("Java is not installed (apt-get install default-jre-headless): no Kafka broker")
    jars = Path(os.environ.get("KAFKA_JARS") or REPO / ".cache" / "kafka")
    env = {**os.environ, "KAFKA_JARS": str(jars)}
    if not any(jars.glob("kafka_2.13-*.jar")):
        if shutil.which("mvn") is None:
            raise Unavailable(f"no Kafka jars in {jars} and Maven is not installed to fetch them (apt-get install maven)")
        out = subprocess.run(["bash", str(KAFKA_SCRIPT), "fetch"], capture_output=True, text=True, timeout=600, env=env)
        if out.returncode != 0:
            raise Unavailable(f"fetching the Kafka jars failed: {out.stderr[-300:]}")
    directory = Path(tempfile.mkdtemp(prefix="civic-bench-kafka-")) / "broker"
    out = subprocess.run(["bash", str(KAFKA_SCRIPT), "up", str(directory)], capture_output=True, text=True,
                         timeout=180, env=env)
    try:
        if out.returncode != 0:
            raise Unavailable(f"the Kafka broker did not start: {out.stderr[-300:]}")
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(KAFKA_SCRIPT), "purge", str(directory)], capture_output=True, timeout=120, env=env)
        shutil.rmtree(directory.parent, ignore_errors=True)
