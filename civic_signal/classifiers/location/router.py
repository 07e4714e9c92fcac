"""Which city a post is about: one location finder per jurisdiction pack, and the rules that pick one.

Rules, in order:

1. Coordinates attached to the post (or written in it) decide alone: the pack whose boundary holds the
   point (within 30 m), else no configured city.
2. A state other than Massachusetts ("Portland, OR", "in Texas") -> no configured city.
3. Each pack's finder reads the text (a finder gives up on a post naming a place outside its city with
   none of its own neighbourhoods, e.g. "Broadway in Somerville"). A post naming a pack's city ("in
   Cambridge", "#Boston", but not "Cambridge St") keeps that city's answer when it has one.
4. Several answers (a street whose name exists in several cities, "Mass Ave", "River St"): the city
   holding more of the post's names wins (streets with their type, neighbourhoods, places; see
   :meth:`JurisdictionRouter._support`). With two names or more, the more specific answer wins (address >
   intersection > place > street > neighbourhood: "Mass Ave near Central Square" is an intersection in
   Cambridge, a 1 km stretch in Boston); with one name only ("Charles St", "City Hall", "1200 Mass Ave")
   the default city (``routing.default``) wins, as before packs; then the score, then the pack order.
   A single street name only another city has ("17 Hazel St") stays with the default city (no location)
   unless a neighbourhood or place of that city is named too.
5. No answer: a place name no pack holds ("Somerville", "Quincy") -> no configured city, with the reason
   naming it; nothing at all -> ``routing.default`` (most posts name no place; they go where they
   always went).

What callers may rely on: :meth:`JurisdictionRouter.find` never raises and returns a :class:`Routed`;
``jurisdiction`` is a pack id or ``None``, and ``reason`` is set exactly when a place was recognised
but no pack holds it (``"elsewhere: ..."``).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from civic_signal.classifiers.location.finder import _TOKEN_RE, LocationFinder
from civic_signal.classifiers.location.gazetteer import DEFAULT_PATH, Gazetteer
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
_STATE_NAME_RE = re.compile(r"\b(?:in|,)\s+(" + "|".join(sorted(_STATES, key=len, reverse=True)) + r")\b", re.I)


def _tokens(text: str) -> list[str]:
    return [t.replace("'", "").replace("’", "").replace(".", "") for t in _TOKEN_RE.findall(text.lower())]


@dataclass(frozen=True, slots=True)
class Routed:
    location: Location | None
    jurisdiction: str | None
    reason: str | None = None


class _City:
    __slots__ = ("id", "name", "finder", "boundary", "contains", "name_re")

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
                                  + r"|,\s*(?:" + names + r")\s*(?:$|[.,;:!?)])", re.I)   # "Broadway, Cambridge."


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
        self._foreign_first: frozenset[str] | None = None

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
        state = _STATE_CODE_RE.search(text)
        if state and state.group(1).lower() not in _NOT_TOWNS:
            return Routed(None, None, f"{ELSEWHERE}{state.group(1)}, {state.group(2) or state.group(3)}")
        found: list[tuple[tuple, int, _City, Location]] = []
        toks: list[str] | None = None
        hits = []
        for i, c in enumerate(self.cities):
            loc = c.finder.find(text)
            if loc is None:
                continue
            if loc.kind == LocationKind.COORDINATES:  # coordinates written in the text
                jid = self.city_at(loc.lat, loc.lon)
                if jid is None:
                    return Routed(loc, None, self._outside(loc.lat, loc.lon))
                return Routed(self.by_id[jid].finder.find(text), jid)
            hits.append((i, c, loc))
        if len(hits) > 1 or (hits and hits[0][1].id != self.default_id):
            toks = _tokens(text)   # the support of each answer (only needed when a city other than the default answers)
        for i, c, loc in hits:
            sup, rank = (self._support(c, toks), _RANK[loc.kind]) if toks is not None else (1, _RANK[loc.kind])
            # with one name only ("City Hall", "Charles St"), the kind of answer says nothing about the city
            found.append(((sup, rank if sup >= 2 else 0, c.id == self.default_id, rank, loc.score,
                           -(loc.radius_m or 0.0)), -i, c, loc))
        named = [c for c in self.cities if c.name_re.search(text)]
        if len(named) == 1:
            mine = [f for f in found if f[2] is named[0]]
            if mine:
                return Routed(mine[0][3], named[0].id)
            if not found:
                return Routed(None, named[0].id)
        if found:
            best = max(found, key=lambda f: (f[0], f[1]))
            if best[2].id != self.default_id and best[0][0] < 2 and not self._has_area(best[2], toks, text):
                # one street name alone ("17 Hazel St") is no evidence against the default city, where most
                # posts are from: the default's answer, or none (the post stays the default city's)
                mine = [f for f in found if f[2].id == self.default_id]
                return Routed(mine[0][3] if mine else None, self.default_id)
            return Routed(best[3], best[2].id)
        if len(named) >= 1:
            return Routed(None, named[0].id)
        state = _STATE_NAME_RE.search(text)   # "in Texas": only when no city of ours is named or found
        if state:
            return Routed(None, None, f"{ELSEWHERE}{state.group(1)}")
        elsewhere = self._elsewhere(text)
        if elsewhere:
            return Routed(None, None, f"{ELSEWHERE}{elsewhere} (no jurisdiction pack)")
        return Routed(None, self.default_id)

    @staticmethod
    def _support(city: _City, toks: list[str]) -> int:
        """How many names in the post the city holds: streets written with their type, neighbourhoods and
        places of two words or more ("Mass Ave" + "Central Square": 2 in Cambridge; "Memorial Drive" +
        "Weeks footbridge": 2 in Cambridge, 1 in Boston), less the names it knows as another city's."""
        n = 0
        for m in city.finder._scan(toks):
            e = m.e
            if e.streets or any(not weak for _, weak in e.hoods) or any(not weak for _, weak in e.places):
                n += 1
            elif e.foreign and not (e.places or e.hoods or e.bare):
                n -= 1
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

    def _elsewhere(self, text: str) -> str | None:
        """The first place name in the text that some finder knows as outside its city and no pack holds."""
        toks = _tokens(text)
        first = self._foreign_first
        if first is None:
            first = self._foreign_first = frozenset(p.split()[0] for c in self.cities
                                                    for p in (*c.finder.gaz.other_cities, *c.finder.gaz.foreign) if p)
        if first.isdisjoint(toks):
            return None
        own: set[str] = set()
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
