"""The rows ``model train`` adds for the archive's labels (fast; the whole flow is in
test_label_to_model.py)."""

from __future__ import annotations

from civic_signal.listener.model_training import LABEL_BOOST, TERM_CONTEXTS, data_digest, new_terms, term_rows


def _label(text: str, types=("abandoned_bike",), actionable=True) -> dict:
    return {"text": text, "types": types, "actionable": actionable, "source": "label:person", "weight": LABEL_BOOST}


SHIPPED = [{"text": f"pothole left near house number {i} on main street", "types": ("pothole",), "actionable": True,
            "source": "boston_open311_pre2019"} for i in range(200)]


def test_a_new_word_of_enough_labelled_posts_becomes_term_rows_and_a_known_word_does_not():
    labels = [_label(f"a zorbix left on main street near house {i}") for i in range(6)]
    terms = term_rows(labels, SHIPPED)
    assert new_terms(terms) == ["zorbix"]  # the other words are in the shipped rows
    contexts = [r for r in terms if " " in r["text"]]
    assert len(contexts) == TERM_CONTEXTS * 6 and all("zorbix" in r["text"] for r in contexts)
    assert all(r["types"] == ("abandoned_bike",) and r["actionable"] for r in terms)


def test_too_few_posts_or_mixed_labels_give_no_term():
    assert term_rows([_label(f"a zorbix {i}") for i in range(4)], SHIPPED) == []
    mixed = [_label(f"zorbix {i}") for i in range(5)] + [_label(f"zorbix near {i}", ("graffiti",)) for i in range(5)]
    assert term_rows(mixed, SHIPPED) == []


def test_the_digest_changes_with_a_label_or_its_weight():
    a = [_label("x y z")]
    b = [{**a[0], "weight": 0.3}]
    assert len({data_digest("d", a), data_digest("d", b), data_digest("d", []), data_digest("e", a)}) == 4
