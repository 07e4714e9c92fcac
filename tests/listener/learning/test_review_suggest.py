"""``civic-signal review suggest`` end to end (issue 17, active learning): a real SQLite archive,
the shipped model, the command's output, and the label command it prints, run as printed."""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta, timezone

from typer.testing import CliRunner

from civic_signal.core.models import Post
from civic_signal.listener.cli import app
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.forget import forget_post
from civic_signal.sinks.labels import OUTCOME_WEIGHT, Label, record

runner = CliRunner()
TEXTS = {
    "g1": "a glorpwagon has been lying on Elm St for days",
    "g2": "another glorpwagon blocking Harbor Rd again",
    "g3": "someone left a glorpwagon outside the school gate",
    "g4": "glorpwagon tipped over at Walnut Park since monday",
    "sure": "huge pothole on Mass Ave at Boylston",
    "invalid": "street light out on Dorchester Ave for a week",
}


def _lines(out: str) -> list[str]:
    return [ln.strip() for ln in out.splitlines() if ln.strip().startswith("civic-signal label ")]


def test_review_suggest_offers_the_posts_to_label_and_its_commands_label_them(monkeypatch):
    monkeypatch.setenv("CIVIC_REVIEW__SUGGEST_PER_DAY", "3")
    archive = Archive(os.environ["CIVIC_DATABASE_URL"])
    when = datetime.now(timezone.utc) - timedelta(hours=2)
    archive.write_posts([Post(id=f"t:{k}", source="t", text=v, created_at=when) for k, v in TEXTS.items()])
    with archive.engine.begin() as conn:
        record(conn, ["t:invalid"], Label(actionable=False), kind="open311", by="open311", weight=OUTCOME_WEIGHT)
        record(conn, ["t:g1"], Label(actionable=True, type="abandoned_bike"), kind="person", by="ann")
        forget_post(conn, "t:g2", datetime.now(timezone.utc))

    out = runner.invoke(app, ["review", "suggest"])
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert "posts to label" in text and "2 of 3 offered" in text
    assert "311 says not actionable" in text
    assert 'new term "glorpwagon" (3 recent posts)' in text   # g1 (labelled) counts, g2 (deleted) does not
    commands = _lines(text)
    assert "civic-signal label t:invalid --not-actionable" in commands
    offered = {shlex.split(c)[2] for c in commands}
    assert len(offered & {"t:g3", "t:g4"}) == 1                  # one post per new term
    assert not offered & {"t:g1", "t:g2", "t:sure"}               # labelled, deleted, confident

    # the printed command, run as printed (with a person's correction of the type)
    (g,) = offered & {"t:g3", "t:g4"}
    cmd = next(c for c in commands if f" {g} " in c)
    args = shlex.split(cmd)[1:]
    args = args[:2] + ["--type", "abandoned_bike", "--by", "tester"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0 and "labelled 1 post(s) type abandoned_bike by tester" in done.output

    again = runner.invoke(app, ["review", "suggest"])
    assert again.exit_code == 0, again.output
    left = {shlex.split(c)[2] for c in _lines(again.stdout)}
    # the other post of the term fills the day's third place (shown beside no other of the term)
    assert left == {"t:invalid"} | ({"t:g3", "t:g4"} - {g})
    assert "3 of 3 offered today, 1 labelled" in again.stdout and "offered earlier today" in again.stdout
    # the cap holds: labelling one more brings no new post today
    assert runner.invoke(app, ["label", "t:invalid", "--not-actionable"]).exit_code == 0
    last = runner.invoke(app, ["review", "suggest"])
    assert {shlex.split(c)[2] for c in _lines(last.stdout)} == {"t:g3", "t:g4"} - {g}
    assert "3 of 3 offered today, 2 labelled" in last.stdout


def test_review_suggest_on_an_empty_archive_says_so():
    out = runner.invoke(app, ["review", "suggest"])
    assert out.exit_code == 0, out.output
    assert "no post is near a decision" in out.stdout
    bad = runner.invoke(app, ["review", "suggest", "--day", "yesterday"])
    assert bad.exit_code != 0 and "not a date" in bad.output
