"""The push receiver (`listen --source datasift-push`, embedded pipeline) serves its metrics and
health on CIVIC_METRICS__PORT while real signed pushes arrive over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from civic_signal.listener.sources.push import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.conftest import REPO
from tests.services.prometheus import free_port

SECRET = "push-secret-for-the-metrics-test"


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _push(port: int, first: int, n: int) -> None:
    body = json.dumps({"interactions": [
        {"interaction": {"id": f"m{first + i}", "content": f"huge pothole on Dot Ave number {first + i}",
                         "created_at": "Fri, 20 Nov 2026 12:00:00 +0000"}} for i in range(n)]}).encode()
    ts = str(int(time.time()))
    r = httpx.post(f"http://127.0.0.1:{port}/push", content=body, timeout=10,
                   headers={TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(SECRET.encode(), ts, body)})
    assert r.status_code == 200, r.text


@pytest.mark.slow
def test_the_push_receiver_serves_metrics_and_readiness(tmp_path):
    metrics_port, push_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
        "PYTHONPATH": str(REPO), "CIVIC_METRICS__PORT": str(metrics_port), "CIVIC_METRICS__REFRESH_S": "0.2",
        "CIVIC_DATASIFT__PUSH_SECRET": SECRET, "CIVIC_DATASIFT__PUSH_PORT": str(push_port),
        "CIVIC_CLASSIFIER__KIND": "keyword"}
    log = open(tmp_path / "listen.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "civic_signal.listener.cli", "listen", "--source", "datasift-push",
                             "--bus", "memory"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{metrics_port}"
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(base + "/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert ready is not None and ready.status_code == 200, (tmp_path / "listen.log").read_text()[-2000:]
        assert set(ready.json()["checks"]) == {"source", "bus", "archive"}
        assert httpx.get(base + "/healthz", timeout=2).text == "ok\n"

        _push(push_port, 0, 30)
        _push(push_port, 30, 20)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = httpx.get(base + "/metrics", timeout=2).text
            if _metric(text, "civic_signal_posts_written_total") >= 50:
                break
            time.sleep(0.2)
        assert _metric(text, 'civic_signal_posts_in_total{source="datasift-push"}') == 50
        assert _metric(text, "civic_signal_posts_classified_total") == 50
        assert _metric(text, "civic_signal_posts_written_total") == 50
        assert _metric(text, 'civic_signal_posts_actionable_total{category="REQPOTHL"}') == 50
        assert _metric(text, 'civic_signal_source_connected{source="datasift-push"}') == 1
        assert 'civic_signal_model_info{version="keyword-1"} 1.0' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (tmp_path / "listen.log").read_text()[-2000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(base + "/healthz", timeout=2)  # the server went with the process


@pytest.mark.slow
def test_the_embedded_run_serves_metrics_when_a_port_is_set(tmp_path):
    metrics_port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {
        "PYTHONPATH": str(REPO), "CIVIC_METRICS__PORT": str(metrics_port), "CIVIC_METRICS__REFRESH_S": "0.2",
        "CIVIC_CLASSIFIER__KIND": "keyword"}
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "civic_signal.listener.cli", "run", "--plain", "--speed", "30"],
                            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{metrics_port}"
    try:
        deadline, text, ready = time.monotonic() + 60, "", None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                text = httpx.get(base + "/metrics", timeout=2).text
                ready = httpx.get(base + "/readyz", timeout=2)
                # every ticket state is reported from the first refresh (0 when none): wait for a real count
                if ready.status_code == 200 and _metric(text, "civic_signal_posts_written_total") > 0 and _metric(
                        text, 'civic_signal_tickets{jurisdiction="boston",state="pending"}') > 0:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, (tmp_path / "run.log").read_text()[-2000:]
        assert set(ready.json()["checks"]) == {"source", "bus", "archive"}
        assert _metric(text, 'civic_signal_posts_in_total{source="replay"}') > 0
        assert _metric(text, "civic_signal_posts_written_total") > 0
        assert _metric(text, 'civic_signal_tickets{jurisdiction="boston",state="pending"}') > 0  # from the archive
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()[-2000:]
