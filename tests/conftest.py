"""Shared fixtures. Real-service fixtures (Kafka, PostgreSQL, ...) live in tests/services/."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from civic_signal.core.models import Post

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "boston_stream.jsonl"


def require_or_skip(env_var: str, reason: str) -> None:
    """Skip with ``reason``, or fail when CI sets ``env_var`` (the service must exist there)."""
    if os.environ.get(env_var) == "1":
        pytest.fail(f"{reason} (and {env_var}=1 requires it)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test gets its own archive and var dir, and no user config or secrets from the shell."""
    for key in list(os.environ):
        if key.startswith("CIVIC_") and not key.startswith("CIVIC_REQUIRE_") and key != "CIVIC_TEST_PG_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CIVIC_DATABASE_URL", f"sqlite:///{tmp_path}/archive.db")
    monkeypatch.setenv("CIVIC_VAR_DIR", str(tmp_path / "var"))
    # classify in the test's own process (a worker process costs seconds to start); the worker
    # processes have their own tests (tests/listener/test_classify_processes.py)
    monkeypatch.setenv("CIVIC_CLASSIFIER__PROCESSES", "0")


def make_post(text: str, n: int = 1, **kw) -> Post:
    base = dict(id=f"test:{n}", source="test", author="tester", text=text,
                created_at=datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc))
    base.update(kw)
    return Post(**base)
