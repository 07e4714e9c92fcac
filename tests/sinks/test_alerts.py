"""Alert rules on synthetic streams, recording once per key, and the webhook on a loopback server."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from civic_signal.sinks.alerts import (Alert, AlertMonitor, AlertRules, Report, Webhook, bucket_counts, category_spikes,
                          count_reports, dead_letters_growing, delivery_failing, recent_alerts, sign,
                          stalled_sources, verify_signature)
from civic_signal.sinks.health import SourceState

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
RULES = AlertRules()


def steady_stream(days: int = 7, per_day: int = 2) -> list[Report]:
    """Background: a couple of flooding and pothole reports a day around Boston for a week."""
    out = []
    for d in range(days):
        for k in range(per_day):
            at = NOW - timedelta(days=d, hours=3 + 5 * k)
            out.append(Report(at, "NOUTILFLD", "Dorchester"))
            out.append(Report(at, "REQPOTHL", "Roxbury"))
    return out


def test_no_spike_in_a_steady_stream():
    window, baseline = count_reports(steady_stream(), NOW, RULES)
    assert category_spikes(window, baseline, NOW, RULES) == []


def test_five_flooding_reports_in_dorchester_within_30_minutes_is_a_spike():
    burst = [Report(NOW - timedelta(minutes=m), "NOUTILFLD", "Dorchester") for m in (1, 4, 9, 17, 28)]
    window, baseline = count_reports(steady_stream() + burst, NOW, RULES)
    alerts = category_spikes(window, baseline, NOW, RULES, {"NOUTILFLD": "Flood"})
    assert [(a.rule, a.data["category"], a.data["neighborhood"], a.data["count"]) for a in alerts] == [
        ("category_spike", "NOUTILFLD", "Dorchester", 5)]
    assert "Dorchester" in alerts[0].message and alerts[0].data["expected"] < 1


def test_four_reports_or_reports_spread_over_an_hour_are_not_a_spike():
    four = [Report(NOW - timedelta(minutes=m), "NOUTILFLD", "Dorchester") for m in (1, 4, 9, 17)]
    spread = [Report(NOW - timedelta(minutes=m), "NOUTILFLD", "Dorchester") for m in (1, 20, 35, 45, 55)]
    for extra in (four, spread):
        window, baseline = count_reports(steady_stream() + extra, NOW, RULES)
        assert category_spikes(window, baseline, NOW, RULES) == []


def test_a_busy_baseline_raises_the_bar():
    # 6 an half-hour, every half-hour for a week: 6 more now is normal
    busy = [Report(NOW - timedelta(minutes=30 * k + 10), "GENGRAFFITI", "Downtown") for k in range(1, 336) for _ in range(6)]
    now_six = [Report(NOW - timedelta(minutes=m), "GENGRAFFITI", "Downtown") for m in range(6)]
    window, baseline = count_reports(busy + now_six, NOW, RULES)
    assert category_spikes(window, baseline, NOW, RULES) == []
    window, baseline = count_reports(busy + now_six * 3, NOW, RULES)
    assert len(category_spikes(window, baseline, NOW, RULES)) == 1


def test_the_same_spike_keeps_its_key_within_the_window():
    burst = {("NOUTILFLD", "Dorchester"): 6}
    a = category_spikes(burst, {}, NOW, RULES)[0]
    b = category_spikes(burst, {}, NOW + timedelta(minutes=10), RULES)[0]
    assert a.key == b.key


def source(**kw) -> SourceState:
    base = dict(name="x-stream", process="listen@a", connected=True, last_message_at=NOW - timedelta(seconds=5),
                updated_at=NOW - timedelta(seconds=2))
    return SourceState(**{**base, **kw})


def test_stalled_sources():
    assert stalled_sources([source()], NOW, RULES) == []
    silent = stalled_sources([source(last_message_at=NOW - timedelta(minutes=25))], NOW, RULES)
    assert [a.data["reason"] for a in silent] == ["no posts for 25 min"]
    down = stalled_sources([source(connected=False, last_error="HTTP 401")], NOW, RULES)
    assert "disconnected: HTTP 401" in down[0].message
    crashed = stalled_sources([source(updated_at=NOW - timedelta(minutes=3))], NOW, RULES)
    assert "no heartbeat for 180 s" in crashed[0].message
    assert stalled_sources([source(connected=False)], NOW, RULES, stopped_processes={"listen@a"}) == []
    # not yet connected, or a replay at its end: disconnected without a reason is not a stall
    assert stalled_sources([source(connected=False, last_message_at=None)], NOW, RULES) == []
    flapping = stalled_sources([source(connected=False, reconnects=4)], NOW, RULES)
    assert "disconnected after 4 reconnects" in flapping[0].message


def test_delivery_failing():
    assert delivery_failing(3, 0, NOW, RULES, "HTTP 503")[0].severity == "critical"
    assert "HTTP 503" in delivery_failing(3, 0, NOW, RULES, "HTTP 503")[0].message
    assert delivery_failing(2, 0, NOW, RULES) == []
    assert delivery_failing(4, 9, NOW, RULES) == []


def test_dead_letters_growing_on_series():
    times = [NOW - timedelta(minutes=m) for m in (55, 41, 33, 22)] + [NOW - timedelta(minutes=1, seconds=s) for s in range(12)]
    series = bucket_counts(times, NOW, RULES.dead_letter_bucket, RULES.dead_letter_buckets)
    assert series == [1, 1, 1, 1, 0, 12]
    assert dead_letters_growing(series, NOW, RULES)[0].data["last"] == 12
    assert dead_letters_growing([10, 12, 11, 9, 10, 12], NOW, RULES) == []  # steady, not growing
    assert dead_letters_growing([0, 0, 0, 0, 0, 4], NOW, RULES) == []      # too few to matter


def test_monitor_records_each_alert_once(seeded_archive):
    monitor = AlertMonitor(seeded_archive, RULES)
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    first = monitor.check(now)
    assert {a.rule for a in first} == {"category_spike"}
    assert monitor.check(now) == []  # same key (rule, subject, bucket): not raised again
    assert [a.rule for a in recent_alerts(seeded_archive, now)] == ["category_spike"]


@pytest.fixture
def seeded_archive(tmp_path):
    from civic_signal.core.models import Category, Classification, ClassifiedPost, Location, LocationKind, Post
    from civic_signal.sinks.archive import Archive
    archive = Archive(f"sqlite:///{tmp_path}/alerts.db")
    items = []
    for n in range(5):
        p = Post(id=f"a:{n}", source="test", text=f"Street flooded at {n} Adams St", created_at=NOW)
        c = Classification(post_id=p.id, actionable=True, actionable_score=0.9,
                           category=Category(code="NOUTILFLD", name="Flood", score=0.9),
                           location=Location(text="Adams St", kind=LocationKind.STREET, neighborhood="Dorchester"),
                           model_version="test")
        items.append(ClassifiedPost(post=p, classification=c))
    archive.write_classified(items)
    yield archive
    archive.close()


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict, bytes]] = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received, _Receiver.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver
    server.shutdown()
    server.server_close()


def test_webhook_posts_signed_json_to_a_local_server(receiver):
    url, rec = receiver
    alert = Alert(rule="delivery_failing", key="k1", subject="open311", message="311 delivery failing", raised_at=NOW)
    hook = Webhook(url, "s3cret")
    assert hook.post(alert) == "ok 200"
    headers, body = rec.received[0]
    assert headers["Content-Type"] == "application/json"
    import orjson
    assert orjson.loads(body)["rule"] == "delivery_failing"
    assert verify_signature("s3cret", body, headers["X-Civic-Signature"])
    assert not verify_signature("s3cret", body + b" ", headers["X-Civic-Signature"])
    assert not verify_signature("other", body, headers["X-Civic-Signature"])
    hook.close()


def test_webhook_failure_is_recorded_not_raised(receiver, seeded_archive):
    url, rec = receiver
    rec.status = 500
    monitor = AlertMonitor(seeded_archive, RULES, Webhook(url, "s3cret"))
    new = monitor.check(datetime.now(timezone.utc) + timedelta(seconds=1))
    assert len(new) == 1 and len(rec.received) == 1
    with seeded_archive.engine.connect() as conn:
        assert conn.execute(sa.text("select webhook_status from alerts")).scalar() == "error: HTTP 500"
    monitor.close()


def test_webhook_to_a_closed_port_reports_the_error():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    hook = Webhook(f"http://127.0.0.1:{port}/", "")
    alert = Alert(rule="r", key="k", subject="s", message="m", raised_at=NOW)
    assert hook.post(alert).startswith("error: Connect")
    hook.close()


def test_signature_is_stale_after_the_tolerance():
    header = sign("k", b"{}", 1_000)
    assert verify_signature("k", b"{}", header, now=1_100)
    assert not verify_signature("k", b"{}", header, now=2_000)
