"""The city-neutral taxonomy and its mappings (config/data/taxonomy/)."""

import json

import pytest

from civic_signal.config import taxonomy as tx
from civic_signal.config.errors import ConfigError


def test_every_type_maps_to_a_boston_catalogue_code():
    city = tx.city_mapping("boston")
    assert set(city.codes) == set(tx.type_ids())
    assert all(code in tx.services() for code in city.codes.values())
    assert city.code(tx.GENERAL_TYPE) == tx.GENERAL_CODE == city.general_code


def test_code_to_types_is_the_inverse_of_the_mapping():
    city = tx.city_mapping("boston")
    assert city.types_for("REQPOTHL") == ("pothole",)
    assert set(city.types_for("TRANSIMPR")) == {"sign_request", "traffic_safety"}
    assert city.primary_type("NOSUCHCODE") is None and city.code("not-a-type") == city.general_code


def test_source_mappings_name_known_types_and_list_every_label_with_counts():
    for name in tx.source_names():
        m = tx.source_mapping(name)
        assert m.labels and all(ts and set(ts) <= set(tx.type_ids()) for ts in m.labels.values())
        assert not (set(m.labels) & m.unmapped) and not (set(m.labels) & m.untyped)
        # the build wrote a count for every label it saw; nothing was left unreviewed
        raw = json.loads((tx.TAXONOMY / "sources" / f"{name}.json").read_text())
        assert all(e["why"] != "not reviewed yet" for e in raw.get("unmapped", {}).values())
        assert sum(m.counts.values()) > 0


def test_types_of_tells_typed_untyped_and_unmapped_labels_apart():
    nh = tx.source_mapping("newhaven_seeclickfix")
    assert nh.types_of("Potholes") == ("pothole",)
    assert "sign_damaged" in nh.types_of("Signs / Bus Shelters / Pavement Markings")
    assert nh.types_of("Other") == ()
    assert nh.types_of("Policing Issue") is None and nh.types_of("never seen") is None


def test_unknown_jurisdiction_or_type_is_a_config_error(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="no taxonomy mapping"):
        tx.city_mapping("atlantis")
    (tmp_path / "cities").mkdir()
    (tmp_path / "types.json").write_text((tx.TAXONOMY / "types.json").read_text())
    (tmp_path / "cities" / "x.json").write_text(json.dumps({"codes": {"other": "G", "flying_car": "F"}}))
    monkeypatch.setattr(tx, "TAXONOMY", tmp_path)
    tx.city_mapping.cache_clear()
    try:
        with pytest.raises(ConfigError, match="flying_car"):
            tx.city_mapping("x")
    finally:
        tx.city_mapping.cache_clear()
