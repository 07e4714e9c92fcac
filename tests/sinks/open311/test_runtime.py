"""`civic-signal run` pointed at an Open311 endpoint: tickets created, one per incident; errors shown."""

import os
import subprocess
import sys

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
