"""Posts to label (issue 17, active learning): which archived posts ``review suggest`` offers.

The scorer is a stand-in here (each text's prediction set by the test), so each reason is tested
alone against a real SQLite archive; the real model's margins and unknown words are tested in
tests/classifiers/test_uncertainty.py, the command end to end in
tests/listener/learning/test_review_suggest.py.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from civic_signal.classifiers.uncertainty import Doubt
from civic_signal.core.models import Post
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.forget import forget_post
from civic_signal.sinks.labels import OUTCOME_WEIGHT, Label, record
from civic_signal.sinks.learning_queue import QueueSettings, SuggestionRow, suggest
from tests.services.postgres import BACKENDS, db_url, pg_server, pg_url  # noqa: F401  (fixtures)

DAY = date(2026, 12, 3)
WHEN = datetime(2026, 12, 2, 15, 0, tzinfo=timezone.utc)
#: a confident report: far from every decision, no unknown word
SURE = dict(actionable=True, actionable_score=0.97, type="pothole", code="REQPOTHL", runner_up="manhole",
            type_margin=0.9)
STREETS = ["Elm St", "Oak Ave", "Birch Rd", "Cedar Lane", "Pine St", "Walnut Park", "Harbor Rd", "Beacon St",
           "Centre St", "Maple Ave"]
THINGS = ["pothole", "broken light", "graffiti tag", "dumped sofa", "cracked kerb", "fallen branch",
          "leaking hydrant", "missing sign", "blocked drain", "loose grate"]


class Scorer:
    """Predictions by post id (default: :data:`SURE`); counts the posts it was asked about."""

    def __init__(self, **by_id: dict) -> None:
        self.by_id, self.asked = by_id, 0

    def __call__(self, posts):
        self.asked += len(posts)
        return [Doubt(post_id=p.id, **{**SURE, **self.by_id.get(p.id.split(":")[1], {})}) for p in posts]


def _archive(texts: dict[str, str], when: datetime = WHEN, url: str | None = None) -> Archive:
    a = Archive(url or os.environ["CIVIC_DATABASE_URL"])
    a.write_posts([Post(id=f"t:{k}", source="t", text=v, created_at=when) for k, v in texts.items()])
    return a


def _distinct(n: int) -> dict[str, str]:
    """n posts with texts that share few words."""
    return {f"p{i}": f"{THINGS[i % 10]} near {STREETS[(i * 3) % 10]} number {i} since {['monday', 'friday'][i % 2]}"
            for i in range(n)}


def _ids(day) -> list[str]:
    return [s.post_id for s in day.suggestions]


def test_a_post_with_margin_near_zero_is_chosen_before_a_less_doubtful_one_and_a_confident_one_never():
    a = _archive(_distinct(3))
    score = Scorer(p0={"actionable_score": 0.51}, p1={"actionable_score": 0.60})   # p2 confident
    one = suggest(a.engine, score, QueueSettings(per_day=1), day=DAY)
    assert _ids(one) == ["t:p0"]
    assert one.suggestions[0].reasons == ("margin 0.01 (actionable 0.51 vs threshold 0.50)",)
    assert one.suggestions[0].command == "civic-signal label t:p0 --type pothole"
    # a larger cap on the next day: the other doubtful one too, the confident one still not
    more = suggest(a.engine, score, QueueSettings(per_day=5), day=DAY + timedelta(days=1))
    assert _ids(more) == ["t:p0", "t:p1"]


def test_close_top_two_types_make_a_low_margin_too():
    a = _archive(_distinct(2))
    got = suggest(a.engine, Scorer(p1={"type_margin": 0.02, "runner_up": "sidewalk_damage"}), QueueSettings(), day=DAY)
    assert _ids(got) == ["t:p1"]
    assert got.suggestions[0].reasons == ("margin 0.02 (pothole vs sidewalk_damage 0.02 apart)",)


def test_a_new_word_of_many_recent_posts_is_chosen_once_and_a_word_of_one_post_is_not():
    texts = {f"g{i}": f"a glorpwagon on {STREETS[i]} {THINGS[i]}" for i in range(6)}
    texts["z"] = "a zyxquab near the library steps"
    a = _archive(texts)
    by = {f"g{i}": {"unknown_words": ("glorpwagon",)} for i in range(6)} | {"z": {"unknown_words": ("zyxquab",)}}
    got = suggest(a.engine, Scorer(**by), QueueSettings(per_day=5, term_min_posts=3), day=DAY)
    assert len(got.suggestions) == 1   # one post per new term: not five of the same word
    (s,) = got.suggestions
    assert s.post_id.startswith("t:g") and s.reasons == ('new term "glorpwagon" (6 recent posts)',)


def test_an_open311_outcome_contradicting_the_prediction_is_chosen_with_the_outcome_as_the_guess():
    a = _archive(_distinct(3))
    with a.engine.begin() as conn:   # p0: closed as invalid, predicted a pothole; p1: 311 agrees
        record(conn, ["t:p0"], Label(actionable=False), kind="open311", by="open311", weight=OUTCOME_WEIGHT)
        record(conn, ["t:p1"], Label(actionable=True, type="pothole"), kind="open311", by="open311",
               weight=OUTCOME_WEIGHT)
        record(conn, ["t:p2"], Label(actionable=True, type="graffiti"), kind="open311", by="open311",
               weight=OUTCOME_WEIGHT)
    # p1 is near the threshold, but its 311 outcome already confirms the prediction
    got = suggest(a.engine, Scorer(p1={"actionable_score": 0.52}), QueueSettings(), day=DAY)
    assert _ids(got) == ["t:p0", "t:p2"]
    assert got.suggestions[0].reasons == ("311 says not actionable",)
    assert got.suggestions[0].command == "civic-signal label t:p0 --not-actionable"
    assert got.suggestions[1].reasons == ("311 says graffiti",)
    assert got.suggestions[1].command == "civic-signal label t:p2 --type graffiti"


@BACKENDS
def test_labelled_deleted_old_and_near_identical_posts_are_not_offered(db_url):
    texts = _distinct(5)
    texts["dup"] = texts["p4"] + " again"          # near-identical to p4
    a = _archive(texts, url=db_url)
    a.write_posts(
        [Post(id="t:old", source="t", text="an old hole on Oak Ave", created_at=WHEN - timedelta(days=30))])
    with a.engine.begin() as conn:
        record(conn, ["t:p0"], Label(actionable=True, type="pothole"), kind="person", by="ann")
        record(conn, ["t:p1"], Label(actionable=False), kind="review", by="bob")
        forget_post(conn, "t:p2", datetime.now(timezone.utc))
    doubtful = {k: {"actionable_score": 0.5} for k in [*texts, "old"]}
    got = suggest(a.engine, Scorer(**doubtful), QueueSettings(per_day=5), day=DAY)
    ids = _ids(got)
    assert ids in (["t:dup", "t:p3"], ["t:p3", "t:p4"]) and len(ids) == 2, ids   # ties by post id, dup xor p4


@BACKENDS
def test_the_cap_holds_and_the_day_s_posts_come_back_until_labelled(db_url):
    a = _archive(_distinct(8), url=db_url)
    doubt = {f"p{i}": {"actionable_score": 0.5 + 0.01 * i} for i in range(8)}
    cfg = QueueSettings(per_day=3)
    first = suggest(a.engine, Scorer(**doubt), cfg, day=DAY)
    assert _ids(first) == ["t:p0", "t:p1", "t:p2"] and first.offered == 3
    assert not any(s.again for s in first.suggestions)
    # again today: the same three, marked as such, nothing new
    again = suggest(a.engine, Scorer(**doubt), cfg, day=DAY)
    assert _ids(again) == _ids(first) and all(s.again for s in again.suggestions)
    # one labelled: two left today, no third one in its place (the cap is per day)
    with a.engine.begin() as conn:
        record(conn, ["t:p1"], Label(actionable=False), kind="person", by="ann")
    later = suggest(a.engine, Scorer(**doubt), cfg, day=DAY)
    assert _ids(later) == ["t:p0", "t:p2"] and (later.offered, later.labelled) == (3, 1)
    with a.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(SuggestionRow.__table__)).scalar() == 3
    # the next day: three again, never the labelled one
    tomorrow = suggest(a.engine, Scorer(**doubt), cfg, day=DAY + timedelta(days=1))
    assert _ids(tomorrow) == ["t:p0", "t:p2", "t:p3"]


def test_a_post_deleted_at_its_source_loses_its_suggestion_rows():
    a = _archive(_distinct(1))
    assert _ids(suggest(a.engine, Scorer(p0={"actionable_score": 0.5}), QueueSettings(), day=DAY)) == ["t:p0"]
    with a.engine.begin() as conn:
        forget_post(conn, "t:p0", datetime.now(timezone.utc))
        assert conn.execute(sa.select(sa.func.count()).select_from(SuggestionRow.__table__)).scalar() == 0
    assert suggest(a.engine, Scorer(p0={"actionable_score": 0.5}), QueueSettings(), day=DAY).suggestions == ()
