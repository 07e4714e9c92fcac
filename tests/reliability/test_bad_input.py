"""Bad input: every parser and every classifier against the nasty corpus and generated input.

What must hold: a parser returns a post or raises :class:`ParseError` (never anything else); a
post it returns can be serialized and archived; a classifier returns one sane classification per
post whatever the text; and through the real pipeline with the real archive, every input line
ends up as a post row or a dead-letter row with a reason.
"""

from __future__ import annotations

import gzip
import json
import importlib.util
import string
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from civic_signal.config.errors import ParseError
from civic_signal.config.settings import load_settings
from civic_signal.core.models import MAX_TEXT_CHARS, Classification, DeadLetter, Post
from civic_signal.listener.sources.formats import decode_json, parse_any, parse_time, parse_x_v2
from civic_signal.listener.sources.replay import ReplaySource
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.tickets import redact
from tests.conftest import make_post
from tests.reliability.nasty_corpus import CASES, CORPUS, EXPECTED

FAST = hsettings(max_examples=int(__import__("os").environ.get("CIVIC_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
T = "2026-11-20T12:00:00.000Z"

# every character, lone surrogates and control characters included
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=300)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


def _tweet() -> dict:
    return {
        "data": {"id": "1860000000000000001", "text": "Pothole on Centre St", "author_id": "42", "created_at": T,
                 "lang": "en", "geo": {"coordinates": {"type": "Point", "coordinates": [-71.06, 42.35]},
                                       "place_id": "p1"},
                 "referenced_tweets": [{"type": "quoted", "id": "7"}], "attachments": {"media_keys": ["m1"]}},
        "includes": {"users": [{"id": "42", "username": "someone"}],
                     "places": [{"id": "p1", "full_name": "Boston, MA"}],
                     "media": [{"media_key": "m1", "type": "photo", "url": "https://img.invalid/1.jpg"}]},
        "matching_rules": [{"id": "1", "tag": "boston-keywords"}],
    }


PATHS = [("data",), ("includes",), ("matching_rules",)] + [("data", k) for k in _tweet()["data"]] + [
    ("data", "geo", "coordinates"), ("data", "geo", "coordinates", "coordinates"), ("data", "geo", "place_id"),
    ("data", "attachments", "media_keys"), ("includes", "users"), ("includes", "places"), ("includes", "media"),
]


def _set(obj: dict, path: tuple[str, ...], value) -> dict:
    cur = obj
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return obj


def _assert_storable(post: Post) -> None:
    """What the archive, the bus and the dead-letter path need of a post."""
    post.model_dump_json()
    if post.raw is not None:
        orjson.dumps(post.raw)
    for value in (post.id, post.source, post.author, post.text, post.language, post.place, post.url,
                  *post.tags, *post.media_urls):
        if value is not None:
            value.encode("utf-8")
            assert "\x00" not in value
    assert len(post.text) <= MAX_TEXT_CHARS
    assert post.url is None or len(post.url) <= 500


# -- the corpus --------------------------------------------------------------------------------

def _expected() -> list[tuple[str, str, str]]:
    return [tuple(line.split(" ", 2)) for line in EXPECTED.read_text(encoding="utf-8").splitlines()]


def test_the_corpus_on_disk_matches_its_generator():
    lines = CORPUS.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert lines[:-1] == [raw for _label, raw, _ in CASES], "run: python -m tests.reliability.nasty_corpus"
    assert len(_expected()) == len(CASES)


def test_replay_turns_every_corpus_line_into_the_expected_post_or_dead_letter():
    items = list(ReplaySource(CORPUS))
    posts = {i.id: i for i in items if isinstance(i, Post)}
    dead = {i.origin: i for i in items if isinstance(i, DeadLetter)}
    for lineno, (kind, post_id, label) in enumerate(_expected(), start=1):
        origin = f"{CORPUS.name}:{lineno}"
        if kind == "post":
            assert post_id in posts, f"line {lineno} ({label}) should be a post: {dead.get(origin)}"
            _assert_storable(posts[post_id])
        elif kind == "dead":
            assert origin in dead, f"line {lineno} ({label}) should be a dead letter"
            reason = dead[origin].reason
            assert reason.startswith(f"line {lineno}: ") and len(reason) > len(f"line {lineno}: ") + 10, reason
    n_posts = sum(k == "post" for k, _, _ in _expected())
    n_dead = sum(k == "dead" for k, _, _ in _expected())
    assert (len(posts), len(dead), len(items)) == (n_posts, n_dead, n_posts + n_dead)


def test_text_is_kept_as_written_apart_from_nul_and_bad_surrogates():
    posts = {i.id: i for i in ReplaySource(CORPUS) if isinstance(i, Post)}
    assert posts["x:990005"].text == "pothole on Beacon St"          # NUL removed
    assert "\u202e" in posts["x:990007"].text                          # RTL override kept (tickets redact)
    assert "👩‍👩‍👧‍👦" in posts["x:990009"].text                                # ZWJ sequence intact
    assert posts["x:990900"].text == "pothole on A St"                 # duplicate key: last wins
    long = posts["x:990027"]
    assert long.truncated and len(long.text) == MAX_TEXT_CHARS
    assert posts["x:990030"].coordinates is None and posts["x:990030"].raw["data"]["geo"]  # bad geo: raw keeps it


def _pipeline_counts(tmp_path: Path, stream: Path, classifier=None):
    from civic_signal.listener.cli.run_cmd import build_pipeline
    settings = load_settings(replay={"speed": 0}, classifier={"kind": "keyword"})
    source = ReplaySource(stream)
    pipe, archive = build_pipeline(settings, [source], classifier=classifier)
    stats = pipe.run()
    with archive.engine.connect() as c:
        posts = {r[0]: r for r in c.execute(sa.text("select id, text, author from posts"))}
        classified = {r[0] for r in c.execute(sa.text("select post_id from classifications"))}
        dead = {r[0]: r[1] for r in c.execute(sa.text("select origin, reason from dead_letters"))}
        tickets = [r[0] for r in c.execute(sa.text("select description from tickets"))]
    return stats, posts, classified, dead, tickets


def test_through_the_real_pipeline_every_line_is_a_post_row_or_a_dead_letter_row(tmp_path):
    stats, posts, classified, dead, tickets = _pipeline_counts(tmp_path, CORPUS)
    for lineno, (kind, post_id, label) in enumerate(_expected(), start=1):
        if kind == "post":
            assert post_id in posts and post_id in classified, f"line {lineno} ({label}) lost"
        elif kind == "dead":
            assert f"{CORPUS.name}:{lineno}" in dead, f"line {lineno} ({label}) lost"
    assert len(posts) == sum(k == "post" for k, _, _ in _expected())
    assert len(dead) == sum(k == "dead" for k, _, _ in _expected()) == stats.dead_letters
    assert stats.last_error is None and stats.sink_retries == 0
    for description in tickets:
        assert "<script" not in description and "\x1b" not in description and "\x00" not in description


def test_a_one_megabyte_post_and_a_one_megabyte_garbage_line_go_through(tmp_path):
    big = "pothole on Main St " + "x" * 1_000_000
    stream = tmp_path / "big.jsonl.gz"
    with gzip.open(stream, "wb") as fh:
        fh.write(orjson.dumps({"data": {"id": "1", "text": big, "created_at": T}}) + b"\n")
        fh.write(b"{" + b"\xff" * 1_000_000 + b"\n")
        fh.write(orjson.dumps({"data": {"id": "2", "text": "streetlight out on Elm St", "created_at": T}}) + b"\n")
    stats, posts, classified, dead, _ = _pipeline_counts(tmp_path, stream)
    assert set(posts) == {"x:1", "x:2"} == classified
    assert len(posts["x:1"][1]) == MAX_TEXT_CHARS
    assert list(dead) == ["big.jsonl.gz:2"] and "invalid JSON" in dead["big.jsonl.gz:2"]


def test_a_cut_short_gzip_replay_keeps_what_it_read_and_says_where_it_broke(tmp_path):
    from tests.conftest import SAMPLE
    data = gzip.compress(SAMPLE.read_bytes())
    stream = tmp_path / "cut.jsonl.gz"
    stream.write_bytes(data[: len(data) // 2])
    stats, posts, classified, dead, _ = _pipeline_counts(tmp_path, stream)
    assert len(posts) > 100 and set(posts) == classified
    (origin, reason), = dead.items()
    assert f"after line {len(posts)}" in reason and origin == f"cut.jsonl.gz:{len(posts) + 1}"


def test_ticket_descriptions_of_corpus_posts_hold_no_markup_controls_or_invisible_characters():
    from civic_signal.core.models import Category, ClassifiedPost
    from civic_signal.sinks.tickets import describe
    for post in _corpus_posts():
        c = Classification(post_id=post.id, actionable=True, actionable_score=0.9, model_version="t",
                           category=Category(code="REQPOTHL", name="Pothole", score=0.9))
        text = describe(ClassifiedPost(post=post, classification=c))
        assert len(text) <= 4000
        assert not any(ch in text for ch in "\x00\x07\x1b\x7f\u202e\u200b"), (post.id, text[:80])
        assert "<script" not in text and "<b>" not in text


def test_author_handles_of_any_shape_are_stored_hashed(tmp_path):
    _, posts, *_ = _pipeline_counts(tmp_path, CORPUS)
    authors = [r[2] for r in posts.values() if r[2] is not None]
    assert authors and all(a.startswith("h:") and len(a) == 18 for a in authors)


# -- parsers, generated input ------------------------------------------------------------------

@FAST
@given(st.binary(max_size=400))
def test_decode_json_returns_a_value_or_a_parse_error(raw):
    try:
        decode_json(raw)
    except ParseError as exc:
        assert exc.message.startswith("invalid JSON")


@FAST
@given(JSON_VALUES)
def test_parse_any_on_any_json_value_returns_a_post_or_raises_parse_error(value):
    try:
        post = parse_any(value)
    except ParseError:
        return
    if post is not None:
        _assert_storable(post)


@FAST
@given(st.sampled_from(PATHS), JSON_VALUES | ANY_TEXT)
def test_a_tweet_with_any_field_replaced_parses_or_raises_parse_error(path, value):
    try:
        post = parse_x_v2(_set(_tweet(), path, value))
    except ParseError:
        return
    assert post is not None and post.id.startswith("x:")
    _assert_storable(post)


@FAST
@given(st.dictionaries(st.sampled_from(["id", "text", "created_at", "author_id", "lang", "geo", "x"]),
                       JSON_VALUES | ANY_TEXT, max_size=6))
def test_a_tweet_data_object_of_any_shape_parses_or_raises_parse_error(data):
    try:
        post = parse_any({"data": data})
    except ParseError:
        return
    _assert_storable(post)


def _paths(obj, prefix=()) -> list[tuple]:
    """Every path into ``obj`` (dict keys and list indices)."""
    out = []
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def _network_samples() -> list[dict]:
    """One valid message of every network source's shape (the sources' own test helpers)."""
    from tests.listener.sources.test_replay_shapes import LINES
    return [orjson.loads(line) for line in LINES[:5]]


@pytest.mark.parametrize("n", range(5))
def test_every_network_shape_with_any_field_replaced_parses_or_raises_parse_error(n):
    import copy
    sample = _network_samples()[n]
    assert isinstance(parse_any(copy.deepcopy(sample)), Post)
    paths = _paths(sample)

    @FAST
    @given(st.sampled_from(paths), JSON_VALUES | ANY_TEXT)
    def check(path, value):
        obj = copy.deepcopy(sample)
        cur = obj
        for key in path[:-1]:
            cur = cur[key]
        cur[path[-1]] = value
        try:
            post = parse_any(obj)
        except ParseError:
            return
        if isinstance(post, Post):
            _assert_storable(post)

    check()


@FAST
@given(st.one_of(st.integers(), st.floats(), st.text(max_size=40), st.booleans(), st.none()))
def test_parse_time_returns_an_aware_datetime_or_raises_parse_error(value):
    try:
        dt = parse_time(value)
    except ParseError:
        return
    assert dt.tzinfo is not None


@FAST
@given(ANY_TEXT, ANY_TEXT, st.lists(ANY_TEXT, max_size=3), ANY_TEXT)
def test_our_post_format_round_trips_through_json_whatever_the_strings(text, author, tags, place):
    post = make_post(text, author=author or None, tags=tuple(tags), place=place or None,
                     raw={"text": text, "nested": [{"a": author}]})
    again = parse_any(decode_json(post.model_dump_json()))
    assert again == post


def test_any_lines_replay_as_one_item_each_and_all_of_them_archive(tmp_path):
    seen: list[Post | DeadLetter] = []
    expected_items = [0]

    @hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])
    @given(st.lists(st.one_of(st.binary(max_size=200), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                              st.builds(lambda t: orjson.dumps({"data": {"id": "1", "text": t, "created_at": T}}),
                                        st.text(max_size=100))), max_size=8))
    def check(lines):
        lines = [ln.replace(b"\n", b" ").replace(b"\r", b" ") for ln in lines]
        if lines and lines[0].startswith(b"\x1f\x8b"):  # the gzip magic: tested on its own below
            lines[0] = b"x" + lines[0]
        path = tmp_path / "any.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        items = list(ReplaySource(path))
        assert len(items) == sum(1 for ln in lines if ln.strip())
        for item in items:
            assert isinstance(item, (Post, DeadLetter))
            if isinstance(item, Post):
                _assert_storable(item)
        seen.extend(items)
        expected_items[0] += len(items)

    check()
    archive = Archive(f"sqlite:///{tmp_path}/any.db")
    archive.write_posts([i for i in seen if isinstance(i, Post)])
    archive.write_dead_letters([i for i in seen if isinstance(i, DeadLetter)])
    assert len(seen) == expected_items[0]


# -- classifiers -------------------------------------------------------------------------------

def _classifier_kinds() -> list:
    kinds = ["keyword"]
    spacy_ready = importlib.util.find_spec("civic_signal.classifiers.pipeline") is not None
    kinds.append(pytest.param("spacy", marks=pytest.mark.skipif(
        not spacy_ready, reason="classifiers/pipeline.py (SpacyClassifier) has not landed yet")))
    return kinds


@pytest.fixture(scope="module", params=_classifier_kinds())
def classifier(request):
    from civic_signal.classifiers.base import load_classifier
    return load_classifier(load_settings(), request.param)


NASTY_TEXTS = [raw_label for raw_label in (label for label, _raw, expect in CASES if expect)]


def _corpus_posts() -> list[Post]:
    return [i for i in ReplaySource(CORPUS) if isinstance(i, Post)]


def _assert_sane(post: Post, c: Classification) -> None:
    assert isinstance(c, Classification) and c.post_id == post.id
    assert 0 <= c.actionable_score <= 1 and 0 <= c.confidence <= 1
    assert not (c.actionable and c.category is None)
    if not post.text.strip():
        assert not c.actionable


def test_classifier_gives_one_sane_classification_per_corpus_post(classifier):
    posts = _corpus_posts()
    results = classifier.classify(posts)
    assert len(results) == len(posts)
    for post, c in zip(posts, results):
        _assert_sane(post, c)
    by_id = dict(zip((p.id for p in posts), results))
    assert by_id["x:990001"].actionable, "a plain pothole report stays actionable among nasty neighbours"
    for empty in ("x:990002", "x:990003", "x:990023"):
        assert not by_id[empty].actionable, empty
    # one by one gives the same answers as in a batch (batching hides nothing)
    for post in posts[:10]:
        assert classifier.classify([post])[0].actionable == by_id[post.id].actionable


@pytest.mark.parametrize("text", ["\u200b\u200c\u200d\u2060\ufeff", "\x00\x01\x02", "\u202e\u202c", "   \t  "])
def test_classifier_calls_a_post_without_a_single_word_not_actionable(classifier, text):
    post = make_post(text)
    assert not classifier.classify([post])[0].actionable


def test_classifier_takes_a_maximum_length_post(classifier):
    post = Post.build(id="t:big", source="test", text="pothole on Main St. " * 5000,
                      created_at=datetime(2026, 11, 20, tzinfo=timezone.utc))
    _assert_sane(post, classifier.classify([post])[0])


def test_classifier_on_any_text(classifier):
    @hsettings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(ANY_TEXT, st.sampled_from([None, "en", "es", "und", "ar", "zh", "x" * 30])),
                    min_size=1, max_size=5))
    def check(texts):
        posts = [make_post(t, n=n, language=lang) for n, (t, lang) in enumerate(texts)]
        results = classifier.classify(posts)
        assert len(results) == len(posts)
        for post, c in zip(posts, results):
            _assert_sane(post, c)

    check()


