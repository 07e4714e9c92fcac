"""Two replays of the fixture stream (thresholds 0.5 and 0.1) and a report comparing them,
built once per module: the report tests read the same files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sinks.reports.fixture_stream import write_stream


@dataclass(frozen=True)
class Replayed:
    settings: object
    archive: object
    run_a: object
    run_b: object
    report: object
    out: Path


def replay_twice_and_report(tmp: Path) -> Replayed:
    from civic_signal.config.settings import load_settings
    from civic_signal.listener.replay_runs import parse_source, run_replay
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.reports import build_report

    stream = write_stream(tmp / "stream.jsonl")
    base = dict(database_url=f"sqlite:///{tmp}/archive.db", var_dir=str(tmp / "var"))
    strict = load_settings(**base, classifier={"kind": "keyword", "actionable_threshold": 0.5})
    loose = load_settings(**base, classifier={"kind": "keyword", "actionable_threshold": 0.1})
    run_a = run_replay(strict, parse_source(str(stream)), run_id="strict")
    run_b = run_replay(loose, parse_source("archive:"), run_id="loose")
    archive = Archive.from_settings(strict)
    report = build_report(archive, "loose", tmp / "report", compare="strict")
    return Replayed(strict, archive, run_a, run_b, report, tmp / "report")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    return replay_twice_and_report(tmp_path_factory.mktemp("replayed"))
