"""Routing posts to their city: look-alike streets on both sides of the border, posts with coordinates,
places with no pack (all posts written for these tests)."""

import json
from pathlib import Path

import pytest

from civic_signal.classifiers.location.router import ELSEWHERE, JurisdictionRouter
from civic_signal.config.jurisdictions import available_packs
from civic_signal.core.models import Coordinates, LocationKind

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def router():
    packs = available_packs()
    return JurisdictionRouter.from_packs([packs["boston"], packs["cambridge"]], "boston")


@pytest.mark.parametrize("text, city, hood", [
    # one street name, two cities: the context decides
    ("Pothole on Mass Ave near Central Square", "cambridge", "Cambridgeport"),
    ("Pothole on Mass Ave in Roxbury near Melnea Cass", "boston", "Roxbury"),
    ("Clogged drain at River St and Western Ave", "cambridge", "Riverside"),
    ("Sinkhole on River St in Hyde Park", "boston", "Hyde Park"),
    ("Light out at Harvard St and Prospect St", "cambridge", "The Port"),
    ("Tree down on Harvard St in Dorchester", "boston", "Dorchester"),
    ("Pothole on Cambridge St in East Cambridge", "cambridge", "East Cambridge"),
    ("Pothole on Cambridge St in Allston", "boston", "Allston"),
    ("Broken sidewalk on Broadway near Kendall Square", "cambridge", None),
    ("Broken sidewalk on Broadway in Southie", "boston", "South Boston"),
    ("Trash on Main St in Charlestown", "boston", "Charlestown"),
    ("Prospect St pothole in Cambridgeport", "cambridge", "Cambridgeport"),
    ("Graffiti all over Porter Square", "cambridge", None),
    # a bare look-alike with no context stays with the default city, as before packs
    ("Street light out on Charles St for a week now", "boston", None),
])
def test_look_alike_streets_go_to_the_city_their_context_names(router, text, city, hood):
    got = router.find(text)
    assert got.jurisdiction == city, got
    assert got.location is not None and got.reason is None
    if hood:
        assert got.location.neighborhood == hood, got.location


@pytest.mark.parametrize("lat, lon, city", [
    (42.37350, -71.11898, "cambridge"),   # Harvard Square
    (42.36250, -71.08650, "cambridge"),   # Kendall
    (42.34000, -71.08000, "boston"),      # South End
    (42.38700, -71.09600, None),          # Somerville (Union Square)
    (40.71280, -74.00600, None),          # New York
])
def test_coordinates_decide_alone(router, lat, lon, city):
    got = router.find("Pothole on Mass Ave right here", Coordinates(lat=lat, lon=lon))
    assert got.jurisdiction == city
    assert got.location is not None and got.location.kind == LocationKind.COORDINATES
    if city is None:
        assert got.reason.startswith(ELSEWHERE) and f"{lat:.5f}" in got.reason
        assert ("near Somerville" in got.reason) == (lat > 42)   # the town around the point, when one is near
    elif city == "cambridge":
        assert got.location.neighborhood is not None   # the neighbourhood of the city's own gazetteer


def test_coordinates_written_in_the_text_are_routed_by_the_boundary(router):
    assert router.find("pothole at 42.3736, -71.1190").jurisdiction == "cambridge"
    got = router.find("pothole at 42.3960, -71.1226")
    assert got.jurisdiction is None and got.reason.startswith(ELSEWHERE)


@pytest.mark.parametrize("text, place", [
    ("Pothole on Broadway in Somerville", "Somerville"),
    ("Trash everywhere in Quincy", "Quincy"),
    ("Pothole on Main St in Portland, OR", "Portland"),
    ("Pothole on Main St in Boise, ID 83702", "Boise, ID"),
    ("Streetlight out on Pine St, Seattle, WA", "Seattle"),
    ("Potholes on Congress Ave in Austin, Texas", "texas"),
])
def test_a_post_about_a_city_with_no_pack_names_it(router, text, place):
    got = router.find(text)
    assert got.jurisdiction is None and got.location is None
    assert got.reason.startswith(ELSEWHERE) and place.lower() in got.reason.lower()


@pytest.mark.parametrize("text", [
    "Parking IN the crosswalk at Prince and Hanover st, needs to be towed",   # IN is a word, not Indiana
    "Snow at the corner of Cambridge and New Sudbury in front of 1 Bulfinch Place",  # Cambridge St, Boston
    "The truck at 136 Marginal St is registered in Connecticut",               # a state named, a Boston place
])
def test_words_that_look_like_other_places_keep_boston_posts_in_boston(router, text):
    assert router.find(text).jurisdiction == "boston"


def test_a_post_naming_no_place_goes_to_the_default_city(router):
    assert router.find("the pothole on my street is back").jurisdiction == "boston"
    assert JurisdictionRouter(router.cities, None).find("the pothole on my street is back").jurisdiction is None


