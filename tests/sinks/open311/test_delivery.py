"""The delivery worker: at most one 311 request per incident, retries, dead letters, status sync."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import DeadLetterRow, TicketRow
from civic_signal.sinks.incident_tables import IncidentRow, TicketEventRow
from civic_signal.sinks.incidents import ref_marker, utc as utc_of
from civic_signal.sinks.open311.client import Open311Client
from civic_signal.sinks.open311.delivery import DeliveryWorker
from tests.conftest import REPO
from tests.fakes.open311_server import SERVICES_JSON, FakeOpen311
from tests.services.postgres import BACKENDS, db_url, pg_server, pg_url  # noqa: F401
from tests.sinks.test_incidents import classified, sink

KEY = "delivery-test-key"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def server():
    with FakeOpen311(api_key=KEY, batch_codes=("GENGRAFFITI",), token_lookups=2) as srv:
        yield srv


def worker(archive: Archive, srv: FakeOpen311, **kw) -> DeliveryWorker:
    client = Open311Client(srv.url, api_key=KEY, timeout_s=kw.pop("timeout_s", 2.0))
    return DeliveryWorker(archive, client, rng=random.Random(7), **kw)


def ticket(archive: Archive, n: int = 1, **kw) -> str:
    out = sink(archive).add(classified(n, **kw))
    assert out.ticket_status == "pending"
    return out.ticket_id


def trow(archive: Archive, tid: str):
    with archive.engine.connect() as c:
        return c.execute(sa.select(TicketRow.__table__).where(TicketRow.__table__.c.id == tid)).one()


@BACKENDS
def test_a_pending_ticket_is_sent_once_with_marker_link_and_attributes(db_url, server):
    a = Archive(db_url)
    tid = ticket(a, text="a large pothole on Main St")
    w = worker(a, server)
    (result,) = w.deliver_due()
    assert result.outcome == "sent" and result.service_request_id == "101"
    assert w.deliver_due() == []
    (created,) = server.created
    assert ref_marker(tid) in created["description"] and "https://x.com/someone/status/1" in created["description"]
    assert len(created["description"]) <= 4000
    assert created["form"]["attribute[POTHOLE_SIZE]"] == ["large"]
    assert "jurisdiction_id" not in created["form"]
    row = trow(a, tid)
    assert (row.status, row.service_request_id, row.external_status, row.attempts) == ("sent", "101", "open", 1)


@BACKENDS
def test_retries_back_off_then_stop_at_max_attempts_and_dead_letter_every_error(db_url, server):
    a = Archive(db_url)
    tid = ticket(a)
    server.fail("POST", "requests.json", "500", times=3)
    clock, scheduled = Clock(), []
    w = worker(a, server, clock=clock, max_attempts=3, retry_base_s=30, retry_max_s=3600,
               schedule_retry=lambda t, when: scheduled.append((t, when)))
    outcomes = []
    for _ in range(5):
        outcomes += [r.outcome for r in w.deliver_due()]
        clock.advance(hours=2)
    assert outcomes == ["retry", "retry", "failed"]
    assert len(server.created) == 0
    # exponential backoff with equal jitter: attempt 1 waits 15..30 s, attempt 2 waits 30..60 s
    assert [t for t, _ in scheduled] == [tid, tid]
    row = trow(a, tid)
    assert row.status == "failed" and row.attempts == 3
    with a.engine.connect() as c:
        (dead,) = c.execute(sa.select(DeadLetterRow.__table__)).all()
    assert dead.stage == "open311" and dead.post_id == "x:1"
    assert "after 3 attempt(s)" in dead.reason
    assert "#1:" in dead.reason and "#2:" in dead.reason and "#3:" in dead.reason and "500" in dead.reason
    assert KEY not in dead.reason + dead.payload


@BACKENDS
def test_an_outage_longer_than_every_attempt_does_not_dead_letter_the_ticket(db_url, server):
    """Three days of 503s and maintenance pages with max_attempts=3: the attempts while the endpoint is
    down do not count; the ticket is sent when it comes back, and real errors still count after that."""
    a = Archive(db_url)
    tid = ticket(a)
    clock = Clock()
    w = worker(a, server, clock=clock, max_attempts=3, retry_base_s=30, retry_max_s=3600)
    server.fail("POST", "requests.json", "503", times=40)
    server.fail("POST", "requests.json", "502-html", times=10)
    outcomes = []
    for _ in range(72):  # hourly sweeps for three days
        outcomes += [r.outcome for r in w.deliver_due()]
        clock.advance(hours=1)
    assert outcomes == ["retry"] * 50 + ["sent"], outcomes
    row = trow(a, tid)
    assert row.status == "sent" and row.attempts == 51
    with a.engine.connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(DeadLetterRow.__table__)).scalar_one() == 0
    # attempts still count toward the marker search: the endpoint was asked whether it already had it
    assert server.count("GET", "requests.json") >= 1
    # a second ticket: two down failures, then real errors: the real ones alone reach max_attempts
    second = ticket(a, 2, text="street light out", code="STRLGTOUT", at=(42.36, -71.05))
    server.fail("POST", "requests.json", "503", times=2)
    server.fail("POST", "requests.json", "500", times=3)
    outcomes = []
    for _ in range(8):
        outcomes += [r.outcome for r in w.deliver_due()]
        clock.advance(hours=2)
    assert outcomes == ["retry", "retry", "retry", "retry", "failed"]
    assert trow(a, second).attempts == 5


@BACKENDS
def test_an_outage_longer_than_outage_max_dead_letters_saying_so(db_url, server):
    a = Archive(db_url)
    tid = ticket(a)
    clock = Clock()
    w = worker(a, server, clock=clock, max_attempts=3, retry_max_s=3600, outage_max_s=6 * 3600)
    server.fail("POST", "requests.json", "503", times=100)
    outcomes = []
    for _ in range(10):
        outcomes += [r.outcome for r in w.deliver_due()]
        clock.advance(hours=1)
    assert outcomes[-1] == "failed" and set(outcomes[:-1]) == {"retry"}
    with a.engine.connect() as c:
        (dead,) = c.execute(sa.select(DeadLetterRow.__table__)).all()
    assert "down for longer than a ticket may wait (6 h" in dead.reason and trow(a, tid).status == "failed"


def test_backoff_is_exponential_capped_and_jittered(tmp_path):
    w = DeliveryWorker(Archive(f"sqlite:///{tmp_path}/a.db"), Open311Client("http://127.0.0.1:9/"),
                       retry_base_s=30, retry_max_s=100, rng=random.Random(1))
    waits = [w.backoff_s(n) for n in (1, 2, 3, 4, 5)]
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60 and all(50 <= x <= 100 for x in waits[2:])
    assert len({round(x, 6) for x in waits[2:]}) == 3  # jitter: capped waits still differ


@BACKENDS
def test_a_4xx_is_dead_lettered_at_once_with_the_reason(db_url, server):
    a = Archive(db_url)
    tid = ticket(a)
    server.fail("POST", "requests.json", "400")
    (r,) = worker(a, server).deliver_due()
    assert r.outcome == "failed" and "HTTP 400" in r.detail
    assert trow(a, tid).status == "failed"


@BACKENDS
def test_an_unknown_service_code_is_dead_lettered(db_url, server):
    a = Archive(db_url)
    out = sink(a).add(classified(1, code="NOTASERVICE"))
    (r,) = worker(a, server).deliver_due()
    assert r.outcome == "failed" and "does not offer service code 'NOTASERVICE'" in r.detail
    assert trow(a, out.ticket_id).status == "failed"


@BACKENDS
def test_an_ambiguous_failure_is_reconciled_before_resending(db_url, server):
    a = Archive(db_url)
    tid = ticket(a)
    server.fail("POST", "requests.json", "create-then-500")
    clock = Clock()
    w = worker(a, server, clock=clock)
    assert [r.outcome for r in w.deliver_due()] == ["retry"]
    clock.advance(hours=1)
    assert [r.outcome for r in w.deliver_due()] == ["reconciled"]
    assert len(server.created) == 1 and trow(a, tid).service_request_id == server.created[0]["service_request_id"]


@BACKENDS
def test_only_one_worker_claims_a_ticket(db_url, server):
    a = Archive(db_url)
    tid = ticket(a)
    w1, w2 = worker(a, server), worker(Archive(db_url), server)
    with a.engine.begin() as c:  # w1 claimed it and is posting
        c.execute(sa.update(TicketRow.__table__).where(TicketRow.__table__.c.id == tid).values(status="sending"))
    assert w2.deliver_one(tid).outcome == "busy"
    assert w2.reconcile(stale_after_s=300) == []  # not stale yet: w1 may still be working
    assert server.created == [] and w1.due() == []


def _crash(db: str, srv: FakeOpen311, tid: str, when: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tests.sinks.open311.crash_worker", db, srv.url, KEY, tid, when],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


@BACKENDS
def test_killed_between_post_and_commit_the_restart_reconciles_without_a_duplicate(db_url, server):
    a = Archive(db_url)
    tid = ticket(a)
    _crash(db_url, server, tid, "after_post")
    assert len(server.created) == 1 and trow(a, tid).status == "sending"  # the endpoint has it, we do not know
    w = worker(a, server)
    (r,) = w.reconcile(stale_after_s=0)
    assert r.outcome == "reconciled"
    assert w.deliver_due() == []
    row = trow(a, tid)
    assert row.status == "sent" and row.service_request_id == server.created[0]["service_request_id"]
    assert len(server.created) == 1
    with a.engine.connect() as c:
        kinds = [k for (k,) in c.execute(sa.select(TicketEventRow.kind).where(TicketEventRow.ticket_id == tid))]
    assert kinds == ["reconciled"]


@BACKENDS
def test_killed_before_the_post_the_restart_sends_it_once(db_url, server):
    a = Archive(db_url)
    tid = ticket(a)
    _crash(db_url, server, tid, "before_post")
    assert server.created == [] and trow(a, tid).status == "sending"
    w = worker(a, server)
    assert [r.outcome for r in w.reconcile(stale_after_s=0)] == ["requeued"]
    assert [r.outcome for r in w.deliver_due()] == ["sent"]
    assert len(server.created) == 1 and trow(a, tid).status == "sent"


@BACKENDS
def test_status_sync_resolves_tokens_and_records_closing(db_url, server):
    a = Archive(db_url)
    pothole = ticket(a, 1)
    graffiti = ticket(a, 2, text="graffiti on the wall", code="GENGRAFFITI", at=(42.33, -71.08))
    w = worker(a, server)
    assert {r.outcome for r in w.deliver_due()} == {"sent"}
    assert trow(a, graffiti).token and trow(a, graffiti).service_request_id is None
    assert w.sync_status() == 0  # the token is not resolved yet (token_lookups=2)
    assert w.sync_status() == 1
    assert trow(a, graffiti).service_request_id == server.created[1]["service_request_id"]
    server.set_status(trow(a, pothole).service_request_id, "closed", "Case resolved: pothole filled")
    assert w.sync_status() == 1
    row = trow(a, pothole)
    assert (row.status, row.external_status) == ("closed", "closed")
    with a.engine.connect() as c:
        inc = c.execute(sa.select(IncidentRow.status).where(IncidentRow.ticket_id == pothole)).scalar_one()
        notes = c.execute(sa.select(TicketEventRow.detail).where(TicketEventRow.ticket_id == pothole,
                                                                 TicketEventRow.kind == "status")).scalar_one()
    assert inc == "closed" and "pothole filled" in notes
    assert w.sync_status() == 0
    # a new report at the same place after closing opens a new incident
    assert sink(a).add(classified(3, hours=1)).new_incident


def test_status_sync_survives_an_endpoint_error(tmp_path, server):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    ticket(a)
    w = worker(a, server)
    w.deliver_due()
    server.fail("GET", "requests.json", "500-html")
    assert w.sync_status() == 0 and "status sync failed" in w.errors[-1]


@BACKENDS
def test_a_ticket_whose_post_was_deleted_before_delivery_is_cancelled_not_sent(db_url, server):
    a = Archive(db_url)
    tid = ticket(a, text="a large pothole on Main St")
    post_id = trow(a, tid).post_id
    # the delete arrived while the post was still in flight: its tombstone is there, the ticket still pending
    with a.engine.begin() as c:
        c.execute(sa.text("insert into posts (id, source, created_at, is_repost, deleted, archived_at) "
                          "values (:id, 'x', :t, false, true, :t)"),
                  {"id": post_id, "t": "2026-11-20 12:00:00+00:00"})
    (result,) = worker(a, server).deliver_due()
    assert result.outcome == "cancelled"
    assert server.created == []
    assert trow(a, tid).status == "cancelled"


# -- servers we did not write: partial lists, outages (issue 20) ---------------------------------------
def events(archive: Archive, tid: str) -> list[str]:
    with archive.engine.connect() as c:
        return [k for (k,) in c.execute(sa.select(TicketEventRow.kind).where(TicketEventRow.ticket_id == tid)
                                        .order_by(TicketEventRow.id))]


def test_a_code_missing_from_a_partial_service_list_is_posted_anyway_and_sent(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    tid = sink(a).add(classified(1, text="sidewalk not shovelled", code="UNSHVSDWLK")).ticket_id
    with FakeOpen311(api_key=KEY, page_size=100, paging="repeat") as srv:  # shows only its first 100 services
        (r,) = worker(a, srv).deliver_due()
        assert r.outcome == "sent" and srv.created[0]["service_code"] == "UNSHVSDWLK"
    assert trow(a, tid).status == "sent"


def test_a_code_the_endpoint_refuses_is_dead_lettered_saying_it_is_not_offered(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    tid = sink(a).add(classified(1, code="NOTASERVICE")).ticket_id
    with FakeOpen311.independent(api_key=KEY) as srv:
        (r,) = worker(a, srv).deliver_due()
        assert srv.count("POST", "requests.json") == 1  # the endpoint was asked, and said no
    assert r.outcome == "failed" and trow(a, tid).status == "failed"
    assert "does not offer service code 'NOTASERVICE': it is not in its services.json" in r.detail
    assert "HTTP 400: 400: service_code 'NOTASERVICE' not found" in r.detail


def test_the_whole_catalogue_one_ticket_each_against_a_server_paging_at_100(tmp_path):
    """Every one of Boston's 118 codes, a third of them located by address only."""
    codes = [s["service_code"] for s in json.loads(SERVICES_JSON.read_text())]
    assert len(codes) == 118
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    s = sink(a)
    tids = {}
    for n, code in enumerate(codes, 1):
        kw = {"at": None, "address": f"{n} Tremont St"} if n % 3 == 0 else {"at": (42.30 + n / 1000, -71.06)}
        out = s.add(classified(n, text=f"report {n}", code=code, **kw))
        assert out.ticket_status == "pending"
        tids[code] = out.ticket_id
    with FakeOpen311.independent(api_key=KEY) as srv:
        w = worker(a, srv)
        results = w.deliver_due(limit=1000)
        assert [r.outcome for r in results].count("sent") == 118, {r.detail for r in results if r.outcome != "sent"}
        assert w.deliver_due(limit=1000) == []
        assert sorted(r["service_code"] for r in srv.created) == sorted(codes)  # one each, no duplicate
        assert all(r["address"] for r in srv.created if not r["lat"])  # the address it reads was there
        assert srv.count("GET", "services.json") == 2  # two pages of 100, read once
    with a.engine.connect() as c:
        statuses = dict(c.execute(sa.select(TicketRow.status, sa.func.count()).group_by(TicketRow.status)).all())
    assert statuses == {"sent": 118}


