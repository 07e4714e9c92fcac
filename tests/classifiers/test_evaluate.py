from civic_signal.classifiers.evaluate import distance_m, render, score


def test_scores_per_category_macro_actionable_and_location():
    gold = [{"text": "a", "code": "REQPOTHL", "lat": 42.3, "lon": -71.06},
            {"text": "b", "code": "REQPOTHL"},
            {"text": "c", "code": "STRLGTOUT"},
            {"text": "d", "code": None}]
    pred = [{"actionable": True, "category": {"code": "REQPOTHL"}, "location": {"lat": 42.301, "lon": -71.06}},
            {"actionable": True, "category": {"code": "STRLGTOUT"}, "location": None},
            {"actionable": True, "category": {"code": "STRLGTOUT"}, "location": None},
            {"error": "invalid JSON"}]
    rep = score(gold, pred)
    assert rep.per_category["REQPOTHL"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert rep.per_category["STRLGTOUT"]["precision"] == 0.5
    assert rep.actionable_accuracy == 1.0 and rep.actionable_n == 4
    assert rep.location_hit_rate == 1.0 and rep.location_n == 1
    assert rep.confusions == [("REQPOTHL", "STRLGTOUT", 1)]
    text = render(rep)
    assert "macro F1" in text and "REQPOTHL -> STRLGTOUT: 1" in text and "within 300 m" in text


def test_distance():
    assert abs(distance_m(42.0, -71.0, 42.001, -71.0) - 111.2) < 1
