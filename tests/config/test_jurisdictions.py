"""Jurisdiction packs: shipped packs load, the Cambridge mapping targets its catalogue, endpoints per city
from the environment (secrets from the environment only), an operator's own packs folder."""

import json
import shutil

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.config.jurisdictions import SHIPPED_DIR, active_packs, available_packs, endpoint, read_pack
from civic_signal.config.settings import load_settings
from civic_signal.config.taxonomy import types


def test_shipped_packs_are_boston_and_cambridge_and_compact():
    packs = available_packs()
    assert {"boston", "cambridge"} <= set(packs)
    cam = packs["cambridge"]
    assert cam.gazetteer_path.stat().st_size < 300_000 and cam.path("boundary").stat().st_size < 50_000
    assert cam.boundary()["type"] in ("Polygon", "MultiPolygon")
    assert packs["boston"].gazetteer_path.exists()   # Boston points at the shipped gazetteer


def test_every_type_maps_to_a_public_code_of_the_citys_catalogue():
    for jid in ("boston", "cambridge"):
        pack = available_packs()[jid]
        codes = {s["service_code"] for s in pack.services()}
        mapping = pack.mapping()
        assert set(mapping.codes) == set(types())
        assert set(mapping.codes.values()) <= codes, set(mapping.codes.values()) - codes
    cam = available_packs()["cambridge"].mapping()
    assert cam.code("pothole") == "pothole" and cam.code("catch_basin") == "manhole-street-drain-issue"
    assert not any("internal" in c for c in cam.codes.values())   # staff-only types are never targets


def test_endpoints_per_city_from_the_environment(monkeypatch):
    monkeypatch.setenv("CIVIC_OPEN311__URL", "http://127.0.0.1:9/boston/")
    monkeypatch.setenv("CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__URL", "http://127.0.0.1:9/cam/")
    monkeypatch.setenv("CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__API_KEY", "cam-secret")
    monkeypatch.setenv("CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__JURISDICTION_ID", "cambridgema.gov")
    s = load_settings()
    assert endpoint(s, "boston").url == "http://127.0.0.1:9/boston/"       # the default city falls back to [open311]
    cam = endpoint(s, "cambridge")
    assert cam.url.endswith("/cam/") and cam.api_key.get_secret_value() == "cam-secret"
    assert cam.jurisdiction_id == "cambridgema.gov" and cam.max_attempts == s.open311.max_attempts
    monkeypatch.delenv("CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__URL")
    assert endpoint(load_settings(), "cambridge").url == ""   # no endpoint: its tickets stay pending


def test_a_city_api_key_in_a_file_is_refused(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[jurisdictions.cambridge.open311]\nurl = "http://127.0.0.1:9/x/"\napi_key = "oops"\n')
    with pytest.raises(ConfigError, match="CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__API_KEY"):
        load_settings(f)


def test_an_operators_pack_folder_and_unknown_packs(tmp_path, monkeypatch):
    own = tmp_path / "packs" / "somerville"
    shutil.copytree(SHIPPED_DIR / "cambridge", own)
    mf = json.loads((own / "pack.json").read_text())
    (own / "pack.json").write_text(json.dumps({**mf, "id": "somerville", "name": "Somerville, MA"}))
    shutil.copy(SHIPPED_DIR.parent / "taxonomy" / "cities" / "cambridge.json", own / "taxonomy.json")
    monkeypatch.setenv("CIVIC_ROUTING__PACKS_DIR", str(tmp_path / "packs"))
    monkeypatch.setenv("CIVIC_ROUTING__PACKS", "boston,somerville")
    s = load_settings()
    packs = active_packs(s)
    assert [p.id for p in packs] == ["boston", "somerville"] and not packs[1].shipped
    assert packs[1].mapping().code("pothole") == "pothole"
    monkeypatch.setenv("CIVIC_ROUTING__PACKS", "boston,atlantis")
    with pytest.raises(ConfigError, match="atlantis"):
        active_packs(load_settings())


def test_a_bad_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "pack.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_pack(tmp_path / "x")
    with pytest.raises(ConfigError, match="no pack manifest"):
        read_pack(tmp_path / "missing")


def test_the_default_must_be_an_active_pack(monkeypatch):
    monkeypatch.setenv("CIVIC_ROUTING__DEFAULT", "cambridge")
    monkeypatch.setenv("CIVIC_ROUTING__PACKS", "boston")
    with pytest.raises(ConfigError, match="default"):
        load_settings()
