"""Find the place a post is about and geocode it, offline, in tens of microseconds.

How: the text is cut into lower-case word tokens; a token trie holding every street name
(with its spelling variants: "Ave"/"Avenue", "E"/"East", "4th"/"Fourth"), every nickname,
landmark, section, neighbourhood and out-of-Boston place is walked once from each token
(longest match wins). The matches are then read as patterns, most specific first:

1. ``45 Dot Ave`` / ``the 100 block of Tremont St`` / ``in the yard of 227 Centre``: a number right before a
   street, or ``LaGrange St near 376`` after it -> address (same-name streets settled by the neighbourhood,
   a written ZIP or the City's segment ranges, see :meth:`Gazetteer.address`);
2. ``Mass Ave & Boylston``, ``corner of Tremont and Stuart``, ``Centre St at South St``: two streets
   joined by a connector -> intersection (a bare name like "Boylston" counts only here, and only
   if the pair meets in the Open311 records, or, when one side has a street type, if the two
   streets pass within 120 m); South Boston's lettered streets ("M and E 7th") where the pair meets;
3. a landmark, square, station, park or section -> place;
4. a street alone -> a point on it (near a named place or in a named neighbourhood if any);
5. a neighbourhood or ZIP -> its centre, low score.

A place outside Boston ("Broadway in Somerville", "Harvard Square") with no Boston
neighbourhood named gives ``None``: we do not file tickets for other cities.
Coordinates attached to the post always win (kind ``coordinates``).

What callers may rely on: :meth:`LocationFinder.find` never raises for any text, returns a
:class:`civic_signal.core.models.Location` or ``None``, and ``LocationFinder.default()`` loads the shipped
gazetteer once per process.
"""

from __future__ import annotations

import html
import itertools
import re
import threading
from dataclasses import dataclass, field

