"""The spaCy component ``civic_location``: sets ``doc._.location`` from the text, or from
``doc._.coordinates`` when the post carried coordinates (those win), and the jurisdiction the post is
about (``doc.user_data[JURISDICTION_KEY]`` = ``(pack id | None, reason | None)``, see
:mod:`civic_signal.classifiers.location.router`).

Registration is explicit (:func:`register_location_factory`), idempotent, and adds the two
extensions: ``Doc._.location`` (``Location | None``) and ``Doc._.coordinates``
(``Coordinates | None``, set by the caller before the pipeline runs).
"""

from __future__ import annotations

import threading

_registered = False
_lock = threading.Lock()

FACTORY_NAME = "civic_location"
#: Where spaCy keeps the two extensions (both have a default, no getter): the component reads
#: and writes ``doc.user_data`` directly, which skips the ``doc._`` machinery.
LOCATION_KEY = ("._.", "location", None, None)
COORDINATES_KEY = ("._.", "coordinates", None, None)
#: ``(jurisdiction id | None, reason | None)`` of the post (absent: the component did not run)
JURISDICTION_KEY = "civic_jurisdiction"


class LocationComponent:
    """Callable[[Doc], Doc]; the gazetteer is loaded once, at construction."""

    def __init__(self, nlp=None, name: str = FACTORY_NAME, gazetteer_path: str = ""):
        from civic_signal.classifiers.location.finder import LocationFinder
        from civic_signal.classifiers.location.gazetteer import Gazetteer
        from civic_signal.classifiers.location.router import JurisdictionRouter
        self.name = name
        if gazetteer_path:   # one gazetteer, no routing: every post is about that city
            finder = LocationFinder(Gazetteer.load(gazetteer_path))
            self.router = None
            self.finder = finder
        else:
            self.router = JurisdictionRouter.default()
            self.finder = None

    def __call__(self, doc):
        self._set(doc)
        return doc

    def _set(self, doc) -> None:
        u = doc.user_data
        if self.router is None:
            u[LOCATION_KEY] = self.finder.find(_text(doc), u.get(COORDINATES_KEY))
            return
        r = self.router.find(_text(doc), u.get(COORDINATES_KEY))
        u[LOCATION_KEY] = r.location
        u[JURISDICTION_KEY] = (r.jurisdiction, r.reason)
        if r.jurisdiction is not None and r.jurisdiction != self.router.default_id:
            # "other_city" (civic_cues) means a city we do not serve; this post's city has a pack
            civic = u.get("civic")
            cues = civic.get("cues") if civic else None
            if cues and "other_city" in cues:
                civic["cues"] = tuple(c for c in cues if c != "other_city")

    def pipe(self, docs, batch_size: int = 1000):
        for doc in docs:
            self._set(doc)
            yield doc


def _text(doc) -> str:
    """The post text: the copy the civic tokenizer keeps in ``user_data`` (``doc.text`` rebuilds
    the string on every access, and is empty for the civic pipeline's token-less docs)."""
    t = doc.user_data.get("civic_text")
    return doc.text if t is None else t


def register_location_factory() -> None:
    """Register the ``civic_location`` factory and the ``Doc`` extensions, once per process."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        from spacy.language import Language
        from spacy.tokens import Doc
        if not Doc.has_extension("location"):
            Doc.set_extension("location", default=None)
        if not Doc.has_extension("coordinates"):
            Doc.set_extension("coordinates", default=None)
        if FACTORY_NAME not in Language.factories:
            Language.factory(FACTORY_NAME, default_config={"gazetteer_path": ""},
                             func=lambda nlp, name, gazetteer_path: LocationComponent(nlp, name, gazetteer_path))
        _registered = True