@BACKENDS
def test_the_endpoint_coming_back_resumes_tickets_waiting_out_a_backoff(db_url):
    a = Archive(db_url)
    first = ticket(a, 1)
    srv = FakeOpen311(api_key=KEY).start()
    port = srv._httpd.server_address[1]
    srv.stop()  # down: connection refused
    clock = Clock()
    w = DeliveryWorker(a, Open311Client(f"http://127.0.0.1:{port}/open311/v2/", api_key=KEY,
                                        timeout_s=2), rng=random.Random(7), clock=clock)
    (r,) = w.deliver_due()
    assert r.outcome == "retry" and utc_of(trow(a, first).next_attempt_at) > clock.now
    second = ticket(a, 2, text="street light out", code="STRLGTOUT", at=(42.36, -71.05))
    with FakeOpen311(api_key=KEY, port=port) as up:  # back, on the same address
        outcomes = {d.ticket_id: d.outcome for d in w.deliver_due()}
        assert outcomes == {second: "sent", first: "sent"}  # the first did not wait out its backoff
        assert len(up.created) == 2
    assert events(a, first) == ["attempt_failed", "resumed", "sent"]


@BACKENDS
def test_a_ticket_that_keeps_failing_is_resumed_once_not_each_time_another_is_sent(db_url, server):
    a = Archive(db_url)
    stuck, b, c = ticket(a, 1), ticket(a, 2, code="STRLGTOUT"), ticket(a, 3, code="GENGRAFFITI", at=(42.33, -71.08))
    clock = Clock()
    w = worker(a, server, clock=clock)
    server.fail("POST", "requests.json", "503")
    assert w.deliver_one(stuck).outcome == "retry"
    assert w.deliver_one(b).outcome == "sent"  # the endpoint answers: the stuck one is due again
    server.fail("POST", "requests.json", "503")
    assert w.deliver_one(stuck).outcome == "retry"
    assert w.deliver_one(c).outcome == "sent"
    assert utc_of(trow(a, stuck).next_attempt_at) > clock.now  # not resumed twice within retry_max_s
    assert events(a, stuck) == ["attempt_failed", "resumed", "attempt_failed"]


@BACKENDS
def test_send_now_delivers_every_pending_ticket_at_once_and_is_idempotent(db_url, server):
    a = Archive(db_url)
    tids = [ticket(a, n, code=code, at=(42.30 + n / 100, -71.06))
            for n, code in enumerate(["REQPOTHL", "STRLGTOUT", "GENGRAFFITI", "UNSHVSDWLK"], 1)]
    clock = Clock()
    w = worker(a, server, clock=clock)
    server.fail("POST", "requests.json", "503", times=3)
    server.fail("POST", "requests.json", "create-then-500")  # the endpoint has this one; we do not know it
    assert [r.outcome for r in w.deliver_due()] == ["retry"]  # the pass stops: the endpoint is down
    assert [w.deliver_one(t).outcome for t in tids[1:]] == ["retry"] * 3
    assert w.due() == []  # all waiting out their backoff
    fresh = worker(a, server, clock=clock)  # `civic-signal tickets --send-now` is a new process
    outcomes = sorted(d.outcome for d in fresh.send_now())
    assert outcomes == ["reconciled", "sent", "sent", "sent"]
    assert len(server.created) == 4 and {trow(a, t).status for t in tids} == {"sent"}
    assert fresh.send_now() == [] and len(server.created) == 4
