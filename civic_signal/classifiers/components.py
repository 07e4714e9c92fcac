"""The spaCy components of the Civic Signal pipeline, registered explicitly.

Call :func:`register_factories` once (idempotent) before building a pipeline; nothing is
registered at import time. Components and what they set on ``Doc._``:

- ``civic_language``  -> ``language`` (two letters; ``doc._.declared_language`` wins when set)
- ``civic_cues``      -> ``cues`` (tuple of :data:`civic_signal.classifiers.cues.CUE_NAMES`),
                         ``rule_codes`` (service codes whose keyword rule matched)
- ``civic_location``  -> ``location`` (from :mod:`civic_signal.classifiers.location`, when that package is
                         there); runs before textcat, which uses it to tell "E Newton St" from Newton
- ``civic_textcat``   -> ``actionable`` (bool), ``actionable_score`` (0..1), ``type`` (taxonomy
                         type id), ``category`` (its Boston service code, via
                         ``config/data/taxonomy/cities/boston.json``), ``category_score`` (0..1,
                         calibrated), ``reason`` (why not actionable)

The caller may set ``doc._.declared_language``, ``doc._.is_repost`` and ``doc._.coordinates``
before the pipeline runs.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np

from civic_signal.classifiers.categories import GENERAL, gate_words, rule_hits_mask
from civic_signal.classifiers.cues import cues_from_mask, find_cues, veto
from civic_signal.classifiers.features import char_words, extra_ids, feature_ids_with, word_char_ids
from civic_signal.classifiers.language import detect

_lock = threading.Lock()
_registered = False

#: Where the shipped model lives.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model"
#: Languages the model classifies; any other is routed as not actionable ("language:xx").
SUPPORTED_LANGUAGES = ("en", "es")
#: The actionable score given to a post that names a concrete problem (a keyword rule matched)
#: and a street, and that no cue vetoes, when the model scored it lower (but above 0.1).
PLACE_FLOOR = 0.55
#: words whose character-n-gram vector the textcat keeps (about 10 MB); past it, the cache starts over
CHAR_CACHE_MAX = 50_000
#: The most characters of one post the classifier reads (longer text is judged on its start).
MAX_CHARS = 2_000

_EXTENSIONS = {"language": None, "declared_language": None, "is_repost": False, "cues": (), "rule_codes": (),
               "actionable": False, "actionable_score": 0.0, "category": None, "category_score": 0.0,
               "type": None, "reason": None}


def state(doc) -> dict:
    """Our results for ``doc`` (one dict in ``doc.user_data``; the ``Doc._`` extensions read and
    write it, so ``doc._.actionable`` and ``state(doc)["actionable"]`` are the same value).
    Components use the dict directly: each ``doc._`` access costs a few microseconds."""
    d = doc.user_data.get("civic")
    if d is None:
        d = doc.user_data["civic"] = {}
    return d


def doc_text(doc) -> str:
    """The post text (at most :data:`MAX_CHARS`), cached in ``doc.user_data`` (``doc.text``
    rebuilds the string from the tokens on every call)."""
    t = doc.user_data.get("civic_text")
    if t is None:
        t = doc.user_data["civic_text"] = doc.text[:MAX_CHARS]
    return t


class TextTokenizer:
    """Makes a Doc with no tokens that carries the text (at most :data:`MAX_CHARS`) in
    ``doc.user_data["civic_text"]``; read it with :func:`doc_text` (``doc.text`` is empty).

    Our components read the text itself (regular expressions, hashed n-grams, the gazetteer
    trie), never spaCy tokens: splitting into tokens cost about a quarter of the pipeline's time
    and added every new word (links, hashtags) to the shared vocab for the life of the process."""

    def __init__(self, vocab) -> None:
        from spacy.tokens import Doc
        self.vocab = vocab
        self._doc = Doc

    def __call__(self, text: str):
        doc = self._doc(self.vocab)
        doc.user_data["civic_text"] = text[:MAX_CHARS]
        return doc


class LanguageComponent:
    def __init__(self, nlp=None, name: str = "civic_language") -> None:
        self.name = name

    def __call__(self, doc):
        d = state(doc)
        d["language"] = detect(doc_text(doc), d.get("declared_language"))
        return doc


class CuesComponent:
    def __init__(self, nlp=None, name: str = "civic_cues") -> None:
        from civic_signal.classifiers.categories import GATES, RULES, GateIndex
        from civic_signal.classifiers.cues import CUES
        from civic_signal.classifiers.cues import GATES as CUE_GATES
        self.name = name
        # one gate index for rules and cues: rule i -> i, cue j -> len(RULES) + j
        self._n = len(RULES)
        self._rules = (1 << self._n) - 1
        self._index = GateIndex([GATES[c] for c, _ in RULES] + [CUE_GATES.get(n, ()) for n, _ in CUES])

    def __call__(self, doc):
        low = doc_text(doc).lower()
        m = self._index.mask(gate_words(low))
        d = state(doc)
        d["cues"] = cues_from_mask(low, m >> self._n)
        d["rule_codes"] = rule_hits_mask(low, m & self._rules)
        return doc


class TextcatComponent:
    """The hashed linear model (:class:`civic_signal.classifiers.model.LinearModel`) plus the vetoes of
    :func:`civic_signal.classifiers.cues.veto`. Scores a whole batch at once in :meth:`pipe`."""

    def __init__(self, nlp=None, name: str = "civic_textcat", model_path: str = "", threshold: float = 0.5) -> None:
        from civic_signal.classifiers.model import LinearModel
        self.name = name
        self.threshold = threshold
        self.model = LinearModel.load(Path(model_path) if model_path else DEFAULT_MODEL_DIR)
        self._labels = _Labels.of(self.model)
        # character n-grams (lo, hi, min_len) when the model was trained with them (meta "char_ngrams"):
        # a text's part is the sum over its distinct words of a per-word vector, cached (slot 0: zeros)
        self._chars = tuple(self.model.meta.get("char_ngrams") or ())
        self._slot: dict[str, int] = {}
        self._vec = np.zeros((1024 if self._chars else 1, self.model.weights.shape[1]), np.float32)

    def _char_slots(self, word_lists: list[list[str]]) -> list[list[int]]:
        """The cache slots of each text's character-n-gram words (``[0]``, the zero vector, for a
        text with none); the words the cache lacks are looked up together, once per batch."""
        lo, hi, _ = self._chars
        slot, new = self._slot, []
        for ws in word_lists:
            for w in ws:
                if w not in slot:
                    slot[w] = -1
                    new.append(w)
        if new:
            model = self.model
            ids = [word_char_ids(w, lo, hi) for w in new]
            lens = np.fromiter((len(x) for x in ids), np.int64, len(ids))
            rows = model.rows_array(np.fromiter(itertools.chain.from_iterable(ids), np.int64, int(lens.sum())))
            first = len(slot) - len(new) + 1
            need = first + len(new)
            if need > len(self._vec):
                grown = np.zeros((max(need, 2 * len(self._vec)), self._vec.shape[1]), np.float32)
                grown[:len(self._vec)] = self._vec
                self._vec = grown
            self._vec[first:need] = np.add.reduceat(model._w[rows], np.cumsum(lens) - lens, axis=0)
            for i, w in enumerate(new):
                slot[w] = first + i
        return [[slot[w] for w in ws] or [0] for ws in word_lists]

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
        if len(self._slot) >= CHAR_CACHE_MAX:   # a bounded cache, emptied between batches only
            self._slot.clear()
        cand, id_lists = [], []
        for doc in docs:
            text = doc_text(doc)
            u = state(doc)
            lang = u.get("language") or "en"
            if not text.strip():
                u["reason"] = "empty text"
            elif lang not in SUPPORTED_LANGUAGES:
                u["reason"] = f"language:{lang}"
            elif u.get("is_repost"):
                u["reason"] = "repost"
            else:
                cues = u.get("cues", ())
                ids = feature_ids_with(text, extra_ids(tuple(cues), tuple(u.get("rule_codes", ())), lang))
                if ids:
                    cand.append((doc, u, cues, char_words(text, self._chars[2]) if self._chars else None))
                    id_lists.append(ids)
                    continue
                u["reason"] = "no known words"
            u["actionable"], u["actionable_score"] = False, 0.0
        todo = []
        if cand:
            # every id of the batch looked up at once; a post none of whose features the model
            # knows is not scored
            lens = np.fromiter((len(ids) for ids in id_lists), np.int64, len(id_lists))
            flat = np.fromiter(itertools.chain.from_iterable(id_lists), np.int64, int(lens.sum()))
            rows = model.rows_array(flat)
            ends = np.cumsum(lens)
            known = np.add.reduceat(rows != model.unknown, ends - lens)
            for c, k in zip(cand, known.tolist()):
                if k:
                    todo.append(c)
                else:
                    c[1]["reason"] = "no known words"
                    c[1]["actionable"], c[1]["actionable_score"] = False, 0.0
            if len(todo) < len(cand):
                keep = known > 0
                rows = rows[np.repeat(keep, lens)]
                lens = lens[keep]
        if todo:
            z = model.logits_flat(rows, np.cumsum(lens) - lens)
            if self._chars:
                slots = self._char_slots([c[3] for c in todo])
                n = np.fromiter((len(x) for x in slots), np.int64, len(slots))
                flat_slots = np.fromiter(itertools.chain.from_iterable(slots), np.int64, int(n.sum()))
                z += np.add.reduceat(self._vec[flat_slots], np.cumsum(n) - n, axis=0)
            act, cat = model.probabilities(z)
            top = cat.argmax(axis=1).tolist()
            labels, threshold, lab = model.codes, self.threshold, self._labels
            for i, ((_, u, _, _), t) in enumerate(zip(todo, top)):
                # the general label only when no specific rule matched; else the likeliest rule label
                if t == lab.general and u.get("rule_codes"):
                    top[i] = max((j for c in u["rule_codes"] for j in lab.rule_labels.get(c, ())),
                                 key=lambda j: cat[i, j], default=t)
            top_p = cat[range(len(top)), top].tolist()
            # the runner-up type and its gap to the chosen one (active learning: docs/learning.md)
            rest = cat.copy()
            rest[range(len(top)), top] = -1.0
            second = rest.argmax(axis=1)
            gap = (np.asarray(top_p, np.float32) - rest[range(len(top)), second]).clip(0.0).tolist()
            second = second.tolist()
            act = act.tolist()
            for (doc, u, cues, _), score, t, p, t2, g in zip(todo, act, top, top_p, second, gap):
                u["runner_up"], u["type_margin"] = lab.types[t2], round(g, 4)
                reason = veto(cues)
                if reason == "other city" and self._in_boston(doc):
                    reason = None
                if reason:
                    score = min(score, 0.1)
                elif 0.1 < score < PLACE_FLOOR and u.get("rule_codes") and "place" in cues:
                    # a concrete problem (a keyword rule) at a named street, and nothing says it is
                    # not a report: actionable, well below the auto threshold (a person reviews it)
                    score = PLACE_FLOOR
                ok = score >= threshold
                u["actionable"] = ok
                u["actionable_score"] = round(score, 4)
                u["type"] = lab.types[t]
                u["category"] = lab.codes[t]
                u["category_score"] = round(p, 4)
                u["reason"] = None if ok else (reason or "not a report")
        return docs

    @staticmethod
    def _in_boston(doc) -> bool:
        """Whether the location component (when it ran before us) placed the post in Boston."""
        loc = doc.user_data.get(("._.", "location", None, None))  # doc._.location, without doc._
        return loc is not None and str(getattr(loc, "kind", "")) in ("address", "intersection", "street", "place")


class _Labels:
    """The model's labels as the city sees them: label index -> (type, city service code), the
    general label's index, and for each keyword-rule code the label indices it stands for."""

    def __init__(self, types: tuple, codes: tuple, general: int, rule_labels: dict) -> None:
        self.types, self.codes, self.general, self.rule_labels = types, codes, general, rule_labels

    @classmethod
    def of(cls, model, jurisdiction: str = "boston") -> "_Labels":
        from civic_signal.config.taxonomy import GENERAL_TYPE, city_mapping
        city = city_mapping(jurisdiction)
        labels = model.codes
        if model.meta.get("labels") == "types":
            types = tuple(labels)
            codes = tuple(city.code(t) for t in labels)
            general = labels.index(GENERAL_TYPE)
            ix = {t: i for i, t in enumerate(labels)}
            rule_labels = {c: tuple(ix[t] for t in city.types_for(c) if t in ix) for c in set(codes)}
        else:  # an older model whose labels are Boston codes
            codes = tuple(labels)
            types = tuple(city.primary_type(c) for c in labels)
            general = labels.index(GENERAL)
            rule_labels = {c: (i,) for i, c in enumerate(labels)}
        return cls(types, codes, general, rule_labels)


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
                Doc.set_extension(name, getter=_getter(name, default), setter=_setter(name))
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


def _getter(name: str, default):
    return lambda doc: doc.user_data.get("civic", {}).get(name, default)


def _setter(name: str):
    def set_(doc, value) -> None:
        state(doc)[name] = value
    return set_


def _register_location() -> bool:
    try:
        from civic_signal.classifiers.location import register_location_factory
    except ImportError:
        return False
    register_location_factory()
    return True


__all__ = ["GENERAL", "register_factories", "SUPPORTED_LANGUAGES", "DEFAULT_MODEL_DIR"]
