import gzip
import json

from civic_signal.classifiers.location.evaluate import heldout_rows, score_locations
from civic_signal.core.models import Location, LocationKind


class FakeFinder:
    def find(self, text, coordinates=None):
        if text == "none":
            return None
        lat = 42.3 if text == "hit" else 42.31
        return Location(text=text, kind=LocationKind.ADDRESS, lat=lat, lon=-71.1, score=0.9)


def test_hit_rate_and_coverage():
    s = score_locations([("hit", 42.3, -71.1), ("miss", 42.3, -71.1), ("none", 42.3, -71.1), ("x", None, None)],
                        FakeFinder())
    assert (s.n, s.found, s.hits) == (3, 2, 1)
    assert round(s.coverage, 3) == 0.667 and round(s.hit_rate, 3) == 0.333 and s.precision == 0.5


def test_heldout_rows_use_only_the_year_and_write_post_like_text(tmp_path):
    recs = [
        {"requested_datetime": "2018-03-01T10:00:00-05:00", "address": "25 Sheridan St, Jamaica Plain", "lat": 42.3, "long": -71.1},
        {"requested_datetime": "2018-03-02T10:00:00-05:00", "address": "Intersection Of Saunders St & N Beacon St, Brighton",
         "lat": 42.35, "long": -71.14},
        {"requested_datetime": "2017-03-02T10:00:00-05:00", "address": "1 Old St, Boston", "lat": 42.35, "long": -71.14},
    ]
    path = tmp_path / "r.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in recs))
    rows = heldout_rows(path, n=10)
    assert sorted(k for *_, k in rows) == ["address", "intersection"]
    texts = " ".join(t.lower() for t, *_ in rows)
    assert "sheridan" in texts and "saunders st" in texts and "old st" not in texts
