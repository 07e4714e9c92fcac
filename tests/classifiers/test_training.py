import numpy as np

from civic_signal.classifiers.model import LinearModel
from civic_signal.classifiers.training.open311_data import Scrubber, strip_form
from civic_signal.classifiers.training.train import TrainConfig, train

ROWS = [
    {"text": "huge pothole on the street", "code": "REQPOTHL", "actionable": True, "source": "handwritten:report"},
    {"text": "pothole in the road again", "code": "REQPOTHL", "actionable": True, "source": "open311:weak"},
    {"text": "street light out all night", "code": "STRLGTOUT", "actionable": True, "source": "handwritten:report"},
    {"text": "the street light is dark", "code": "STRLGTOUT", "actionable": True, "source": "open311:weak"},
    {"text": "beautiful sunset tonight", "code": None, "actionable": False, "source": "handwritten:chatter"},
    {"text": "go sox tonight", "code": None, "actionable": False, "source": "handwritten:chatter"},
]
CFG = TrainConfig(steps=30, min_count=1)


def test_training_is_deterministic_and_round_trips(tmp_path):
    a, b = train(ROWS, CFG), train(ROWS, CFG)
    assert np.array_equal(a.keys, b.keys) and np.array_equal(a.weights, b.weights)
    a.save(tmp_path / "m1")
    b.save(tmp_path / "m2")
    assert (tmp_path / "m1" / "model.npz").read_bytes() == (tmp_path / "m2" / "model.npz").read_bytes()
    loaded = LinearModel.load(tmp_path / "m1")
    assert loaded.codes == a.codes and loaded.meta["data_sha256"] == a.meta["data_sha256"]


def test_a_tiny_model_learns_its_rows():
    from civic_signal.classifiers.features import feature_ids
    m = train(ROWS, CFG)
    act, cat = m.predict([m.rows(feature_ids("pothole on the street")), m.rows(feature_ids("sunset tonight"))])
    assert act[0] > 0.5 > act[1]
    assert m.codes[int(cat[0].argmax())] == "pothole"  # labels are taxonomy types (Boston codes before issue 14)


def test_a_broad_label_trains_the_probability_of_its_set():
    from civic_signal.classifiers.features import feature_ids
    rows = [{"text": "huge pothole on the street", "types": ("pothole",), "actionable": True, "source": "a"},
            {"text": "street light out all night", "types": ("street_light_out",), "actionable": True, "source": "a"},
            # a broad label: either type is right; the set gets the probability, and the word
            # "pothole" (seen with the precise label) tips it towards pothole
            {"text": "pothole in the road again", "types": ("pothole", "street_light_out"), "actionable": True,
             "source": "b"},
            {"text": "beautiful sunset tonight", "types": (), "actionable": False, "source": "c"}]
    m = train(rows, CFG)
    _, cat = m.predict([m.rows(feature_ids("pothole in the road again"))])
    i, j = m.codes.index("pothole"), m.codes.index("street_light_out")
    assert cat[0, i] + cat[0, j] > 0.9 and cat[0, i] > cat[0, j]
    _, cat = m.predict([m.rows(feature_ids("beautiful sunset tonight"))])
    assert cat[0, i] + cat[0, j] < 0.9   # a row without types trains no type


def test_temperature_fit_flattens_overconfident_logits_and_the_model_applies_it(tmp_path):
    from civic_signal.classifiers.training.train import fit_temperature
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 400)
    logits = rng.normal(0, 1, (400, 3))
    logits[np.arange(400), truth] += 1.0
    logits *= 6.0                      # far too sharp for 1-in-3 noise
    accept = np.zeros((400, 3), bool)
    accept[np.arange(400), truth] = True
    t = fit_temperature(logits, accept)
    assert t > 2.0
    m = train(ROWS, CFG)
    m.meta["temperature"] = 4.0
    m.save(tmp_path)
    sharp, flat = train(ROWS, CFG), LinearModel.load(tmp_path)
    from civic_signal.classifiers.features import feature_ids
    rows = [sharp.rows(feature_ids("pothole on the street"))]
    assert flat.predict(rows)[1].max() < sharp.predict(rows)[1].max()


