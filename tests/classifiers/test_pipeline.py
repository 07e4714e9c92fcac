from civic_signal.classifiers.pipeline import SpacyClassifier
from civic_signal.core.models import Coordinates
from tests.conftest import make_post


def test_one_classification_per_post_in_order(classifier):
    posts = [make_post(t, i) for i, t in enumerate(["Go Sox!", "Huge pothole on Dot Ave", "", "x" * 20000])]
    out = classifier.classify(posts)
    assert [c.post_id for c in out] == [p.id for p in posts]
    assert out[2].reason == "empty text" and not out[2].actionable
    assert not out[3].actionable
    assert classifier.classify([]) == []


def test_version_comes_from_the_model_meta(classifier):
    meta = classifier.nlp.get_pipe("civic_textcat").model.meta
    assert classifier.version == meta["version"] == classifier.classify_one(make_post("hi")).model_version


def test_location_is_attached_and_post_coordinates_win(classifier):
    if not classifier.has_location:
        import pytest
        pytest.skip("the location package is not installed")
    c = classifier.classify_one(make_post("Huge pothole outside 25 Sheridan St in JP"))
    assert c.location is not None and c.location.lat is not None
    c = classifier.classify_one(make_post("Huge pothole on Dot Ave", coordinates=Coordinates(lat=42.3, lon=-71.07)))
    assert c.location.kind == "coordinates"


def test_a_post_that_breaks_the_pipeline_costs_only_itself(classifier, monkeypatch):
    clf = SpacyClassifier(classifier.nlp, classifier.version)
    real = clf._doc

    def boom(post):
        if post.text == "boom":
            raise RuntimeError("bad post")
        return real(post)

    monkeypatch.setattr(clf, "_doc", boom)
    out = clf.classify([make_post("Huge pothole on Dot Ave", 1), make_post("boom", 2), make_post("Go Sox", 3)])
    assert [c.post_id for c in out] == ["test:1", "test:2", "test:3"]
    assert out[0].actionable and out[1].reason == "error: RuntimeError" and not out[2].actionable


def test_load_classifier_builds_the_spacy_classifier_by_default():
    from civic_signal.classifiers.base import load_classifier
    from civic_signal.config.settings import load_settings
    clf = load_classifier(load_settings())   # follows the active version (issue 17): the shipped one here
    assert isinstance(clf.inner, SpacyClassifier) and clf.active == "shipped"
