from civic_signal.classifiers.categories import CODES, GATES, GENERAL, RULES, rule_hits, rule_hits_fast, weak_label
from civic_signal.classifiers.training.examples import expand
from civic_signal.config.taxonomy import services


def test_codes_are_catalogue_codes_and_cover_at_least_thirty_street_services():
    assert set(CODES) <= set(services())
    assert GENERAL in CODES and len(CODES) >= 31
    assert set(GATES) == {c for c, _ in RULES}


def test_rules_name_the_problem_in_general_words():
    assert weak_label("there is a huge pothole outside my house") == "REQPOTHL"
    assert weak_label("street light out on my block for a week") == "STRLGTOUT"
    assert weak_label("someone dumped a mattress in the alley") == "ILGLDUMP"
    assert weak_label("car double parked in the bike lane") == "PRKGENFORC"
    assert weak_label("dead raccoon in the road") == "PUDEADANML"
    assert weak_label("used syringe in the playground") == "NEEDRMVL"
    assert weak_label("hay un bache enorme en la calle") == "REQPOTHL"
    assert weak_label("lovely weather today") is None


def test_gated_rules_give_the_same_hits_as_running_every_rule():
    texts = [r["text"].lower() for r in expand("train")[::7] + expand("eval")]
    texts += ["e brookline st & dot ave", "", "!!!", "tv left on the curb", "re-opened pothole"]
    for t in texts:
        assert rule_hits_fast(t) == rule_hits(t), t
