"""/metrics, /healthz, /readyz over real HTTP on 127.0.0.1; /readyz follows the archive's writability."""

from __future__ import annotations

import shutil
import socket
import time

import httpx
import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.config.settings import load_settings
from civic_signal.core import metrics
from civic_signal.listener.bus.memory import MemoryBus
from civic_signal.listener.observe import observing, readiness_for
from civic_signal.listener.ops_http import OpsServer
from civic_signal.listener.readiness import Readiness
from civic_signal.sinks.archive import Archive


def _wait_for(url: str, code: int, timeout_s: float = 15.0) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    resp = None
    while time.monotonic() < deadline:
        resp = httpx.get(url, timeout=2)
        if resp.status_code == code:
            return resp
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer {code}; last: {resp.status_code if resp else None} "
                         f"{resp.text if resp else ''}")


def test_the_three_endpoints():
    metrics.posts_in("ops-http-test", 3)
    server = OpsServer(Readiness({"always": lambda: None}), port=0).start()
    try:
        assert server.host == "127.0.0.1"
        health = httpx.get(server.url + "healthz", timeout=2)
        assert health.status_code == 200 and health.text == "ok\n"
        assert httpx.get(server.url + "readyz", timeout=2).status_code == 503  # not checked yet
        server._server.readiness.run_once()
        ready = httpx.get(server.url + "readyz", timeout=2)
        assert ready.status_code == 200 and ready.json()["checks"] == {"always": {"ok": True, "detail": ""}}
        scrape = httpx.get(server.url + "metrics", timeout=2)
        assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
        assert 'civic_signal_posts_in_total{source="ops-http-test"} 3.0' in scrape.text
        assert "process_resident_memory_bytes" in scrape.text
        assert httpx.get(server.url + "nope", timeout=2).status_code == 404
    finally:
        server.close()


def test_a_port_in_use_is_a_clear_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        with pytest.raises(ConfigError, match="CIVIC_METRICS__PORT"):
            OpsServer(Readiness({}), port=s.getsockname()[1])
    finally:
        s.close()


def test_metrics_are_off_by_default(tmp_path):
    settings = load_settings()
    assert settings.metrics.port == 0 and settings.metrics.host == "127.0.0.1"
    with observing(settings, "run") as server:
        assert server is None


def test_readyz_turns_unready_when_the_archive_becomes_unwritable_and_ready_again(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    archive = Archive(f"sqlite:///{folder}/archive.db")
    settings = load_settings(metrics={"port": 0, "refresh_s": 0.05})
    readiness, closers = readiness_for(settings, bus=MemoryBus(), archive=archive, lag=[("raw", "classify")])
    server = OpsServer(readiness, port=0).start()
    readiness.start()
    url = server.url + "readyz"
    try:
        ready = _wait_for(url, 200)
        assert ready.json()["checks"]["archive"]["ok"]
        # the volume goes away and something that is not a directory takes its place: root cannot
        # write there either (file permissions would not stop root)
        moved = tmp_path / "moved"
        folder.rename(moved)
        folder.write_text("not a directory\n")
        unready = _wait_for(url, 503)
        check = unready.json()["checks"]["archive"]
        assert not check["ok"] and "archive" in check["detail"], check
        assert unready.json()["checks"]["bus"]["ok"]
        assert metrics.sample("civic_signal_ready", {"check": "archive"}) == 0
        folder.unlink()
        moved.rename(folder)  # the volume is back
        assert _wait_for(url, 200).json()["checks"]["archive"]["ok"]
        assert metrics.sample("civic_signal_ready", {"check": "archive"}) == 1
    finally:
        server.close()
        readiness.close()
        for close in closers:
            close()
        archive.close()


def test_the_probe_refuses_a_missing_file_and_a_directory_in_its_place(tmp_path):
    """The probe never creates the file (a new empty archive would hide the outage)."""
    from civic_signal.sinks.archive.probe import unwritable
    archive = Archive(f"sqlite:///{tmp_path}/a.db")
    assert unwritable(archive) is None
    archive._file = tmp_path / "missing.db"
    assert "gone" in unwritable(archive)
    (tmp_path / "dir.db").mkdir()
    archive._file = tmp_path / "dir.db"
    assert unwritable(archive) is not None
    shutil.rmtree(tmp_path / "dir.db")


def test_the_tickets_gauge_comes_from_the_archive(tmp_path):
    from civic_signal.core.models import Ticket
    archive = Archive(f"sqlite:///{tmp_path}/t.db")
    t = Ticket(id="t-1", post_id="p-1", service_code="REQPOTHL", description="pothole", lat=42.35, lon=-71.06,
               confidence=0.9)
    archive.queue_tickets([t])
    settings = load_settings(metrics={"port": 0, "jurisdiction": "gaugetown"})
    readiness, _ = readiness_for(settings, archive=archive, check_bus=False)
    assert readiness.run_once().ready
    assert metrics.sample("civic_signal_tickets", {"state": t.status.value, "jurisdiction": "gaugetown"}) == 1


def test_the_bus_check_fails_when_kafka_is_unreachable():
    """A real Kafka client against a port where nothing listens: the role is unready and says why."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    settings = load_settings(kafka={"bootstrap_servers": [f"127.0.0.1:{port}"], "request_timeout_ms": 1500},
                             metrics={"port": 0})
    readiness, closers = readiness_for(settings, lag=[("raw", "classify")])
    try:
        state = readiness.run_once().as_dict()
    finally:
        for close in closers:
            close()
    assert not state["ready"]
    assert f"127.0.0.1:{port}" in state["checks"]["bus"]["detail"]
    assert metrics.sample("civic_signal_ready", {"check": "bus"}) == 0


def test_the_tickets_gauge_has_one_jurisdiction_label_per_city(tmp_path):
    from civic_signal.core.models import Ticket
    archive = Archive(f"sqlite:///{tmp_path}/t.db")
    archive.queue_tickets([Ticket(id=f"t-{j}-{n}", post_id=f"p-{j}-{n}", service_code="x", description="pothole",
                                  lat=42.36, lon=-71.1, confidence=0.9, jurisdiction=j)
                           for j, k in (("boston", 1), ("cambridge", 2)) for n in range(k)])
    readiness, _ = readiness_for(load_settings(metrics={"port": 0}), archive=archive, check_bus=False)
    assert readiness.run_once().ready
    assert metrics.sample("civic_signal_tickets", {"state": "pending", "jurisdiction": "boston"}) == 1
    assert metrics.sample("civic_signal_tickets", {"state": "pending", "jurisdiction": "cambridge"}) == 2
