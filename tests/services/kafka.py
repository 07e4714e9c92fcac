"""A real Apache Kafka broker (KRaft, one JVM, 127.0.0.1) for the whole test session.

Use it from any test module::

    from tests.services.kafka import kafka_broker  # noqa: F401  (the session fixture)

    pytestmark = pytest.mark.kafka

    def test_something(kafka_broker):
        settings = kafka_broker.settings("my-test")            # unique topics and groups
        env = kafka_broker.env("my-test")                      # the same, as CIVIC_* env for subprocesses

What it gives (:class:`KafkaBroker`): ``bootstrap`` (``"127.0.0.1:PORT"``), ``settings(name)``
and ``env(name)`` with topics and a group prefix of their own per ``name`` (so tests never see
each other's messages) and short group timeouts (session 4 s, heartbeat 1 s) so that joins and
the eviction of a killed member are quick, and ``stop()`` / ``start()`` to take the broker away
and bring it back on the same port with its data (for tests of outages).

The broker is started once, on first use, by ``scripts/kafka.sh up`` in a temporary directory
(about 5 s), and stopped and deleted at the end of the session. The jars come from
``tools/kafka/pom.xml`` (``scripts/kafka.sh fetch``, cached in ``.cache/kafka/`` or ``$KAFKA_JARS``).
Without Java, or without Maven and the jars, the tests skip with the reason; with
``CIVIC_REQUIRE_KAFKA=1`` (set by ``.ci/services/20-kafka.sh``) they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, require_or_skip

SCRIPT = REPO / "scripts" / "kafka.sh"
JARS = Path(os.environ.get("KAFKA_JARS") or REPO / ".cache" / "kafka")

#: Settings every Kafka test uses: quick group joins and evictions.
TEST_KAFKA = {"session_timeout_ms": 4000, "heartbeat_interval_ms": 1000, "max_poll_interval_ms": 60000,
              "partitions": 4}


@dataclass(frozen=True)
class KafkaBroker:
    bootstrap: str
    directory: Path

    def _script(self, cmd: str) -> str:
        out = subprocess.run(["bash", str(SCRIPT), cmd, str(self.directory)], capture_output=True, text=True,
                             timeout=180)
        if out.returncode != 0:
            raise RuntimeError(f"scripts/kafka.sh {cmd} failed: {out.stderr[-2000:]}")
        return out.stdout.strip()

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after 30 s). Its data stays."""
        self._script("down")

    def start(self) -> None:
        """Start it again on the same port with the same data; returns when it answers."""
        self._script("up")

    def kafka_settings(self, name: str, **overrides: Any) -> dict[str, Any]:
        """The ``kafka`` section for a test: its own topics (``t.<name>.raw`` ...) and group prefix."""
        slug = re.sub(r"[^A-Za-z0-9_.-]", "-", name)[:100]
        return {"bootstrap_servers": [self.bootstrap], "topic_raw": f"t.{slug}.raw",
                "topic_classified": f"t.{slug}.classified", "topic_dead_letter": f"t.{slug}.dead-letter",
                "topic_tickets": f"t.{slug}.tickets", "group_prefix": f"g.{slug}", **TEST_KAFKA, **overrides}

    def settings(self, name: str, **kafka_overrides: Any):
        """Full settings (defaults + the test's environment) with :meth:`kafka_settings` and ``bus.kind=kafka``."""
        from civic_signal.config.settings import load_settings
        return load_settings(kafka=self.kafka_settings(name, **kafka_overrides), bus={"kind": "kafka"},
                             classifier={"kind": "keyword"})

    def env(self, name: str, **kafka_overrides: Any) -> dict[str, str]:
        """:meth:`settings` as ``CIVIC_*`` variables, for ``civic-signal`` subprocesses."""
        env = {"CIVIC_BUS__KIND": "kafka", "CIVIC_CLASSIFIER__KIND": "keyword"}
        for key, value in self.kafka_settings(name, **kafka_overrides).items():
            env[f"CIVIC_KAFKA__{key.upper()}"] = ",".join(value) if isinstance(value, list) else str(value)
        return env


def _start(directory: Path) -> KafkaBroker:
    if shutil.which("java") is None:
        require_or_skip("CIVIC_REQUIRE_KAFKA", "the Kafka tests need Java (apt-get install default-jre-headless)")
    if not any(JARS.glob("kafka_2.13-*.jar")):
        if shutil.which("mvn") is None:
            require_or_skip("CIVIC_REQUIRE_KAFKA", f"the Kafka tests need the broker jars in {JARS} or Maven to fetch them")
        out = subprocess.run(["bash", str(SCRIPT), "fetch"], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "KAFKA_JARS": str(JARS)})
        if out.returncode != 0:
            require_or_skip("CIVIC_REQUIRE_KAFKA", f"fetching the Kafka jars failed: {out.stderr[-500:]}")
    out = subprocess.run(["bash", str(SCRIPT), "up", str(directory)], capture_output=True, text=True, timeout=180,
                         env={**os.environ, "KAFKA_JARS": str(JARS)})
    if out.returncode != 0:
        require_or_skip("CIVIC_REQUIRE_KAFKA", f"the Kafka broker did not start: {out.stderr[-1500:]}")
    return KafkaBroker(bootstrap=out.stdout.strip().splitlines()[-1], directory=directory)


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory):
    """One broker for the session (see the module docstring)."""
    directory = tmp_path_factory.mktemp("kafka") / "broker"
    broker = _start(directory)
    try:
        yield broker
    finally:
        subprocess.run(["bash", str(SCRIPT), "purge", str(directory)], capture_output=True, timeout=120)
