"""The runs table: one row per replay, never reused once finished."""

from __future__ import annotations

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.sinks import runs
from civic_signal.sinks.archive import Archive


def test_start_finish_and_list(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    r = runs.start_run(a, "r1", source="file:x", classifier_kind="keyword", classifier_version="keyword-1",
                       settings={"classifier": {"actionable_threshold": 0.5}})
    assert (r.status, r.finished_at, r.settings["classifier"]["actionable_threshold"]) == ("running", None, 0.5)
    done = runs.finish_run(a, "r1", posts_in=3, classified=3, actionable=1, dead_letters=0)
    assert done.status == "finished" and done.finished_at >= done.started_at
    assert done.started_at.tzinfo is not None
    assert [x.id for x in runs.list_runs(a)] == ["r1"]
    assert runs.get_run(a, "nope") is None


def test_a_finished_run_id_is_never_reused_but_an_unfinished_one_restarts(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    kw = dict(source="s", classifier_kind="keyword", classifier_version="k", settings={})
    runs.start_run(a, "r1", **kw)
    runs.start_run(a, "r1", **kw)  # crashed before finishing: may start again
    runs.finish_run(a, "r1")
    with pytest.raises(ConfigError, match="already exists"):
        runs.start_run(a, "r1", **kw)
    with pytest.raises(ConfigError, match="live"):
        runs.start_run(a, "live", **kw)