from civic_signal.classifiers.location.gazetteer import Gazetteer, Hit, distance_m
from civic_signal.classifiers.location.normalize import STREET_TYPES
from civic_signal.classifiers.trusted import trusted
from civic_signal.core.models import PRECISE_RADIUS_M, Coordinates, Location, LocationKind

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['’.][a-z0-9]+)*|[&@/+]")
#: :data:`_TOKEN_RE` for text as written (capitals): the same tokens, on ASCII text only
_INNER_RE = re.compile(r"[a-z0-9]['’.][a-z0-9]")
_TOKEN_RE_CASED = re.compile(r"[A-Za-z0-9]+(?:['’.][A-Za-z0-9]+)*|[&@/+]")
_NUM_RE = re.compile(r"^\d{1,5}[a-z]?$")
_ZIP_RE = re.compile(r"^02[12]\d\d$")
_COORD_RE = re.compile(r"(4[12]\.\d{3,})\s*[,;/ ]\s*(-7[01]\.\d{3,})")
_NOISE_RE = re.compile(r"@\w+|https?://\S+")
_END = ""  # trie terminal key (no token is empty)
#: radius (m) of coordinates attached to a post (a phone's fix), of a neighbourhood and of a ZIP centre
COORD_RADIUS_M = 25.0
HOOD_RADIUS_M = 2000.0
#: radius (m) of a street narrowed by a cross street named elsewhere in the post (near the crossing)
CROSS_RADIUS_M = 200.0
ZIP_RADIUS_M = 1500.0
#: radius (m) of a place's single point, by the landmark kind (how big such places are)
PLACE_RADIUS_M = {"building": 100.0, "school": 120.0, "station": 120.0, "library": 100.0, "hospital": 200.0,
                  "community_center": 100.0, "square": 150.0, "local": 150.0, "bridge": 200.0, "park": 250.0,
                  "university": 350.0, "other": 200.0, "section": 700.0}

#: Words that join the two streets of an intersection; at least one must be a real joiner.
_JOINERS = frozenset({"&", "and", "at", "@", "/", "+", "x", "n", "amp", "y", "by", "near", "off", "corner", "meets",
                      "onto", "into", "where", "crossing", "past", "meet", "meeting"})
_ONE_WAY = frozenset({"one", "two", "1", "2"})
#: places much larger than 300 m across (the landmark file gives one interior point, no area)
_LARGE_PLACES = frozenset({"franklin park", "arnold arboretum", "jamaica pond", "olmsted park",
                           "back bay fens", "the fens", "millennium park", "stony brook reservation", "allandale woods",
                           "charles river esplanade", "the esplanade", "esplanade", "belle isle marsh",
                           "belle isle marsh reservation", "chestnut hill reservoir", "emerald necklace",
                           "george wright golf course", "william j devine golf course", "forest hills cemetery",
                           "mount hope cemetery", "neponset river reservation", "boston harbor islands",
                           "castle island", "pope john paul ii park", "the riverway", "riverway park",
                           "franklin park zoo", "harambee park", "ronan park",
                           # roads named as places: kilometres long
                           "mass turnpike", "massachusetts turnpike", "storrow drive", "southeast expressway",
                           "commonwealth avenue mall", "the greenway", "rose kennedy greenway",
                           "southwest corridor", "southwest corridor park", "readville"})
_WORD_STREETS = frozenset({"ramp", "river"})
#: words after a number that make it a quantity, not a house number, though a street bears the name
_UNITS = frozenset({"weeks", "week", "days", "day", "hours", "hour", "minutes", "months", "month", "years", "year",
                    "times", "blocks", "block", "feet", "foot", "miles", "mile", "inches", "cars", "people", "am", "pm"})
#: bare names (street without its type) that are ordinary phrases: "the west side of Chestnut Hill Ave"
_BARE_SKIP = frozenset({"west side", "east side", "north side", "south side", "far side", "other side"})
_GAP_OK = _JOINERS | {"the", "corner", "of", "st", "on", "intersection"}
#: "intersection of A, B, C": a list of streets (no joiner between, the comma is no token)
_LIST_CTX = frozenset({"intersection", "intersections", "corner", "corners", "junction"})
#: a word before a one-word place name that points at a place ("at Copley", "near Andrew")
_PLACE_CUES = frozenset({"at", "near", "by", "outside", "behind", "across", "opposite", "front", "past", "around",
                         "to", "from", "in", "inside", "beside", "next", "towards", "toward", "@", "entrance", "into",
                         "nearby", "between", "and", "&"})
_PLACE_WORDS = frozenset({"station", "stn", "stop", "square", "sq", "park", "t", "playground", "stop", "area",
                          "library", "school", "center", "centre", "hospital", "plaza", "mall", "field", "stadium"})
#: a word before a bare street name ("on Fairmount") that introduces a street
_STREET_CUES = frozenset({"on", "along", "onto", "into", "down", "up", "off", "via", "entire", "whole", "street", "st",
                          "blocking"})
#: "this block of Hanover", "either side of Leamington", "the end of Glover": a street follows
_STRETCH = frozenset({"block", "side", "sides", "end", "section", "part", "stretch", "top", "bottom", "length",
                      "middle", "street", "corner", "all"})
#: a word before a number that makes it no house number ("route 28", "bus 66", "#12", "case 2686275")
_NOT_ADDRESS = frozenset({"route", "rte", "rt", "bus", "case", "no", "number", "unit", "apt", "apartment", "ticket",
                          "exit", "i", "interstate", "highway", "hwy", "suite", "floor"})

#: Bare street names that are also ordinary words: never read as a street without a type.
_BARE_STOP = frozenset("""the a an and at of on in to for from by with near off is it this that my our your
park green school church water river pond hill hills spring summer winter fall high main center centre
market union court central station square garden gardens lake field fields farm forest grove orchard
view way place street avenue road lane drive north south east west new old first second third last
all any one two three four five six seven eight nine ten no yes not so up down out over under back front
side end top bottom open light lights trash snow ice car cars bus walk home house city town bay
beach harbor harbour island shore bridge brook mill mills common commons fort mount plain plains
rock stone wood woods hall pleasant prospect liberty temple chapel college university hospital
day days night nights week weeks weekend morning evening noon today tonight time times hour hours month year
milk wall walls curb bike lane lanes sidewalk fence gate crates boston southern northern eastern western
""".split())

#: Hood nicknames that are ordinary words in lower case: counted only when capitalised.
_WEAK_HOODS = frozenset({"dot", "rox", "rosi", "townie", "seaport", "kenmore", "the dot"})

_TYPE_FORMS: dict[str, list[str]] = {}
for _form, _canon in STREET_TYPES.items():
    _TYPE_FORMS.setdefault(_canon, []).append(_form)
_ORD_WORDS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth", "6th": "sixth",
              "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth", "11th": "eleventh",
              "12th": "twelfth"}
_TOKEN_VARIANTS = {"mount": ["mount", "mt"], "fort": ["fort", "ft"], "monsignor": ["monsignor", "msgr"],
                   "square": ["square", "sq"], "sq": ["sq", "square"], "street": ["street", "st"],
                   "avenue": ["avenue", "ave"], "saint": ["saint", "st"], "center": ["center", "centre"],
                   "centre": ["centre", "center"], "station": ["station", "stn"]}
_DIR_WORDS = {"e": "east", "w": "west", "n": "north", "s": "south"}
_ORD_VALUES = frozenset(_ORD_WORDS.values())
#: a word before "227 Centre" (a number and an ordinary-word street) that makes it an address
_STOP_ADDRESS_CUES = frozenset({"at", "of", "from", "on", "to", "near", "by", "outside", "front", "behind", "opposite",
                                "across", "@", "is", "live", "lives"})
_CORNER_CTX = frozenset({"corner", "intersection", "junction"})
#: ordinary words that are also streets often written bare after a house number ("227 Centre", "99 Union")
_STOP_STREETS = frozenset("""centre center union main high water market central spring pleasant prospect liberty
temple chapel beach mill court forest grove""".split())
#: a word between a street and a house number after it: "LaGrange St near 376"
_NEAR_NUMBER = frozenset({"near", "by", "opposite", "outside", "number", "no", "nr"})
#: a place word after a name shared by places of several kinds picks the kind ("Ashmont station")
_PLACE_WORD_KIND = {"station": "station", "stn": "station", "t": "station", "stop": "station", "square": "square",
                    "sq": "square", "park": "park", "playground": "park", "school": "school", "library": "library",
                    "hospital": "hospital"}
