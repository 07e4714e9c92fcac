"""Classification in worker processes: the same results as in-process, and it survives a worker's death."""

from __future__ import annotations

import os
import signal

import pytest

from civic_signal.config.errors import ClassifierError
from civic_signal.config.settings import load_settings
from civic_signal.listener.classify_processes import ProcessClassifier
from civic_signal.core.models import Post
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def posts() -> list[Post]:
    from civic_signal.listener.sources.replay import ReplaySource
    out = [p for p in ReplaySource(SAMPLE, speed=0) if isinstance(p, Post)]
    assert len(out) > 300
    return out


@pytest.mark.parametrize("kind", ["spacy", "keyword"])
def test_worker_processes_give_exactly_the_in_process_results(posts, kind):
    from civic_signal.classifiers.base import load_classifier
    settings = load_settings(classifier={"kind": kind})
    here = load_classifier(settings).classify(posts)
    pool = ProcessClassifier(settings.classifier, processes=2)
    try:
        assert pool.version == load_classifier(settings).version
        there = [c for i in range(0, len(posts), 50) for c in pool.classify(posts[i:i + 50])]
    finally:
        pool.close()
    assert there == here  # every field, locations and categories included
    assert any(c.location is not None for c in there) == (kind == "spacy")


def test_a_worker_that_dies_is_replaced_and_the_batch_still_classified(posts):
    settings = load_settings(classifier={"kind": "keyword"})
    pool = ProcessClassifier(settings.classifier, processes=1)
    try:
        before = pool.classify(posts[:20])
        (pid,) = list(pool._pool._processes)  # the one worker
        os.kill(pid, signal.SIGKILL)
        after = pool.classify(posts[:20])
        assert after == before
        assert list(pool._pool._processes) != [pid]
    finally:
        pool.close()
    pool.close()  # twice is fine
    with pytest.raises(ClassifierError):
        pool.classify(posts[:1])


def test_a_model_that_cannot_load_fails_at_start_with_a_clear_error(tmp_path):
    settings = load_settings(classifier={"kind": "spacy", "model_path": str(tmp_path / "no-such-model")})
    with pytest.raises(ClassifierError, match="worker process"):
        ProcessClassifier(settings.classifier, processes=1)


def test_ctrl_c_and_sigterm_to_the_process_group_leave_the_workers_to_the_pipeline(posts):
    """A first Ctrl-C drains the pipeline: the workers must still be there to classify what is left."""
    settings = load_settings(classifier={"kind": "keyword"})
    pool = ProcessClassifier(settings.classifier, processes=1)
    try:
        (pid,) = list(pool._pool._processes)
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        assert len(pool.classify(posts[:5])) == 5
        assert list(pool._pool._processes) == [pid]  # the same worker, not a replacement
    finally:
        pool.close()


def test_a_stuck_worker_is_replaced_after_the_timeout_and_the_pipeline_goes_on(posts):
    settings = load_settings(classifier={"kind": "keyword"})
    pool = ProcessClassifier(settings.classifier, processes=1, timeout_s=3)
    try:
        (pid,) = list(pool._pool._processes)
        os.kill(pid, signal.SIGSTOP)  # as stuck as a worker can be
        with pytest.raises(ClassifierError, match="took over 3s"):
            pool.classify(posts[:5])
        assert len(pool.classify(posts[:5])) == 5  # a new worker
        assert list(pool._pool._processes) != [pid]
    finally:
        pool.close()
