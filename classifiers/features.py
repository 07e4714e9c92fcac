"""Text -> hashed feature ids, identical at training and at run time.

A text is lower-cased; URLs become ``_url_``, mentions other than the city's accounts become
``@user``, any token holding a digit becomes ``#``, a plural ``s`` is cut from words longer
than three letters. Features are the word unigrams and bigrams plus pseudo-words given by the
caller (``rule=REQPOTHL``, ``cue=fixed``, ``lang=es``).

Each feature is hashed with CRC-32 (stable across processes and platforms, unlike ``hash``);
a bigram's id combines its two word ids arithmetically, so no bigram string is built at run
time. What callers may rely on: :func:`feature_ids` is a pure function of its inputs.
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
    t = _URL.sub(" _url_ ", text.lower())
    return _MENTION.sub(" @user ", t)


def words(text: str) -> list[str]:
    """The normalized word tokens of ``text``."""
    out = []
    for tok in _TOKEN.findall(normalize(text)):
        if any(c.isdigit() for c in tok):
            tok = "#"
        elif len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
            tok = tok[:-1]
        out.append(tok)
    return out


def hash_word(word: str) -> int:
    h = _CACHE.get(word)
    if h is None:
        h = zlib.crc32(word.encode("utf-8")) & MASK
        if len(_CACHE) < _CACHE_MAX:
            _CACHE[word] = h
    return h


def feature_ids(text: str, extra: Iterable[str] = ()) -> list[int]:
    """Hashed ids of the unigrams, bigrams (with sentence edges) and ``extra`` pseudo-words."""
    hs = [hash_word(w) for w in words(text)]
    ids = list(hs)
    prev = _BOS
    for h in hs:
        ids.append(((prev * 1_000_003) ^ h) & MASK)
        prev = h
    if hs:
        ids.append(((prev * 1_000_003) ^ _EOS) & MASK)
    ids.extend(hash_word(e) for e in extra)
    return ids


def signals(text: str) -> tuple[list[str], list[str]]:
    """``(cues, rule codes)`` of ``text``: see :mod:`classifiers.cues` and :mod:`classifiers.categories`."""
    from classifiers.categories import rule_hits
    from classifiers.cues import find_cues
    low = text.lower()
    return find_cues(low), rule_hits(low)


def extras(cues: Iterable[str], rules: Iterable[str], language: str) -> list[str]:
    """The pseudo-words the model sees besides the text's own words."""
    out = [f"cue={c}" for c in cues] + [f"rule={r}" for r in rules]
    if language != "en":
        out.append(f"lang={language}")
    return out
