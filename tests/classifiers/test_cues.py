import pytest

from civic_signal.classifiers.cues import find_cues, find_cues_slow, veto


@pytest.mark.parametrize("text,reason", [
    ("the pothole on elm st was fixed, thanks!", "already fixed or praise"),
    ("thank you @bos311 for fixing the street light so fast", "already fixed or praise"),
    ("huge pothole on mass ave in cambridge", "other city"),
    ("broken street light in davis square somerville", "other city"),
    ("rt @bostonnews: pothole on dot ave", "repost"),
    ("breaking: mayor announces new pothole plan citywide", "news"),
    ("lol the pothole on my street deserves its own zip code", "joke"),
    ("why does the city take so long to fix potholes? what's the policy?", "policy question"),
])
def test_veto_says_why_a_post_is_not_a_report(text, reason):
    assert veto(find_cues(text)) == reason


@pytest.mark.parametrize("text", [
    "pothole on elm st still not fixed, thanks for nothing",
    "the pothole on dot ave was fixed but it's back again",
    "pothole on cambridge st in allston",
    "trash on e newton st not picked up",
    "pothole on mass ave in cambridge and another on dot ave in dorchester",
    "huge pothole on dot ave lol @bos311 please fix",
])
def test_no_veto_for_real_reports(text):
    assert veto(find_cues(text)) is None


def test_gates_change_nothing():
    for t in ["rt @x: hi", "was fixed", "cambridge", "harvard square", "great job city", "e newton st", ""]:
        assert find_cues(t) == find_cues_slow(t)
