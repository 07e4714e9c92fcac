"""`civic-signal replay`, `runs`, `report` and `export` as an analyst runs them (in-process;
`tests/test_cli_run.py` covers the console script itself)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import sqlalchemy as sa
from typer.testing import CliRunner

from civic_signal.config.errors import CivicSignalError
from tests.sinks.reports.fixture_stream import ACTIONABLE_AT_05, GAINED_AT_01, POSTS, write_stream


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def civic(*args: str) -> Result:
    """The CLI in-process (as ``main()`` runs it: a CivicSignalError is exit code 2 with its message)."""
    from civic_signal.listener.cli import app
    res = CliRunner().invoke(app, list(args))
    if isinstance(res.exception, CivicSignalError):
        return Result(2, res.stdout, f"error: {res.exception}")
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return Result(res.exit_code, res.stdout, "")


def _db() -> sa.Engine:
    return sa.create_engine(os.environ["CIVIC_DATABASE_URL"])


def _count(sql: str) -> int:
    with _db().connect() as c:
        return c.execute(sa.text(sql)).scalar()


def test_replay_twice_report_compare_and_export(tmp_path):
    stream = write_stream(tmp_path / "stream.jsonl")
    first = civic("replay", str(stream), "--run-id", "strict", "--classifier", "keyword", "--threshold", "0.5")
    assert first.returncode == 0, first.stderr
    assert f"run strict finished: {len(POSTS)} posts read" in first.stdout
    assert f"{len(ACTIONABLE_AT_05)} actionable, 1 dead letters" in first.stdout
    assert "tickets not sent" in first.stdout
    second = civic("replay", "archive:", "--run-id", "loose", "--classifier", "keyword", "--threshold", "0.1")
    assert second.returncode == 0, second.stderr
    assert f"{len(ACTIONABLE_AT_05) + len(GAINED_AT_01)} actionable" in second.stdout
    assert _count("select count(*) from tickets") == 0
    assert _count("select count(*) from classifications where run_id='loose' and actionable") == 9

    runs = civic("runs")
    assert runs.returncode == 0 and "strict\tfinished" in runs.stdout and "loose\tfinished" in runs.stdout

    rep = civic("report", "--run", "loose", "--compare", "strict", "--out", str(tmp_path / "rep"))
    assert rep.returncode == 0, rep.stderr
    assert f"{len(GAINED_AT_01)} gained, 0 lost" in rep.stdout
    assert (tmp_path / "rep" / "report.html").exists() and (tmp_path / "rep" / "map.png").exists()

    out = tmp_path / "classified.csv"
    exp = civic("export", "--table", "classified", "--run", "loose", "--since", "2026-11-21", "--out", str(out))
    assert exp.returncode == 0, exp.stderr
    rows = list(csv.DictReader(out.open()))
    assert {r["post_id"] for r in rows} == {p[0] for p in POSTS if p[1] >= "2026-11-21"}
    assert all(r["run_id"] == "loose" and r["post_created_at"].endswith("+00:00") for r in rows)


def test_replay_refuses_to_reuse_a_finished_run_id(tmp_path):
    stream = write_stream(tmp_path / "stream.jsonl")
    assert civic("replay", str(stream), "--run-id", "once", "--classifier", "keyword").returncode == 0
    again = civic("replay", str(stream), "--run-id", "once", "--classifier", "keyword")
    assert again.returncode == 2 and "already exists" in again.stderr
    live = civic("replay", str(stream), "--run-id", "live", "--classifier", "keyword")
    assert live.returncode == 2 and "live" in live.stderr


def test_replay_with_a_time_range_reads_only_that_range(tmp_path):
    stream = write_stream(tmp_path / "stream.jsonl")
    res = civic("replay", str(stream), "--run-id", "day1", "--classifier", "keyword",
                "--since", "2026-11-20T00:00Z", "--until", "2026-11-21")
    assert res.returncode == 0, res.stderr
    day1 = [p for p in POSTS if p[1] < "2026-11-21"]
    assert _count("select count(*) from classifications where run_id='day1'") == len(day1)


def test_send_tickets_queues_tickets_only_when_asked(tmp_path):
    stream = write_stream(tmp_path / "stream.jsonl")
    res = civic("replay", str(stream), "--run-id", "with-tickets", "--classifier", "keyword", "--send-tickets")
    assert res.returncode == 0, res.stderr
    assert "tickets queued" in res.stdout
    assert _count("select count(*) from tickets") == len(ACTIONABLE_AT_05)


def test_bad_source_and_bad_speed_are_explained(tmp_path):
    missing = civic("replay", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "neither an existing file" in missing.stderr
    speed = civic("replay", "archive:", "--speed", "fast")
    assert speed.returncode == 2 and "--speed" in speed.stderr
    export = civic("export", "--table", "posts", "--run", "x")
    assert export.returncode == 2 and "does not apply" in export.stderr
