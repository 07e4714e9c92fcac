"""How sure the shipped model is of a post, and which words it has never seen (active learning)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from civic_signal.classifiers.features import feature_ids
from civic_signal.classifiers.uncertainty import Doubt, doubts
from civic_signal.core.models import Post

NOW = datetime(2026, 12, 3, tzinfo=timezone.utc)


def _posts(*texts: str) -> list[Post]:
    return [Post(id=f"t:{i}", source="t", text=t, created_at=NOW) for i, t in enumerate(texts)]


def test_the_prediction_is_the_classifier_s_own_and_the_margin_is_the_gap_of_the_model_s_top_two(classifier):
    posts = _posts("huge pothole on Mass Ave at Boylston", "a glorpwagon has been lying on Elm St for days")
    got = doubts(classifier, posts)
    for d, c in zip(got, classifier.classify(posts)):
        assert (d.post_id, d.actionable, d.actionable_score) == (c.post_id, c.actionable, c.actionable_score)
        assert c.category is not None and (d.type, d.code) == (c.category.type, c.category.code)
        # p(top) is the category score; p(second) lies between 0 and 1 - p(top)
        p = c.category.score
        assert 2 * p - 1 - 1e-3 <= d.type_margin <= p + 1e-3
    sure, odd = got
    assert sure.type == "pothole" and sure.runner_up not in (None, "pothole") and sure.type_margin > 0.5
    assert odd.type_margin is not None and 0 <= odd.type_margin < sure.type_margin


def test_unknown_words_are_the_ones_without_a_unigram_weight(classifier):
    (d,) = doubts(classifier, _posts("the glorpwagon blocks the sidewalk near the hydrant again"))
    assert d.unknown_words == ("glorpwagon",)
    model = classifier.nlp.get_pipe("civic_textcat").model
    rows = model.rows(feature_ids("glorpwagon sidewalk"))
    assert rows[0] == model.unknown and rows[1] != model.unknown


def test_a_post_the_model_does_not_score_has_no_margin(classifier):
    empty, french = doubts(classifier, _posts("", "bonjour"))
    assert empty.type_margin is None and empty.margin(0.5) is None and empty.reason == "empty text"
    assert french.type_margin is None and french.unknown_words == ("bonjour",)


def test_the_margin_is_the_nearer_of_the_threshold_and_for_a_report_the_runner_up_type():
    d = Doubt("x", True, 0.9, "pothole", "REQPOTHL", "manhole", 0.05)
    assert d.margin(0.5) == (0.05, "pothole vs manhole 0.05 apart")
    d = Doubt("x", True, 0.53, "pothole", "REQPOTHL", "manhole", 0.5)
    assert np.isclose(d.margin(0.5)[0], 0.03) and "threshold" in d.margin(0.5)[1]
    # not actionable: the type is not used, only the threshold counts
    d = Doubt("x", False, 0.2, "pothole", "REQPOTHL", "manhole", 0.01)
    assert np.isclose(d.margin(0.5)[0], 0.3)
