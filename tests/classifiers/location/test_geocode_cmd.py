import json

from typer.testing import CliRunner

from civic_signal.listener.cli import app


def test_geocode_prints_the_location_as_json():
    res = CliRunner().invoke(app, ["geocode", "pothole outside 25 Sheridan St in JP"])
    assert res.exit_code == 0, res.output
    loc = json.loads(res.output)
    assert loc["kind"] == "address" and loc["address"] == "25 Sheridan St" and loc["neighborhood"] == "Jamaica Plain"


def test_geocode_coordinates_win_and_no_location_is_null():
    res = CliRunner().invoke(app, ["geocode", "Blue Hill Ave", "--lat", "42.32137", "--lon", "-71.10861"])
    assert json.loads(res.output)["kind"] == "coordinates"
    res = CliRunner().invoke(app, ["geocode", "I love this city"])
    assert res.exit_code == 0 and json.loads(res.output) is None
