import json

from typer.testing import CliRunner

from civic_signal.listener.cli import app

LINES = "\n".join([
    json.dumps({"id": "a", "text": "Huge pothole outside 25 Sheridan St in JP"}),
    "{not json",
    json.dumps({"id": 7, "nope": "no text"}),
    "",
    json.dumps({"text": "Go Sox!"}),
    json.dumps({"id": "c", "text": "Street light out on Dot Ave", "lat": 42.3, "lon": -71.06}),
    json.dumps(["a list"]),
]) + "\n"


def test_classify_writes_one_line_per_input_line_in_order_and_goes_on_after_errors(tmp_path):
    res = CliRunner().invoke(app, ["classify", "-"], input=LINES)
    assert res.exit_code == 0, res.output
    out = [json.loads(x) for x in res.output.splitlines()]
    assert [o["id"] for o in out] == ["a", 2, 7, 5, "c", 7]
    assert out[0]["actionable"] is True and out[0]["category"]["code"] == "REQPOTHL"
    # issue 14 added the taxonomy type behind the code (in the category and at the top level)
    assert set(out[0]["category"]) == {"code", "name", "score", "type"}
    assert out[0]["category"]["type"] == out[0]["type"] == "pothole"
    assert "error" in out[1] and "JSON" in out[1]["error"]
    assert out[2] == {"id": 7, "error": "missing text"}
    assert out[3]["actionable"] is False and out[3]["category"] is None
    assert out[4]["location"]["kind"] == "coordinates"
    assert "error" in out[5]
    for o in (out[0], out[3], out[4]):
        assert {"id", "actionable", "category", "location"} <= set(o)


def test_classify_reads_a_file(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text(json.dumps({"id": "x", "text": "Graffiti on the mailbox on Tremont St"}) + "\n")
    res = CliRunner().invoke(app, ["classify", str(p)])
    assert res.exit_code == 0
    assert json.loads(res.output)["category"]["code"] == "GENGRAFFITI"


def test_eval_prints_the_figures(tmp_path):
    p = tmp_path / "gold.jsonl"
    rows = [{"text": "Huge pothole outside 25 Sheridan St in JP", "code": "REQPOTHL", "lat": 42.32137,
             "lon": -71.10861},
            {"text": "Graffiti on the mailbox on Tremont St", "code": "GENGRAFFITI"},
            {"text": "Go Sox!", "code": None}]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = CliRunner().invoke(app, ["eval", str(p)])
    assert res.exit_code == 0, res.output
    for needle in ("REQPOTHL", "GENGRAFFITI", "macro F1", "actionable accuracy: 1.000", "within 300 m",
                   "confusions"):
        assert needle in res.output
    res = CliRunner().invoke(app, ["eval", str(p), "--json"])
    assert json.loads(res.output)["actionable_accuracy"] == 1.0


def test_missing_file_is_an_error(tmp_path):
    res = CliRunner().invoke(app, ["classify", str(tmp_path / "nope.jsonl")])
    assert res.exit_code != 0


def test_classify_keeps_a_post_with_bad_coordinates_and_says_so():
    lines = "\n".join(json.dumps({"id": i, "text": "Huge pothole outside 25 Sheridan St in JP", "lat": lat, "lon": -71.1})
                      for i, lat in enumerate(["north", 999])) + "\n" + \
        '{"id": 2, "text": "Huge pothole outside 25 Sheridan St in JP", "lat": NaN, "lon": -71.1}\n'
    res = CliRunner().invoke(app, ["classify", "-"], input=lines)
    assert res.exit_code == 0, res.output
    out = [json.loads(x) for x in res.output.splitlines()]
    assert len(out) == 3
    for o in out:
        assert "error" not in o and o["category"]["code"] == "REQPOTHL"
        assert o["location"]["kind"] == "address" and o["location"]["address"] == "25 Sheridan St"   # from the text
        assert o["warnings"] and o["warnings"][0].startswith("coordinates dropped")


def test_classify_names_the_jurisdiction_and_uses_its_codes():
    lines = "\n".join(json.dumps(o) for o in [
        {"id": "bos", "text": "Huge pothole on Blue Hill Ave in Dorchester, please fix"},
        {"id": "cam", "text": "Huge pothole on Mass Ave near Central Square, please fix"},
        {"id": "cam-gps", "text": "Deep pothole in the road right here, please fix", "lat": 42.3735, "lon": -71.11898},
        {"id": "som", "text": "Deep pothole in the road right here, please fix", "lat": 42.3967, "lon": -71.1218},
    ]) + "\n"
    res = CliRunner().invoke(app, ["classify", "-"], input=lines)
    assert res.exit_code == 0, res.output
    out = {o["id"]: o for o in (json.loads(x) for x in res.output.splitlines())}
    assert out["bos"]["jurisdiction"] == "boston" and out["bos"]["category"]["code"] == "REQPOTHL"
    assert out["cam"]["jurisdiction"] == "cambridge" and out["cam"]["category"]["code"] == "pothole"
    assert out["cam"]["location"]["neighborhood"] == "Cambridgeport"
    assert out["cam-gps"]["jurisdiction"] == "cambridge" and out["cam-gps"]["category"]["code"] == "pothole"
    assert out["som"]["jurisdiction"] is None and out["som"]["reason"].startswith("elsewhere")
