"""Smoke test of the benchmark harness: a tiny ``--quick`` run writes a valid report.

No timing assertions: the numbers depend on the machine. It only checks that the harness runs
each benchmark in its own process and writes the JSON that ``docs/benchmarks.md`` describes.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def test_quick_run_writes_a_json_report_with_one_row_per_benchmark(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "keyword", "archive-sqlite",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["quick"] is True and report["machine"]["cpus"] >= 1
    rows = {r["key"]: r for r in report["results"]}
    assert set(rows) == {"keyword", "archive-sqlite"}
    for r in rows.values():
        assert "error" not in r, r
        assert r["items_per_s"] > 0 and r["peak_rss_mb"] > 0
    assert rows["archive-sqlite"]["rows"] == 1_000
    assert 0.0 <= rows["keyword"]["accuracy"] <= 1.0
    assert {t["target"] for t in report["targets"]} >= {"in-process pipeline >= 5,000 posts/s"}
    assert "Civic Signal benchmarks" in proc.stdout


def test_an_unknown_key_is_refused_with_the_list_hint(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench", "--only", "nope", "--out", str(tmp_path / "b.json")],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "--list" in proc.stderr
