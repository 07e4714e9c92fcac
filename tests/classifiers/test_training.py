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
    assert m.codes[int(cat[0].argmax())] == "REQPOTHL"


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
