"""Replay a fixture stream twice with two classifier settings, then report on and compare them."""

from __future__ import annotations

import csv


from civic_signal.sinks.archive.models import ClassificationRow, TicketRow
from civic_signal.sinks.reports.build import CHART_PX, MAP_PX
from civic_signal.sinks.reports.pngsize import png_size
from tests.sinks.reports.fixture_stream import ACTIONABLE_AT_05, GAINED_AT_01, POSTS


def test_each_replay_records_its_counts_in_its_own_run(replayed):
    a, b = replayed.run_a, replayed.run_b
    assert (a.status, a.posts_in, a.classified, a.actionable, a.dead_letters) == \
        ("finished", len(POSTS), len(POSTS), len(ACTIONABLE_AT_05), 1)
    assert (b.status, b.posts_in, b.classified, b.actionable) == \
        ("finished", len(POSTS), len(POSTS), len(ACTIONABLE_AT_05) + len(GAINED_AT_01))
    assert a.source.startswith("file:") and b.source == "archive:posts"
    assert a.settings["classifier"]["actionable_threshold"] == 0.5
    assert b.settings["classifier"]["actionable_threshold"] == 0.1
    assert replayed.archive.count(ClassificationRow, ClassificationRow.run_id == "strict") == len(POSTS)
    assert replayed.archive.count(ClassificationRow, ClassificationRow.run_id == "loose") == len(POSTS)
    assert replayed.archive.count(ClassificationRow, ClassificationRow.run_id == "live") == 0


def test_replays_queue_no_ticket(replayed):
    assert replayed.archive.count(TicketRow) == 0


def test_comparison_shows_exactly_the_posts_the_lower_threshold_gained(replayed):
    cmp = replayed.report.comparison
    assert (cmp.run_a, cmp.run_b, cmp.common, cmp.only_a, cmp.only_b) == ("strict", "loose", len(POSTS), 0, 0)
    assert {c.post_id: c.label_b for c in cmp.gained} == GAINED_AT_01
    assert cmp.lost == () and cmp.changed == ()
    assert cmp.confusion[("(not actionable)", "REQPOTHL")] == 2
    assert cmp.confusion[("(not actionable)", "RODENTACT")] == 1
    assert cmp.confusion[("REQPOTHL", "REQPOTHL")] == 4
    assert sum(cmp.confusion.values()) == len(POSTS)


def test_charts_are_real_pngs_of_the_promised_size(replayed):
    charts = replayed.report.charts
    assert set(charts) == {"volume", "expected", "map", "locations", "latency"}
    for key, path in charts.items():
        assert path.exists() and path.parent == replayed.out
        assert png_size(path) == (MAP_PX if key == "map" else CHART_PX), key
        assert path.stat().st_size > 5_000, key  # drawn, not an empty canvas


def test_csv_files_beside_the_report_hold_the_numbers(replayed):
    out = replayed.out
    names = {p.name for p in replayed.report.csv}
    assert {"posts.csv", "volume.csv", "expected.csv", "neighborhoods.csv", "top_locations.csv", "latency.csv",
            "compare_confusion.csv", "compare_changes.csv"} <= names
    posts = list(csv.DictReader((out / "posts.csv").open()))
    assert len(posts) == len(POSTS)
    assert sum(r["actionable"] == "True" for r in posts) == len(ACTIONABLE_AT_05) + len(GAINED_AT_01)
    hoods = {r["neighborhood"]: int(r["reports"]) for r in csv.DictReader((out / "neighborhoods.csv").open())}
    assert hoods["Dorchester"] == 2 and hoods["Back Bay"] == 1 and hoods["North End"] == 1
    volume = list(csv.DictReader((out / "volume.csv").open()))
    assert sum(int(r["reports"]) for r in volume) == len(ACTIONABLE_AT_05) + len(GAINED_AT_01)
    changes = list(csv.DictReader((out / "compare_changes.csv").open()))
    assert sorted(r["post_id"] for r in changes if r["change"] == "gained") == sorted(GAINED_AT_01)
    expected = list(csv.DictReader((out / "expected.csv").open()))
    observed = {}
    for r in volume:
        observed[r["category"]] = observed.get(r["category"], 0) + int(r["reports"])
    for cat in {r["category"] for r in expected}:
        assert sum(int(r["observed"]) for r in expected if r["category"] == cat) == observed[cat]
    # a central interval: low <= high, and the top is at least the mean's integer part
    assert all(0 <= int(r["expected_low"]) <= int(r["expected_high"]) >= int(float(r["expected"])) for r in expected)
    assert all(float(r["expected"]) >= 0 for r in expected) and sum(float(r["expected"]) for r in expected) > 0


def test_html_is_self_contained(replayed):
    html = replayed.report.html.read_text()
    assert html.count('<img class="chart"') == 5
    assert html.count('src="data:image/png;base64,') == 5
    for external in ("http://", "https://", "<link", "src=\"/", "@import"):
        assert external not in html
    assert "Compared with run strict" in html and 'id="confusion"' in html


def test_post_text_is_escaped_in_the_report(tmp_path):
    from civic_signal.core.models import Category, Classification, ClassifiedPost
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.reports import build_report
    from tests.conftest import make_post

    archive = Archive(f"sqlite:///{tmp_path}/a.db")
    post = make_post("<script>alert(1)</script> pothole", n=1)
    c = Classification(post_id=post.id, actionable=True, actionable_score=0.9, model_version="t",
                       category=Category(code="REQPOTHL", name="Pothole", score=0.9))
    archive.write_classified([ClassifiedPost(post=post, classification=c)], run_id="a")
    archive.write_classified([ClassifiedPost(post=post, classification=c.model_copy(update={"actionable": False,
                                                                                             "category": None}))],
                             run_id="b")
    rep = build_report(archive, "b", tmp_path / "out", compare="a")
    html = rep.html.read_text()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert [c.post_id for c in rep.comparison.lost] == [post.id]


def test_latency_is_ticket_time_minus_post_time(tmp_path):
    from datetime import timedelta

    from civic_signal.core.models import Ticket
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.reports.data import load_latencies
    from tests.conftest import make_post
    from civic_signal.core.models import Classification, ClassifiedPost

    archive = Archive(f"sqlite:///{tmp_path}/a.db")
    post = make_post("pothole", n=1)
    c = Classification(post_id=post.id, actionable=False, actionable_score=0.0, model_version="t")
    archive.write_classified([ClassifiedPost(post=post, classification=c)], run_id="r")
    archive.queue_tickets([Ticket(id="t-1", post_id=post.id, service_code="REQPOTHL", description="d",
                                  confidence=0.9, created_at=post.created_at + timedelta(minutes=42))])
    lat = load_latencies(archive, "r")
    assert [round(x.minutes, 3) for x in lat] == [42.0]
    assert load_latencies(archive, "other") == []


def test_report_on_an_unknown_run_says_so(tmp_path):
    import pytest

    from civic_signal.config.errors import ConfigError
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.reports import build_report

    with pytest.raises(ConfigError, match="no classifications"):
        build_report(Archive(f"sqlite:///{tmp_path}/a.db"), "nope", tmp_path / "out")
