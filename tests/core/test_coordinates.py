"""Malformed coordinates lose nothing (issue 15): dropped with a warning, the post is kept."""

from __future__ import annotations

import json
import math

import pytest

from civic_signal.core.models import PRECISE_RADIUS_M, Coordinates, Location, LocationKind, Post
from civic_signal.listener.bus.envelope import decode, encode
from civic_signal.listener.sources.datasift import parse_datasift
from civic_signal.listener.sources.formats import parse_post_json, parse_x_v2

BAD = [("north", -71.1), (math.nan, -71.1), (999, 999), (42.3, None), (True, -71.1), (42.3, math.inf)]


@pytest.mark.parametrize("lat, lon", BAD)
def test_checked_drops_bad_coordinates_with_a_warning(lat, lon):
    coords, warning = Coordinates.checked(lat, lon)
    assert coords is None and warning.startswith("coordinates dropped")


def test_checked_keeps_good_ones_and_numeric_text():
    assert Coordinates.checked(42.35, -71.06) == (Coordinates(lat=42.35, lon=-71.06), None)
    assert Coordinates.checked("42.35", " -71.06") == (Coordinates(lat=42.35, lon=-71.06), None)
    assert Coordinates.checked(None, None) == (None, None)


def _post(**kw):
    return dict(id="replay:1", source="replay", text="pothole outside 25 Sheridan St", created_at="2026-11-20T12:00:00Z", **kw)


@pytest.mark.parametrize("coords", [{"lat": "north", "lon": -71.1}, {"lat": 999, "lon": 0}, "north", [1, 2]])
def test_a_post_with_bad_coordinates_is_kept(coords):
    p = Post.model_validate(_post(coordinates=coords))
    assert p.coordinates is None and p.text and p.warnings and "coordinates dropped" in p.warnings[0]


def test_replay_line_with_bad_coordinates_is_kept():
    p = parse_post_json(_post(coordinates={"lat": float("nan"), "lon": -71.1}))
    assert p.coordinates is None and p.warnings


def test_kafka_envelope_with_bad_coordinates_is_kept():
    good = Post.model_validate(_post())
    raw = json.loads(encode(good))
    assert "warnings" not in raw["data"]            # the wire format is unchanged without warnings
    raw["data"]["coordinates"] = {"lat": 999, "lon": 999}
    p = decode(json.dumps(raw).encode(), Post)
    assert p.coordinates is None and p.warnings and p.text == good.text


def test_x_v2_line_with_bad_coordinates_is_kept_with_a_warning():
    obj = {"data": {"id": "77", "text": "pothole at 25 Sheridan St", "created_at": "2026-11-20T12:00:00.000Z",
                    "geo": {"coordinates": {"type": "Point", "coordinates": ["north", 42.3]}}}}
    p = parse_x_v2(obj)
    assert p.coordinates is None and p.warnings and p.raw["data"]["geo"]


def test_datasift_interaction_with_bad_coordinates_is_kept_with_a_warning():
    obj = {"data": {"interaction": {"id": "1e3a", "type": "twitter", "content": "Streetlight out on Centre St",
                                    "created_at": "Fri, 20 Nov 2026 12:00:00 +0000",
                                    "geo": {"latitude": 999, "longitude": -71.11}}}}
    p = parse_datasift(obj)
    assert p.coordinates is None and p.warnings


def test_an_imprecise_location_has_no_point():
    loc = Location(text="Tremont St", kind=LocationKind.STREET, lat=42.35, lon=-71.06, radius_m=PRECISE_RADIUS_M + 1)
    assert loc.lat is None and loc.lon is None and loc.text == "Tremont St" and not loc.precise
    loc = Location(text="25 Sheridan St", kind=LocationKind.ADDRESS, lat=42.32, lon=-71.1, radius_m=30)
    assert loc.lat == 42.32 and loc.precise
