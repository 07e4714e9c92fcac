"""Which city a post is about: one location finder per jurisdiction pack, and the rules that pick one.

Rules, in order (docs/jurisdictions.md says the same with examples):

1. Coordinates attached to the post (or written in it) decide alone: the pack whose boundary holds the
   point (within 30 m), else no configured city.
2. A state other than Massachusetts ("Portland, OR", "in Texas", "in DC") -> no configured city.
3. The default city's finder reads every post; another pack's finder reads it only when the post gives that
   pack a chance: it names the city ("in Cambridge", "#Cambridge", "Cambridge City Hall"; not "Cambridge
   St"), holds a name only that pack has (:class:`_Cues`, one set intersection for most posts), two names or
   more it shares with the default city, or one the default city knows as another city's. One shared name
   alone would stay the default city's (rule 4), so the other finders need not read it. A finder gives up
   on a post naming a place outside its city with none of its own neighbourhoods ("Broadway in
   Somerville"). A post naming exactly one pack's city keeps that city's answer.
4. Several answers: the city holding more of the post's names wins (:meth:`JurisdictionRouter._support`:
   streets with their type, neighbourhoods, places; a one-word place written with a capital near a named
   street; an intersection is two names, a block between two crossings three; a name inside a longer name
   another city holds does not count). With two names or more, the city where they lie near each other
   (:meth:`JurisdictionRouter._near_pairs`), then the more specific answer (address > intersection > place >
   street > neighbourhood; a place answer beside a named street of that city that it does not meet ranks
   below a street); with one name only ("Charles St", "City Hall", "1200 Mass Ave") the default city
   (``routing.default``) wins, as before packs; then the score, then the pack order. One street name of
   another city alone stays with the default city (no location) when the post also holds a name the default
   city knows, or, if it names a place no pack holds and the default city holds no more of its names, goes
   elsewhere (rule 5); when the default city knows none of the post's names, a street written with its type
   that only another city has is that city's ("Linnaean St").
5. No answer: a place name no pack holds ("Somerville", "Quincy") -> no configured city, with the reason
   naming it; nothing at all -> ``routing.default`` (most posts name no place; they go where they
   always went).

What callers may rely on: :meth:`JurisdictionRouter.find` never raises and returns a :class:`Routed`;
``jurisdiction`` is a pack id or ``None``, and ``reason`` is set exactly when a place was recognised
but no pack holds it (``"elsewhere: ..."``). With one pack, or for a post that gives no other pack a chance,
the location is the default city's finder's, as before packs.
"""

from __future__ import annotations

import math
import re
import threading
from typing import NamedTuple

from civic_signal.classifiers.location.finder import (_BARE_STOP, _END, _JOINERS, _PLACE_WORDS, _STREET_CUES,
                                                      _TOKEN_RE, LocationFinder)
from civic_signal.classifiers.location.normalize import STREET_TYPES
from civic_signal.classifiers.location.gazetteer import DEFAULT_PATH, Gazetteer, distance_m
from civic_signal.core.models import Coordinates, Location, LocationKind

ELSEWHERE = "elsewhere: "
_RANK = {LocationKind.ADDRESS: 5, LocationKind.INTERSECTION: 4, LocationKind.PLACE: 3, LocationKind.STREET: 2,
         LocationKind.NEIGHBORHOOD: 1, LocationKind.COORDINATES: 6}
_STREET_AFTER = r"(?!\s+(?:st|street|ave|avenue|rd|road|pl|place|ter|terrace|pkwy|parkway|dr|drive|ct|court|sq|square)\b)"
_STATES = {"alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA", "colorado": "CO",
           "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID",
           "illinois": "IL", "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
           "maine": "ME", "maryland": "MD", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
           "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
           "new jersey": "NJ", "new mexico": "NM", "new york state": "NY", "north carolina": "NC",
           "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
           "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN", "texas": "TX",
           "utah": "UT", "vermont": "VT", "virginia": "VA", "west virginia": "WV", "wisconsin": "WI",
           "wyoming": "WY", "washington state": "WA", "ontario": "ON", "quebec": "QC"}
