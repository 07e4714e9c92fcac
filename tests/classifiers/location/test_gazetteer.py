"""Gazetteer look-ups on a tiny hand-built gazetteer (no shipped data needed)."""

from __future__ import annotations

import gzip
import json

import pytest

from civic_signal.classifiers.location.gazetteer import FORMAT_VERSION, Gazetteer, distance_m
from civic_signal.config.errors import ConfigError

SQUARE = [[[-71.2, 42.2], [-71.0, 42.2], [-71.0, 42.4], [-71.2, 42.4], [-71.2, 42.2]]]


def tiny() -> dict:
    def e5(v):
        return int(round(v * 100000))
    return {
        "format": FORMAT_VERSION, "max_year": 2017,
        "hoods": [["Testville", e5(42.3), e5(-71.1), SQUARE], ["Otherside", e5(43.0), e5(-70.0), [[[-70.1, 42.9], [-69.9, 42.9], [-69.9, 43.1], [-70.1, 42.9]]]]],
        "streets": [["elm st", "Elm St", [0]], ["oak ave", "Oak Ave", [0]]],
        "points": {"0": [[10, e5(42.30), e5(-71.10), 0], [20, e5(42.31), e5(-71.10), 0], [11, e5(42.30), e5(-71.101), 0],
                         [30, e5(42.35), e5(-71.05), 1]]},
        "intersections": [[0, 1, e5(42.305), e5(-71.10), 0, 3]],
        "places": [], "foreign": [], "zips": [],
    }


def test_exact_address():
    g = Gazetteer(tiny())
    hit = g.address(0, 10)
    assert (hit.lat, hit.lon, hit.hood, hit.address) == (42.30, -71.10, "Testville", "10 Elm St")
    assert hit.score == 0.95


def test_interpolates_between_same_side_numbers():
    hit = Gazetteer(tiny()).address(0, 16)
    assert hit.score == 0.85
    assert hit.lat == pytest.approx(42.306)


def test_number_far_from_any_known_gives_none():
    assert Gazetteer(tiny()).address(0, 900) is None


def test_named_neighbourhood_picks_that_part_of_the_street():
    hit = Gazetteer(tiny()).address(0, 30, "Otherside")
    assert hit.hood == "Otherside" and hit.lat == 42.35


def test_intersection_from_records():
    hit, a, b = Gazetteer(tiny()).intersection([1], [0])
    assert (hit.lat, hit.lon) == (42.305, -71.10) and hit.address == "Oak Ave & Elm St"


def test_hood_at_point_in_polygon():
    g = Gazetteer(tiny())
    assert g.hood_at(42.3, -71.1) == "Testville"
    assert g.hood_at(40.0, -74.0) is None


def test_nearest_address():
    g = Gazetteer(tiny())
    assert g.nearest_address(42.30001, -71.10001) == "10 Elm St"
    assert g.nearest_address(42.39, -71.19) is None


def test_distance():
    assert distance_m(42.0, -71.0, 42.0, -71.0) == 0
    assert distance_m(42.0, -71.0, 42.001, -71.0) == pytest.approx(111.2, abs=0.5)


def test_missing_or_foreign_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="make gazetteer"):
        Gazetteer.load(tmp_path / "nope.json.gz")
    bad = tmp_path / "old.json.gz"
    bad.write_bytes(gzip.compress(json.dumps({"format": 0}).encode()))
    with pytest.raises(ConfigError, match="make gazetteer"):
        Gazetteer.load(bad)


def two_elms() -> dict:
    """One name, two streets: Elm St in Testville (numbers 1-60 by the City's ranges) and in
    Otherside (1-200), with a ZIP each; Open311 points on both."""
    def e5(v):
        return int(round(v * 100000))
    g = tiny()
    g["points"] = {"0": [[10, e5(42.30), e5(-71.10), 0, 1], [20, e5(42.31), e5(-71.10), 0, 1],
                         [100, e5(43.00), e5(-70.00), 1, 1], [140, e5(43.004), e5(-70.00), 1, 1]]}
    g["ranges"] = {"0": [[0, 1, 60], [1, 1, 200]]}
    g["street_zips"] = {"0": [[0, 2130], [1, 2128]]}
    return g


