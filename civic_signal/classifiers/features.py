"""Text -> hashed feature ids, identical at training and at run time.

A text is lower-cased; URLs become ``_url_``, mentions other than the city's accounts become
``@user``, any token holding a digit becomes ``#``, a plural ``s`` is cut from words longer
than three letters. Features are the word unigrams and bigrams plus pseudo-words given by the
caller (``rule=REQPOTHL``, ``cue=fixed``, ``lang=es``).

Each feature is hashed with CRC-32 (stable across processes and platforms, unlike ``hash``);
a bigram's id combines its two word ids arithmetically, so no bigram string is built at run
time. What callers may rely on: :func:`feature_ids` is a pure function of its inputs, and holds
each id once (in no promised order), as training sees a row's features.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable

MASK = (1 << 31) - 1
_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@(?!bos311\b|cityofboston\b|bostonpwd\b|mayorwu\b)\w+")
_TOKEN = re.compile(r"[a-záéíóúñü][a-záéíóúñü'’]*|[a-z]*\d[\w]*|[!?@#]")
_CACHE: dict[str, int] = {}
_CACHE_MAX = 200_000
_BOS = 0x5BD1E995
_EOS = 0x1B873593


def normalize(text: str) -> str:
    """Lower-case, URLs and private mentions replaced (see the module docstring)."""
    t = text.lower()
    if "http" in t or "www." in t:  # every URL match holds one of them: most texts skip the regex
        t = _URL.sub(" _url_ ", t)
    return _MENTION.sub(" @user ", t) if "@" in t else t


_DIGIT = re.compile(r"\d")
_WORD_CACHE: dict[str, tuple[str, int]] = {}


def _norm_word(tok: str) -> tuple[str, int]:
    hit = _WORD_CACHE.get(tok)
    if hit is None:
        w = tok
        if _DIGIT.search(w):
            w = "#"
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        hit = (w, zlib.crc32(w.encode("utf-8")) & MASK)
        if len(_WORD_CACHE) < _CACHE_MAX:
            _WORD_CACHE[tok] = hit
    return hit


def words(text: str) -> list[str]:
    """The normalized word tokens of ``text``."""
    return [_norm_word(t)[0] for t in _TOKEN.findall(normalize(text))]


def hash_word(word: str) -> int:
    h = _CACHE.get(word)
    if h is None:
        h = zlib.crc32(word.encode("utf-8")) & MASK
        if len(_CACHE) < _CACHE_MAX:
            _CACHE[word] = h
    return h


_HASH: dict[str, int] = {}  # token -> its word id (the second half of _norm_word)


def _token_hashes(toks: list[str]) -> list[int]:
    try:
        return [_HASH[t] for t in toks]
    except KeyError:
        out = []
        for t in toks:
            h = _HASH.get(t)
            if h is None:
                h = _norm_word(t)[1]
                if len(_HASH) < _CACHE_MAX:
                    _HASH[t] = h
            out.append(h)
        return out


def feature_ids(text: str, extra: Iterable[str] = ()) -> list[int]:
    """Hashed ids of the unigrams, bigrams (with sentence edges) and ``extra`` pseudo-words."""
    hs = _token_hashes(_TOKEN.findall(normalize(text)))
    if not hs:
        return [hash_word(e) for e in extra]
    # unigrams, then each bigram (the first one with the start edge), then the end edge
    ids = hs + [((p * 1_000_003) ^ h) & MASK for p, h in zip([_BOS, *hs], hs)]
    ids.append(((hs[-1] * 1_000_003) ^ _EOS) & MASK)
    ids.extend(hash_word(e) for e in extra)
    return list(set(ids))


_EXTRA_IDS: dict[tuple, list[int]] = {}


def extra_ids(cues: tuple[str, ...], rules: tuple[str, ...], language: str) -> list[int]:
    """``[hash_word(e) for e in extras(cues, rules, language)]``, kept per distinct argument."""
    key = (cues, rules, language)
    got = _EXTRA_IDS.get(key)
    if got is None:
        got = [hash_word(e) for e in extras(cues, rules, language)]
        if len(_EXTRA_IDS) < _CACHE_MAX:
            _EXTRA_IDS[key] = got
    return got


def feature_ids_with(text: str, extra_hashes: list[int]) -> list[int]:
    """:func:`feature_ids` with the extras already hashed (:func:`extra_ids`)."""
    hs = _token_hashes(_TOKEN.findall(normalize(text)))
    if not hs:
        return list(extra_hashes)
    ids = hs + [((p * 1_000_003) ^ h) & MASK for p, h in zip([_BOS, *hs], hs)]
    ids.append(((hs[-1] * 1_000_003) ^ _EOS) & MASK)
    ids += extra_hashes
    # each feature once, as in training (a row's features are a set there): a word repeated in a
    # long post ("the" five times) must not count five times at run time only (set order: deterministic for ints)
    return list(set(ids))


def signals(text: str) -> tuple[list[str], list[str]]:
    """``(cues, rule codes)`` of ``text``: see :mod:`civic_signal.classifiers.cues` and :mod:`civic_signal.classifiers.categories`."""
    from civic_signal.classifiers.categories import rule_hits
    from civic_signal.classifiers.cues import find_cues
    low = text.lower()
    return find_cues(low), rule_hits(low)


def extras(cues: Iterable[str], rules: Iterable[str], language: str) -> list[str]:
    """The pseudo-words the model sees besides the text's own words."""
    out = [f"cue={c}" for c in cues] + [f"rule={r}" for r in rules]
    if language != "en":
        out.append(f"lang={language}")
    return out


