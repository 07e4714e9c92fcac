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
