"""`civic-signal export` slices, in-process."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.listener.cli.export_cmd import TABLES, write_slice
from civic_signal.core.models import Classification, ClassifiedPost
from civic_signal.sinks.archive import Archive
from tests.conftest import make_post


@pytest.fixture
def archive(tmp_path) -> Archive:
    a = Archive(f"sqlite:///{tmp_path}/a.db")
    items = [ClassifiedPost(post=make_post(f"post {n}", n=n, created_at=datetime(2026, 11, 20 + n, tzinfo=timezone.utc)),
                            classification=Classification(post_id=f"test:{n}", actionable=False, actionable_score=0.0,
                                                          model_version="t"))
             for n in range(1, 4)]
    a.write_classified(items, run_id="r1")
    a.write_classified(items[:1], run_id="r2")
    return a


@pytest.mark.parametrize("table", TABLES)
def test_every_table_exports_as_csv_and_parquet(archive, tmp_path, table):
    import pyarrow.parquet as pq

    n_csv = write_slice(archive, table, tmp_path / f"{table}.csv", "csv")
    n_pq = write_slice(archive, table, tmp_path / f"{table}.parquet", "parquet")
    assert n_csv == n_pq
    assert pq.read_table(tmp_path / f"{table}.parquet").num_rows == n_pq
    assert (tmp_path / f"{table}.csv").read_text().count("\n") == n_csv + 1


def test_time_range_and_run_filters(archive, tmp_path):
    since, until = datetime(2026, 11, 22, tzinfo=timezone.utc), datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert write_slice(archive, "posts", tmp_path / "p.csv", "csv", since=since) == 2
    assert write_slice(archive, "posts", tmp_path / "p.csv", "csv", since=since, until=until) == 1
    assert write_slice(archive, "classified", tmp_path / "c.csv", "csv", run="r1") == 3
    assert write_slice(archive, "classified", tmp_path / "c.csv", "csv", run="r2") == 1
    assert write_slice(archive, "classified", tmp_path / "c.csv", "csv", run="r1", since=since) == 2


def test_unknown_table_or_format_is_explained(archive, tmp_path):
    with pytest.raises(ConfigError, match="unknown table"):
        write_slice(archive, "users", tmp_path / "x.csv", "csv")
    with pytest.raises(ConfigError, match="unknown format"):
        write_slice(archive, "posts", tmp_path / "x.json", "json")
