"""A real Prometheus (Debian's package) scrapes running `listen`, `work classify` and `work sink`
processes on a real Kafka broker, and its query API shows the posts counters rising."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.listener.cli.test_kafka_roles import Roles, make_stream, wait_for
from tests.services.kafka import kafka_broker  # noqa: F401  (session fixture)
from tests.services.prometheus import free_port, prometheus  # noqa: F401  (fixture)

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus, pytest.mark.slow]


def _rising(prom, expr: str, what: str) -> tuple[float, float]:
    """Two values of ``expr`` as Prometheus scrapes it, the second above the first (and above 0)."""
    first = wait_for(lambda: (prom.value(expr) or 0) > 0 and prom.value(expr), 60, f"{what} above 0")
    second = wait_for(lambda: (v := prom.value(expr) or 0) > first and v, 60, f"{what} rising above {first}")
    return first, second


def test_prometheus_scrapes_listen_and_work_sink_and_sees_the_posts_counters_rise(kafka_broker, tmp_path,
                                                                                  prometheus):
    ports = {"listen": free_port(), "classify": free_port(), "sink": free_port()}
    prom = prometheus({job: f"127.0.0.1:{port}" for job, port in ports.items()})
    stream = make_stream(tmp_path / "stream.jsonl", 3000)  # 100 s at 30 posts/s: still running when checked
    roles = Roles(tmp_path, {**kafka_broker.env("prometheus"), "CIVIC_METRICS__REFRESH_S": "1"})
    env = roles.env
    try:
        roles.env = {**env, "CIVIC_METRICS__PORT": str(ports["sink"])}
        sink = roles.start("work", "sink")
        roles.env = {**env, "CIVIC_METRICS__PORT": str(ports["classify"])}
        roles.start("work", "classify")
        prom.wait_up("sink")
        prom.wait_up("classify")
        roles.env = {**env, "CIVIC_METRICS__PORT": str(ports["listen"])}
        listen = roles.start("listen", "--source", "replay", "--path", str(stream), "--speed", "30")
        prom.wait_up("listen")

        a, b = _rising(prom, 'sum(civic_signal_posts_in_total{job="listen",source="replay"})', "posts read by listen")
        c, d = _rising(prom, 'civic_signal_posts_written_total{job="sink"}', "posts written by work sink")
        assert 0 < a < b <= 3000 and 0 < c < d <= 3000
        assert (prom.value('civic_signal_posts_classified_total{job="classify"}') or 0) > 0
        # the sink's other series are there too, as an operator's alerts would use them
        assert prom.value('civic_signal_ready{job="sink",check="archive"}') == 1
        assert prom.value('civic_signal_ready{job="sink",check="bus"}') == 1
        assert prom.query('civic_signal_bus_lag{job="sink",topic="classified",group="sink"}')
        assert prom.query('civic_signal_tickets{job="sink",jurisdiction="boston"}')
        assert prom.value('civic_signal_source_connected{job="listen",source="replay"}') == 1
        assert prom.value('civic_signal_model_info{job="classify"}') == 1
        # readiness of each role, over its own port
        for job in ("sink", "listen"):
            ready = httpx.get(f"http://127.0.0.1:{ports[job]}/readyz", timeout=2)
            assert ready.status_code == 200, (job, ready.text)
        assert listen.poll() is None and sink.poll() is None
    finally:
        roles.terminate()
    for p in roles.procs:
        assert p.returncode == 0, roles.output(p)[-2000:]
