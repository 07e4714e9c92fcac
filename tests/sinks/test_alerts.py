"""Alert rules on synthetic streams, recording once per key, and the webhook on a loopback server."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import sqlalchemy as sa

from civic_signal.sinks.alerts import (Alert, AlertMonitor, AlertRules, Report, Webhook, bucket_counts, category_spikes,
                                       count_reports, dead_letters_growing, delivery_failing, recent_alerts, sign,
                                       spike_expectations, stalled_sources, verify_signature)
from civic_signal.sinks.forecast.learn import learn
from civic_signal.sinks.forecast.model import LOCAL, load_prior
from civic_signal.sinks.health import SourceState
from tests.services.postgres import BACKENDS, db_url, pg_server, pg_url  # noqa: F401
from tests.sinks.synthetic_streams import as_tuples, poisson_stream

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=timezone.utc)
RULES = AlertRules()
PARAMS, _ = load_prior()
KEYS = ["REQPOTHL", "PRKGENFORC", "ILGLDUMP", "CATCHBASE", "UNSHVSDWLK"]
MONDAY = datetime(2026, 1, 5, tzinfo=LOCAL)  # a Monday, midnight in Boston


def spikes(reports, now, baseline, rules=RULES, names=None):
    window = count_reports(reports, now, rules)
    return category_spikes(window, spike_expectations(window, baseline, now, rules), now, rules, names)


def scan(reports, start, end, baseline_at):
    """Every alert raised evaluating each half hour of ``[start, end)``, as the console would."""
    out, t = [], start + RULES.spike_window
    while t <= end:
        out += spikes(reports, t, baseline_at(t))
        t += RULES.spike_window
    return out


def test_a_first_day_of_ordinary_volume_raises_nothing():
    # the archive starts listening at midnight; the old rule (flat 7-day average) had a baseline of 0
    # all day and fired on the first busy half hour. Ordinary volume at Open311 scale and well below.
    for scale, seed in ((1.0, 3), (0.2, 4)):
        day = poisson_stream(PARAMS, KEYS[:4], MONDAY, MONDAY + timedelta(days=1), scale, seed)
        assert len(day) > 10
        learnt = lambda t: learn(PARAMS, as_tuples(day), MONDAY, max(MONDAY, t - timedelta(hours=1)))  # noqa: E731
        assert scan(day, MONDAY, MONDAY + timedelta(days=1), learnt) == []


def test_eight_weeks_drawn_from_the_model_raise_nothing_and_a_spike_fires_with_its_range():
    history = poisson_stream(PARAMS, KEYS, MONDAY, MONDAY + timedelta(weeks=9), 0.1, seed=5)
    cut = MONDAY + timedelta(weeks=8)
    baseline = learn(PARAMS, as_tuples([r for r in history if r.at < cut]), MONDAY, cut)
    assert scan(history, cut, cut + timedelta(weeks=1), lambda t: baseline) == []
    now = cut + timedelta(days=2, hours=15)  # a Wednesday afternoon
    burst = [Report(now - timedelta(minutes=m), "REQPOTHL", "Jamaica Plain") for m in (1, 3, 6, 9, 14, 20, 27)]
    alerts = spikes(history + burst, now, baseline, names={"REQPOTHL": "Pothole"})
    assert [(a.data["category"], a.data["neighborhood"], a.data["count"]) for a in alerts] == [
        ("REQPOTHL", "Jamaica Plain", 7)]
    e = alerts[0].data
    assert e["expected_high"] < 7 and e["expected_low"] <= e["expected"] <= e["expected_high"]
    rng = (f"{e['expected_low']}" if e["expected_low"] == e["expected_high"]
           else f"{e['expected_low']}-{e['expected_high']}")
    assert alerts[0].message.startswith(f"spike: 7 REQPOTHL in Jamaica Plain within 30 min (expected {rng}; Pothole)")


def test_a_weekly_pattern_raises_nothing_and_an_injected_spike_raises_one():
    # every Monday 09:00-09:30 a crew of residents reports 6 dumping piles in Roxbury; nothing else
    weekly = [Report(MONDAY + timedelta(weeks=w, hours=9, minutes=4 * i + 1), "ILGLDUMP", "Roxbury")
              for w in range(9) for i in range(6)]
    cut = MONDAY + timedelta(weeks=8)
    baseline = learn(PARAMS, as_tuples(weekly), MONDAY, cut)
    monday_930 = cut + timedelta(hours=9, minutes=30)
    assert spikes(weekly, monday_930, baseline) == []
    # it is learnt within weeks: the second Monday is still a surprise, the fourth is expected
    second, fourth = MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=3)
    assert len(spikes(weekly, second + timedelta(hours=9, minutes=30),
                      learn(PARAMS, as_tuples(weekly), MONDAY, second))) == 1
    assert spikes(weekly, fourth + timedelta(hours=9, minutes=30), learn(PARAMS, as_tuples(weekly), MONDAY, fourth)) == []
    thursday = cut + timedelta(days=3, hours=15)
    injected = [Report(thursday - timedelta(minutes=2 * i + 1), "ILGLDUMP", "Roxbury") for i in range(6)]
    alerts = scan(weekly + injected, cut, cut + timedelta(weeks=1), lambda t: baseline)
    assert [(a.data["category"], a.data["neighborhood"], a.data["count"]) for a in alerts] == [
        ("ILGLDUMP", "Roxbury", 6)]
    assert alerts[0].raised_at == thursday


def test_march_potholes_are_expected():
    # learnt on a winter of pothole reports, March's rise is in the baseline, not an alarm
    params = PARAMS
    assert params["REQPOTHL"].month[2] > params["REQPOTHL"].month[1]
    winter = poisson_stream(params, ["REQPOTHL"], MONDAY, datetime(2026, 4, 1, tzinfo=LOCAL), 3.0, seed=7)
    march = datetime(2026, 3, 2, tzinfo=LOCAL)
    baseline = learn(params, as_tuples([r for r in winter if r.at < march]), MONDAY, march)
    feb_noon = datetime(2026, 2, 25, 12, tzinfo=LOCAL)
    mar_noon = datetime(2026, 3, 25, 12, tzinfo=LOCAL)  # both Wednesdays
    half = timedelta(minutes=30)
    assert (baseline.expect("REQPOTHL", "Jamaica Plain", mar_noon, mar_noon + half).mean
            > baseline.expect("REQPOTHL", "Jamaica Plain", feb_noon, feb_noon + half).mean)
    assert scan(winter, march, datetime(2026, 4, 1, tzinfo=LOCAL), lambda t: baseline) == []


def test_sidewalks_after_a_storm_are_expected_a_local_burst_is_not():
    history = poisson_stream(PARAMS, ["UNSHVSDWLK"], MONDAY, MONDAY + timedelta(weeks=4), 0.2, seed=9)
    now = MONDAY + timedelta(weeks=4, days=1, hours=10)  # a February-ish Tuesday morning, after a snowfall
    baseline = learn(PARAMS, as_tuples(history), MONDAY, now - timedelta(hours=1))
    hoods = ["Dorchester", "Roxbury", "South Boston", "Jamaica Plain", "Brighton", "East Boston", "Charlestown"]
    storm = [Report(now - timedelta(minutes=h * 50 + m), "UNSHVSDWLK", hood)
             for h in range(6) for i, hood in enumerate(hoods) for m in range(i, 40, 5)]
    window = count_reports(storm, now, RULES)
    recent = count_reports(storm, now, RULES, window=RULES.surge_window)
    alone = category_spikes(window, spike_expectations(window, baseline, now, RULES), now, RULES)
    assert len(alone) == len(hoods)  # without the city-wide view every neighbourhood is a "spike"
    assert category_spikes(window, spike_expectations(window, baseline, now, RULES, recent), now, RULES) == []
    # the same burst in one neighbourhood on a quiet morning stands out
    local = [r for r in storm if r.neighborhood == "Roxbury"]
    window = count_reports(local, now, RULES)
    recent = count_reports(local, now, RULES, window=RULES.surge_window)
    alerts = category_spikes(window, spike_expectations(window, baseline, now, RULES, recent), now, RULES)
    assert [(a.data["neighborhood"], a.data["count"]) for a in alerts] == [("Roxbury", 6)]


def test_fewer_than_the_minimum_is_never_a_spike():
    # even where nothing at all is expected (no baseline for an unknown key), four is not a spike
    four = {("NEWCODE", "Dorchester"): 4}
    assert category_spikes(four, {}, NOW, RULES) == []
    assert len(category_spikes({("NEWCODE", "Dorchester"): 5}, {}, NOW, RULES)) == 1


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


def test_monitor_records_each_alert_once(archive_with):
    now = datetime.now(timezone.utc)
    archive = archive_with(posted_at=now - timedelta(minutes=3))
    monitor = AlertMonitor(archive, RULES)
    first = monitor.check(now)
    assert {a.rule for a in first} == {"category_spike"}
    assert "(expected 0" in first[0].message
    assert monitor.check(now) == []  # same key (rule, subject, bucket): not raised again
    assert [a.rule for a in recent_alerts(archive, now)] == ["category_spike"]


@BACKENDS
def test_a_replay_of_last_month_raises_nothing_as_live(db_url):
    # twelve flooding posts written to the live run now but posted a month ago (a replay or a
    # back-fill): they are counted where they were posted, not when they arrived
    now = datetime.now(timezone.utc)
    archive = flood_archive(db_url, posted_at=now - timedelta(days=30), n=12, id_prefix="old")
    try:
        monitor = AlertMonitor(archive, RULES)
        assert monitor.check(now) == []
        assert all(a.rule != "category_spike" for a in monitor.evaluate(now + timedelta(minutes=5)))
        # the same burst posted minutes ago is live, and a spike
        archive.write_classified(flood_items(now - timedelta(minutes=4), 12, "new"))
        assert [a.data["count"] for a in AlertMonitor(archive, RULES).check(now)] == [12]
    finally:
        archive.close()


def flood_items(posted_at: datetime, n: int, id_prefix: str = "a"):
    from civic_signal.core.models import Category, Classification, ClassifiedPost, Location, LocationKind, Post
    items = []
    for i in range(n):
        p = Post(id=f"{id_prefix}:{i}", source="test", text=f"Street flooded at {i} Adams St",
                 created_at=posted_at + timedelta(seconds=i))
        c = Classification(post_id=p.id, actionable=True, actionable_score=0.9,
                           category=Category(code="NOUTILFLD", name="Flood", score=0.9),
                           location=Location(text="Adams St", kind=LocationKind.STREET, neighborhood="Dorchester"),
                           model_version="test")
        items.append(ClassifiedPost(post=p, classification=c))
    return items


def flood_archive(url: str, posted_at: datetime, n: int = 5, id_prefix: str = "a"):
    from civic_signal.sinks.archive import Archive
    archive = Archive(url)
    archive.write_classified(flood_items(posted_at, n, id_prefix))
    return archive


@pytest.fixture
def archive_with(tmp_path):
    made = []

    def make(posted_at: datetime, n: int = 5):
        made.append(flood_archive(f"sqlite:///{tmp_path}/alerts{len(made)}.db", posted_at, n))
        return made[-1]

    yield make
    for a in made:
        a.close()


@pytest.fixture
def seeded_archive(archive_with):
    """Five flooding reports in Dorchester posted a few minutes ago (a spike)."""
    return archive_with(posted_at=datetime.now(timezone.utc) - timedelta(minutes=3))


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


def test_webhook_failure_is_recorded_not_raised(receiver, archive_with):
    url, rec = receiver
    rec.status = 500
    now = datetime.now(timezone.utc)
    archive = archive_with(posted_at=now - timedelta(minutes=3))
    monitor = AlertMonitor(archive, RULES, Webhook(url, "s3cret"))
    new = monitor.check(now)
    assert len(new) == 1 and len(rec.received) == 1
    with archive.engine.connect() as conn:
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
