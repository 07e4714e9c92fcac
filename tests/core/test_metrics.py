"""civic_signal.core.metrics: the recording calls land in the right series, and data-derived labels stay bounded."""

from __future__ import annotations

from collections import Counter

from civic_signal.core import metrics
from civic_signal.core.metrics import sample


def _v(name: str, **labels: str) -> float:
    return sample(name, labels) or 0.0


def test_posts_in_counts_by_source():
    before = _v("civic_signal_posts_in_total", source="metrics-test")
    metrics.posts_in("metrics-test", 7)
    metrics.posts_in("metrics-test", 0)
    assert _v("civic_signal_posts_in_total", source="metrics-test") == before + 7


def test_classified_and_actionable_per_category():
    before = (_v("civic_signal_posts_classified_total"), _v("civic_signal_posts_actionable_total", category="REQPOTHL"),
              _v("civic_signal_posts_actionable_total", category="none"))
    metrics.classified(10, Counter({"REQPOTHL": 3, None: 1}))
    assert _v("civic_signal_posts_classified_total") == before[0] + 10
    assert _v("civic_signal_posts_actionable_total", category="REQPOTHL") == before[1] + 3
    assert _v("civic_signal_posts_actionable_total", category="none") == before[2] + 1


def test_a_dead_letter_reason_becomes_a_bounded_kind():
    assert metrics.reason_kind("JSONDecodeError: Expecting value: line 1 column 1") == "JSONDecodeError"
    assert metrics.reason_kind("failed 3 times in classify: ValueError: boom") == "ValueError"
    assert metrics.reason_kind("not a post: missing id") == "not"
    assert metrics.reason_kind("") == "none"
    before = _v("civic_signal_dead_letters_total", stage="classify", reason="ValueError")
    metrics.dead_letters([("classify", "ValueError: a"), ("classify", "ValueError: b")])
    assert _v("civic_signal_dead_letters_total", stage="classify", reason="ValueError") == before + 2


def test_label_values_from_data_are_capped():
    for n in range(metrics.MAX_LABEL_VALUES + 20):
        metrics.classified(0, {f"CODE{n:03d}": 1})
    series = [s for fam in metrics.ACTIONABLE.collect() for s in fam.samples if s.name.endswith("_total")]
    assert len(series) <= metrics.MAX_LABEL_VALUES + 1  # ... and "other"
    assert _v("civic_signal_posts_actionable_total", category="other") >= 20


def test_tickets_by_state_and_a_state_that_empties_goes_to_zero():
    metrics.tickets({"pending": 4, "sent": 2}, "testville")
    assert _v("civic_signal_tickets", state="pending", jurisdiction="testville") == 4
    metrics.tickets({"sent": 6}, "testville")
    assert _v("civic_signal_tickets", state="pending", jurisdiction="testville") == 0
    assert _v("civic_signal_tickets", state="sent", jurisdiction="testville") == 6


def test_a_city_without_tickets_reports_every_state_at_zero():
    """An archive with no ticket yet still gives the series (alerts on an absent series misfire)."""
    metrics.tickets({}, "emptyville")
    for state in ("pending", "review", "sending", "sent", "failed", "rejected", "cancelled", "closed"):
        assert _v("civic_signal_tickets", state=state, jurisdiction="emptyville") == 0


def test_model_info_shows_only_the_model_in_use():
    metrics.model_version("m-1")
    metrics.model_version("m-2")
    assert _v("civic_signal_model_info", version="m-2") == 1
    assert sample("civic_signal_model_info", {"version": "m-1"}) is None


def test_bus_lag_unknown_removes_the_series():
    metrics.bus_lag("raw", "test-group", 12)
    assert _v("civic_signal_bus_lag", topic="raw", group="test-group") == 12
    metrics.bus_lag("raw", "test-group", None)
    assert sample("civic_signal_bus_lag", {"topic": "raw", "group": "test-group"}) is None


def test_the_pipeline_records_a_batch(tmp_path):
    from civic_signal.classifiers.keyword import KeywordClassifier
    from civic_signal.core.source import ListSource
    from civic_signal.listener.bus.memory import MemoryBus
    from civic_signal.listener.pipeline import Pipeline
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.archive_sink import ArchiveSink
    from tests.conftest import make_post

    posts = [make_post(f"huge pothole on Mass Ave number {n}", n) for n in range(25)]
    archive = Archive(f"sqlite:///{tmp_path}/m.db")
    before = (_v("civic_signal_posts_in_total", source="list"), _v("civic_signal_posts_classified_total"),
              _v("civic_signal_stage_seconds_count", stage="sink:archive"), _v("civic_signal_post_latency_seconds_count"),
              _v("civic_signal_posts_written_total"))
    pipe = Pipeline([ListSource(posts)], MemoryBus(), KeywordClassifier(), [ArchiveSink(archive)],
                    dead_letter_writer=archive.write_dead_letters, batch_size=10)
    stats = pipe.run()
    assert stats.posts_in == 25
    assert _v("civic_signal_posts_in_total", source="list") == before[0] + 25
    assert _v("civic_signal_posts_classified_total") == before[1] + 25
    batches = _v("civic_signal_stage_seconds_count", stage="sink:archive") - before[2]
    assert 3 <= batches <= 25  # per batch, not per post
    assert _v("civic_signal_post_latency_seconds_count") - before[3] == batches
    assert _v("civic_signal_posts_written_total") == before[4] + 25


def test_a_source_tally_is_counted_at_the_next_scrape_without_a_flush():
    tally = metrics.SourceTally("tally-test")
    for _ in range(7):
        tally.add()
    assert _v("civic_signal_posts_in_total", source="tally-test") == 7  # a scrape (collect) caught up
    tally.add(3)
    tally.flush()
    tally.flush()  # nothing counted twice
    assert _v("civic_signal_posts_in_total", source="tally-test") == 10
