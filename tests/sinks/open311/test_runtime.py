"""`civic-signal run` pointed at an Open311 endpoint: tickets created, one per incident; errors shown."""

import os
import re
import socket
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.conftest import REPO, SAMPLE
from tests.fakes.open311_server import FakeOpen311

KEY = "run-test-api-key-123"


def civic(*args, env):
    return subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **env}, timeout=300)


def test_run_sends_one_ticket_per_incident_and_a_second_run_sends_none(tmp_path):
    stream = tmp_path / "s.jsonl"
    stream.write_text("\n".join(SAMPLE.read_text().splitlines()[:120]) + "\n")
    db = tmp_path / "a.db"
    with FakeOpen311(api_key=KEY, jurisdiction_id="cityofboston.gov", page_size=50) as srv:
        srv.fail("POST", "requests.json", "503", times=1)
        env = {"CIVIC_DATABASE_URL": f"sqlite:///{db}", "CIVIC_OPEN311__URL": srv.url, "CIVIC_OPEN311__API_KEY": KEY,
               "CIVIC_OPEN311__JURISDICTION_ID": "cityofboston.gov", "CIVIC_OPEN311__RETRY_BASE_S": "0.2"}
        first = civic("run", "--speed", "max", "--path", str(stream), env=env)
        assert first.returncode == 0, first.stderr
        n = len(srv.created)
        second = civic("run", "--speed", "max", "--path", str(stream), env=env)
        assert second.returncode == 0, second.stderr
        assert len(srv.created) == n
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        # incidents whose ticket cleared the auto threshold (review tickets wait for a person)
        incidents = c.execute(sa.text("select count(*) from incidents i join tickets t on t.id = i.ticket_id "
                                      "where t.status != 'review'")).scalar()
        sent = c.execute(sa.text("select count(*) from tickets where status = 'sent'")).scalar()
    assert n > 0 and n == sent == incidents
    assert f"this run {n} sent" in first.stdout and "1 retries scheduled" in first.stdout
    assert "HTTP 503" in first.stderr  # the failure was logged as it happened
    assert all(f["jurisdiction_id"] == ["cityofboston.gov"] for f in (r["form"] for r in srv.created))
    for text in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert KEY not in text


def test_a_misbehaving_endpoint_is_reported_clearly_and_tickets_wait(tmp_path):
    stream = tmp_path / "s.jsonl"
    stream.write_text("\n".join(SAMPLE.read_text().splitlines()[:60]) + "\n")
    with FakeOpen311(api_key=KEY) as srv:
        srv.fail("GET", "services.json", "500-html", times=100)
        env = {"CIVIC_DATABASE_URL": f"sqlite:///{tmp_path}/a.db", "CIVIC_OPEN311__URL": srv.url,
               "CIVIC_OPEN311__API_KEY": KEY, "CIVIC_OPEN311__END_WAIT_S": "0"}
        out = civic("run", "--speed", "max", "--path", str(stream), env=env)
    assert out.returncode == 0, out.stderr
    assert "open311 ERROR: cannot load the service list" in out.stdout and "500 Internal Server Error" in out.stdout
    assert "cannot load the service list" in out.stderr
    assert "waiting for a retry" in out.stdout and srv.created == []
    assert KEY not in out.stdout + out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tickets(db) -> tuple[dict[str, int], list[str]]:
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        statuses = dict(c.execute(sa.text("select status, count(*) from tickets group by status")).all())
        codes = [r for (r,) in c.execute(sa.text("select service_code from tickets where status != 'review'"))]
    eng.dispose()
    return statuses, codes


@pytest.mark.parametrize("recovery", ["run", "send-now"])
def test_server_down_for_the_first_run_up_for_the_second_every_ticket_sent_once(tmp_path, recovery):
    """Issue 20 end to end, through the CLI, against a server that pages at 100 with X-Next-Page-URL
    (and reads `address`, answers object-shaped errors): the first run finds it down, then it is up;
    a second `run` (or `tickets --send-now`) sends every decided ticket, none failed, none pending,
    and runs after that add none."""
    stream = tmp_path / "s.jsonl"
    stream.write_text("\n".join(SAMPLE.read_text().splitlines()[:200]) + "\n")
    db = tmp_path / "a.db"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/open311/v2/"
    env = {"CIVIC_DATABASE_URL": f"sqlite:///{db}", "CIVIC_OPEN311__URL": url, "CIVIC_OPEN311__API_KEY": KEY,
           "CIVIC_OPEN311__END_WAIT_S": "1"}  # default backoff (30 s base): tickets wait after the outage
    first = civic("run", "--speed", "max", "--path", str(stream), env=env)  # nothing listens on the port
    assert first.returncode == 0, first.stderr
    assert "cannot load the service list" in first.stdout and "tickets --send-now" in first.stdout
    statuses, codes = _tickets(db)
    decided = len(codes)
    assert decided > 0 and statuses.get("pending") == decided  # every one waiting, none lost or failed
    with FakeOpen311.independent(api_key=KEY, port=port) as srv:
        if recovery == "run":
            second = civic("run", "--speed", "max", "--path", str(stream), env=env)
            assert second.returncode == 0, second.stderr
            assert f"this run {decided} sent" in second.stdout and "0 dead-lettered" in second.stdout
        now = civic("tickets", "--send-now", env=env)
        assert now.returncode == 0, now.stderr
        if recovery == "run":
            assert "send now: nothing pending" in now.stdout
        else:
            assert f"send now: {decided} sent" in now.stdout
        assert len(srv.created) == decided
        again = civic("run", "--speed", "max", "--path", str(stream), env=env)
        assert again.returncode == 0, again.stderr
        assert len(srv.created) == decided  # a run after that adds none
        markers = [re.search(r"\[Civic Signal ref (t-[0-9a-f]+)\]", r["description"]).group(1) for r in srv.created]
        assert len(set(markers)) == decided  # no duplicates
        assert srv.count("GET", "services.json") >= 2  # paged at 100: the second page was read
    statuses, codes = _tickets(db)
    assert statuses.get("sent") == decided and not statuses.get("failed") and not statuses.get("pending")
    assert sorted(codes) == sorted(r["service_code"] for r in srv.created)
    for out in (first, now, again):
        assert KEY not in out.stdout + out.stderr


def test_send_now_says_what_still_waits_and_exits_1_while_the_endpoint_is_down(tmp_path):
    stream = tmp_path / "s.jsonl"
    stream.write_text("\n".join(SAMPLE.read_text().splitlines()[:60]) + "\n")
    env = {"CIVIC_DATABASE_URL": f"sqlite:///{tmp_path}/a.db", "CIVIC_OPEN311__URL": f"http://127.0.0.1:{_free_port()}/open311/v2/",
           "CIVIC_OPEN311__API_KEY": KEY, "CIVIC_OPEN311__END_WAIT_S": "0"}
    assert civic("run", "--speed", "max", "--path", str(stream), env=env).returncode == 0
    out = civic("tickets", "--send-now", env=env)
    assert out.returncode == 1 and "still pending: the endpoint failed" in out.stderr and "ConnectError" in out.stderr
    assert "send now: 1 retry" in out.stdout  # the first ticket found it down; the others were not tried