def test_naming_the_city_decides_between_look_alikes(router):
    assert router.find("Pothole on Elm St in Cambridge").jurisdiction == "cambridge"
    assert router.find("Pothole on Broadway, Cambridge").jurisdiction == "cambridge"
    assert router.find("Mass Ave pothole in Boston").jurisdiction == "boston"


def test_the_router_never_raises(router):
    for text in ("", "&&&", "42.", "\x00" * 5, "x" * 10000):
        assert router.find(text).jurisdiction in ("boston", None)


def test_held_out_written_posts_are_routed_right_95_percent(router):
    """The written held-out set (tests/classifiers/location/data/jurisdiction_heldout.jsonl), never tuned on."""
    rows = [json.loads(line) for line in (DATA / "jurisdiction_heldout.jsonl").read_text().splitlines() if line]
    right = 0
    for o in rows:
        c = Coordinates(lat=o["lat"], lon=o["lon"]) if "lat" in o else None
        right += router.find(o["text"], c).jurisdiction == o["jurisdiction"]
    assert right / len(rows) >= 0.94, (right, len(rows))
    boston = [o for o in rows if o["jurisdiction"] == "boston"]
    assert all(router.find(o["text"], Coordinates(lat=o["lat"], lon=o["lon"]) if "lat" in o else None).jurisdiction
               == "boston" for o in boston)   # Boston's posts keep going to Boston


# -- rules added for the second (blind) set's kind of posts; sentences written for these tests -------------------
@pytest.mark.parametrize("text, city", [
    # a one-word place of the city, written with a capital, near a street the post names
    ("Broken signal on Ames St right by MIT", "cambridge"),
    ("Sidewalk caved in on Main St outside the Kendall T", "cambridge"),
    # two names a few hundred metres apart in one city, kilometres apart in the other
    ("Overflowing bins on Norfolk St near Central Sq", "cambridge"),
    # the city's own office named ("Cambridge City Hall", "Boston Police")
    ("Cambridge Public Library lot is full of potholes", "cambridge"),
    # a longer street name only one city has: Boston's North Harvard St, not Cambridge's Harvard St
    ("Car blocking the hydrant on North Harvard St by the Harvard business school", "boston"),
    # a one-word place a kilometre from the named street is no evidence for its city
    ("Truck parked on 300 Western Ave again, the Harvard lot is empty", "boston"),
    # a street only another city has, written with its type, in a post naming nothing of the default city
    ("Streetlight out on Linnaean St", "cambridge"),
    # ... but not a word that is the bare name of such a street ("line" of Line St)
    ("the truck has been parked into the line of traffic for days", "boston"),
])
def test_context_words_pick_the_city(router, text, city):
    assert router.find(text).jurisdiction == city


@pytest.mark.parametrize("text, place", [
    ("Streetlight out on Connecticut Ave in DC", "DC"),
    ("Pothole on Harvard St by Brookline Village", "Brookline"),
])
def test_more_places_with_no_pack(router, text, place):
    got = router.find(text)
    assert got.jurisdiction is None and got.reason.startswith(ELSEWHERE) and place.lower() in got.reason.lower(), got


def test_the_other_packs_read_a_post_only_when_it_gives_them_a_chance(router):
    """Routing cost: the default city's finder reads every post; another pack's only when the post names its city,
    a name only it holds, two names it shares with the default city, or one the default knows as another city's."""
    cam = router.by_id["cambridge"]
    calls = []
    real = cam.finder.reading
    cam.finder.reading = lambda text: calls.append(text) or real(text)
    try:
        for text in ("Streetlight out on Blue Hill Ave for a week", "the pothole on my street is back",
                     "Street light out on Charles St for a week now", "Trash everywhere on Dot Ave"):
            router.find(text)
        assert calls == []
        for text in ("Pothole on Cardinal Medeiros Ave", "Pothole on Elm St in Cambridge",
                     "Pothole on Mass Ave near Central Square", "Graffiti by the Harvard Square T"):
            router.find(text)
        assert len(calls) == 4
    finally:
        cam.finder.reading = real


def test_the_second_written_set_is_routed_right_95_percent(router):
    """tests/classifiers/location/data/jurisdiction_blind.jsonl: written blind (86.0 % with the first router), its
    misses' general causes fixed since (docs/jurisdictions.md): a regression check now, not a held-out figure."""
    rows = [json.loads(line) for line in (DATA / "jurisdiction_blind.jsonl").read_text().splitlines() if line]
    got = [(o, router.find(o["text"], Coordinates(lat=o["lat"], lon=o["lon"]) if "lat" in o else None).jurisdiction)
           for o in rows]
    assert sum(j == o["jurisdiction"] for o, j in got) / len(rows) >= 0.95
    assert all(j == "boston" for o, j in got if o["jurisdiction"] == "boston")
    assert all(j == o["jurisdiction"] for o, j in got if "lat" in o)   # a post's own coordinates decide
