"""CIVIC_LOG__FORMAT=json: one JSON object per log line, with secrets masked as in text logs."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

import pytest

from civic_signal.listener import log_format, log_secrets
from tests.conftest import REPO


@pytest.fixture
def json_logger(monkeypatch):
    monkeypatch.setattr(log_secrets, "_values", set())
    monkeypatch.setenv("CIVIC_OPEN311__API_KEY", "api-key-5ecret-77")
    stream = io.StringIO()
    lg = logging.getLogger("test.log_format")
    lg.propagate = False
    lg.setLevel(logging.DEBUG)
    handler = logging.StreamHandler(stream)
    lg.addHandler(handler)
    log_secrets.install(lg)
    log_format.apply("json", lg)
    yield lg, stream
    lg.removeHandler(handler)


def test_each_record_is_one_json_object_with_the_secret_masked(json_logger):
    lg, stream = json_logger
    lg.warning("POST %s failed", "https://311.example/requests.json?api_key=api-key-5ecret-77")
    try:
        raise ValueError("refused key api-key-5ecret-77\nsecond line")
    except ValueError:
        lg.exception("delivery failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a multi-line traceback stays inside its one line
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "WARNING" and first["logger"] == "test.log_format"
    assert first["message"] == f"POST https://311.example/requests.json?api_key={log_secrets.MASK} failed"
    assert first["ts"].endswith("+00:00") and isinstance(first["process"], int)
    assert "ValueError" in second["exc"] and "api-key-5ecret-77" not in stream.getvalue()


def test_text_stays_text(monkeypatch):
    lg = logging.getLogger("test.log_format.text")
    handler = logging.StreamHandler(io.StringIO())
    lg.addHandler(handler)
    try:
        log_format.apply("text", lg)
        assert not isinstance(handler.formatter, log_format.JsonFormatter)
    finally:
        lg.removeHandler(handler)


def test_the_cli_logs_json_on_request_and_masks_the_settings_secrets(tmp_path):
    """A command with CIVIC_LOG__FORMAT=json: its log lines are JSON, and a secret that reaches a
    message (here inside a path the source complains about) is masked."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")} | {
        "CIVIC_DATABASE_URL": f"sqlite:///{tmp_path}/a.db", "CIVIC_VAR_DIR": str(tmp_path / "var"),
        "CIVIC_LOG__FORMAT": "json", "CIVIC_METRICS__PORT": "0", "CIVIC_CLASSIFIER__KIND": "keyword",
        "CIVIC_CLASSIFIER__PROCESSES": "0", "CIVIC_OPEN311__API_KEY": "cli-secret-key-1234",
        "CIVIC_REPLAY__PATH": "/nonexistent/cli-secret-key-1234.jsonl", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", "-v", "listen", "--source", "replay",
                          "--bus", "memory", "--speed", "max"], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=env)
    records = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    assert records, out.stderr[-2000:]
    assert all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    failed = [r for r in records if r["logger"] == "civic_signal.pipeline" and r["level"] == "ERROR"]
    assert failed and f"/nonexistent/{log_secrets.MASK}.jsonl" in failed[0]["message"], failed
    assert "cli-secret-key-1234" not in out.stderr + out.stdout
