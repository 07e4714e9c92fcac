"""The shape of the blind held-out file ``written_blind.jsonl`` (not the model's figures on it).

The file is an evaluation set only: these tests check that every line is well formed, that its
labels agree with the taxonomy and Boston's mapping, that every chatter kind is represented, and
that none of its texts also appears in the training or the older held-out files (a text shared
with training would make the blind figures optimistic)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from civic_signal.config.taxonomy import city_mapping, types

DATA = Path(__file__).resolve().parents[2] / "civic_signal" / "classifiers" / "data"
BLIND = DATA / "written_blind.jsonl"
TRAINING = Path(__file__).resolve().parents[2] / "civic_signal" / "classifiers" / "training"
CHATTER_KINDS = ("idiom", "joke", "story", "question", "news", "praise", "ad", "policy",
                 "sports", "weather", "elsewhere_past", "personal", "lyrics_quotes")
KEYS = {"id", "kind", "text", "actionable", "code", "type"}


def _rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return _rows(BLIND)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def test_every_line_is_an_object_with_exactly_the_documented_fields(rows):
    assert len(rows) >= 380
    for r in rows:
        assert set(r) == KEYS, r.get("id")
        assert isinstance(r["text"], str) and 5 <= len(r["text"]) <= 280, r["id"]
        assert isinstance(r["actionable"], bool), r["id"]


def test_ids_are_unique_and_numbered(rows):
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert ids == [f"blind-{i:04d}" for i in range(len(rows))]


def test_texts_are_unique_within_the_file(rows):
    texts = [_norm(r["text"]) for r in rows]
    assert len(set(texts)) == len(texts)


def test_reports_are_actionable_with_a_known_type_and_boston_code(rows):
    mapping = city_mapping("boston")
    reports = [r for r in rows if r["kind"] == "report"]
    assert len(reports) >= 120
    for r in reports:
        assert r["actionable"] is True, r["id"]
        assert r["type"] in types(), r["id"]
        assert r["code"] == mapping.code(r["type"]), r["id"]
    per_type = Counter(r["type"] for r in reports)
    assert len(per_type) >= 35 and min(per_type.values()) >= 2


def test_chatter_is_not_actionable_has_no_labels_and_covers_every_kind(rows):
    chatter = [r for r in rows if r["kind"] != "report"]
    for r in chatter:
        assert r["kind"] in CHATTER_KINDS, r["id"]
        assert r["actionable"] is False and r["code"] is None and r["type"] is None, r["id"]
    per_kind = Counter(r["kind"] for r in chatter)
    assert {k: n for k, n in per_kind.items() if n < 20} == {}
    assert set(per_kind) == set(CHATTER_KINDS)


@pytest.mark.parametrize("other", ["written_heldout.jsonl", "written_train.jsonl"])
def test_no_text_is_shared_with_the_other_written_files(rows, other):
    theirs = {_norm(r["text"]) for r in _rows(DATA / other)}
    shared = [r["id"] for r in rows if _norm(r["text"]) in theirs]
    assert shared == []


def test_training_code_never_names_the_blind_file():
    named = [p.name for p in TRAINING.rglob("*.py") if "written_blind" in p.read_text(encoding="utf-8")]
    assert named == []
