"""`civic-signal review list|approve|reject` and `civic-signal tickets`, in process."""

import os

import sqlalchemy as sa
from typer.testing import CliRunner

from civic_signal.listener.cli import app
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.models import TicketRow
from tests.fakes.open311_server import FakeOpen311
from tests.sinks.test_incidents import classified, sink

runner = CliRunner()


def _archive() -> Archive:
    return Archive(os.environ["CIVIC_DATABASE_URL"])


def _status(a: Archive, tid: str) -> str:
    with a.engine.connect() as c:
        return c.execute(sa.select(TicketRow.status).where(TicketRow.id == tid)).scalar_one()


def test_review_list_approve_and_reject():
    a = _archive()
    s = sink(a)
    one = s.add(classified(1, "a pothole maybe", score=0.6))
    two = s.add(classified(2, "graffiti perhaps", code="GENGRAFFITI", at=(42.30, -71.10), score=0.6))
    out = runner.invoke(app, ["review", "list"])
    assert out.exit_code == 0, out.output
    assert one.incident_id in out.output and two.incident_id in out.output and "review queue (2)" in out.output
    out = runner.invoke(app, ["review", "approve", one.incident_id[:8]])
    assert out.exit_code == 0 and f"ticket {one.ticket_id} is pending" in out.output
    assert "next `civic-signal run`" in out.output
    out = runner.invoke(app, ["review", "reject", two.ticket_id])
    assert out.exit_code == 0 and _status(a, two.ticket_id) == "rejected"
    assert _status(a, one.ticket_id) == "pending"
    out = runner.invoke(app, ["review", "reject", one.ticket_id])
    assert out.exit_code != 0 and "not in review" in out.output
    assert runner.invoke(app, ["review", "approve", "nope"]).exit_code != 0
    assert "empty" in runner.invoke(app, ["review", "list"]).output
    # a later report of the rejected problem attaches and does not reopen it
    assert sink(a).add(classified(3, "graffiti", code="GENGRAFFITI", at=(42.30, -71.10), score=0.99)).incident_id == two.incident_id
    assert _status(a, two.ticket_id) == "rejected"


def test_approve_sends_at_once_when_open311_is_configured(monkeypatch):
    a = _archive()
    review = sink(a).add(classified(1, "a large pothole maybe", score=0.6))
    with FakeOpen311(api_key="k") as srv:
        monkeypatch.setenv("CIVIC_OPEN311__URL", srv.url)
        monkeypatch.setenv("CIVIC_OPEN311__API_KEY", "k")
        out = runner.invoke(app, ["review", "approve", review.ticket_id])
        assert out.exit_code == 0, out.output
        assert "delivery: sent (service_request_id 101)" in out.output
        srv.set_status("101", "closed", "done")
        out = runner.invoke(app, ["tickets", "--sync"])
    assert out.exit_code == 0, out.output
    assert "status sync: 1 ticket(s) changed" in out.output and "closed" in out.output and "101" in out.output
    assert _status(a, review.ticket_id) == "closed"


def test_tickets_lists_statuses_and_filters():
    a = _archive()
    s = sink(a)
    s.add(classified(1))
    s.add(classified(2, "graffiti", code="GENGRAFFITI", at=(42.30, -71.10), score=0.6))
    out = runner.invoke(app, ["tickets"])
    assert out.exit_code == 0 and "pending=1" in out.output and "review=1" in out.output
    out = runner.invoke(app, ["tickets", "--status", "review"])
    assert "GENGRAFFITI" in out.output and "REQPOTHL" not in out.output


def test_tickets_requeue_puts_failed_tickets_back_in_the_outbox():
    a = _archive()
    s = sink(a)
    one = s.add(classified(1, "a large pothole", score=0.99))
    two = s.add(classified(2, "graffiti everywhere", code="GENGRAFFITI", at=(42.30, -71.10), score=0.99))
    with a.engine.begin() as c:
        c.execute(sa.update(TicketRow.__table__).values(status="failed", attempts=6, last_error="403 bad api_key"))
    out = runner.invoke(app, ["tickets", "--requeue", one.ticket_id, "--requeue", "t-nope"])
    assert out.exit_code == 0, out.output
    assert f"requeued 1 ticket(s): {one.ticket_id}" in out.output and "t-nope is not failed" in out.output
    assert (_status(a, one.ticket_id), _status(a, two.ticket_id)) == ("pending", "failed")
    out = runner.invoke(app, ["tickets", "--requeue", "failed"])
    assert f"requeued 1 ticket(s): {two.ticket_id}" in out.output
    with a.engine.connect() as c:
        assert c.execute(sa.select(TicketRow.attempts).where(TicketRow.id == two.ticket_id)).scalar_one() == 0
