"""The Kafka roles: the batch loop (against a fake consumer), then listen -> classify -> sink as
real processes on a real Apache Kafka broker: 10,000 posts, a SIGKILLed worker, a broker
restart, poison messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from civic_signal.classifiers.keyword import KeywordClassifier
from civic_signal.config.errors import BusError
from civic_signal.config.settings import load_settings
from civic_signal.listener.bus import DEAD_LETTER, RAW, Bus, Message
from civic_signal.listener.cli import kafka_roles
from civic_signal.core.models import DeadLetter
from civic_signal.listener.pipeline import PipelineStats
from tests.conftest import REPO, SAMPLE, make_post
from tests.services.kafka import kafka_broker  # noqa: F401  (session fixture)

CLI = [sys.executable, "-m", "civic_signal.listener.cli"]


# -- the batch loop, against a fake consumer ----------------------------------------------------
class FakeConsumer:
    def __init__(self, batches, stop):
        self.batches, self.stop = list(batches), stop
        self.commits, self.rewinds = 0, 0

    def poll(self, max_records=256, timeout_s=0.5):
        if not self.batches:
            self.stop.set()
            return []
        return self.batches.pop(0)

    def commit(self):
        self.commits += 1

    def rewind(self):
        self.rewinds += 1


class RecordingBus(Bus):
    def __init__(self):
        self.sent = []

    def publish(self, topic, key, value):
        self.sent.append((topic, key, value))

    def consumer(self, topic, group):
        raise NotImplementedError


def _msgs(*keys):
    return [Message(topic=RAW, key=k, value=make_post("x", n=i), origin=f"t.raw/0@{i}") for i, k in enumerate(keys)]


def test_a_message_that_keeps_failing_goes_to_the_dead_letter_topic_after_max_tries_and_the_rest_go_on():
    stop, bus, handled, tries = threading.Event(), RecordingBus(), [], {"bad": 0}

    def handle(batch):
        if any(m.key == "bad" for m in batch):
            tries["bad"] += 1
            raise ValueError("cannot handle bad")
        handled.extend(m.key for m in batch)

    consumer = FakeConsumer([_msgs("a", "bad", "c"), _msgs("d")], stop)
    kafka_roles.consume(consumer, bus, stop, handle, stage="classify", stats=PipelineStats(), max_tries=3)
    assert handled == ["a", "c", "d"] and tries["bad"] == 1 + 3  # the batch, then three tries alone
    assert consumer.commits == 2
    [(topic, key, dead)] = bus.sent
    assert topic == DEAD_LETTER and key == "bad" and isinstance(dead, DeadLetter)
    assert dead.origin == "t.raw/0@1" and "failed 3 times in classify" in dead.reason and "cannot handle bad" in dead.reason
    assert orjson.loads(dead.payload)["data"]["id"] == "test:1"


def test_a_bus_error_rewinds_the_batch_and_never_blames_the_message():
    stop, bus, calls = threading.Event(), RecordingBus(), []

    def handle(batch):
        calls.append(len(batch))
        if len(calls) == 1:
            raise BusError("brokers away")

    batch = _msgs("a", "b")
    consumer = FakeConsumer([batch, batch], stop)
    kafka_roles.consume(consumer, bus, stop, handle, stage="classify", stats=PipelineStats(), backoff_s=0)
    assert calls == [2, 2] and consumer.rewinds == 1 and consumer.commits == 1 and not bus.sent


def test_a_stage_that_stops_mid_batch_leaves_it_uncommitted():
    stop, bus = threading.Event(), RecordingBus()
    consumer = FakeConsumer([_msgs("a")], stop)
    kafka_roles.consume(consumer, bus, stop, lambda batch: False, stage="sink", stats=PipelineStats())
    assert consumer.commits == 0 and consumer.rewinds == 1


def test_work_commands_refuse_the_memory_bus():
    out = subprocess.run(CLI + ["work", "classify", "--bus", "memory"], capture_output=True, text=True, cwd=REPO,
                         timeout=60)
    assert out.returncode == 2 and "needs --bus kafka" in out.stderr


# -- on a real broker ----------------------------------------------------------------------------
def make_stream(path: Path, n: int) -> Path:
    """``n`` posts in X v2 stream format: the sample's posts over and over, each with its own id."""
    lines = [orjson.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    with path.open("wb") as fh:
        for i in range(n):
            obj = lines[i % len(lines)]
            tid = str(1_900_000_000_000_000_000 + i)
            obj = {**obj, "data": {**obj["data"], "id": tid, "edit_history_tweet_ids": [tid]}}
            fh.write(orjson.dumps(obj) + b"\n")
    return path


def outcome(db_url: str) -> dict:
    """What the sinks made: posts, classifications, tickets (and the incidents they are for), and
    the posts counted in incidents. Which post opens an incident depends on arrival order, so the
    tests compare counts and the set of counted posts, not ticket ids."""
    eng = sa.create_engine(db_url)
    q = lambda c, sql: c.execute(sa.text(sql)).scalar()  # noqa: E731
    with eng.connect() as c:
        out = {
            "posts": q(c, "select count(*) from posts"),
            "classifications": q(c, "select count(*) from classifications where run_id = 'live'"),
            "tickets": q(c, "select count(*) from tickets"),
            "ticket_keys": q(c, "select count(distinct coalesce(incident_id, post_id)) from tickets"),
            "reported": {r[0] for r in c.execute(sa.text("select post_id from incident_reports"))},
            "reports": q(c, "select count(*) from incident_reports"),
        }
    eng.dispose()
    return out


def expected_outcome(stream: Path, tmp_path: Path) -> dict:
    """What the embedded pipeline makes from ``stream``: the reference."""
    from civic_signal.listener.cli.run_cmd import build_pipeline
    from civic_signal.listener.sources.replay import ReplaySource
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/reference.db", classifier={"kind": "keyword"})
    pipe, archive = build_pipeline(settings, [ReplaySource(stream)])
    pipe.run()
    archive.close()
    return outcome(settings.sqlalchemy_url)


def assert_exactly_once(db_url: str, expected: dict, n: int) -> None:
    got = outcome(db_url)
    assert got["posts"] == got["classifications"] == n
    assert got["reports"] == len(got["reported"]) and got["reported"] == expected["reported"]  # each report once
    assert got["tickets"] == got["ticket_keys"] == expected["tickets"] > 0  # one ticket per incident


class Roles:
    """``civic-signal`` role processes for one test, stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.tmp_path, self.env, self.procs = tmp_path, {**os.environ, **env}, []

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"{'-'.join(args[:2])}-{len(self.procs)}.log", "w")
        proc = subprocess.Popen(CLI + list(args), cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = log.name  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def output(self, proc) -> str:
        return Path(proc.log_path).read_text()

    def terminate(self, timeout_s: float = 60) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout_s)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def _group_ready(bus, group: str, members: int):
    def ready():
        try:
            return bus.group_members(group) == ("Stable", members)
        except BusError:
            return False
    return ready


def _archived(db_url: str) -> int:
    try:
        eng = sa.create_engine(db_url)
        with eng.connect() as c:
            return c.execute(sa.text("select count(*) from posts")).scalar()
    except sa.exc.OperationalError:  # the sink has not created the tables yet
        return 0


def _drained(bus, db_url: str, n: int):
    from civic_signal.sinks.archive import Archive
    archive = Archive(db_url, create=False)
    try:
        return kafka_roles.wait_drained(bus, expect_archived=n, archive=archive, timeout_s=240)
    finally:
        archive.close()


@pytest.mark.kafka
@pytest.mark.slow
def roles_scenario(kafka_broker, tmp_path: Path, name: str, n: int):
    """A stream of ``n`` posts, the outcome an in-process run gives for it, the archive URL, a
    bus on the scenario's topics and the role-process starter: what every role test sets up."""
    from civic_signal.listener.bus.kafka import KafkaBus
    stream = make_stream(tmp_path / "stream.jsonl", n)
    expected = expected_outcome(stream, tmp_path)
    bus = KafkaBus(kafka_broker.settings(name).kafka)
    return stream, expected, os.environ["CIVIC_DATABASE_URL"], bus, Roles(tmp_path, kafka_broker.env(name))


def test_ten_thousand_posts_through_listen_two_classify_workers_and_sink_arrive_exactly_once(kafka_broker, tmp_path):
    n = 10_000
    stream, expected, db_url, bus, roles = roles_scenario(kafka_broker, tmp_path, "e2e", n)
    try:
        workers = [roles.start("work", "classify"), roles.start("work", "classify")]
        sink = roles.start("work", "sink")
        wait_for(_group_ready(bus, "classify", 2), 90, "two classify workers in the group")
        listen = roles.start("listen", "--path", str(stream), "--speed", "max")
        assert listen.wait(180) == 0, roles.output(listen)
        assert f"listen: {n} posts" in roles.output(listen)
        assert _drained(bus, db_url, n)
        roles.terminate()
        for w in workers:  # SIGTERM: finish the batch, commit, leave, say what was done
            assert w.returncode == 0, roles.output(w)
            out = roles.output(w)
            assert "classify:" in out and "classify: 0 classified" not in out, out  # both did work
        assert sink.returncode == 0, roles.output(sink)
        assert_exactly_once(db_url, expected, n)
        assert bus.group_members("classify")[1] == 0  # they left the group
    finally:
        roles.terminate()
        bus.close()


@pytest.mark.kafka
@pytest.mark.slow
def test_a_classify_worker_killed_mid_stream_loses_nothing_and_duplicates_no_ticket(kafka_broker, tmp_path):
    n = 2_000
    stream, expected, db_url, bus, roles = roles_scenario(kafka_broker, tmp_path, "sigkill", n)
    try:
        victim, survivor = roles.start("work", "classify"), roles.start("work", "classify")
        roles.start("work", "sink")
        wait_for(_group_ready(bus, "classify", 2), 90, "two classify workers in the group")
        listen = roles.start("listen", "--path", str(stream), "--speed", "400")  # about five seconds of posts
        wait_for(lambda: _archived(db_url) >= 300, 120, "the first posts in the archive")
        assert listen.poll() is None  # mid-stream: the listener is still publishing
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        assert listen.wait(180) == 0, roles.output(listen)
        assert _drained(bus, db_url, n)
        assert survivor.poll() is None
        assert_exactly_once(db_url, expected, n)
    finally:
        roles.terminate()
        bus.close()


@pytest.mark.kafka
@pytest.mark.slow
def test_a_broker_restart_mid_stream_loses_nothing(kafka_broker, tmp_path):
    n = 2_000
    stream, expected, db_url, bus, roles = roles_scenario(kafka_broker, tmp_path, "restart", n)
    try:
        roles.start("work", "classify")
        roles.start("work", "sink")
        wait_for(_group_ready(bus, "classify", 1), 90, "the classify worker in the group")
        wait_for(_group_ready(bus, "sink", 1), 90, "the sink worker in the group")
        listen = roles.start("listen", "--path", str(stream), "--speed", "300")  # about seven seconds of posts
        wait_for(lambda: _archived(db_url) >= 300, 240, "the first posts in the archive")
        kafka_broker.stop()
        assert listen.poll() is None  # the listener buffers and retries while the broker is away
        kafka_broker.start()
        assert listen.wait(240) == 0, roles.output(listen)
        assert _drained(bus, db_url, n)
        assert_exactly_once(db_url, expected, n)
    finally:
        roles.terminate()
        bus.close()
        if kafka_broker.directory.exists():
            kafka_broker.start()  # leave it running for the tests after this one (no-op when it is up)


class Choking(KeywordClassifier):
    """Raises for 'boom' posts: the classify stage dead-letters them itself."""

    def classify(self, posts):
        if any("boom" in p.text for p in posts):
            raise RuntimeError("cannot classify boom")
        return super().classify(posts)


def _stage_fails_on_poison(monkeypatch):
    """The classify stage itself fails on 'poison' posts, every time (a bug or a corrupt post)."""
    from civic_signal.listener.pipeline import ClassifyStage
    original = ClassifyStage.process

    def process(self, messages):
        if any("poison" in m.value.text for m in messages):
            raise KeyError("stage bug on poison")
        return original(self, messages)
    monkeypatch.setattr(ClassifyStage, "process", process)


@pytest.mark.kafka
def test_poison_messages_land_in_the_dead_letter_topic_with_their_origin_and_the_workers_go_on(kafka_broker, tmp_path,
                                                                                              monkeypatch):
    _stage_fails_on_poison(monkeypatch)
    from civic_signal.listener.bus.kafka import KafkaBus
    from civic_signal.sinks.archive import Archive
    settings = kafka_broker.settings("poison")
    archive = Archive.from_settings(settings)
    bus = KafkaBus(settings.kafka)
    good = [make_post(f"Huge pothole on Mass Ave number {i}", n=i) for i in range(50)]
    for p in good[:25]:
        bus.publish(RAW, p.id, p)
    bus.publish_raw(RAW, b"x:garbage", b"\x00 this is not an envelope")
    bus.publish(RAW, "test:boom", make_post("boom goes the transformer", n=900, id="test:boom"))
    bus.publish(RAW, "test:poison", make_post("poison pill", n=901, id="test:poison"))
    for p in good[25:]:
        bus.publish(RAW, p.id, p)
    bus.flush()
    stop = threading.Event()
    stats = PipelineStats()
    threads = [threading.Thread(target=kafka_roles.run_classify, args=(settings, stop),
                                kwargs={"classifier": Choking(), "stats": stats}),
               threading.Thread(target=kafka_roles.run_sink, args=(settings, stop), kwargs={"archive": archive})]
    for t in threads:
        t.start()
    try:
        assert _drained(bus, settings.sqlalchemy_url, len(good))
        with archive.engine.connect() as c:
            dead = {r.post_id: r for r in c.execute(sa.text("select post_id, stage, reason, origin from dead_letters"))}
            posts = {r[0] for r in c.execute(sa.text("select id from posts"))}
        assert posts == {p.id for p in good}  # the workers went on past every poison message
        assert set(dead) == {"x:garbage", "test:boom", "test:poison"}
        assert dead["x:garbage"].stage == "bus:raw" and "cannot decode" in dead["x:garbage"].reason
        assert dead["test:boom"].stage == "classify" and "cannot classify boom" in dead["test:boom"].reason
        assert dead["test:poison"].stage == "classify" and "failed 3 times in classify: KeyError" in dead["test:poison"].reason
        assert all(d.origin.startswith("t.poison.raw/") and "@" in d.origin for d in dead.values())
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        bus.close()
    assert not any(t.is_alive() for t in threads)  # stop: finish, commit, leave
    assert bus.lag(RAW, "classify") == 0