_ORDINALS = _ORD_VALUES | frozenset(_ORD_WORDS)
#: a plural street type after "X and Y": "Shawmut and Medford streets"
_PLURAL_TYPES = frozenset({"streets", "sts", "avenues", "aves", "roads", "rds"})


def _same_street(a: str, b: str) -> bool:
    """"W Broadway" / "Broadway", "E Fourth St" / "W Fourth St": one name with another direction."""
    da, db = a.split(), b.split()
    da = da[1:] if len(da) > 1 and da[0] in ("E", "W", "N", "S") else da
    db = db[1:] if len(db) > 1 and db[0] in ("E", "W", "N", "S") else db
    return da == db


def _variants(toks: list[str], street: bool) -> list[tuple[str, ...]]:
    alts: list[list[str]] = []
    last = len(toks) - 1
    for i, t in enumerate(toks):
        a = [t]
        if street and i == last and last > 0 and t in _TYPE_FORMS:
            a = sorted(_TYPE_FORMS[t], key=lambda f: (f != t, f))
        elif street and i == 0 and t in _DIR_WORDS and last >= 1 and not (last == 1 and toks[1] in _TYPE_FORMS):
            a = [t, _DIR_WORDS[t]]
        elif t in _ORD_WORDS:
            a = [t, _ORD_WORDS[t]]
        elif t in _TOKEN_VARIANTS:
            a = _TOKEN_VARIANTS[t]
        elif street and i == 0 and t == "st" and last >= 1:
            a = ["st", "saint"]
        alts.append(a)
    out = list(itertools.islice(itertools.product(*alts), 64))
    return out


@dataclass(slots=True)
class _Entries:
    streets: list[int] = field(default_factory=list)       # full names with a type, nicknames
    bare: list[int] = field(default_factory=list)          # names without their type
    places: list[tuple[int, bool]] = field(default_factory=list)  # (place index, weak)
    hoods: list[tuple[str, bool]] = field(default_factory=list)   # (neighbourhood, weak)
    foreign: bool = False
    letter: list[int] = field(default_factory=list)        # "M St" as "M": only in a crossing, capitalised
    stop: list[int] = field(default_factory=list)          # "Centre St" as "Centre": only after a house number


@dataclass(slots=True)
class _Match:
    start: int       # token index
    end: int         # token index, exclusive
    e: _Entries
    cap: bool        # written with a capital letter


