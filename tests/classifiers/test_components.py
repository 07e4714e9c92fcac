"""Each component on hand-built Docs, then the whole pipeline on hand-written posts."""

import pytest

from civic_signal.classifiers.components import register_factories


@pytest.fixture()
def doc_of(nlp):
    def make(text, **ext):
        doc = nlp.make_doc(text)
        for k, v in ext.items():
            setattr(doc._, k, v)
        return doc
    return make


def test_language_component(nlp, doc_of):
    lang = nlp.get_pipe("civic_language")
    assert lang(doc_of("Hay un bache enorme en la calle, por favor"))._.language == "es"
    assert lang(doc_of("pothole", declared_language="fr"))._.language == "fr"


def test_cues_component_sets_cues_and_rule_codes(nlp, doc_of):
    cues = nlp.get_pipe("civic_cues")
    doc = cues(doc_of("The pothole on Elm St was fixed, thanks!"))
    assert "fixed" in doc._.cues and doc._.rule_codes == ("REQPOTHL",)


def test_textcat_component_on_hand_built_docs(nlp, doc_of):
    lang, cues, cat = (nlp.get_pipe(n) for n in ("civic_language", "civic_cues", "civic_textcat"))
    doc = cat(cues(lang(doc_of("Huge pothole on Dot Ave, @BOS311 please fix"))))
    assert doc._.actionable and doc._.category == "REQPOTHL" and doc._.category_score > 0.5
    doc = cat(cues(lang(doc_of("the pothole on Elm St was fixed, thanks!"))))
    assert not doc._.actionable and doc._.reason == "already fixed or praise"
    doc = cat(cues(lang(doc_of("pothole on Dot Ave", is_repost=True))))
    assert not doc._.actionable and doc._.reason == "repost"


def test_register_factories_is_idempotent():
    assert register_factories() == register_factories()


REPORTS = [
    ("Huge pothole on Dot Ave, almost lost a tire", "REQPOTHL"),
    ("Street light out on Centre St in JP, whole block is dark", "STRLGTOUT"),
    ("Graffiti all over the mailbox on Tremont St", "GENGRAFFITI"),
    ("Trash wasn't picked up on Adams St this week", "MTRECYDBI"),
    ("Someone dumped a couch and a mattress on Bowdoin St", "ILGLDUMP"),
    ("Car double parked in the bike lane on Mass Ave again", "PRKGENFORC"),
    ("Sidewalk still not shoveled in front of 12 Hancock St", "UNSHVSDWLK"),
    ("Tree down blocking Washington St in Roslindale", "TREEEMGNCY"),
    ("Used needles on the ground at the playground on Columbia Rd", "NEEDRMVL"),
    ("Dead raccoon in the road on Morton St", "PUDEADANML"),
    ("Traffic signal stuck on red at Blue Hill Ave & Morton St", "TFCSGNINSP"),
    ("Rats running around the dumpsters behind Geneva Ave", "RODENTACT"),
]

NOT_REPORTS = [
    "the pothole on Elm St was fixed, thanks!",
    "Thank you @BOS311 for fixing the street light on Centre St so fast",
    "Pothole on Broadway in Somerville for weeks",
    "City Council debates pothole funding, according to the Globe",
    "lol the pothole on my street deserves its own zip code",
    "Why does the city take so long to fix potholes? What's the policy?",
    "Beautiful sunset over the Charles tonight",
    "Go Sox!",
]


@pytest.mark.parametrize("text,code", REPORTS)
def test_reports_are_actionable_in_their_category(classifier, text, code):
    from tests.conftest import make_post
    c = classifier.classify_one(make_post(text))
    assert c.actionable, c
    assert c.category is not None and c.category.code == code


@pytest.mark.parametrize("text", NOT_REPORTS)
def test_chatter_news_jokes_praise_and_other_cities_are_not_actionable(classifier, text):
    from tests.conftest import make_post
    c = classifier.classify_one(make_post(text))
    assert not c.actionable and c.category is None and c.reason


def test_a_report_about_a_city_with_a_pack_is_a_report_for_that_city(classifier):
    """A Cambridge post is no longer chatter: the router gives it to Cambridge, with Cambridge's own code."""
    from civic_signal.config.taxonomy import city_mapping
    from tests.conftest import make_post
    c = classifier.classify_one(make_post("Huge pothole on Mass Ave in Cambridge, come on Cambridge"))
    assert c.actionable and c.jurisdiction == "cambridge", c
    assert c.category is not None and c.category.type == "pothole"
    assert c.category.code == city_mapping("cambridge").codes[c.category.type] != "REQPOTHL"


def test_clear_reports_clear_the_auto_threshold(classifier):
    from tests.conftest import make_post
    posts = [make_post(t, i) for i, (t, _) in enumerate(REPORTS)]
    confidences = [c.confidence for c in classifier.classify(posts)]
    assert sum(c >= 0.8 for c in confidences) >= len(posts) * 0.75, confidences


def test_spanish_is_detected_routed_and_classified(classifier):
    from tests.conftest import make_post
    c = classifier.classify_one(make_post("Hay un bache enorme en la calle Centre, por favor arreglen"))
    assert c.language == "es" and c.actionable and c.category.code == "REQPOTHL"


def test_unknown_language_is_not_actionable_with_its_code(classifier):
    from tests.conftest import make_post
    c = classifier.classify_one(make_post("Il y a un nid de poule énorme dans la rue, c'est dangereux pour les vélos"))
    assert not c.actionable and c.reason == "language:fr"


def test_the_textcat_scores_character_ngrams_as_training_does(tmp_path):
    """The classifier sums a cached vector per distinct word; training counts the same n-grams."""
    import numpy as np
    from datetime import datetime, timezone

    from civic_signal.classifiers.components import state
    from civic_signal.classifiers.pipeline import SpacyClassifier
    from civic_signal.classifiers.training.train import TrainConfig, train, type_logits
    from civic_signal.core.models import Post
    rows = [{"text": t, "types": (ty,), "actionable": True, "source": "a"} for t, ty in [
        ("huge pothole on the street", "pothole"), ("potholes in the roadway", "pothole"),
        ("street light out all night", "street_light_out"), ("streetlight burned out", "street_light_out")]]
    rows.append({"text": "beautiful sunset tonight", "types": (), "actionable": False, "source": "c"})
    m = train(rows, TrainConfig(steps=40, min_count=1, char_ngrams=(3, 5, 4)))
    m.save(tmp_path)
    texts = ["streetlite out on the street street", "potholle in the streets", "huge pothole"]
    z = type_logits(m, texts)
    want = np.exp(z - z.max(axis=1, keepdims=True))
    want /= want.sum(axis=1, keepdims=True)
    clf = SpacyClassifier.load(tmp_path, location=False)
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for _ in range(2):   # the second pass reads the per-word cache
        docs = list(clf.docs([Post(id=str(i), source="t", text=t, created_at=now) for i, t in enumerate(texts)]))
        for doc, p in zip(docs, want):
            u = state(doc)
            assert u["type"] == m.codes[int(p.argmax())]
            assert abs(u["category_score"] - float(p.max())) < 1e-3