def test_missing_model_is_a_clear_error(tmp_path):
    import pytest

    from civic_signal.config.errors import ClassifierError
    with pytest.raises(ClassifierError, match="make train"):
        LinearModel.load(tmp_path)


def test_scrubbing_drops_form_prompts_digits_and_rare_words():
    assert strip_form("Make of the abandoned car: HONDA | Additional Details/Comments: blocking the hydrant") \
        == "blocking the hydrant"
    assert strip_form("How is the car parked illegally? Resident parking spot") == "Resident parking spot"
    common = ["the car is blocking the hydrant"] * 30
    scrub = Scrubber.fit(common + ["Zebulon Smith plate 4ABC12 blocking the hydrant"])
    assert scrub("Zebulon Smith plate 4ABC12 blocking the hydrant") == "# blocking the hydrant"


def test_char_ngrams_train_the_type_head_only_and_are_recorded():
    from civic_signal.classifiers.features import feature_ids, is_char_id
    from civic_signal.classifiers.training.train import row_features
    cfg = TrainConfig(steps=30, min_count=1, char_ngrams=(3, 5, 4))
    plain, chars = train(ROWS, TrainConfig(steps=30, min_count=1, char_ngrams=())), train(ROWS, cfg)
    assert chars.meta["char_ngrams"] == [3, 5, 4] and "char_ngrams" not in plain.meta
    ch = is_char_id(chars.keys)
    assert ch.any() and not np.any(chars.weights[ch, 0])        # no actionable weight
    # the actionable column of the word features is the one trained without them
    common = np.isin(chars.keys, plain.keys) & ~ch
    assert np.allclose(chars.weights[common, 0], plain.weights[np.isin(plain.keys, chars.keys), 0], atol=1e-3)
    # a misspelled word unseen as a word still reaches its type through its n-grams
    ids = row_features({"text": "potholle", "source": "eval"}, 1, cfg)
    assert any(is_char_id(i) for i in ids)
    _, cat = chars.predict([chars.rows(ids)])
    _, cat0 = plain.predict([plain.rows(feature_ids("potholle"))])   # no known feature: uniform
    i = chars.codes.index("pothole")
    assert cat[0, i] > cat0[0, i]


def test_written_typed_reports_are_typed_training_rows():
    import json
    from collections import Counter

    from civic_signal.classifiers.training.train import DATA_DIR, WRITTEN_TYPES, other_rows
    from civic_signal.config.taxonomy import GENERAL_TYPE, type_ids
    lines = (DATA_DIR / WRITTEN_TYPES).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(x) for x in lines if x.strip()]
    per = Counter(r["type"] for r in rows)
    # every specific type has written reports, the general type none
    assert set(per) == set(type_ids()) - {GENERAL_TYPE} and min(per.values()) >= 15
    assert all(r["source"] == "written:types" and r["text"].strip() for r in rows)
    assert len({r["text"].lower() for r in rows}) == len(rows)
    got = [r for r in other_rows(DATA_DIR) if r["source"] == "written:types"]
    assert [(r["text"], r["types"], r["actionable"]) for r in got] == [(r["text"], (r["type"],), True) for r in rows]
    assert all(r["actionable_weight"] == 0.0 for r in got)        # the type head's rows only


def test_no_held_out_written_post_is_a_training_row():
    """The written held-out set (chatter and reports) is measured, never trained on: no training
    row that is not a real report holds one of its texts (compared lower-cased)."""
    import json

    from civic_signal.classifiers.training.train import DATA_DIR, other_rows
    held = {json.loads(ln)["text"].lower().strip()
            for name in ("written_heldout.jsonl", "written_blind.jsonl")
            for ln in (DATA_DIR / name).read_text().splitlines() if ln.strip()}
    trained = {r["text"].lower().strip() for r in other_rows(DATA_DIR)}
    assert held and not held & trained
