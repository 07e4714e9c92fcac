"""`civic-signal opendata --out DIR` end to end on a SQLite archive."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from civic_signal.listener.cli import app
import pytest

from tests.services.postgres import db_url  # noqa: F401  (fixture)
from tests.sinks.test_opendata import archive  # noqa: F401  (fixture)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_opendata_writes_the_feed(archive, tmp_path, monkeypatch):  # noqa: F811
    a, _ = archive
    monkeypatch.setenv("CIVIC_DATABASE_URL", str(a.engine.url))
    out = tmp_path / "public"
    res = CliRunner().invoke(app, ["opendata", "--out", str(out), "--k", "3", "--since", "2026-03-01"])
    assert res.exit_code == 0, res.output
    assert "16 reports" in res.output
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["k"] == 3 and meta["daily_counts"]["suppressed_reports"] == 3
    res = CliRunner().invoke(app, ["opendata", "--out", str(out), "--since", "2026-04-01"])
    assert res.exit_code == 0 and "0 reports" in res.output
