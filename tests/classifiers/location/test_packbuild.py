"""`civic-signal jurisdiction build`: a pack rebuilt from the open data gives the shipped bytes."""

import os
import shutil
from pathlib import Path

import pytest

from civic_signal.classifiers.location.finder import LocationFinder
from civic_signal.classifiers.location.gazetteer import Gazetteer
from civic_signal.classifiers.location.packbuild import build_pack
from civic_signal.config.errors import ConfigError
from civic_signal.config.jurisdictions import SHIPPED_DIR, read_pack
from tests.conftest import REPO

DATA = Path(os.environ.get("CIVIC_SHARED_DATA") or REPO.parent / "shared" / "data")


@pytest.mark.skipif(not (DATA / "cambridge").is_dir(), reason="needs the shared Cambridge open data")
def test_the_cambridge_pack_rebuilds_to_the_same_bytes(tmp_path):
    shutil.copy(SHIPPED_DIR / "cambridge" / "pack.json", (tmp_path / "cambridge").mkdir() or tmp_path / "cambridge")
    stats = build_pack(read_pack(tmp_path / "cambridge"), DATA)
    for name in ("gazetteer.json.gz", "boundary.geojson", "services.json"):
        assert (tmp_path / "cambridge" / name).read_bytes() == (SHIPPED_DIR / "cambridge" / name).read_bytes(), name
    assert stats["streets"] > 700 and stats["intersections"] > 1500 and stats["services"] == 25


def test_the_built_gazetteer_geocodes_cambridge():
    f = LocationFinder(Gazetteer.load(SHIPPED_DIR / "cambridge" / "gazetteer.json.gz"))
    loc = f.find("pothole outside 1200 Mass Ave")
    assert loc.address == "1200 Massachusetts Ave" and abs(loc.lat - 42.3716) < 0.002
    assert f.find("light out at Mass Ave and Prospect St").neighborhood == "Cambridgeport"
    assert f.find("pothole on Blue Hill Ave in Dorchester") is None   # another city's names give up


def test_an_unknown_source_kind_is_a_clear_error(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "pack.json").write_text('{"id": "x", "source": {"kind": "magic"}}')
    with pytest.raises(ConfigError, match="source.kind"):
        build_pack(read_pack(tmp_path / "x"), tmp_path)