#: "Seattle, WA" / "Austin, TX 78701": a capitalised town, a comma, a state code (not MA). Codes that are
#: English words (IN, OR, OK, ME, HI, OH, DE, AL, LA) count only before a ZIP code ("Parking, IN the crosswalk")
_WORD_CODES = ("IN", "OR", "OK", "ME", "HI", "OH", "DE", "AL", "LA", "ID")
_STATE_CODE_RE = re.compile(r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)?), (?:("
                            + "|".join(sorted((set(_STATES.values()) | {"DC"}) - set(_WORD_CODES)))
                            + r")\b(?![ '’]?[A-Za-z])|(" + "|".join(_WORD_CODES) + r") \d{5}\b)")
_NOT_TOWNS = frozenset({"not", "parking", "is", "it", "yes", "no", "hi", "please", "thanks", "thank", "ok"})
#: words after a city's name that make it the city, not a street ("Cambridge City Hall", "Boston Police")
_CITY_OWN = (r"(?:city\s+hall|public\s+(?:library|works|schools?)|dpw|police|fire\s+dep\w*|311|"
             r"city\s+council|residents?)\b")
#: Washington, D.C.: "in DC", "D.C.", "Washington DC"
_STATE_HINT_RE = re.compile(r", [A-Z][A-Z]\b")
_DC_RE = re.compile(r"\b(?:in|at|of)\s+DC\b|\bD\.C\.|\bWashington,?\s+DC\b|,\s*DC\b")
_STATE_NAME_RE = re.compile(r"\b(?:in|,)\s+(" + "|".join(sorted(_STATES, key=len, reverse=True)) + r")\b", re.I)


def _tokens(text: str) -> list[str]:
    return [t.replace("'", "").replace("’", "").replace(".", "") for t in _TOKEN_RE.findall(text.lower())]


class Routed(NamedTuple):
    """Where a post goes: its location (as read by that city's gazetteer), the pack id (None: no configured
    city) and, when a place was recognised that no pack holds, why (``"elsewhere: ..."``). Immutable."""

    location: Location | None
    jurisdiction: str | None
    reason: str | None = None


def _phrases(trie: dict, prefix: tuple = ()):
    """Every name of a finder's trie, with its entries."""
    for k, v in trie.items():
        if k == _END:
            yield prefix, v
        else:
            yield from _phrases(v, (*prefix, k))


def _evidence(e) -> bool:
    return bool(e.streets or e.bare or e.places or e.hoods)


def _lookup(trie: dict, phrase) -> object | None:
    node = trie
    for t in phrase:
        node = node.get(t)
        if node is None:
            return None
    return node.get(_END)


#: words too common to file a phrase under (the phrase's rarest-looking word is used)
_COMMON = frozenset(_BARE_STOP | set(STREET_TYPES) | _PLACE_WORDS | {
    "saint", "str", "stret", "aven", "avn", "av", "parking", "garage", "lot", "commercial", "building", "public",
    "private", "space", "neighborhood", "through", "state", "boston", "gray", "dodge", "gold", "red", "white", "black"})


class _Cues:
    """Phrases (token sequences), each with a bit mask; :meth:`mask` ORs the masks of those in a post's tokens.
    Each phrase is filed under its longest word: one set intersection (in C) tells most posts apart, those
    that hold none of the words; only a post holding some is looked at phrase by phrase."""

    __slots__ = ("by_key", "keys")

    def __init__(self, phrases) -> None:
        by_key: dict[str, dict[tuple[str, ...], int]] = {}
        for ph, bit in phrases:
            ph = tuple(ph)
            if not ph:
                continue
            key = max(ph, key=lambda t: (t not in _COMMON, len(t)))   # "capen" of "capen street"
            d = by_key.setdefault(key, {})
            d[ph] = d.get(ph, 0) | bit
        self.by_key = {k: tuple((list(ph), bit) for ph, bit in v.items()) for k, v in by_key.items()}
        self.keys = frozenset(self.by_key)

    def mask(self, toks: list[str]) -> int:
        if self.keys.isdisjoint(toks):
            return 0
        hits = self.keys.intersection(toks)
        m = 0
        for key in hits:
            for ph, bit in self.by_key[key]:
                if m & bit == bit:
                    continue
                k = len(ph)
                if k == 1:
                    m |= bit
                    continue
                first = ph[0]
                i = -1
                while True:   # each place where its first word is (list.index: in C)
                    try:
                        i = toks.index(first, i + 1)
                    except ValueError:
                        break
                    if toks[i:i + k] == ph:
                        m |= bit
                        break
        return m


_FOREIGN, _STATE, _NAMED = 1, 2, 4


def _city_bit(i: int) -> int:
    return 8 << i


class _City:
    __slots__ = ("id", "name", "finder", "boundary", "contains", "name_re", "lower_names")

    def __init__(self, jid: str, name: str, finder: LocationFinder, boundary: dict, city_names) -> None:
        import shapely
        from shapely.geometry import shape
        self.id, self.name, self.finder = jid, name, finder
        geom = shape(boundary).buffer(0.0003)   # about 30 m: a phone fix on the border street
        shapely.prepare(geom)
        self.boundary = geom
        self.contains = lambda lat, lon: bool(shapely.contains_xy(geom, lon, lat))
        # "in Cambridge", "#Cambridge", "City of Cambridge", "Cambridge, MA", "Broadway, Cambridge": not a bare "Cambridge" (a street
        # of that name runs through Boston: "Cambridge and New Sudbury")
        names = "|".join(re.escape(n) for n in city_names)
        self.name_re = re.compile(r"(?:\b(?:in|from)\s+|\bcity\s+of\s+|#)(?:" + names + r")\b" + _STREET_AFTER
                                  + r"|\b(?:" + names + r"),?\s+(?:ma|mass|massachusetts)\b"
                                  + r"|\b(?:" + names + r")\s+" + _CITY_OWN    # "Cambridge City Hall", "Cambridge DPW"
                                  + r"|,\s*(?:" + names + r")\s*(?:$|[.,;:!?)])", re.I)   # "Broadway, Cambridge."
        self.lower_names = tuple(n.lower() for n in city_names)

    def named(self, text: str, low: str) -> bool:
        """Whether the post names this city ("in Cambridge", "Cambridge, MA", "Cambridge City Hall")."""
        return any(n in low for n in self.lower_names) and self.name_re.search(text) is not None


class JurisdictionRouter:
    """Reads the location of a post with every active pack's gazetteer and picks the city (see module doc)."""

    _default: "JurisdictionRouter | None" = None
    _lock = threading.Lock()

    def __init__(self, cities: list[_City], default: str | None, nearby: list | None = None) -> None:
        self.cities = cities
        #: ``(name, lat, lon)`` of towns around the packs (their ``nearby.json``): names an outside point
        self.nearby = list(nearby or ())
        self.by_id = {c.id: c for c in cities}
        self.default_id = default or None
        # what the cheap pass looks for: places outside every pack, US state names, and for each pack but the
        # default the names it holds and the default city's gazetteer does not (what makes that pack worth
        # reading once the default city's finder has read the post; "the X" is known as "X" too)
        d = self.by_id.get(self.default_id or "")
        # (a name some pack holds, "Back Bay" in Cambridge's list of other places, is never reported elsewhere)
        cues: list[tuple[tuple[str, ...], int]] = [
            (ph, _FOREIGN) for c in cities for p in (*c.finder.gaz.other_cities, *c.finder.gaz.foreign)
            if p and not any((e := _lookup(o.finder._trie, ph := tuple(p.split()))) is not None
                             and (e.streets or e.places or e.hoods) for o in cities)]
        cues += [(tuple(n.split()), _STATE) for n in _STATES]
        cues += [(tuple(_tokens(n)), _NAMED) for c in cities for n in c.lower_names]   # then its regex decides
        if d is not None:
            for i, c in enumerate(cities):
                if c is not d:
                    # (not names made of common words only, "Front St", "Park Ave": one such street name alone
                    # stays the default city's anyway, rule 4)
                    cues += [(ph, _city_bit(i)) for ph, e in _phrases(c.finder._trie)
                             if _evidence(e) and not _COMMON.issuperset(ph)
                             and not (ph[0] == "the" and (x := _lookup(c.finder._trie, ph[1:])) is not None
                                      and _evidence(x))
                             and not ((de := _lookup(d.finder._trie, ph)) is not None and _evidence(de))]
        self._cues = _Cues(cues)
        self._other_bits = sum(_city_bit(i) for i, c in enumerate(cities) if c is not d) if d is not None else 0

    @classmethod
    def from_packs(cls, packs, default: str | None) -> "JurisdictionRouter":
        cities, nearby = [], []
        for p in packs:
            np_ = p.path("nearby")
            if np_ is not None and np_.exists():
                import json
                nearby += [tuple(r) for r in json.loads(np_.read_text(encoding="utf-8"))]
            # the shipped Boston gazetteer is the process's default finder: loaded once, shared
            finder = (LocationFinder.default() if p.gazetteer_path.resolve() == DEFAULT_PATH.resolve()
                      else LocationFinder(Gazetteer.load(p.gazetteer_path)))
            cities.append(_City(p.id, p.name, finder, p.boundary(), p.city_names))
        inside = [n for n in nearby if any(c.contains(n[1], n[2]) for c in cities)]
        return cls(cities, default, [n for n in nearby if n not in inside])

    @classmethod
    def from_settings(cls, settings) -> "JurisdictionRouter":
        from civic_signal.config.jurisdictions import active_packs
        return cls.from_packs(active_packs(settings), settings.routing.default)

    @classmethod
    def default(cls) -> "JurisdictionRouter":
        """The router over the packs the process's settings activate, built once per process."""
        if cls._default is None:
            with cls._lock:
                if cls._default is None:
                    from civic_signal.config.settings import load_settings
                    cls._default = cls.from_settings(load_settings())
        return cls._default

    # -- routing ---------------------------------------------------------------------------------
    def city_at(self, lat: float, lon: float) -> str | None:
        """The pack whose boundary holds the point (the first in pack order), else None."""
        for c in self.cities:
            if c.contains(lat, lon):
                return c.id
        return None

    def find(self, text: str, coordinates: Coordinates | None = None) -> Routed:
        try:
            return self._find(text or "", coordinates)
        except Exception:  # noqa: BLE001 - routing is optional per post; one odd post must not stop a batch
            return Routed(None, self.default_id)

    def _outside(self, lat: float, lon: float) -> str:
        from civic_signal.classifiers.location.gazetteer import distance_m
        names = " and ".join(c.name for c in self.cities)
        near = min(((distance_m(lat, lon, la, lo), n) for n, la, lo in self.nearby), default=None)
        where = f"near {near[1]}, " if near is not None and near[0] <= 4000 else ""
        return f"{ELSEWHERE}{where}the point {lat:.5f},{lon:.5f} is outside {names}"

    def _find(self, text: str, coords: Coordinates | None) -> Routed:
        if coords is not None:
            jid = self.city_at(coords.lat, coords.lon)
            if jid is None:
                return Routed(self.cities[0].finder.find(text, coords) if self.cities else None, None,
                              self._outside(coords.lat, coords.lon))
            return Routed(self.by_id[jid].finder.find(text, coords), jid)
        if ", " in text and _STATE_HINT_RE.search(text):
            state = _STATE_CODE_RE.search(text)
            if state and state.group(1).lower() not in _NOT_TOWNS:
                return Routed(None, None, f"{ELSEWHERE}{state.group(1)}, {state.group(2) or state.group(3)}")
        if "DC" in text or "D.C" in text:
            dc = _DC_RE.search(text)
            if dc:
                return Routed(None, None, f"{ELSEWHERE}Washington, DC")
        d = self.by_id.get(self.default_id or "")
        # the default city's finder reads the post first (most posts are its own); another pack's finder reads
        # it only when the post gives that pack a chance: its city named, a name only it holds, or two names
        # or more the default city shares with it (one shared name alone stays the default city's, rule 4)
        toks: list[str] = []
        reads: dict[str, tuple[Location | None, list]] = {}
        mask = -1
        if d is not None:
            loc, toks, ms = d.finder.reading(text)
            if loc is not None and loc.kind == LocationKind.COORDINATES:   # coordinates written in the text
                return self._written_point(text, loc)
            mask = self._cues.mask(toks) if toks else 0
            named = self._named(text) if mask & _NAMED else []
            if not named and not mask & self._other_bits and len(ms) < 2 and not (ms and ms[0].e.foreign):
                if loc is not None or not mask:   # the default city's answer stands
                    return Routed(loc, d.id)
            reads[d.id] = (loc, ms)
            run = [c for i, c in enumerate(self.cities) if c is not d and (
                c in named or mask & _city_bit(i) or self._shares(c, toks, ms))]
            if not run and not named and (loc is not None or not mask):
                return Routed(loc, d.id)
        else:
            toks = _tokens(_NOISE_FREE(text))
            mask = self._cues.mask(toks)
            named = self._named(text) if mask & _NAMED else []
            run = list(self.cities)
        for c in run:
            loc, _, ms = c.finder.reading(text)
            if loc is not None and loc.kind == LocationKind.COORDINATES:
                return self._written_point(text, loc)
            reads[c.id] = (loc, ms)
        found: list[tuple[tuple, int, _City, Location]] = []
        capital = _capitals(text)
        # a name read by one city inside a longer name another city holds is not the name the post wrote
        # ("North Harvard St": Boston's; Cambridge has only a Harvard St)
        spans = [(m.start, m.end) for _, ms in reads.values() if ms for m in ms if _evidence(m.e)]
        for i, c in enumerate(self.cities):
            loc, ms = reads.get(c.id, (None, None))
            if loc is None:
                continue
            if len(reads) > 1:
                ms = [m for m in ms if not any(a <= m.start and m.end <= b and b - a > m.end - m.start
                                               for a, b in spans)]
            sup = self._support(c, toks, ms, loc, capital)
            rank = _RANK[loc.kind]
            if loc.kind == LocationKind.PLACE and any(m.e.streets for m in ms):
                rank = 1.5   # a place, and a street of this city named too but not near it: the names do not meet here
            # with two names or more, the city where they lie near each other ("Harvard St near Central Sq": 300 m
            # apart in Cambridge, 8 km in Boston), then the more specific answer; with one name only ("City
            # Hall", "Charles St"), the kind of answer says nothing about the city
            near = self._near_pairs(c, toks, ms, capital) if sup >= 2 else 0
            found.append(((sup, near, rank if sup >= 2 else 0, c.id == self.default_id, rank, loc.score,
                           -(loc.radius_m or 0.0)), -i, c, loc))
        if len(named) == 1:
            mine = [f for f in found if f[2] is named[0]]
            if mine:
                return Routed(mine[0][3], named[0].id)
            if not found:
                return Routed(None, named[0].id)
        if found:
            best = max(found, key=lambda f: (f[0], f[1]))
            d_ms = reads.get(self.default_id or "", (None, None))[1]
            if best[2].id != self.default_id and best[0][0] < 2 and not self._has_area(best[2], toks, text) and not (
                    d_ms is not None and not any(_evidence(m.e) or m.e.foreign for m in d_ms)
                    and best[3].kind in (LocationKind.STREET, LocationKind.ADDRESS)
                    and any(m.e.streets for m in reads[best[2].id][1])):
                # (a street only another city has, in a post naming nothing the default city holds, is that city's:
                # "Cardinal Medeiros Ave"; the condition above)
                # one street name alone is no evidence against the default city, where most posts are from: the
                # default's answer, or none (the post stays the default city's) unless it names a place no pack
                # holds ("Washington St by Brookline Village")
                mine = [f for f in found if f[2].id == self.default_id]
                if mine:
                    return Routed(mine[0][3], self.default_id)
                d_ms = reads.get(self.default_id or "", (None, None))[1]
                elsewhere = self._elsewhere(toks, mask) if d_ms is None or self._support(
                    self.by_id[self.default_id], toks, d_ms, None, capital) <= best[0][0] else None
                if elsewhere:   # (unless the default city holds more of the post's names: "Parker St ... from Somerville")
                    return Routed(None, None, f"{ELSEWHERE}{elsewhere} (no jurisdiction pack)")
                return Routed(None, self.default_id)
            return Routed(best[3], best[2].id)
        if len(named) >= 1:
            return Routed(None, named[0].id)
        if mask & _STATE:
            state = _STATE_NAME_RE.search(text)   # "in Texas": only when no city of ours is named or found
            if state:
                return Routed(None, None, f"{ELSEWHERE}{state.group(1)}")
        elsewhere = self._elsewhere(toks, mask)
        if elsewhere:
            return Routed(None, None, f"{ELSEWHERE}{elsewhere} (no jurisdiction pack)")
        return Routed(None, self.default_id)

    def _named(self, text: str) -> list[_City]:
        low = text.lower()
        return [c for c in self.cities if c.named(text, low)]

    @staticmethod
    def _shares(c: _City, toks: list[str], ms) -> bool:
        """Whether the default city's names in the post give city ``c`` a chance: two of them or more that ``c``
        holds too, or one the default city knows as another city's ("Harvard Square"). A name without its
        street type ("Hampshire") counts only beside another name with a joining word between ("Prospect and
        Hampshire", "between Columbus and Tremont"): alone it is a word ("white", "may") to both finders."""
        n = 0
        for k, m in enumerate(ms):
            e0 = m.e
            e = _lookup(c.finder._trie, toks[m.start:m.end])
            if e is None or not _evidence(e):
                continue
            if not (e0.streets or e0.places or e0.hoods or e0.foreign or e.streets or e.hoods
                    or any(not w for _, w in e.places)):   # ("Riverside": a bare name here, a neighbourhood there)
                if not e0.bare or not (
                        (k and not _JOINERS.isdisjoint(toks[ms[k - 1].end:m.start]) and m.start - ms[k - 1].end <= 3)
                        or (k + 1 < len(ms) and not _JOINERS.isdisjoint(toks[m.end:ms[k + 1].start])
                            and ms[k + 1].start - m.end <= 3)
                        or (m.start and toks[m.start - 1] in _STREET_CUES)):
                    continue
            if e0.foreign:
                return True
            n += 1
        return n >= 2

    def _written_point(self, text: str, loc: Location) -> Routed:
        jid = self.city_at(loc.lat, loc.lon)
        if jid is None:
            return Routed(loc, None, self._outside(loc.lat, loc.lon))
        return Routed(self.by_id[jid].finder.find(text), jid)

    @staticmethod
    def _near_pairs(city: _City, toks: list[str], matches, capital: frozenset[str], within_m: float = 500.0) -> int:
        """How many pairs of the post's names lie within ``within_m`` of each other in the city (streets written
        with their type, places; a one-word place as in :meth:`_support`)."""
        gaz = city.finder.gaz
        things = []
        for m in matches:
            e = m.e
            pts = [(gaz.places[pi].lat, gaz.places[pi].lon) for pi, weak in e.places[:4]
                   if not weak or (_capital(toks, m, capital) and city.finder._place_evidence(toks, m))]
            sids = list(e.streets[:4])
            if pts or sids:
                things.append((sids, pts))
        n = 0
        for a in range(min(len(things), 5)):
            for b in range(a + 1, min(len(things), 5)):
                (sa, pa), (sb, pb) = things[a], things[b]
                d = min([math.sqrt(gaz._closest(x, y)[0]) * 111_000 for x in sa for y in sb
                         if x != y and gaz.has_points(x) and gaz.has_points(y)]
                        + [gaz.distance_to_street(x, la, lo) for x in sa for la, lo in pb]
                        + [gaz.distance_to_street(y, la, lo) for y in sb for la, lo in pa]
                        + [distance_m(la, lo, lb, ob) for la, lo in pa for lb, ob in pb], default=math.inf)
                n += d <= within_m
        return n

    @staticmethod
    def _support(city: _City, toks: list[str], matches=None, loc: Location | None = None,
                 capital: frozenset[str] = frozenset()) -> int:
        """How many names in the post the city holds: streets written with their type, neighbourhoods and
        places of two words or more ("Mass Ave" + "Central Square": 2 in Cambridge; "Memorial Drive" +
        "Weeks footbridge": 2 in Cambridge, 1 in Boston), a one-word place written with a capital where a
        place is meant ("by MIT", "near Inman", "by the Kendall T"), less the names it knows as another city's.
        Two streets that meet in the city (its answer is their intersection) are two names."""
        n = 0
        ms = city.finder._scan(toks) if matches is None else matches
        gaz = city.finder.gaz
        sids = [si for m in ms for si in m.e.streets[:4]]
        for m in ms:
            e = m.e
            if e.streets or any(not weak for _, weak in e.hoods) or any(not weak for _, weak in e.places):
                n += 1
            elif (e.places or e.hoods) and _capital(toks, m, capital) and city.finder._place_evidence(toks, m):
                # a one-word place counts near a street the post names ("Vassar St by MIT"), or alone ("near
                # Inman"); not a kilometre from it ("219 Western Ave ... by Harvard"): such a word is often
                # something else (a street, an owner) in the other city
                if not sids or any(gaz.distance_to_street(si, gaz.places[pi].lat, gaz.places[pi].lon) <= 500
                                   for si in sids[:8] for pi, _ in e.places[:4]):
                    n += 1
            elif e.foreign and not (e.places or e.hoods or e.bare):
                n -= 1
        if loc is not None:   # names that meet in the city: an intersection is two, a block between two crossings three
            if loc.kind == LocationKind.INTERSECTION and not _BETWEEN_RE.search(loc.text):
                n = max(n, 2)
            elif loc.kind == LocationKind.STREET and " between " in (loc.address or ""):
                n = max(n, 3)
        return n

    @staticmethod
    def _has_area(city: _City, toks: list[str], text: str) -> bool:
        """Whether the post names one of the city's neighbourhoods or places (of two words or more, or of
        one word written with a capital: "near Inman", "across from MIT")."""
        capital = {t.lower() for t in re.findall(r"\b[A-Z][A-Za-z]+", text)}
        for m in city.finder._scan(toks):
            if m.e.streets:
                continue
            one = m.end - m.start == 1 and toks[m.start] in capital
            if any(not w or one for _, w in m.e.hoods) or any(not w or one for _, w in m.e.places):
                return True
        return False

    def _elsewhere(self, toks: list[str], mask: int = -1) -> str | None:
        """The first place name in the post (its tokens) that some finder knows as outside its city and no pack
        holds (``mask``: the cues of the post, when known)."""
        if mask == -1:
            mask = self._cues.mask(toks)
        if not mask & _FOREIGN:
            return None
        own: set[str] = {n for c in self.cities for n in c.lower_names}   # a pack's own city is not elsewhere
        foreign: list[tuple[int, str]] = []
        for c in self.cities:
            for m in c.finder._scan(toks):
                phrase = " ".join(toks[m.start:m.end])
                if m.e.places or m.e.hoods or m.e.streets:
                    own.add(phrase)
                elif m.e.foreign:
                    foreign.append((m.start, phrase))
        for _, phrase in sorted(foreign):
            if phrase not in own:
                return phrase.title()
        return None


def _capitals(text: str) -> frozenset[str]:
    """The words of the post written with a capital, lower-cased."""
    return frozenset(t.lower() for t in _CAPITAL_RE.findall(text))


_BETWEEN_RE = re.compile(r"\b(?:between|btwn|btw|from)\b", re.I)
_CAPITAL_RE = re.compile(r"\b[A-Z][A-Za-z]+")


def _capital(toks: list[str], m, capital: frozenset[str]) -> bool:
    """Whether the name is written with a capital ("the Kendall T": its word after "the")."""
    if m.cap:
        return True
    return toks[m.start] == "the" and m.end - m.start > 1 and toks[m.start + 1] in capital


def _NOISE_FREE(text: str) -> str:
    """The text as the finders read it: user names and links blanked."""
    from civic_signal.classifiers.location.finder import _NOISE_RE
    return _NOISE_RE.sub(" ", text) if ("@" in text or "http" in text) else text
