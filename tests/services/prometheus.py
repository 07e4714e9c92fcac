"""A real Prometheus server (Debian's ``prometheus`` package) scraping what a test names.

Use it from any test module::

    from tests.services.prometheus import prometheus  # noqa: F401  (the fixture)

    pytestmark = pytest.mark.prometheus

    def test_something(prometheus):
        prom = prometheus({"listen": "127.0.0.1:9311"})    # job -> target; scraped every second
        prom.wait_up("listen")
        value = prom.value('sum(civic_signal_posts_in_total{job="listen"})')

The server runs on a free 127.0.0.1 port with its data in the test's temporary directory and is
stopped at the end of the test. Without the ``prometheus`` binary the tests skip with the reason;
with ``CIVIC_REQUIRE_PROMETHEUS=1`` (set by ``.ci/services/50-prometheus.sh``) they fail instead.
:func:`promtool` gives the path of ``promtool`` (same package) or skips the same way.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_or_skip

MISSING = "the prometheus tests need Debian's prometheus package (apt-get install prometheus)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        require_or_skip("CIVIC_REQUIRE_PROMETHEUS", MISSING)
    return path


@dataclass
class Prometheus:
    url: str
    proc: subprocess.Popen
    log: Path

    def query(self, expr: str) -> list[dict]:
        """The result vector of an instant query (``/api/v1/query``)."""
        resp = httpx.get(self.url + "/api/v1/query", params={"query": expr}, timeout=5)
        resp.raise_for_status()
        body = resp.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float | None:
        """The value of a query that gives one sample (``None`` when it gives none)."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def wait_up(self, job: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.value(f'up{{job="{job}"}}') == 1:
                return
            time.sleep(0.5)
        targets = httpx.get(self.url + "/api/v1/targets", timeout=5).text
        raise AssertionError(f"Prometheus never scraped {job}: {targets[:2000]}")


def _start(tmp: Path, targets: dict[str, str]) -> Prometheus:
    binary = shutil.which("prometheus")
    if binary is None:
        require_or_skip("CIVIC_REQUIRE_PROMETHEUS", MISSING)
    port = free_port()
    jobs = "\n".join(f"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']"
                     for job, target in targets.items())
    config = tmp / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                      f"scrape_configs:\n{jobs}\n")
    log = tmp / "prometheus.log"
    proc = subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=tmp)
    prom = Prometheus(url=f"http://127.0.0.1:{port}", proc=proc, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(prom.url + "/-/ready", timeout=1).status_code == 200:
                return prom
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"prometheus did not become ready: {log.read_text()[-2000:]}")


@pytest.fixture
def prometheus(tmp_path_factory: pytest.TempPathFactory):
    """A factory: ``prometheus({job: "127.0.0.1:PORT", ...})`` starts a server scraping those targets."""
    started: list[Prometheus] = []

    def start(targets: dict[str, str]) -> Prometheus:
        prom = _start(tmp_path_factory.mktemp("prometheus"), targets)
        started.append(prom)
        return prom

    yield start
    for prom in started:
        prom.proc.terminate()
        try:
            prom.proc.wait(30)
        except subprocess.TimeoutExpired:
            prom.proc.kill()
            prom.proc.wait()
