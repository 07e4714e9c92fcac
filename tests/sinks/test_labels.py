"""Labels in the archive (issue 17): the label command, review decisions, 311 outcomes, deletes."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from civic_signal.core.models import Category, Classification, ClassifiedPost
from civic_signal.listener.cli import app
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.labels import Label, LabelRow, OUTCOME_WEIGHT, outcome_label, training_rows
from tests.conftest import make_post
from tests.fakes.open311_server import FakeOpen311
from tests.sinks.test_incidents import classified, sink

runner = CliRunner()


def _archive() -> Archive:
    return Archive(os.environ["CIVIC_DATABASE_URL"])


def _labels(a: Archive) -> list:
    with a.engine.connect() as c:
        return c.execute(sa.select(LabelRow.__table__).order_by(LabelRow.id)).all()


def _archived(a: Archive, n: int, text: str, code: str | None = "REQPOTHL") -> str:
    post = make_post(text, n)
    cls = Classification(post_id=post.id, actionable=code is not None, actionable_score=0.9,
                         category=Category(code=code, name=code, score=0.7) if code else None, model_version="m-1")
    a.write_classified([ClassifiedPost(post=post, classification=cls)])
    return post.id


def test_a_person_labels_a_post_with_who_when_and_the_old_prediction(monkeypatch):
    a = _archive()
    pid = _archived(a, 1, "the big hole on Elm St swallowed my wheel")
    monkeypatch.setenv("USER", "alice")
    out = runner.invoke(app, ["label", pid, "--code", "GENGRAFFITI"])
    assert out.exit_code == 0, out.output
    assert "type graffiti (code GENGRAFFITI) by alice" in out.output
    (row,) = _labels(a)
    assert (row.post_id, row.actionable, row.type, row.code, row.kind, row.by, row.weight) == \
        (pid, True, "graffiti", "GENGRAFFITI", "person", "alice", 1.0)
    assert (row.old_code, row.old_actionable, row.old_version) == ("REQPOTHL", True, "m-1")
    assert row.created_at is not None
    # a person changing their mind replaces their label; another person's stays beside it
    assert runner.invoke(app, ["label", pid, "--not-actionable"]).exit_code == 0
    assert runner.invoke(app, ["label", pid, "--type", "pothole", "--by", "bob"]).exit_code == 0
    rows = _labels(a)
    assert sorted((r.by, r.actionable, r.type) for r in rows) == [("alice", False, None), ("bob", True, "pothole")]
    (train,) = training_rows(a.engine)
    assert train["text"] == "the big hole on Elm St swallowed my wheel" and train["source"] == "label:person"


@pytest.mark.parametrize("args, message", [
    (["--code", "NOPE"], "unknown service code"),
    (["--type", "nope"], "unknown type"),
    ([], "exactly one of"),
    (["--code", "REQPOTHL", "--not-actionable"], "exactly one of"),
])
def test_a_bad_label_is_refused_with_a_clear_error(args, message):
    a = _archive()
    pid = _archived(a, 1, "pothole")
    out = runner.invoke(app, ["label", pid, *args])
    assert out.exit_code != 0 and message in str(out.exception or out.output)
    assert _labels(a) == []


def test_labelling_an_unknown_post_is_an_error():
    _archive()
    out = runner.invoke(app, ["label", "x:nope", "--type", "pothole"])
    assert out.exit_code != 0 and "no such archived post" in str(out.exception or out.output)


def test_a_label_on_a_deleted_post_is_deleted_with_it_and_a_deleted_post_cannot_be_labelled():
    a = _archive()
    one = _archived(a, 1, "glass all over the bike lane on Main")
    two = _archived(a, 2, "streetlight out on Oak")
    assert runner.invoke(app, ["label", one, two, "--type", "street_cleaning"]).exit_code == 0
    assert len(_labels(a)) == 2
    out = a.forget_post(one)
    assert out["labels"] == 1
    assert [r.post_id for r in _labels(a)] == [two]
    assert [r["post_id"] for r in training_rows(a.engine)] == [two]
    assert runner.invoke(app, ["label", one, "--type", "pothole"]).exit_code != 0
    assert [r.post_id for r in _labels(a)] == [two]


def test_review_approve_and_reject_label_the_incidents_posts():
    a = _archive()
    s = sink(a)
    one = s.add(classified(1, "a pothole maybe", score=0.6))
    two = s.add(classified(2, "graffiti perhaps", code="GENGRAFFITI", at=(42.30, -71.10), score=0.6))
    a.write_posts([classified(1, "a pothole maybe").post, classified(2, "graffiti perhaps").post])
    assert runner.invoke(app, ["review", "approve", one.incident_id, "--by", "carol"]).exit_code == 0
    assert runner.invoke(app, ["review", "reject", two.ticket_id, "--by", "carol"]).exit_code == 0
    got = {(r.post_id, r.kind, r.by, r.actionable, r.type) for r in _labels(a)}
    assert got == {("x:1", "review", "carol", True, "pothole"), ("x:2", "review", "carol", False, None)}


def test_outcome_labels():
    assert outcome_label("REQPOTHL", "open", "invalid", None) is None
    assert outcome_label("REQPOTHL", "closed", "Fixed. Thanks", None) is None
    assert outcome_label("REQPOTHL", "closed", "Closed: invalid request", None)[0] == Label(actionable=False)
    lab, why = outcome_label("REQPOTHL", "closed", "Case resolved", "GENGRAFFITI")
    assert lab.type == "graffiti" and "GENGRAFFITI" in why
    lab, why = outcome_label("REQPOTHL", "closed", "Duplicate of #123", "REQPOTHL")
    assert lab == Label(actionable=True, type="pothole", code="REQPOTHL") and why == "closed as duplicate"


def test_status_sync_turns_a_311_outcome_into_a_weaker_label(monkeypatch):
    a = _archive()
    t = sink(a).add(classified(1, "a large pothole on Main", score=0.99))
    a.write_posts([classified(1, "a large pothole on Main").post])
    with FakeOpen311(api_key="k") as srv:
        monkeypatch.setenv("CIVIC_OPEN311__URL", srv.url)
        monkeypatch.setenv("CIVIC_OPEN311__API_KEY", "k")
        out = runner.invoke(app, ["tickets", "--send-now"])
        assert out.exit_code == 0, out.output
        sid = srv.created[0]["service_request_id"]
        srv.set_status(sid, "closed", "Closed: invalid - no issue found at location")
        out = runner.invoke(app, ["tickets", "--sync"])
    assert out.exit_code == 0, out.output
    (row,) = _labels(a)
    assert (row.post_id, row.kind, row.actionable, row.weight) == ("x:1", "open311", False, OUTCOME_WEIGHT)
    # a person's label of the same post wins over the 311 outcome in training
    assert runner.invoke(app, ["label", "x:1", "--type", "pothole", "--by", "dan"]).exit_code == 0
    (train,) = training_rows(a.engine)
    assert train["actionable"] and train["types"] == ("pothole",) and train["weight"] == 1.0
    assert t.ticket_id