def test_segment_ranges_settle_which_same_name_street_holds_the_number():
    g = Gazetteer(two_elms())
    assert g.covers(0, "Testville", 30) is True and g.covers(0, "Otherside", 150) is True
    assert g.covers(0, "Testville", 150) is False
    assert g.covers(1, "Testville", 5) is None          # no ranges known: nothing filtered
    # 80 is near Testville's 20 (within 60 numbers) and between Otherside's 100 and 140? no: below them,
    # near 100. Both fit; only Otherside's ranges (1-200) hold 80, Testville's (1-60) do not: one answer
    hit = g.address(0, 80)
    assert hit.hood == "Otherside" and hit.radius < 300
    g2 = two_elms()
    del g2["ranges"]
    assert Gazetteer(g2).address(0, 80).hood == "Testville"   # without ranges: the first near fit, wrongly


def test_a_number_no_range_holds_is_not_placed_on_that_stretch():
    g = tiny()
    g["ranges"] = {"0": [[0, 1, 15], [1, 1, 40]]}
    # 30 on Elm St: near Testville's 20 and Otherside's 30; only Otherside's ranges (1-40) hold it
    hit = Gazetteer(g).address(0, 30)
    assert hit.hood == "Otherside" and hit.lat == 42.35


def test_a_written_zip_picks_the_street_of_that_zip():
    g = Gazetteer(two_elms())
    assert g.zip_hood(0, ["02128"]) == "Otherside"
    assert g.zip_hood(0, ["02130"]) == "Testville"
    assert g.zip_hood(0, ["02199"]) is None


def test_a_number_without_open311_points_near_lands_on_the_stretch_its_ranges_hold():
    def e5(v):
        return int(round(v * 100000))
    g = tiny()
    g["points"] = {"1": [[5, e5(42.30), e5(-71.10), 0, 1]]}
    g["lines"] = {"0": [[e5(42.3000), e5(-71.1000), 0], [e5(42.3005), e5(-71.1000), 0], [e5(42.3010), e5(-71.1000), 0]]}
    g["ranges"] = {"0": [[0, 1, 99]]}
    hit = Gazetteer(g).address(0, 40)
    assert hit is not None and hit.hood == "Testville" and hit.address == "40 Elm St"
    assert hit.radius < 300 and abs(hit.lat - 42.3005) < 0.0006
    assert Gazetteer(g).address(0, 400) is None         # beyond every range: not there


def test_street_extent_follows_where_reports_were_filed():
    def e5(v):
        return int(round(v * 100000))
    g = tiny()
    # a 2 km street: its line every ~110 m, and 150 records at its south end
    g["lines"] = {"0": [[e5(42.30 + i * 0.001), e5(-71.10), 0] for i in range(18)]}
    g["points"] = {"0": [[10, e5(42.3002), e5(-71.10), 0, 150]]}
    hit = Gazetteer(g).street(0)
    assert hit.lat < 42.302 and hit.radius < 300        # most reports are there: a point
    g["points"] = {"0": [[10, e5(42.3002), e5(-71.10), 0, 1]]}
    assert Gazetteer(g).street(0).radius > 300          # one report: the whole street, no point


def test_a_number_beyond_the_known_ones_is_placed_along_the_stretch_by_them():
    def e5(v):
        return int(round(v * 100000))
    g = tiny()
    # a straight street running north, numbers growing ~11 m each; Open311 knows 10, 20, 30 only
    g["points"] = {"0": [[n, e5(42.300 + n * 0.0001), e5(-71.10), 0, 1] for n in (10, 20, 30)]}
    g["lines"] = {"0": [[e5(42.300 + i * 0.001), e5(-71.10), 0] for i in range(16)]}
    g["ranges"] = {"0": [[0, 1, 150]]}
    hit = Gazetteer(g).address(0, 120)          # 90 numbers past the last known one
    assert hit.address == "120 Elm St" and abs(hit.lat - 42.312) < 0.0006 and hit.radius < 150
    g["ranges"] = {"0": [[0, 1, 100]]}
    assert Gazetteer(g).address(0, 120) is None  # the City's ranges stop at 100
