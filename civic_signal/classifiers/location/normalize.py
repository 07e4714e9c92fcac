"""Text normalisation shared by the gazetteer build and the runtime finder.

One rule for both sides: a street is known by its *key*, a space-joined string of lower-case
tokens with the street type, directions and ordinals in one canonical spelling
("E 4th St" and "East Fourth Street" both become ``"e 4th st"``). The build script keys every
street and every Open311 address this way; the finder keys what it reads in a post the same way,
so a lookup is one dict access.
"""

from __future__ import annotations

import re

#: Street types as written -> canonical short form (the form the Open311 addresses use).
STREET_TYPES: dict[str, str] = {}
for _canon, _forms in {
    "st": ("st", "street", "str", "stret", "streett"),
    "ave": ("ave", "av", "avenue", "aven", "avn"),
    "rd": ("rd", "road"),
    "pl": ("pl", "place"),
    "ter": ("ter", "terrace", "terr", "trce"),
    "ct": ("ct", "court", "crt"),
    "way": ("way", "wy"),
    "park": ("park", "pk"),
    "sq": ("sq", "square", "sqr"),
    "ln": ("ln", "lane"),
    "dr": ("dr", "drive", "drv"),
    "cir": ("cir", "circle", "circ"),
    "whrf": ("whrf", "wharf"),
    "path": ("path",),
    "blvd": ("blvd", "boulevard", "boul", "bvd"),
    "aly": ("aly", "alley"),
    "pkwy": ("pkwy", "parkway", "pw", "pky", "pwy"),
    "plz": ("plz", "plaza"),
    "row": ("row",),
    "mall": ("mall",),
    "brg": ("brg", "bridge"),
    "hwy": ("hwy", "highway"),
    "ext": ("ext", "extension"),
    "cres": ("cres", "crescent"),
    "gdns": ("gdns", "gardens"),
    "tpke": ("tpke", "turnpike", "tpk"),
    "grn": ("grn", "green"),
    "ctr": ("ctr", "center", "centre"),
    "gdn": ("gdn", "garden"),
    "cswy": ("cswy", "causeway"),
    "vw": ("vw", "view"),
    "xwy": ("xwy", "expressway"),
    "psge": ("psge", "passage"),
    "ters": ("ters", "terraces"),
}.items():
    for _f in _forms:
        STREET_TYPES[_f] = _canon

#: Types that are also ordinary words or street names ("Centre St", "Park St", "Green St"): a
#: token of this kind only counts as a type at the end of a multi-token street key.
AMBIGUOUS_TYPES = frozenset({"park", "center", "centre", "green", "garden", "view", "row", "mall", "path",
                             "way", "place", "square", "court", "circle", "bridge", "ctr", "grn", "gdn", "vw"})

DIRECTIONS = {"e": "e", "east": "e", "w": "w", "west": "w", "n": "n", "north": "n", "s": "s", "south": "s"}

ORDINALS = {
    "first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "fifth": "5th", "sixth": "6th",
    "seventh": "7th", "eighth": "8th", "ninth": "9th", "tenth": "10th", "eleventh": "11th",
    "twelfth": "12th",
}

#: Spellings that differ only in an honorific or abbreviation.
TOKEN_ALIASES = {"mt": "mount", "ft": "fort", "msgr": "monsignor", "saint": "st", "jr.": "jr"}

_WORD_RE = re.compile(r"[a-z0-9]+(?:['’.][a-z0-9]+)*")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes and inner dots are dropped ("O'Connell" -> "oconnell")."""
    return [t.replace("'", "").replace("’", "").replace(".", "") for t in _WORD_RE.findall(text.lower())]


def canon_token(tok: str) -> str:
    tok = ORDINALS.get(tok, tok)
    return TOKEN_ALIASES.get(tok, tok)


def street_key(toks: list[str] | str) -> str:
    """The canonical key of a street name given as text or tokens ("E. Fourth Street" -> "e 4th st")."""
    if isinstance(toks, str):
        toks = tokens(toks)
    out = [canon_token(t) for t in toks]
    if not out:
        return ""
    # a trailing type word -> canonical form
    if len(out) >= 2 and out[-1] in STREET_TYPES:
        out[-1] = STREET_TYPES[out[-1]]
    # a trailing direction after a type ("Interstate 93 N", "Charlesgate E") stays as a letter
    if len(out) >= 2 and out[-1] in DIRECTIONS and out[-2] not in DIRECTIONS:
        out[-1] = DIRECTIONS[out[-1]]
    # a leading direction abbreviates when a real name follows ("East Broadway", not "South St")
    if len(out) >= 2 and out[0] in DIRECTIONS:
        rest = out[1:]
        if not (len(rest) == 1 and rest[0] in STREET_TYPES.values()):
            out[0] = DIRECTIONS[out[0]]
    return " ".join(out)


def display_street(pre_dir: str, name: str, st_type: str, suf_dir: str) -> str:
    """The street as people write it in an address: "E First St", "Dorchester Ave"."""
    parts = []
    if pre_dir:
        parts.append(pre_dir.strip().title())
    parts.append(_title(name.strip()))
    if st_type:
        parts.append(st_type.strip().title())
    if suf_dir:
        parts.append(suf_dir.strip().upper())
    return " ".join(p for p in parts if p)


def _title(s: str) -> str:
    words = []
    for w in s.split():
        if w.isupper() and len(w) > 1 and not any(c.isdigit() for c in w):
            w = w.title()
        elif w.islower():
            w = w[:1].upper() + w[1:]
        words.append(w)
    return " ".join(words)
