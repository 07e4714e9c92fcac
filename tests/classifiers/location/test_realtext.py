"""The real-text location check: what counts as a text naming its place (decided from the record, never
from the finder), the date split, and the scores by kind. Records here are written for the test."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from typer.testing import CliRunner

from civic_signal.classifiers.location.realtext import gold_kind, real_rows, render, score_real
from civic_signal.core.models import Location, LocationKind
from civic_signal.listener.cli import app


@pytest.mark.parametrize("text, address, kind", [
    ("car blocking driveway at 543 Talbot ave again", "543 Talbot Ave, Dorchester", "address"),
    ("trash at 180-182 Endicott St", "180 Endicott St, Boston", "address"),
    ("house on the corner of carruth and minot, shrubs over sidewalk", "Intersection Of Carruth St & Minot St, Dorchester",
     "intersection"),
    ("cars parked on Minot all week", "Intersection Of Carruth St & Minot St, Dorchester", "street"),
    ("ice on Talbot Avenue sidewalk", "543 Talbot Ave, Dorchester", "street"),
    ("missed trash on E 5th street", "815 E Fifth St, South Boston", "street"),
    ("recycling not picked up", "19 Oakland St, Brighton", None),
    # a street name that is an ordinary word counts only with its type
    ("the park is full of trash", "5 Park St, Dorchester", None),
    ("trash all over Park St", "5 Park St, Dorchester", "street"),
])
def test_gold_kind(text, address, kind):
    assert gold_kind(text, address, 42.3, -71.06, None) == kind


def _data(tmp_path):
    gz = tmp_path / "boston_gazetteer"
    gz.mkdir()
    with open(gz / "boston_landmarks.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "kind", "lat", "lon", "aliases", "source"])
        w.writerow(["Andrew Station", "station", "42.3302", "-71.0577", "", "test"])
    recs = [
        ("2018-08-01T10:00:00-04:00", "pothole outside 25 Sheridan St please", "25 Sheridan St, Jamaica Plain", 42.32137, -71.10861),
        ("2018-08-02T10:00:00-04:00", "needles by Andrew Station stairs", "1 Dexter St, South Boston", 42.3303, -71.0578),
        ("2018-08-03T10:00:00-04:00", "needles by Andrew Station stairs", "1 Dexter St, South Boston", 42.3303, -71.0578),
        ("2018-08-04T10:00:00-04:00", "car has been here for weeks", "9 Elm St, Charlestown", 42.37, -71.06),
        ("2018-03-01T10:00:00-04:00", "pothole outside 25 Sheridan St please", "25 Sheridan St, Jamaica Plain", 42.32137, -71.10861),
        ("2018-08-05T10:00:00-04:00", "pothole at 5 Main St Cambridge", "5 Main St, Cambridge", 42.362, -71.085),
    ]
    with gzip.open(tmp_path / "boston_open311_2008_2018.jsonl.gz", "wt", encoding="utf-8") as fh:
        for when, text, addr, lat, lon in recs:
            fh.write(json.dumps({"requested_datetime": when, "description": text, "address": addr,
                                 "lat": lat, "long": lon, "service_request_id": when}) + "\n")
    return tmp_path


def test_real_rows_keep_texts_naming_their_place_in_the_date_range(tmp_path):
    rows = list(real_rows(_data(tmp_path), "2018-07-01", "2019-01-01",
                          hoods=lambda la, lo: None if lo > -71.09 and la > 42.36 else "x"))
    # no place named, a duplicate text, another half-year and a point outside Boston are left out
    assert [(r["kind"], r["date"]) for r in rows] == [("address", "2018-08-01"), ("place", "2018-08-02")]


class _Fake:
    def find(self, text):
        if "far" in text:
            return Location(text="x", kind=LocationKind.STREET, lat=42.4, lon=-71.0, radius_m=100)
        if "vague" in text:
            return Location(text="x", kind=LocationKind.STREET, lat=42.3, lon=-71.1, radius_m=5000)
        return Location(text="x", kind=LocationKind.ADDRESS, lat=42.3, lon=-71.1, radius_m=30)


def test_score_real_counts_points_given_only():
    rows = [{"text": "ok", "lat": 42.3, "lon": -71.1, "kind": "address"},
            {"text": "far", "lat": 42.3, "lon": -71.1, "kind": "street"},
            {"text": "vague", "lat": 42.3, "lon": -71.1, "kind": "street"}]
    r = score_real(rows, _Fake())
    assert (r["n"], r["given"], r["hits"]) == (3, 2, 1)
    assert r["precision"] == 0.5 and r["recall"] == pytest.approx(1 / 3, abs=1e-3)
    assert r["by_gold_kind"]["street"] == {"n": 2, "given": 1, "hits": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert r["by_answer_kind"]["street (no point)"]["given"] == 1
    assert "F1" in render(r)


def test_eval_location_cli(tmp_path):
    p = tmp_path / "gold.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in [
        {"text": "pothole outside 25 Sheridan St in JP", "lat": 42.32137, "lon": -71.10861, "kind": "address"},
        {"text": "light out at Tremont St & Stuart St", "lat": 42.3511, "lon": -71.0649, "kind": "intersection"},
        {"text": "Tremont St is a mess", "lat": 42.3511, "lon": -71.0649, "kind": "street"},
    ]) + "\n")
    res = CliRunner().invoke(app, ["eval", "--location", "--json", str(p)])
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)
    assert (r["n"], r["given"], r["hits"]) == (3, 2, 2) and r["precision"] == 1.0
