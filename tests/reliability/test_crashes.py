"""Crashes: ``kill -9`` the pipeline at random points of a replay, restart it, lose and double nothing.

``civic-signal run`` runs as a subprocess over a 720-post stream; it is killed with SIGKILL
once during start-up (migrations) and then at random archive sizes, and finally run to the end.
The archive must then hold every post once, one classification per post, at most one ticket per
post and per incident, and exactly the tickets and incidents an uninterrupted run makes.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.conftest import REPO, SAMPLE

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "civic_signal.listener.cli"]
COPIES = 2


def big_stream(path: Path) -> list[str]:
    """The sample stream twice over, with new ids and dates three days apart (own incidents)."""
    ids, out = [], []
    for copy in range(COPIES):
        for raw in SAMPLE.read_bytes().splitlines():
            obj = orjson.loads(raw)
            d = obj["data"]
            d["id"] = f"{copy}{d['id']}"
            when = datetime.fromisoformat(d["created_at"].replace("Z", "+00:00")) + timedelta(days=3 * copy)
            d["created_at"] = when.isoformat().replace("+00:00", "Z")
            for ref in d.get("referenced_tweets") or []:
                ref["id"] = f"{copy}{ref['id']}"
            out.append(orjson.dumps(obj))
            ids.append(f"x:{d['id']}")
    path.write_bytes(b"\n".join(out) + b"\n")
    return ids


def _env(db: Path, batch_size: int = 256) -> dict[str, str]:
    return {**os.environ, "CIVIC_DATABASE_URL": f"sqlite:///{db}", "CIVIC_CLASSIFIER__KIND": "keyword",
            "CIVIC_BUS__BATCH_SIZE": str(batch_size)}


def _posts(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            return c.execute("select count(*) from posts").fetchone()[0]
    except sqlite3.Error:
        return 0  # not created or not migrated yet


def _run_and_kill(db: Path, stream: Path, posts_at_least: int) -> int:
    """Start a run, SIGKILL it once the archive holds ``posts_at_least`` posts (0: as soon as it starts)."""
    proc = subprocess.Popen(CLI + ["run", "--speed", "max", "--plain", "--path", str(stream)], cwd=REPO,
                            env=_env(db, batch_size=16), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if (posts_at_least == 0 and db.exists()) or (posts_at_least and _posts(db) >= posts_at_least):
                break
            time.sleep(0.01)  # polling for a condition, not timing anything
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    return proc.returncode


def _full_run(db: Path, stream: Path) -> None:
    out = subprocess.run(CLI + ["run", "--speed", "max", "--plain", "--path", str(stream)], cwd=REPO, env=_env(db),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def _state(db: Path) -> dict:
    with sqlite3.connect(db) as c:
        q = lambda sql: c.execute(sql).fetchall()  # noqa: E731
        return {
            "post_ids": sorted(r[0] for r in q("select id from posts")),
            "classifications": q("select count(*), count(distinct post_id) from classifications where run_id='live'")[0],
            "tickets_per_post": q("select post_id, count(*) from tickets group by post_id having count(*) > 1"),
            "tickets_per_incident": q("select incident_id, count(*) from tickets where incident_id is not null "
                                      "group by incident_id having count(*) > 1"),
            "reports_per_post": q("select canonical_id, count(*) from incident_reports group by canonical_id "
                                  "having count(*) > 1"),
            "tickets": q("select count(*) from tickets")[0][0],
            "incidents": q("select count(*), sum(report_count) from incidents")[0],
            "ticket_keys": sorted(r[0] for r in q("select id from tickets")),
            "dead_letters": q("select count(*) from dead_letters")[0][0],
        }


def test_kill_9_at_random_points_then_restart_archives_every_post_once_and_tickets_once(tmp_path):
    stream = tmp_path / "big.jsonl"
    ids = big_stream(stream)
    crashed, clean = tmp_path / "crashed.db", tmp_path / "clean.db"
    rng = random.Random(int(os.environ.get("CIVIC_CRASH_SEED", "8")))
    seen = [(0, _run_and_kill(crashed, stream, 0), _posts(crashed))]  # during start-up and migrations
    for _ in range(3):  # then each time a little further into the stream
        at = min(_posts(crashed) + rng.randint(1, 150), len(ids) - 40)
        seen.append((at, _run_and_kill(crashed, stream, at), _posts(crashed)))
    # every kill landed before the run could finish on its own
    assert all(code == -signal.SIGKILL for _, code, _ in seen), seen
    assert len({n for _, _, n in seen if 0 < n < len(ids)}) >= 2, seen  # killed at different points mid-stream
    print("kills (posts threshold, exit code, posts archived when killed):", seen)
    _full_run(crashed, stream)
    _full_run(clean, stream)

    after, reference = _state(crashed), _state(clean)
    assert after["post_ids"] == sorted(ids)
    assert after["classifications"] == (len(ids), len(ids))
    assert after["tickets_per_post"] == [] and after["tickets_per_incident"] == []
    assert after["reports_per_post"] == []
    assert after["dead_letters"] == 0
    # the same tickets and incidents as a run that was never interrupted
    assert after["tickets"] == reference["tickets"] > 0
    assert after["ticket_keys"] == reference["ticket_keys"]
    assert after["incidents"] == reference["incidents"]