# -- character n-grams (issue 14: misspellings, call-centre abbreviations, word forms) ----------

#: character n-gram ids live above every word id (word ids are < 2 ** 31), so that a model can
#: tell them apart (training keeps them out of the actionable column)
CHAR_BASE = 1 << 31
_CHAR_CACHE: dict[tuple, tuple[int, ...]] = {}


def _word_char_ids(tok: str, lo: int, hi: int) -> tuple[int, ...]:
    key = (tok, lo, hi)
    got = _CHAR_CACHE.get(key)
    if got is None:
        w = f"<{tok}>"
        got = tuple(sorted({(zlib.crc32(w[i:i + n].encode("utf-8")) & MASK) | CHAR_BASE
                            for n in range(lo, hi + 1) for i in range(len(w) - n + 1)}))
        if len(_CHAR_CACHE) < _CACHE_MAX:
            _CHAR_CACHE[key] = got
    return got


def char_words(text: str, min_len: int = 4) -> list[str]:
    """The distinct words of ``text`` that carry character n-grams: at least ``min_len`` letters,
    no digit (normalized as :func:`feature_ids` reads them, before the plural cut), sorted."""
    return sorted({tok for tok in _TOKEN.findall(normalize(text)) if len(tok) >= min_len and not _DIGIT.search(tok)})


def word_char_ids(word: str, lo: int = 3, hi: int = 5) -> tuple[int, ...]:
    """The distinct hashed character ``lo``..``hi``-grams of one word (``<`` and ``>`` mark its
    edges), each id at or above :data:`CHAR_BASE`, sorted."""
    return _word_char_ids(word, lo, hi)


def char_ids(text: str, lo: int = 3, hi: int = 5, min_len: int = 4) -> list[int]:
    """Every distinct word's (:func:`char_words`) character n-gram ids (:func:`word_char_ids`),
    concatenated: an n-gram two different words share counts twice, a repeated word once. The
    model's character part of a text is so the sum over its distinct words of a per-word vector,
    which the classifier caches per word (training counts them the same way). A pure function."""
    out: list[int] = []
    for tok in char_words(text, min_len):
        out.extend(_word_char_ids(tok, lo, hi))
    return out


def is_char_id(ids):
    """Whether each id (an int or a numpy array) is a character n-gram id."""
    return ids >= CHAR_BASE
