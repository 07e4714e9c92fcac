"""Done-when of issue 16: a mixed stream through `civic-signal run` against two local Open311 servers (one
per city) puts each ticket on its city's server and none on the other; a post about a city with no pack is
archived, not ticketed; a city without an endpoint keeps its tickets pending."""

import json
import os
import subprocess
import sys

import sqlalchemy as sa

from civic_signal.config.jurisdictions import available_packs
from tests.conftest import REPO
from tests.fakes.open311_server import FakeOpen311

BOS_KEY, CAM_KEY = "boston-test-key-1", "cambridge-test-key-2"

# written for this test: look-alike street names on both sides of the border, and posts with coordinates
POSTS = [
    ("b1", "Huge pothole on Blue Hill Ave in Dorchester near Morton St, please fix it", None),
    ("b2", "There is a massive pothole at Mass Ave and Columbus Ave in the South End, cars swerving", None),
    ("b3", "Streetlight out on Cambridge St in Allston near the Mass Pike ramp, totally dark at night", None),
    ("b4", "Deep pothole in the road right here, please fix", (42.33196, -71.07806)),    # Roxbury, by phone
    ("c1", "Huge pothole on Mass Ave near Central Square, please fix before someone crashes", None),
    ("c2", "Catch basin clogged at River St and Western Ave in Cambridgeport, the street floods", None),
    ("c3", "Deep pothole at Harvard St and Prospect St, please fix it", None),
    ("c4", "Deep pothole in the road right here, please fix", (42.37350, -71.11898)),    # Harvard Square, by phone
    ("c5", "Huge pothole at Hampshire St and Prospect St, please fix it", None),
    ("s1", "Huge pothole on Broadway in Somerville near Magoun Square, please fix", None),
    ("s2", "Deep pothole in the road right here, please fix", (42.39670, -71.12180)),    # Somerville, by phone
]
WHERE = {"b": "boston", "c": "cambridge", "s": None}


def _stream(path):
    lines = []
    for n, (ident, text, coords) in enumerate(POSTS):
        data = {"id": f"18700000000000{n:05d}", "text": text, "author_id": f"9{n}", "lang": "en",
                "created_at": f"2026-11-20T12:{n:02d}:00.000Z"}
        if coords:
            data["geo"] = {"coordinates": {"type": "Point", "coordinates": [coords[1], coords[0]]}}
        lines.append(json.dumps({"data": data, "includes": {"users": [{"id": f"9{n}", "username": f"writer{n}"}]}}))
    path.write_text("\n".join(lines) + "\n")
    return {f"x:18700000000000{n:05d}": p[0] for n, p in enumerate(POSTS)}


def _run(env, stream):
    return subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", "run", "--speed", "max", "--path",
                           str(stream)], capture_output=True, text=True, cwd=REPO, env={**os.environ, **env},
                          timeout=600)


def test_a_mixed_stream_puts_each_ticket_on_its_citys_server(tmp_path):
    ids = _stream(tmp_path / "s.jsonl")
    db = tmp_path / "a.db"
    cam_services = available_packs()["cambridge"].services()
    with FakeOpen311(api_key=BOS_KEY, jurisdiction_id="cityofboston.gov") as bos, \
            FakeOpen311(api_key=CAM_KEY, jurisdiction_id="cambridgema.gov", services=cam_services,
                        definitions={}) as cam:
        env = {"CIVIC_DATABASE_URL": f"sqlite:///{db}",
               "CIVIC_GATING__AUTO_THRESHOLD": "0.3", "CIVIC_GATING__REVIEW_THRESHOLD": "0.1",
               "CIVIC_JURISDICTIONS__BOSTON__OPEN311__URL": bos.url,
               "CIVIC_JURISDICTIONS__BOSTON__OPEN311__API_KEY": BOS_KEY,
               "CIVIC_JURISDICTIONS__BOSTON__OPEN311__JURISDICTION_ID": "cityofboston.gov",
               "CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__URL": cam.url,
               "CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__API_KEY": CAM_KEY,
               "CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__JURISDICTION_ID": "cambridgema.gov"}
        out = _run(env, tmp_path / "s.jsonl")
        assert out.returncode == 0, out.stderr
        on_bos = [r["form"] for r in bos.created]
        on_cam = [r["form"] for r in cam.created]
    for text in (out.stdout, out.stderr):
        assert BOS_KEY not in text and CAM_KEY not in text
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        tickets = c.execute(sa.text("select t.post_id, t.jurisdiction, t.status, t.service_code from tickets t")).all()
        cls = dict(c.execute(sa.text("select post_id, jurisdiction from classifications")).all())
        reasons = dict(c.execute(sa.text("select post_id, reason from classifications")).all())
    by_post = {ids[t.post_id]: t for t in tickets}
    # every Boston and Cambridge post made a ticket in its city, none for Somerville
    assert set(by_post) == {p for p, _, _ in POSTS if not p.startswith("s")}, by_post
    for p, t in by_post.items():
        assert t.jurisdiction == WHERE[p[0]], (p, t)
        assert t.status == "sent", (p, t)
    for pid, name in ids.items():
        assert cls[pid] == WHERE[name[0]], (name, cls[pid])
    assert all(reasons[pid].startswith("elsewhere") for pid, n in ids.items() if n.startswith("s"))
    # each server got exactly its city's tickets, with its own codes and jurisdiction_id
    assert len(on_bos) == sum(1 for p in by_post if p.startswith("b"))
    assert len(on_cam) == sum(1 for p in by_post if p.startswith("c"))
    cam_codes = {s["service_code"] for s in cam_services}
    assert all(f["service_code"][0] in cam_codes and f["jurisdiction_id"] == ["cambridgema.gov"] for f in on_cam)
    assert all(f["service_code"][0] not in cam_codes and f["jurisdiction_id"] == ["cityofboston.gov"] for f in on_bos)
    assert all(f["api_key"] == [CAM_KEY] for f in on_cam) and all(f["api_key"] == [BOS_KEY] for f in on_bos)


def test_a_city_without_an_endpoint_keeps_its_tickets_pending(tmp_path):
    ids = _stream(tmp_path / "s.jsonl")
    db = tmp_path / "a.db"
    with FakeOpen311(api_key=BOS_KEY) as bos:
        env = {"CIVIC_DATABASE_URL": f"sqlite:///{db}", "CIVIC_OPEN311__URL": bos.url, "CIVIC_OPEN311__API_KEY": BOS_KEY,
               "CIVIC_GATING__AUTO_THRESHOLD": "0.3", "CIVIC_GATING__REVIEW_THRESHOLD": "0.1"}
        out = _run(env, tmp_path / "s.jsonl")
        assert out.returncode == 0, out.stderr
        n_bos = len(bos.created)
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.connect() as c:
        rows = c.execute(sa.text("select post_id, jurisdiction, status from tickets")).all()
    cam = [r for r in rows if r.jurisdiction == "cambridge"]
    assert cam and all(r.status == "pending" for r in cam)
    assert n_bos == sum(1 for r in rows if r.jurisdiction == "boston" and r.status == "sent") > 0
    assert "open311 [cambridge]: no endpoint configured" in out.stdout
    assert all(ids[r.post_id].startswith("c") for r in cam)