class LocationFinder:
    """Reads a location out of post text; see the module docstring for the rules."""

    _default: "LocationFinder | None" = None
    _lock = threading.Lock()

    def __init__(self, gazetteer: Gazetteer):
        self.gaz = gazetteer
        self._trie: dict = {}
        self._build_trie()

    @classmethod
    def default(cls) -> "LocationFinder":
        """The finder over the shipped gazetteer, built once per process."""
        if cls._default is None:
            with cls._lock:
                if cls._default is None:
                    cls._default = cls(Gazetteer.load())
        return cls._default

    # -- trie --------------------------------------------------------------------------------
    def _add(self, phrase: tuple[str, ...]) -> _Entries:
        node = self._trie
        for t in phrase:
            node = node.setdefault(t, {})
        e = node.get(_END)
        if e is None:
            e = node[_END] = _Entries()
        return e

    def _build_trie(self) -> None:
        g = self.gaz
        for si, key in enumerate(g.street_keys):
            toks = key.split()
            if key in _WORD_STREETS:
                continue   # "Ramp", "River": street names that are ordinary words in a post
            for v in _variants(toks, street=True):
                self._add(v).streets.append(si)
            if len(toks) >= 2 and toks[-1] in _TYPE_FORMS:
                name = toks[:-1]
                if len(name) == 1 and len(name[0]) == 1 and name[0].isalpha() and name[0] not in "ai":
                    self._add(tuple(name)).letter.append(si)   # South Boston's lettered streets (not "a", "I")
                elif len(name) == 1 and name[0] in _STOP_STREETS:
                    self._add(tuple(name)).stop.append(si)
                if not (len(name) == 1 and (len(name[0]) < 3 or name[0] in _BARE_STOP or name[0].isdigit())):
                    for v in _variants(name, street=True):
                        if (v[0] not in _DIR_WORDS.values() or len(v) > 1) and " ".join(v) not in _BARE_SKIP:
                            self._add(v).bare.append(si)
                # "P St between 2nd and 3rd" in South Boston: E/W 2nd St known by "2nd" alone too
                if len(name) == 2 and name[0] in _DIR_WORDS and (name[1][:1].isdigit() or name[1] in _ORD_VALUES):
                    for v in _variants(name[1:], street=True):
                        e = self._add(v)
                        if si not in e.bare:
                            e.bare.append(si)
        # "Third St" for E Third St and W Third St as well (South Boston's numbered streets are written
        # without their direction as often as with it)
        for si, key in enumerate(g.street_keys):
            toks = key.split()
            if len(toks) == 3 and toks[0] in _DIR_WORDS and toks[2] in _TYPE_FORMS and (
                    toks[1] in _ORD_WORDS or toks[1] in _ORD_VALUES):
                for v in _variants(toks[1:], street=True):
                    e = self._add(v)
                    if si not in e.streets:
                        e.streets.append(si)
        # two-word names written as one ("bunkerhill", "roundhill st"), where the word means nothing else
        taken = {t for t, node in self._trie.items() if _END in node}
        for si, key in enumerate(g.street_keys):
            toks = key.split()
            if len(toks) == 3 and toks[-1] in _TYPE_FORMS and toks[0].isalpha() and toks[1].isalpha() \
                    and toks[0] not in _DIR_WORDS and len(toks[0]) + len(toks[1]) >= 7:
                joined = toks[0] + toks[1]
                if joined in taken:
                    continue
                for v in _variants([joined, toks[2]], street=True):
                    self._add(v).streets.append(si)
                self._add((joined,)).bare.append(si)
        for nick, key in g.street_nicknames.items():
            si = g.street_index[key]
            for v in _variants(nick.split(), street=True):
                e = self._add(v)
                if si not in e.streets:
                    e.streets.append(si)
        for phrase, pi in g.place_phrases:
            toks = phrase.split()
            weak = len(toks) == 1
            for v in _variants(toks, street=False):
                self._add(v).places.append((pi, weak))
                if v[0] != "the":
                    self._add(("the", *v)).places.append((pi, weak))
        for name in g.hood_names:
            self._add(tuple(name.lower().split())).hoods.append((name, False))
            if " " in name:  # hashtags: #EastBoston, #JamaicaPlain
                self._add((name.lower().replace(" ", ""),)).hoods.append((name, False))
        for nick, name in g.hood_nicknames.items():
            self._add(tuple(t for t in re.split(r"[\s/]+", nick) if t)).hoods.append((name, nick in _WEAK_HOODS))
        for name in (*g.other_cities, *g.foreign):
            self._add(tuple(name.split())).foreign = True
        self._freeze(self._trie)

    @classmethod
    def _freeze(cls, node: dict) -> None:
        """Entry lists -> tuples once the trie is built (read-only after; tuples of plain values
        are not walked by the cyclic garbage collector, lists are)."""
        for k, v in node.items():
            if k == _END:
                v.streets, v.bare, v.places, v.hoods = tuple(v.streets), tuple(v.bare), tuple(v.places), tuple(v.hoods)
                v.letter, v.stop = tuple(v.letter), tuple(v.stop)
            else:
                cls._freeze(v)

    # -- finding -------------------------------------------------------------------------------
    def find(self, text: str, coordinates: Coordinates | None = None) -> Location | None:
        """The location the post is about, or None. Never raises."""
        try:
            if coordinates is not None:
                return self._with_coordinates(text or "", coordinates)
            return self._find(text or "")[0]
        except Exception:  # noqa: BLE001 - a location is optional; one odd post must not stop a batch
            return None

    def _with_coordinates(self, text: str, c: Coordinates) -> Location:
        """Coordinates attached to the post give the point (kind ``coordinates``). The address shown
        comes from the text when the text names a place that agrees with them: its address or
        intersection within 1 km, or a street passing within 150 m ("Hanover St" rather than the
        nearest known door, "77 North Sq"). A text address or intersection more than 1 km away
        wins over the coordinates (the phone is where the poster stands, the text where the problem is)."""
        loc, sids = self._find(text) if text else (None, ())
        if loc is not None and loc.kind in (LocationKind.ADDRESS, LocationKind.INTERSECTION) and loc.lat is not None:
            if distance_m(loc.lat, loc.lon, c.lat, c.lon) > 1000:
                return loc
            return self._from_coordinates(c, address=loc.address)
        if loc is not None and loc.kind == LocationKind.STREET and sids:
            near = [si for si in sids if self.gaz.distance_to_street(si, c.lat, c.lon) <= 150]
            if near:
                return self._from_coordinates(c, address=self.gaz.street_display[near[0]])
        return self._from_coordinates(c)

    def _from_coordinates(self, c: Coordinates, text: str | None = None, address: str | None = None) -> Location:
        return trusted(Location, {"text": text or f"{c.lat:.5f},{c.lon:.5f}", "kind": LocationKind.COORDINATES,
                                  "address": address or self.gaz.nearest_address(c.lat, c.lon),
                                  "neighborhood": self.gaz.hood_at(c.lat, c.lon), "lat": c.lat, "lon": c.lon,
                                  "score": 1.0, "radius_m": COORD_RADIUS_M})

    def reading(self, text: str) -> tuple[Location | None, list[str], list["_Match"]]:
        """The location (as :meth:`find` without coordinates), with the tokens and the gazetteer names it was
        read from (for :class:`civic_signal.classifiers.location.router.JurisdictionRouter`, so that it reads
        the post once). Never raises: on an error, ``(None, [], [])``."""
        keep: list = []
        try:
            loc = self._find(text or "", keep)[0]
        except Exception:  # noqa: BLE001 - as find
            return None, [], []
        return (loc, keep[0], keep[1]) if keep else (loc, [], [])

    def _find(self, text: str, keep: list | None = None) -> tuple[Location | None, tuple[int, ...]]:
        """The location read from the text, and the street ids it rests on (empty if none); ``keep``, if given,
        receives the tokens and the matches."""
        if "&" in text:
            text = html.unescape(text)
        if "@" in text or "http" in text:  # user names and links are not places
            text = _NOISE_RE.sub(lambda m: " " * len(m.group(0)), text)
        low = text.lower()
        if len(low) != len(text):  # a few characters change length when lowered: keep offsets true
            text = low
        if "42." in low:
            m = _COORD_RE.search(low)
            if m:
                return self._from_coordinates(Coordinates(lat=float(m.group(1)), lon=float(m.group(2))), m.group(0)), ()
        toks = _TOKEN_RE.findall(low)
        if not toks:
            return None, ()
        if ("'" in low or "." in low or "’" in low) and _INNER_RE.search(low):
            # a token holds ' ’ . only between two letters or digits (a full stop is not in one)
            toks = [t.replace("'", "").replace("’", "").replace(".", "") for t in toks]
        matches = self._scan(toks)
        if "way" in toks:   # "a one-way street" is no "Way St"
            matches = [m for m in matches if not (toks[m.start] == "way" and m.start and toks[m.start - 1] in _ONE_WAY)]
        if keep is not None:
            keep += (toks, matches)
        zips = [t for t in toks if len(t) == 5 and t[:2] == "02" and _ZIP_RE.match(t)] if "02" in low else []
        if not matches and not zips:
            return None, ()
        if text.isascii():
            # ASCII: lower() maps A-Z to a-z only, so the same pattern with capitals finds the
            # same tokens in the text as written; the character offsets are needed only for the
            # span of the answer (see ``span``)
            spans = None
            written = _TOKEN_RE_CASED.findall(text)
            for m in matches:
                m.cap = written[m.start][0].isupper()
        else:
            spans = [m.span() for m in _TOKEN_RE.finditer(low)]
            for m in matches:
                m.cap = text[spans[m.start][0]].isupper()

        hood_ctx = None
        foreign = False
        for mi, m in enumerate(matches):
            if m.e.hoods and hood_ctx is None:
                for h, weak in m.e.hoods:
                    if not weak or m.cap:
                        hood_ctx = h
                        break
            if m.e.foreign and not (m.e.places or m.e.hoods):
                # a town that is also a bare street name ("Tremont at Worcester") is the town only
                # after "in" / "of" ("Mass Ave in Cambridge", "city of Quincy")
                if not m.e.bare or (m.start and toks[m.start - 1] == "in") or (
                        m.start > 1 and toks[m.start - 1] == "of" and toks[m.start - 2] in ("city", "town")) or (
                        mi and matches[mi - 1].end == m.start and matches[mi - 1].e.streets):   # "45 Elm St, Quincy"
                    foreign = True
        if hood_ctx is None:
            for z in zips:
                if z in self.gaz.zips:
                    hood_ctx = self.gaz.zips[z][2]
                    break
        if foreign and hood_ctx is None:
            return None, ()

        def span(a: int, b: int) -> str:
            if spans is None:  # only tokens a and b - 1 are needed
                it = _TOKEN_RE.finditer(low)
                first = next(itertools.islice(it, a, None))
                last = first if b - 1 == a else next(itertools.islice(it, b - 2 - a, None))
                return text[first.start():last.end()]
            return text[spans[a][0]:spans[b - 1][1]]

        # a ZIP settles the neighbourhood street by street (the City's segments carry it), better than
        # the ZIP's centre; a neighbourhood named in words wins over both
        zip_only = bool(zips) and not any(
            not weak or m.cap for m in matches for _, weak in m.e.hoods)
        loc = self._read(toks, matches, zips if zip_only else (), hood_ctx, span)
        return loc if isinstance(loc, tuple) else (loc, ())

    def _read(self, toks, matches, zips, hood_ctx, span):
        """The patterns, most specific first; returns a Location, (Location, street ids) or None."""
        gaz = self.gaz
        # 1. address: "45 Dot Ave", "180-182 Endicott St", "the 100 block of Tremont St"
        for m in matches:
            cands = m.e.streets or m.e.bare
            stop = False
            if not cands and m.e.stop and m.cap:
                cands, stop = m.e.stop, True   # "227 Centre", "99 Union": a number and a capital
            if not cands or m.start == 0:
                continue
            k = m.start - 1
            if k >= 2 and toks[k] == "of" and toks[k - 1] == "block":
                k -= 2
            elif k >= 1 and len(toks[k]) == 1 and toks[k] in "abcdefgh" and _NUM_RE.match(toks[k - 1]):
                k -= 1   # "195 d Ashmont St": a unit letter
            if not _NUM_RE.match(toks[k]):
                continue
            num = int(toks[k].rstrip("abcdefghijklmnopqrstuvwxyz"))
            start = k
            if k >= 1 and _NUM_RE.match(toks[k - 1]) and 0 < num - int(toks[k - 1].rstrip("abcdefghijklmnopqrstuvwxyz")) <= 20:
                start = k - 1   # "180-182 Endicott St": a range of numbers (the dash is not a token)
            if not m.e.streets and toks[m.start] in _UNITS:
                continue   # "3 weeks" is no "3 Weeks Ave"
            if not m.e.streets and not m.cap and (sum(map(len, toks[m.start:m.end])) < 4 or m.e.hoods):
                continue   # "34 como", "825 east 4th": a number is cue enough for a bare name of 4+ letters
            if start == k and k >= 1 and toks[k - 1] in _NOT_ADDRESS:
                continue    # "route 28", "bus 66", "# 12"
            if stop and not (start and toks[start - 1] in _STOP_ADDRESS_CUES):
                continue   # "the 5 Park rangers": an ordinary word after a number needs "at", "of", "from"...
            best = self._best(gaz.address(si, num, hood_ctx, gaz.zip_hoods(si, zips) if zips else ())
                              for si in cands)
            if best and stop and best.score < 0.85:
                continue   # an ordinary word after a number: only a known or interpolated door counts
            if best:
                return self._loc(span(start, m.end), LocationKind.ADDRESS, best, weak=not m.e.streets), tuple(cands)
        # "LaGrange St near 376", "Maple St. near #12", "Adams St in Dorchester by 45": a number after a
        # typed street and a word of nearness (not a time: "at 7 pm", "near 3:30")
        for mi, m in enumerate(matches):
            if not m.e.streets:
                continue
            k = m.end
            if k + 1 < len(toks) and toks[k] == "in" and mi + 1 < len(matches) and matches[mi + 1].start == k + 1 \
                    and matches[mi + 1].e.hoods:
                k = matches[mi + 1].end   # "... St in West Roxbury near 376"
            if k + 1 >= len(toks) or toks[k] not in _NEAR_NUMBER or not _NUM_RE.match(toks[k + 1]):
                continue
            nxt = toks[k + 2] if k + 2 < len(toks) else ""
            if nxt in _UNITS or nxt.isdigit() or nxt in ("am", "pm", "oclock"):
                continue
            num = int(toks[k + 1].rstrip("abcdefghijklmnopqrstuvwxyz"))
            best = self._best(gaz.address(si, num, hood_ctx, gaz.zip_hoods(si, zips) if zips else ())
                              for si in m.e.streets)
            if best:
                return self._loc(span(m.start, k + 2), LocationKind.ADDRESS, best, weak=True), tuple(m.e.streets)

        # 2. the block between two cross streets: "Faneuil St between Market St and Oak Sq",
        #    "from X to Y on Z", "Z from X to Y"
        got = self._between(toks, matches, hood_ctx, span)
        if got is not None:
            return got

        # 3. intersection: "X and Y", "X & Y", "X/Y", "corner of X and Y", "X at Y", "X near Y",
        #    "Y off X", "intersection of A, B, C and D" (the first pair that meets)
        for i, (m1, m2) in enumerate(zip(matches, matches[1:])):
            a = m1.e.streets or m1.e.bare or (m1.e.letter if m1.cap else ())
            b = m2.e.streets or m2.e.bare or (m2.e.letter if m2.cap else ())
            if not a or not b:
                continue
            if not (m1.e.streets or m2.e.streets) and m1.end - m1.start == 1 and m2.end - m2.start == 1 and \
                    toks[m1.start] in _ORDINALS and toks[m2.start] in _ORDINALS:
                continue   # "the 1st and 3rd Wednesday": a schedule, not two streets
            if m1.start and toks[m1.start - 1] in ("between", "btwn", "btw", "from"):
                continue   # "P St between 2nd and 3rd": two cross streets, which do not meet each other
            gap = toks[m1.end:m2.start]
            if not gap:
                # "A, B" (the comma is no token): only in a list after "intersection of" / "corner of"
                if not _LIST_CTX.intersection(toks[max(0, m1.start - 3):m1.start]) and not (
                        i > 0 and _LIST_CTX.intersection(toks[max(0, matches[i - 1].start - 3):matches[i - 1].start])):
                    continue
            elif len(gap) > 4 or not _GAP_OK.issuperset(gap) or _JOINERS.isdisjoint(gap):
                continue
            if any(not m.e.streets and m.e.places and m.end < len(toks) and toks[m.end] in _PLACE_WORDS for m in (m1, m2)):
                continue   # "Washington St near Forest Hills station": a place, not Forest Hills St
            # "Shawmut and Medford streets": the plural types both names
            strong = bool(m1.e.streets or m2.e.streets) or (m2.end < len(toks) and toks[m2.end] in _PLURAL_TYPES)
            if not strong and _CORNER_CTX.intersection(toks[max(0, m1.start - 3):m1.start]):
                strong = True    # "corner of Chestnut and Sedgwick": said to meet, two streets passing close will do
            if not (m1.e.streets or m1.e.bare) or not (m2.e.streets or m2.e.bare):
                strong = False   # a lettered street ("M and E 7th") only where the two meet in the data
            r = gaz.intersection(a, b, hood_ctx, approx=strong)
            if r:
                return self._loc(span(m1.start, m2.end), LocationKind.INTERSECTION, r[0]), (r[1], r[2])

        # 4. place: a landmark, station, square, park, section. A one-word name needs evidence: a
        #    capital letter and a word before it that points at a place ("at Copley", "near Andrew")
        #    or a place word after it ("Andrew station"); "Plate State: NH" is no place.
        place_m = None
        for m in matches:
            if m.e.streets:
                continue
            ps = [pi for pi, weak in m.e.places if not weak or (m.cap and self._place_evidence(toks, m))]
            if ps:
                # "Ashmont station": the station, not the section of that name
                want = _PLACE_WORD_KIND.get(toks[m.end]) if m.end < len(toks) else None
                if want:
                    ps = sorted(ps, key=lambda p: gaz.places[p].kind != want)
                pi = next((p for p in ps if gaz.places[p].hood == hood_ctx), ps[0])
                place_m = (m, gaz.places[pi])
                break
        # a place with no one point (a large park, a road named as a place: "the expressway") does
        # not stand for a street named in the post: the street is read as if no place were named
        place_vague = place_m is not None and self._place_radius(place_m[1]) > PRECISE_RADIUS_M
        # 5. street (near a named place, in a named neighbourhood); a bare name ("on Fairmount")
        #    only after a word that introduces a street
        for m in matches:
            cands = m.e.streets
            weak = False
            if not cands and m.e.bare and ((m.start > 0 and (toks[m.start - 1] in _STREET_CUES or (
                    toks[m.start - 1] == "of" and m.start > 1 and toks[m.start - 2] in _STRETCH))) or (
                    m.cap and m.end + 1 < len(toks) and toks[m.end] in ("side", "end") and m.start > 0
                    and toks[m.start - 1] == "the")):   # "the Montrose side", "the Glover end"
                cands, weak = m.e.bare, True
            if not cands:
                continue
            near = (place_m[1].lat, place_m[1].lon) if place_m else None
            hits = [h for h in (gaz.street(si, (zips and gaz.zip_hood(si, zips)) or hood_ctx, near) for si in cands)
                    if h is not None]
            best = self._best(hits)
            if best is None:
                continue
            if hood_ctx and len(hits) > 1 and any(h.hood == hood_ctx for h in hits):
                hits = [h for h in hits if h.hood == hood_ctx]   # "Third St in South Boston": not Charlestown's
                best = self._best(hits)
            alone = place_m is None
            if place_vague and distance_m(best.lat, best.lon, place_m[1].lat, place_m[1].lon) >= 500:
                alone = True
                hits = [h for h in (gaz.street(si, (zips and gaz.zip_hood(si, zips)) or hood_ctx) for si in cands)
                        if h is not None]
                best = self._best(hits)
            # several streets of this name: the answer is as uncertain as they are apart
            # (a short and a long street of one bare name: as uncertain as the long one)
            radius = max(h.radius + distance_m(best.lat, best.lon, h.lat, h.lon) if h is not best else h.radius
                         for h in hits)
            if alone:
                if radius > PRECISE_RADIUS_M:
                    # a cross street named elsewhere in the post narrows it ("The closest intersecting
                    # street: Hardy | ... parked on Marine Road"): the crossing, if the two meet
                    for o in matches:
                        oc = o.e.streets or (o.e.bare if not (o.e.hoods or o.e.places or o.e.foreign) else ())
                        if o is m or not oc or set(oc) & set(cands):
                            continue
                        r = gaz.intersection(cands, oc, hood_ctx, approx=False)
                        if r and _same_street(gaz.street_display[r[1]], gaz.street_display[r[2]]):
                            continue   # "W Broadway" and "Broadway": one street going on, no crossing
                        if r:
                            hit = Hit(r[0].lat, r[0].lon, r[0].hood, 0.6,
                                      f"{gaz.street_display[r[1]]} near {gaz.street_display[r[2]]}", CROSS_RADIUS_M)
                            return self._loc(span(m.start, m.end), LocationKind.STREET, hit, weak), (r[1],)
                return self._loc(span(m.start, m.end), LocationKind.STREET, best, weak, radius), tuple(cands)
            p = place_m[1]
            if distance_m(best.lat, best.lon, p.lat, p.lon) < 500:
                hit = Hit(best.lat, best.lon, best.hood, 0.65, best.address, best.radius)
                return self._loc(span(m.start, m.end), LocationKind.STREET, hit, weak, max(radius, best.radius)), tuple(cands)
        if place_m:
            m, p = place_m
            return self._loc(span(m.start, m.end), LocationKind.PLACE,
                             Hit(p.lat, p.lon, p.hood, 0.75, p.name, self._place_radius(p)))
        # 6. neighbourhood / ZIP: never a point (the whole area), kept for its name
        for m in matches:
            for h, weak in m.e.hoods:
                if not weak or m.cap:
                    la, lo = gaz.hood_centroids[h]
                    return self._loc(span(m.start, m.end), LocationKind.NEIGHBORHOOD, Hit(la, lo, h, 0.3, None, HOOD_RADIUS_M))
        for z in zips:
            if z in gaz.zips:
                la, lo, h = gaz.zips[z]
                return self._loc(z, LocationKind.NEIGHBORHOOD, Hit(la, lo, h, 0.25, None, ZIP_RADIUS_M))
        return None

    def _between(self, toks, matches, hood_ctx, span):
        """"Z between X and Y" / "Z from X to Y" (or the main street after): the middle of the block,
        i.e. half-way between the crossings Z & X and Z & Y; radius half the block + 30 m."""
        for i, t in enumerate(toks):
            if t not in ("between", "btwn", "btw", "from"):
                continue
            after = [m for m in matches if m.start > i and (m.e.streets or m.e.bare or m.e.places)]
            if len(after) < 2 or after[0].start != i + 1 and toks[i + 1:after[0].start] != ["the"]:
                continue
            x, y = after[0], after[1]
            gap = toks[x.end:y.start]
            if gap not in (["and"], ["&"], ["to"], ["amp"], ["and", "the"], ["to", "the"]) or (t == "from") != (gap[0] == "to"):
                continue
            # the main street: right before "between" or right after the second cross street
            before = [m for m in matches if i - 4 <= m.end <= i and (m.e.streets or m.e.bare)]
            later = [m for m in matches if y.end <= m.start <= y.end + 3 and (m.e.streets or m.e.bare)]
            main = before[-1] if before else (later[0] if later else None)
            if main is None:
                continue
            main_sids = main.e.streets or main.e.bare
            pts = []
            for side in (x, y):
                cands = side.e.streets or side.e.bare
                r = self.gaz.intersection(main_sids, cands, hood_ctx, approx=bool(main.e.streets)) if cands else None
                if r:
                    pts.append(r)
                elif side.e.places:
                    p = self.gaz.places[side.e.places[0][0]]
                    h = self.gaz.street(main_sids[0], hood_ctx, (p.lat, p.lon))
                    if h is not None and distance_m(h.lat, h.lon, p.lat, p.lon) < 300:
                        pts.append((h, main_sids[0], -1))
            if not pts:
                continue
            a0, b0 = min(main.start, x.start), max(main.end, y.end)
            disp = self.gaz.street_display
            if len(pts) == 2:
                p, q = pts[0][0], pts[1][0]
                half = distance_m(p.lat, p.lon, q.lat, q.lon) / 2
                hit = Hit((p.lat + q.lat) / 2, (p.lon + q.lon) / 2, p.hood, 0.8,
                          f"{disp[pts[0][1]]} between {p.address.split(' & ')[-1]} and {q.address.split(' & ')[-1]}"
                          if p.address and q.address else disp[pts[0][1]], half + 30.0)
            else:
                p = pts[0][0]
                hit = Hit(p.lat, p.lon, p.hood, 0.6, p.address, 250.0)
            return self._loc(span(a0, b0), LocationKind.INTERSECTION if len(pts) == 1 else LocationKind.STREET, hit), \
                tuple(main_sids)
        return None

    @staticmethod
    def _place_radius(p) -> float:
        """How far the spot may be from a place's single point, by its kind and size."""
        if p.name.lower() in _LARGE_PLACES:
            return 800.0      # a park or reservation a kilometre or more across: no one point
        if p.kind == "section" and p.name.lower().split()[-1] in ("corner", "corners", "square", "sq", "crossing"):
            return PLACE_RADIUS_M["square"]   # "Uphams Corner": a junction, not an area
        return PLACE_RADIUS_M.get(p.kind, 200.0)

    @staticmethod
    def _place_evidence(toks: list[str], m: "_Match") -> bool:
        before = toks[m.start - 1] if m.start > 0 else ""
        after = toks[m.end] if m.end < len(toks) else ""
        if before in ("the",) and m.start > 1:
            before = toks[m.start - 2]
        if m.e.bare:   # also a street's name ("from Boylston to..."): "Boylston station", "near Copley"
            return after in _PLACE_WORDS or before in ("near", "outside", "at", "by", "inside", "behind", "opposite")
        return before in _PLACE_CUES or after in _PLACE_WORDS

    def _scan(self, toks: list[str]) -> list[_Match]:
        out: list[_Match] = []
        trie = self._trie
        n = len(toks)
        i = 0
        # only tokens that start some phrase can start a match: find them in one pass
        for s in [k for k, t in enumerate(toks) if t in trie]:
            if s < i:
                continue
            i = s
            node = trie[toks[i]]
            j = i + 1
            last = None
            e = node.get(_END)
            if e is not None:
                last = (j, e)
            while j < n:
                node = node.get(toks[j])
                if node is None:
                    break
                j += 1
                e = node.get(_END)
                if e is not None:
                    last = (j, e)
            if last is None:
                i += 1
                continue
            out.append(_Match(i, last[0], last[1], False))
            i = last[0]
        return out

    @staticmethod
    def _best(hits) -> Hit | None:
        best = None
        for h in hits:
            if h is not None and (best is None or h.score > best.score):
                best = h
        return best

    @staticmethod
    def _loc(span_text: str, kind: LocationKind, hit: Hit, weak: bool = False, radius: float | None = None) -> Location:
        score = hit.score * (0.8 if weak else 1.0)
        r = round(hit.radius if radius is None else radius, 1)
        precise = r <= PRECISE_RADIUS_M
        # every value is already of its field's type and in range: built without re-validating
        return trusted(Location, {"text": span_text, "kind": kind, "address": hit.address, "neighborhood": hit.hood,
                                  "lat": round(hit.lat, 6) if precise else None,
                                  "lon": round(hit.lon, 6) if precise else None,
                                  "score": round(min(1.0, max(0.0, score)), 3), "radius_m": r})
