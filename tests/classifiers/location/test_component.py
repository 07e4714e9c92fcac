"""The civic_location spaCy component and its registration."""

from __future__ import annotations

import spacy

from civic_signal.classifiers.location import FACTORY_NAME, register_location_factory
from civic_signal.core.models import Coordinates, LocationKind


def test_registration_is_idempotent_and_component_sets_doc_location():
    register_location_factory()
    register_location_factory()
    nlp = spacy.blank("en")
    nlp.add_pipe(FACTORY_NAME)
    doc = nlp("light out at Mass Ave & Boylston")
    assert doc._.location.kind == LocationKind.INTERSECTION
    assert nlp("I love this city")._.location is None


def test_coordinates_on_the_doc_win():
    register_location_factory()
    nlp = spacy.blank("en")
    comp = nlp.add_pipe(FACTORY_NAME)
    doc = nlp.make_doc("pothole on Blue Hill Ave")
    doc._.coordinates = Coordinates(lat=42.32137, lon=-71.10861)
    assert comp(doc)._.location.kind == LocationKind.COORDINATES
    docs = list(comp.pipe([nlp.make_doc("Comm Ave and Harvard Ave"), nlp.make_doc("hello")]))
    assert docs[0]._.location.kind == LocationKind.INTERSECTION and docs[1]._.location is None
