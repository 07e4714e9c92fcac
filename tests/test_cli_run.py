"""The main job as a new user runs it: `civic-signal run` on the embedded defaults."""

import subprocess
import sys

import sqlalchemy as sa

from tests.conftest import REPO, SAMPLE

CLI = [sys.executable, "-m", "civic_signal.listener.cli"]


def civic(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(CLI + list(args), capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


def _counts(db: str) -> tuple[int, int, int]:
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        return tuple(c.execute(sa.text(f"select count(*) from {t}")).scalar() for t in ("posts", "classifications", "tickets"))


def test_help_lists_every_subcommand_with_a_description():
    out = civic("--help")
    assert out.returncode == 0
    for cmd in ("run", "config"):
        assert cmd in out.stdout


def test_run_twice_stores_each_post_and_ticket_once(tmp_path):
    db = tmp_path / "archive.db"
    # the shipped default: classification in one worker process (tests elsewhere use 0)
    env = {"CIVIC_DATABASE_URL": f"sqlite:///{db}", "CIVIC_CLASSIFIER__PROCESSES": "1"}
    first = civic("run", "--speed", "max", env_extra=env)
    assert first.returncode == 0, first.stderr
    assert "Civic Signal run summary" in first.stdout
    assert "progress:" in first.stdout  # stdout is not a terminal: plain lines
    n_lines = sum(1 for line in SAMPLE.read_text().splitlines() if line.strip())
    posts, classifications, tickets = _counts(str(db))
    assert posts == classifications == n_lines
    assert tickets > 0
    second = civic("run", "--speed", "max", env_extra=env)
    assert second.returncode == 0, second.stderr
    assert _counts(str(db)) == (posts, classifications, tickets)


def test_malformed_line_is_reported_kept_and_the_run_goes_on(tmp_path):
    db = tmp_path / "archive.db"
    lines = SAMPLE.read_text().splitlines()[:20]
    lines.insert(5, '{"data": {"id": "1", "text": ')
    stream = tmp_path / "bad.jsonl"
    stream.write_text("\n".join(lines) + "\n")
    out = civic("run", "--speed", "max", "--path", str(stream), env_extra={"CIVIC_DATABASE_URL": f"sqlite:///{db}"})
    assert out.returncode == 0, out.stderr
    assert "1 dead letters" in out.stdout
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        rows = c.execute(sa.text("select reason, origin from dead_letters")).all()
        posts = c.execute(sa.text("select count(*) from posts")).scalar()
    assert rows == [(rows[0][0], "bad.jsonl:6")] and "line 6" in rows[0][0] and "invalid JSON" in rows[0][0]
    assert posts == 20


def test_bad_setting_fails_at_start_with_the_key(tmp_path):
    out = civic("run", env_extra={"CIVIC_GATING__AUTO_THRESHOLD": "2"})
    assert out.returncode == 2
    assert "gating.auto_threshold" in out.stderr


def test_config_show_masks_secrets():
    out = civic("config", "show", env_extra={"CIVIC_OPEN311__API_KEY": "super-secret-311"})
    assert out.returncode == 0
    assert "super-secret-311" not in out.stdout and "**********" in out.stdout
