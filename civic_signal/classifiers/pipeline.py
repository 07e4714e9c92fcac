"""``SpacyClassifier``: posts in, :class:`Classification` out, through one blank spaCy pipeline.

Pipeline (``spacy.blank("en")`` + our components, see :mod:`civic_signal.classifiers.components`):
``civic_language`` -> ``civic_cues`` -> ``civic_location`` (when the location package is
installed) -> ``civic_textcat``. The model is loaded once, in :meth:`SpacyClassifier.load`;
:meth:`classify` runs ``nlp.pipe`` over the batch.

What callers may rely on: ``classify`` returns one classification per post, in order, and
never raises for one bad post (a post that breaks the batch is retried alone and, if it still
fails, comes back not actionable with ``reason="error: ..."``). ``Classification.confidence``
(actionable score x category score) is what gating compares with ``gating.auto_threshold``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from civic_signal.core.classifier import Classifier
from civic_signal.classifiers.components import DEFAULT_MODEL_DIR, TextTokenizer, register_factories, state
from civic_signal.classifiers.trusted import trusted
from civic_signal.config.taxonomy import city_mapping, service_name
from civic_signal.core.models import Category, Classification, Post

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
#: Where spaCy keeps ``doc._.location`` / ``doc._.coordinates`` (extensions with a default):
#: reading ``doc.user_data`` directly skips the ``doc._`` machinery (a few microseconds a use).
LOCATION_KEY = ("._.", "location", None, None)
COORDINATES_KEY = ("._.", "coordinates", None, None)
#: ``(jurisdiction | None, reason | None)`` set by ``civic_location`` (see location.component)
JURISDICTION_KEY = "civic_jurisdiction"


def build_nlp(model_path: str | Path | None = None, *, threshold: float = 0.5, location: bool = True):
    """The blank English pipeline with our components; ``location=False`` leaves location out."""
    import spacy
    has_location = register_factories()
    nlp = spacy.blank("en")
    nlp.tokenizer = TextTokenizer(nlp.vocab)
    nlp.add_pipe("civic_language")
    nlp.add_pipe("civic_cues")
    if location and has_location:
        nlp.add_pipe("civic_location")
    nlp.add_pipe("civic_textcat", config={"model_path": str(model_path or ""), "threshold": threshold})
    return nlp


class SpacyClassifier(Classifier):
    def __init__(self, nlp, version: str) -> None:
        self.nlp = nlp
        self.version = version
        self.has_location = "civic_location" in nlp.pipe_names
        self.make_doc = nlp.make_doc

    @classmethod
    def load(cls, path: str | Path | None = None, settings=None, *, location: bool = True) -> "SpacyClassifier":
        """The shipped model (``classifiers/model/``) or the one at ``path``."""
        threshold = settings.classifier.actionable_threshold if settings is not None else 0.5
        nlp = build_nlp(path or DEFAULT_MODEL_DIR, threshold=threshold, location=location)
        # the model's tables are hundreds of thousands of objects that live as long as the
        # process: move them out of the cyclic collector's sight, so that collections triggered
        # by other threads' allocations (the sinks, in the embedded pipeline) do not walk them
        gc.freeze()
        return cls(nlp, nlp.get_pipe("civic_textcat").model.version)

    # -- classification ----------------------------------------------------------------------

    def _doc(self, post: Post):
        doc = self.make_doc(post.text)
        d = doc.user_data["civic"] = {}
        if post.language:
            d["declared_language"] = post.language
        if post.is_repost:
            d["is_repost"] = True
        if self.has_location and post.coordinates is not None:
            doc.user_data[COORDINATES_KEY] = post.coordinates
        return doc

    def docs(self, posts: Iterable[Post]):
        """The processed ``Doc`` of each post, in order (for tools that want every field)."""
        return self.nlp.pipe((self._doc(p) for p in posts), batch_size=BATCH_SIZE)

    def classify(self, posts: Sequence[Post]) -> list[Classification]:
        if not posts:
            return []
        # The cyclic garbage collector is paused for the batch: a batch allocates a few container
        # objects per post (Doc, dicts, results) that live until its end, and each collection the
        # allocations trigger walks them all, and now and then every object of the loaded model
        # (a quarter of the classifier's time). Nothing a batch allocates needs the collector:
        # reference counting frees it; cycles made meanwhile are collected once it is back on.
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            return self._classify(posts)
        finally:
            if paused:
                gc.enable()

    def _classify(self, posts: Sequence[Post]) -> list[Classification]:
        try:
            return [self._result(p, d) for p, d in zip(posts, self.docs(posts), strict=True)]
        except Exception as exc:  # noqa: BLE001 - one bad post must cost only itself
            if len(posts) == 1:
                log.warning("classifier failed on post %s: %s", posts[0].id, exc)
                return [Classification(post_id=posts[0].id, actionable=False, actionable_score=0.0,
                                       model_version=self.version, reason=f"error: {exc.__class__.__name__}")]
            return [self._classify([p])[0] for p in posts]

    def _result(self, post: Post, doc) -> Classification:
        # the values come from our own components, already in range: built without re-validating
        u = state(doc)
        category = None
        code = u.get("category")
        actionable = bool(u.get("actionable"))
        if actionable and code:
            category = trusted(Category, {"code": code, "name": _name(code),
                                          "score": min(1.0, max(0.0, float(u.get("category_score", 0.0)))),
                                          "type": u.get("type")})
        location = doc.user_data.get(LOCATION_KEY) if self.has_location else None
        jurisdiction, reason = "boston", u.get("reason")
        routed = doc.user_data.get(JURISDICTION_KEY)
        if routed is not None:
            jurisdiction = routed[0]
            if routed[1] and reason in (None, "other city"):
                reason = routed[1]   # "elsewhere: Somerville ...": shown with the post, never ticketed
            if category is not None and jurisdiction not in (None, "boston"):
                category = _for_city(category, jurisdiction)
        return trusted(Classification, {
            "post_id": post.id, "actionable": actionable,
            "actionable_score": min(1.0, max(0.0, float(u.get("actionable_score", 0.0)))), "category": category,
            "location": location, "language": u.get("language"), "model_version": self.version,
            "reason": reason, "jurisdiction": jurisdiction})


_NAMES: dict[str, str] = {}
_CITY_NAMES: dict[tuple[str, str], str] = {}


def _for_city(category: Category, jurisdiction: str) -> Category:
    """The category with the jurisdiction's own service code for its taxonomy type (the model speaks
    Boston's codes; the pack's mapping, ``taxonomy/cities/<id>.json``, gives the city's)."""
    pack = _packs().get(jurisdiction)
    if pack is None:
        return category
    t = category.type or city_mapping("boston").primary_type(category.code) or "other"
    code = pack.mapping().code(t)
    name = _CITY_NAMES.get((jurisdiction, code))
    if name is None:
        name = _CITY_NAMES[(jurisdiction, code)] = next(
            (s["service_name"] for s in pack.services() if s["service_code"] == code), code)
    return trusted(Category, {"code": code, "name": name, "score": category.score, "type": t})


_PACKS: dict = {}


def _packs() -> dict:
    """Every jurisdiction pack the process's settings can see, read once."""
    if not _PACKS:
        from civic_signal.config.jurisdictions import available_packs
        from civic_signal.config.settings import load_settings
        s = load_settings()
        _PACKS.update(available_packs(s.resolve_path(s.routing.packs_dir) if s.routing.packs_dir else None))
    return _PACKS


def _name(code: str) -> str:
    name = _NAMES.get(code)
    if name is None:
        name = _NAMES[code] = service_name(code)
    return name
