"""The spaCy components of the Civic Signal pipeline, registered explicitly.

Call :func:`register_factories` once (idempotent) before building a pipeline; nothing is
registered at import time. Components and what they set on ``Doc._``:

- ``civic_language``  -> ``language`` (two letters; ``doc._.declared_language`` wins when set)
- ``civic_cues``      -> ``cues`` (tuple of :data:`classifiers.cues.CUE_NAMES`),
                         ``rule_codes`` (service codes whose keyword rule matched)
- ``civic_textcat``   -> ``actionable`` (bool), ``actionable_score`` (0..1), ``category`` (service
                         code or ``None``), ``category_score`` (0..1), ``reason`` (why not actionable)
- ``civic_location``  -> ``location`` (from :mod:`classifiers.location`, when that package is there)

The caller may set ``doc._.declared_language``, ``doc._.is_repost`` and ``doc._.coordinates``
before the pipeline runs.
"""

from __future__ import annotations

import threading
from pathlib import Path

from classifiers.categories import GENERAL
from classifiers.cues import find_cues, veto
from classifiers.features import extras, feature_ids
from classifiers.language import detect

_lock = threading.Lock()
_registered = False

#: Where the shipped model lives.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
#: Languages the model classifies; any other is routed as not actionable ("language:xx").
SUPPORTED_LANGUAGES = ("en", "es")
#: The most characters of one post the classifier reads (longer text is judged on its start).
MAX_CHARS = 2_000

_EXTENSIONS = {"language": None, "declared_language": None, "is_repost": False, "cues": (), "rule_codes": (),
               "actionable": False, "actionable_score": 0.0, "category": None, "category_score": 0.0,
               "reason": None}


class LanguageComponent:
    def __init__(self, nlp=None, name: str = "civic_language") -> None:
        self.name = name

    def __call__(self, doc):
        doc._.language = detect(doc.text[:MAX_CHARS], doc._.declared_language)
        return doc


class CuesComponent:
    def __init__(self, nlp=None, name: str = "civic_cues") -> None:
        from classifiers.categories import rule_hits
        self.name = name
        self._rules = rule_hits

    def __call__(self, doc):
        low = doc.text[:MAX_CHARS].lower()
        doc._.cues = tuple(find_cues(low))
        doc._.rule_codes = tuple(self._rules(low))
        return doc


class TextcatComponent:
    """The hashed linear model (:class:`classifiers.model.LinearModel`) plus the vetoes of
    :func:`classifiers.cues.veto`. Scores a whole batch at once in :meth:`pipe`."""

    def __init__(self, nlp=None, name: str = "civic_textcat", model_path: str = "", threshold: float = 0.5) -> None:
        from classifiers.model import LinearModel
        self.name = name
        self.threshold = threshold
        self.model = LinearModel.load(Path(model_path) if model_path else DEFAULT_MODEL_DIR)

    def __call__(self, doc):
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int = 1000):
        batch = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._score(batch)
                batch = []
        if batch:
            yield from self._score(batch)

    def _score(self, docs):
        model = self.model
        todo, rows = [], []
        for doc in docs:
            text = doc.text[:MAX_CHARS]
            lang = doc._.language or "en"
            if not text.strip():
                doc._.reason = "empty text"
            elif lang not in SUPPORTED_LANGUAGES:
                doc._.reason = f"language:{lang}"
            elif doc._.is_repost:
                doc._.reason = "repost"
            else:
                todo.append(doc)
                rows.append(model.rows(feature_ids(text, extras(doc._.cues, doc._.rule_codes, lang))))
                continue
            doc._.actionable, doc._.actionable_score = False, 0.0
        if todo:
            act, cat = model.predict(rows)
            top = cat.argmax(axis=1)
            for i, doc in enumerate(todo):
                score = float(act[i])
                reason = veto(doc._.cues)
                if reason:
                    score = min(score, 0.1)
                code = model.codes[int(top[i])]
                doc._.actionable = score >= self.threshold
                doc._.actionable_score = round(score, 4)
                doc._.category = code
                doc._.category_score = round(float(cat[i, top[i]]), 4)
                doc._.reason = None if doc._.actionable else (reason or "not a report")
        return docs


def register_factories() -> bool:
    """Register the extensions and factories (idempotent). Returns whether ``civic_location``
    (the location package) is available."""
    global _registered
    location = _register_location()
    if _registered:
        return location
    with _lock:
        if _registered:
            return location
        from spacy.language import Language
        from spacy.tokens import Doc
        for name, default in _EXTENSIONS.items():
            if not Doc.has_extension(name):
                Doc.set_extension(name, default=default)
        if "civic_language" not in Language.factories:
            Language.factory("civic_language", func=lambda nlp, name: LanguageComponent(nlp, name))
        if "civic_cues" not in Language.factories:
            Language.factory("civic_cues", func=lambda nlp, name: CuesComponent(nlp, name))
        if "civic_textcat" not in Language.factories:
            Language.factory("civic_textcat", default_config={"model_path": "", "threshold": 0.5},
                             func=lambda nlp, name, model_path, threshold:
                             TextcatComponent(nlp, name, model_path, threshold))
        _registered = True
    return location


def _register_location() -> bool:
    try:
        from classifiers.location import register_location_factory
    except ImportError:
        return False
    register_location_factory()
    return True


__all__ = ["GENERAL", "register_factories", "SUPPORTED_LANGUAGES", "DEFAULT_MODEL_DIR"]