# -- ticket redaction of generated text ------------------------------------------------------

EMAILS = st.builds(lambda u, d, tld: f"{u}@{d}.{tld}",
                   st.text(string.ascii_letters + string.digits + "._+-", min_size=1, max_size=12).filter(
                       lambda s: s[0].isalnum()),
                   st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=10).filter(
                       lambda s: s[0].isalnum()),
                   st.sampled_from(["com", "org", "net", "gov", "boston.gov", "co.uk"]))
PHONES = st.builds(lambda a, b, c, fmt: fmt.format(a, b, c),
                   st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999).map(lambda n: f"{n:04d}"),
                   st.sampled_from(["{}-{}-{}", "({}) {}-{}", "{}.{}.{}", "{} {} {}", "+1 {} {} {}", "1-{}-{}-{}",
                                    "{}{}{}", "+1 ({}) {}-{}", "{}\u2013{}\u2013{}", "{}\u00a0{}\u00a0{}",
                                    "{} . {} . {}", "+44 20 {} {}", "0044 {} {} {}", "+351 {} {} {}"]))
#: what hides a number or an address from a naive pattern: invisible characters and markup
HIDERS = st.sampled_from(["", "\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "<b>", "</span>", "\x07"])
FILLER = st.text(st.characters(categories=["L", "Zs", "P"], exclude_characters="@+-.()[]<>"), max_size=30)


def _hide(secret: str, hider: str, at: int) -> str:
    at = at % (len(secret) + 1)
    return secret[:at] + hider + secret[at:]


@FAST
@given(FILLER, PHONES, FILLER, HIDERS, st.integers(0, 30))
def test_redact_drops_any_phone_number_in_any_text(before, phone, after, hider, at):
    out = redact(f"{before} {_hide(phone, hider, at)} {after}")
    digits = "".join(ch for ch in out if ch.isdigit())
    assert "".join(ch for ch in phone if ch.isdigit())[-7:] not in digits, out
    assert "[phone]" in out


@FAST
@given(FILLER, EMAILS, FILLER, HIDERS, st.integers(0, 30))
def test_redact_drops_any_email_address_in_any_text(before, email, after, hider, at):
    out = redact(f"{before} {_hide(email, hider, at)} {after}")
    assert "@" not in out and "[email]" in out, out


@pytest.mark.parametrize("text", ["john (at) example (dot) com", "john[at]example.com", "J.Doe+311@City.Boston.GOV",
                                  "write to <a href='mailto:x@y.org'>me</a>"])
def test_redact_drops_spelled_out_and_linked_addresses(text):
    out = redact(text)
    assert "@" not in out and "example" not in out.replace("[email]", "") and "y.org" not in out


@pytest.mark.parametrize("text", ["Pothole at 1234 Main St 02118", "since 2019-11-20 at 10:30",
                                  "42.3601, -71.0589", "ZIP 02118-1234", "Route 128 and I-93", "@BOS311 please"])
def test_redact_keeps_addresses_dates_coordinates_and_mentions(text):
    assert redact(text) == text


# -- the classify command ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", _classifier_kinds())
@pytest.mark.parametrize("via", ["file", "stdin"])
def test_classify_command_answers_every_nasty_line_with_one_json_line(tmp_path, kind, via):
    import subprocess
    import sys
    from tests.conftest import REPO
    posts = _corpus_posts()
    lines = [orjson.dumps({"id": p.id, "text": p.text, "lang": p.language}) for p in posts]
    lines += [raw for _label, raw, expect in CASES if expect != ""]           # the raw corpus lines too
    lines += [b'{"text": "x", "id": "\\ud800"}', b'{"text": "x", "id": NaN}', b"[" * 50_000,
              b'{"text": "pothole", "lat": "north", "lon": 1e400}', b'{"text": "x", "created_at": "someday"}']
    data = b"\n".join(lines) + b"\n"
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    args = [sys.executable, "-m", "civic_signal.listener.cli", "classify", "--kind", kind] + ([str(path)] if via == "file" else ["-"])
    out = subprocess.run(args, input=data if via == "stdin" else None, capture_output=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr.decode(errors="replace")[-2000:]
    answers = [orjson.loads(ln) for ln in out.stdout.splitlines()]   # strict JSON: no NaN, no surrogates
    assert len(answers) == len(lines)
    for answer in answers[:len(posts)]:
        assert "error" not in answer and isinstance(answer["actionable"], bool)
    errors = [a for a in answers[len(posts):] if "error" in a]
    assert len(errors) >= len([1 for _l, _r, e in CASES if e is None])  # every dead corpus line is an error
