"""The public feed: nothing identifying leaves, small cells are suppressed, counts add up."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from civic_signal.config.errors import ConfigError
from civic_signal.core.models import Category, Classification, ClassifiedPost, Location, LocationKind, Post
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.opendata import OpenDataOptions, build, read_reports, snap
from tests.services.postgres import BACKENDS, db_url, pg_server, pg_url  # noqa: F401

DAY = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)  # 11:00 in Boston

# (category, neighbourhood, lat, lon, how many, day offset): a pothole cluster in Jamaica Plain
# (published), two flooding reports in Dorchester (under k: suppressed), one report without a place
SPEC = [("REQPOTHL", "Jamaica Plain", 42.3101234, -71.1145678, 7, 0),
        ("REQPOTHL", "Jamaica Plain", 42.3102345, -71.1146789, 6, 1),
        ("NOUTILFLD", "Dorchester", 42.2987654, -71.0612345, 2, 0),
        ("STRLGTOUT", None, None, None, 1, 0)]


@pytest.fixture
def archive(db_url):
    a = Archive(db_url)
    items, n = [], 0
    for code, hood, lat, lon, count, offset in SPEC:
        for i in range(count):
            n += 1
            jitter = 0.00001 * i
            p = Post(id=f"x:99887766{n:03d}", source="x", author=f"@resident_{n}_jp",
                     text=f"Crater number {n} on Centre Street, someone will lose a wheel #{n}",
                     created_at=DAY + timedelta(days=offset, minutes=n), url=f"https://x.com/resident_{n}/status/{n}")
            loc = Location(text="Centre St", kind=LocationKind.STREET, neighborhood=hood,
                           lat=None if lat is None else lat + jitter, lon=None if lon is None else lon - jitter)
            c = Classification(post_id=p.id, actionable=True, actionable_score=0.9,
                               category=Category(code=code, name=code, score=0.9), location=loc, model_version="t")
            items.append(ClassifiedPost(post=p, classification=c))
    # not published: a deleted post, a non-actionable one, another run's
    gone = Post(id="x:555000111", source="x", author="@gone", text="Deleted pothole rant", created_at=DAY)
    items.append(ClassifiedPost(post=gone, classification=Classification(
        post_id=gone.id, actionable=True, actionable_score=0.9, category=Category(code="REQPOTHL", name="p", score=0.9),
        location=Location(text="x", kind=LocationKind.STREET, neighborhood="Jamaica Plain"), model_version="t")))
    chat = Post(id="x:555000222", source="x", author="@chatty", text="Nice day in JP", created_at=DAY)
    items.append(ClassifiedPost(post=chat, classification=Classification(
        post_id=chat.id, actionable=False, actionable_score=0.1, model_version="t")))
    a.write_classified(items)
    a.forget_post(gone.id)
    yield a, items
    a.close()


def all_text(out) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(out.iterdir()))


def csv_rows(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@BACKENDS
def test_no_text_handle_id_url_or_exact_point_leaves(archive, tmp_path):
    a, items = archive
    out = tmp_path / "feed"
    build(read_reports(a), out, OpenDataOptions(k=2))  # the smallest k publishes the most
    text = all_text(out)
    for it in items:
        p = it.post
        assert p.text not in text and p.id not in text and p.id.split(":")[1] not in text
        assert p.author not in text and p.author.lstrip("@") not in text and (p.url or "@@") not in text
    assert "Centre" not in text and "status" not in text and "Crater" not in text
    # coordinates: the polygons are the shipped file, whatever the archive holds ...
    build([], tmp_path / "empty", OpenDataOptions(k=2))
    assert (out / "neighborhoods.geojson").read_bytes() == (tmp_path / "empty" / "neighborhoods.geojson").read_bytes()
    # ... and every other coordinate is a grid-cell centre or a neighbourhood's anchor, never a report's point
    located = [(it.classification.location.lat, it.classification.location.lon) for it in items
               if it.classification.location and it.classification.location.lat is not None]
    without_polygons = "\n".join(p.read_text() for p in out.iterdir() if p.name != "neighborhoods.geojson")
    for lat, lon in located:
        for v in (lat, lon):
            assert f"{v:.5f}" not in without_polygons and repr(v) not in without_polygons  # 5 decimals: about 1 m
    points = json.loads((out / "incident_points.geojson").read_text())["features"]
    assert points
    for f in points:
        lon, lat = f["geometry"]["coordinates"]
        assert snap(lat, lon, 100.0) == (lat, lon)


@BACKENDS
def test_counts_add_up_and_small_cells_are_suppressed(archive, tmp_path):
    a, _ = archive
    out = tmp_path / "feed"
    pub = build(read_reports(a), out, OpenDataOptions(k=5))
    assert pub.reports == 16  # 7 + 6 + 2 + 1; the deleted, non-actionable posts are not read
    daily = csv_rows(out / "daily_counts.csv")
    assert [(r["date"], r["category"], r["neighborhood"], r["count"]) for r in daily] == [
        ("2026-03-10", "REQPOTHL", "Jamaica Plain", "7"), ("2026-03-11", "REQPOTHL", "Jamaica Plain", "6")]
    meta = json.loads((out / "metadata.json").read_text())
    assert sum(int(r["count"]) for r in daily) + meta["daily_counts"]["suppressed_reports"] == meta["reports"] == 16
    assert meta["daily_counts"]["suppressed_cells"] == 2  # Dorchester flooding (2) and the unplaced light (1)
    points = csv_rows(out / "incident_points.csv")
    assert [(r["period"], r["category"], r["count"]) for r in points] == [("2026-03", "REQPOTHL", "13")]
    ip = meta["incident_points"]
    assert ip["reports"] + ip["suppressed_reports"] == ip["reports_with_location"] == 15
    gj = json.loads((out / "daily_counts.geojson").read_text())
    assert sorted(f["properties"]["count"] for f in gj["features"]) == [6, 7]
    for f in gj["features"] + json.loads((out / "incident_points.geojson").read_text())["features"]:
        assert f["properties"]["count"] >= 5
    with pytest.raises(ConfigError):
        build([], tmp_path / "bad", OpenDataOptions(k=1))


@BACKENDS
def test_a_smaller_k_publishes_the_small_cells(archive, tmp_path):
    a, _ = archive
    out = tmp_path / "feed"
    build(read_reports(a), out, OpenDataOptions(k=2))
    daily = csv_rows(out / "daily_counts.csv")
    assert ("NOUTILFLD", "Dorchester", "2") in {(r["category"], r["neighborhood"], r["count"]) for r in daily}
    assert all(int(r["count"]) >= 2 for r in daily)


def test_points_snap_to_the_centre_of_a_cell_about_a_block_wide():
    lat, lon = 42.3101234, -71.1145678
    slat, slon = snap(lat, lon, 100.0)
    dy = (slat - lat) * 111_320
    dx = (slon - lon) * 111_320 * math.cos(math.radians(42.33))
    assert abs(dy) <= 50.5 and abs(dx) <= 50.5 and (slat, slon) != (lat, lon)
    assert snap(lat + 0.00001, lon + 0.00001, 100.0) == (slat, slon)  # a metre away: the same cell


@BACKENDS
def test_the_readme_and_licence_describe_the_files(archive, tmp_path):
    a, _ = archive
    out = tmp_path / "feed"
    pub = build(read_reports(a), out, OpenDataOptions(k=5, licence="CC-BY-4.0"))
    assert set(pub.files) == {"README.md", "LICENSE", "metadata.json", "daily_counts.csv", "daily_counts.geojson",
                              "incident_points.csv", "incident_points.geojson", "neighborhoods.geojson"}
    readme = (out / "README.md").read_text()
    for field in ("date", "category", "category_name", "neighborhood", "count", "period", "lat, lon", "k = 5"):
        assert field in readme
    assert "creativecommons.org/licenses/by/4.0" in (out / "LICENSE").read_text()
