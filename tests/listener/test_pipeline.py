from collections.abc import Sequence

import pytest

from civic_signal.classifiers.keyword import KeywordClassifier
from civic_signal.config.errors import PermanentSinkError, StorageError
from civic_signal.listener.bus.memory import MemoryBus
from civic_signal.core.models import ClassifiedPost, DeadLetter, Post
from civic_signal.listener.pipeline import Pipeline
from civic_signal.core.source import ListSource
from civic_signal.core.sink import ListSink, Sink
from tests.conftest import make_post


class Exploding(KeywordClassifier):
    def classify(self, posts):
        if any("boom" in p.text for p in posts):
            if len(posts) > 1:
                raise RuntimeError("batch failed")
            raise ValueError("cannot classify boom")
        return super().classify(posts)


class Flaky(Sink):
    name = "flaky"

    def __init__(self, failures: int):
        self.failures = failures
        self.items: list[ClassifiedPost] = []

    def write_batch(self, items: Sequence[ClassifiedPost]) -> None:
        if self.failures:
            self.failures -= 1
            raise StorageError("database is locked")
        self.items.extend(items)


class Refusing(Sink):
    name = "refusing"

    def write_batch(self, items):
        raise PermanentSinkError("422 unprocessable")


def _posts(n: int) -> list[Post]:
    return [make_post(f"Huge pothole on Mass Ave number {i}", n=i) for i in range(n)]


def test_every_post_reaches_the_sink_in_one_piece():
    sink, dead = ListSink(), []
    pipe = Pipeline([ListSource(_posts(500))], MemoryBus(max_queue=16), KeywordClassifier(), [sink],
                     dead_letter_writer=dead.extend, batch_size=32)
    stats = pipe.run()
    assert sorted(i.post.id for i in sink.items) == sorted(p.id for p in _posts(500))
    assert stats.classified == 500 and stats.actionable == 500 and not dead
    assert all(i.classification.category.code == "REQPOTHL" for i in sink.items)


def test_a_post_the_classifier_chokes_on_is_dead_lettered_and_the_rest_go_on():
    posts = _posts(10) + [make_post("boom", n=99)]
    sink, dead = ListSink(), []
    Pipeline([ListSource(posts)], MemoryBus(), Exploding(), [sink], dead_letter_writer=dead.extend).run()
    assert len(sink.items) == 10
    assert len(dead) == 1 and dead[0].post_id == "test:99" and "cannot classify boom" in dead[0].reason


def test_source_dead_letters_reach_the_writer():
    dl = DeadLetter(stage="source", reason="line 3: invalid JSON", payload="{x", origin="f:3")
    dead = []
    Pipeline([ListSource([dl] + _posts(2))], MemoryBus(), KeywordClassifier(), [ListSink()],
             dead_letter_writer=dead.extend).run()
    assert dead == [dl]


def test_a_failing_sink_is_retried_until_it_succeeds():
    sink, dead = Flaky(failures=2), []
    pipe = Pipeline([ListSource(_posts(20))], MemoryBus(), KeywordClassifier(), [sink], dead_letter_writer=dead.extend)
    stats = pipe.run()
    assert len(sink.items) == 20 and stats.sink_retries >= 2 and not dead
    assert "database is locked" in (stats.last_error or "")


def test_a_permanent_sink_error_dead_letters_the_batch():
    dead, ok = [], ListSink()
    Pipeline([ListSource(_posts(3))], MemoryBus(), KeywordClassifier(), [Refusing(), ok],
             dead_letter_writer=dead.extend).run()
    assert len(dead) == 3 and all(d.stage == "sink:refusing" for d in dead)
    assert len(ok.items) == 3  # the other sinks still get the batch


def test_a_crashing_source_is_reported_and_does_not_stop_others():
    class Broken(ListSource):
        name = "broken"

        def __iter__(self):
            yield make_post("pothole on Elm St", n=1000)
            raise ConnectionError("socket closed")

    sink, dead = ListSink(), []
    stats = Pipeline([Broken([]), ListSource(_posts(5))], MemoryBus(), KeywordClassifier(), [sink],
                     dead_letter_writer=dead.extend).run()
    assert len(sink.items) == 6  # the post before the crash and the other source's five
    assert any("socket closed" in d.reason for d in dead)
    assert "socket closed" in (stats.last_error or "")


class RefusesBoom(Sink):
    name = "picky"

    def __init__(self):
        self.items = []

    def write_batch(self, items):
        if any("boom" in i.post.text for i in items):
            raise PermanentSinkError("422 cannot take boom")
        self.items.extend(items)


def test_a_permanent_error_dead_letters_only_the_items_the_sink_refuses():
    picky, dead = RefusesBoom(), []
    posts = _posts(5) + [make_post("pothole boom on Elm St", n=77)]
    Pipeline([ListSource(posts)], MemoryBus(), KeywordClassifier(), [picky], dead_letter_writer=dead.extend,
             batch_size=64).run()
    assert sorted(i.post.id for i in picky.items) == sorted(p.id for p in _posts(5))
    assert [d.post_id for d in dead] == ["test:77"] and "cannot take boom" in dead[0].reason
