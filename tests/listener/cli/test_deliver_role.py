"""`civic-signal work deliver`: the outbox a pipeline left in a real archive goes to each city's own Open311
server (two local fake servers speaking GeoReport v2), with status sync, metrics and a graceful stop (issue 16).

The archive is made by a real `civic-signal run` with no endpoint configured (its tickets stay pending, as a
`work sink` leaves them); then the deliver role runs as its own process against the two servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
import sqlalchemy as sa

from civic_signal.config.jurisdictions import available_packs
from tests.conftest import REPO
from tests.fakes.open311_server import FakeOpen311
from tests.services.prometheus import free_port

BOS_KEY, CAM_KEY = "boston-deliver-key-7", "cambridge-deliver-key-8"

# written for this test: look-alike streets on both sides of the border and posts with coordinates
POSTS = [
    ("b1", "Massive pothole on Washington St in Roslindale Square, please fix it", None),
    ("b2", "Huge pothole on River St in Mattapan near the bridge, cars swerving", None),
    ("b3", "Deep pothole in the road right here, please fix", (42.30330, -71.07360)),     # Dorchester, by phone
    ("c1", "Huge pothole on Cambridge St near Inman Square, please fix it", None),
    ("c2", "Deep pothole on Western Ave near Central Square, please fix it", None),
    ("c3", "Deep pothole in the road right here, please fix", (42.37350, -71.11898)),     # Harvard Square, by phone
    ("s1", "Huge pothole on Highland Ave in Somerville near Davis Square, please fix", None),
]
WHERE = {"b": "boston", "c": "cambridge"}


def _stream(path) -> dict[str, str]:
    lines = []
    for n, (_, text, coords) in enumerate(POSTS):
        data = {"id": f"18800000000000{n:05d}", "text": text, "author_id": f"8{n}", "lang": "en",
                "created_at": f"2026-11-21T12:{n:02d}:00.000Z"}
        if coords:
            data["geo"] = {"coordinates": {"type": "Point", "coordinates": [coords[1], coords[0]]}}
        lines.append(json.dumps({"data": data, "includes": {"users": [{"id": f"8{n}", "username": f"poster{n}"}]}}))
    path.write_text("\n".join(lines) + "\n")
    return {f"x:18800000000000{n:05d}": p[0] for n, p in enumerate(POSTS)}


def _tickets(db) -> dict[str, sa.Row]:
    eng = sa.create_engine(f"sqlite:///{db}")
    try:
        with eng.connect() as c:
            return {r.post_id: r for r in c.execute(sa.text(
                "select post_id, jurisdiction, status, service_request_id, external_status from tickets")).all()}
    finally:
        eng.dispose()


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.mark.slow
def test_work_deliver_sends_each_citys_outbox_to_its_own_server_and_stops_gracefully(tmp_path):
    ids = _stream(tmp_path / "s.jsonl")
    db = tmp_path / "a.db"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")} | {
        "CIVIC_DATABASE_URL": f"sqlite:///{db}", "CIVIC_GATING__AUTO_THRESHOLD": "0.3",
        "CIVIC_GATING__REVIEW_THRESHOLD": "0.1"}
    made = subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", "run", "--speed", "max", "--path",
                           str(tmp_path / "s.jsonl")], capture_output=True, text=True, cwd=REPO, env=base_env,
                          timeout=600)
    assert made.returncode == 0, made.stderr
    before = _tickets(db)
    assert {ids[p][0] for p in before} == {"b", "c"}                     # Somerville's post made no ticket
    # nothing is delivered by `run` without endpoints: the tickets wait in the outbox (or for a reviewer)
    assert all(t.status in ("pending", "review") for t in before.values())
    pending = {p for p, t in before.items() if t.status == "pending"}

    metrics_port = free_port()
    cam_services = available_packs()["cambridge"].services()
    with FakeOpen311(api_key=BOS_KEY, jurisdiction_id="cityofboston.gov") as bos, \
            FakeOpen311(api_key=CAM_KEY, jurisdiction_id="cambridgema.gov", services=cam_services,
                        definitions={}) as cam:
        env = base_env | {
            "CIVIC_JURISDICTIONS__BOSTON__OPEN311__URL": bos.url,
            "CIVIC_JURISDICTIONS__BOSTON__OPEN311__API_KEY": BOS_KEY,
            "CIVIC_JURISDICTIONS__BOSTON__OPEN311__JURISDICTION_ID": "cityofboston.gov",
            "CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__URL": cam.url,
            "CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__API_KEY": CAM_KEY,
            "CIVIC_JURISDICTIONS__CAMBRIDGE__OPEN311__JURISDICTION_ID": "cambridgema.gov",
            "CIVIC_OPEN311__DELIVER_EVERY_S": "0.5", "CIVIC_OPEN311__STATUS_SYNC_MINUTES": "0.02",
            "CIVIC_METRICS__PORT": str(metrics_port), "CIVIC_METRICS__REFRESH_S": "0.2"}
        log_path = tmp_path / "deliver.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "civic_signal.listener.cli", "work", "deliver"], env=env,
                                    cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            n_bos = sum(1 for p in pending if ids[p][0] == "b")
            n_cam = sum(1 for p in pending if ids[p][0] == "c")
            assert n_bos and n_cam
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None and (
                    len(bos.created) < n_bos or len(cam.created) < n_cam):
                time.sleep(0.2)
            assert proc.poll() is None, log_path.read_text()
            assert (len(bos.created), len(cam.created)) == (n_bos, n_cam), log_path.read_text()
            # each server got only its city's tickets, with its own key, jurisdiction_id and codes
            cam_codes = {s["service_code"] for s in cam_services}
            assert all(r["form"]["api_key"] == [CAM_KEY] and r["form"]["jurisdiction_id"] == ["cambridgema.gov"]
                       and r["form"]["service_code"][0] in cam_codes for r in cam.created)
            assert all(r["form"]["api_key"] == [BOS_KEY] and r["form"]["jurisdiction_id"] == ["cityofboston.gov"]
                       and r["form"]["service_code"][0] not in cam_codes for r in bos.created)
            # status sync runs on the role's scheduler: a request Cambridge closes is read back
            closed = cam.created[0]["service_request_id"]
            cam.set_status(closed, "closed", "fixed")
            while time.monotonic() < deadline and not any(
                    t.service_request_id == closed and t.external_status == "closed" for t in _tickets(db).values()):
                time.sleep(0.3)
            assert any(t.service_request_id == closed and t.external_status == "closed" for t in _tickets(db).values())
            # metrics: the tickets gauge by city and state
            text = ""
            while time.monotonic() < deadline:
                text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
                if (_metric(text, "civic_signal_tickets", jurisdiction="boston", state="sent") or 0) >= n_bos:
                    break
                time.sleep(0.3)
            assert _metric(text, "civic_signal_tickets", jurisdiction="boston", state="sent") == n_bos
            assert _metric(text, "civic_signal_tickets", jurisdiction="cambridge", state="pending") == 0
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
    out = log_path.read_text()
    assert code == 0, out
    assert "deliver: stopped" in out and BOS_KEY not in out and CAM_KEY not in out
    after = _tickets(db)
    for p, t in after.items():
        assert t.jurisdiction == WHERE[ids[p][0]], (ids[p], t)
        assert t.status in (("sent", "closed") if p in pending else ("review",)), (ids[p], t)


def test_work_deliver_without_an_endpoint_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVIC_")} | {
        "CIVIC_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    out = subprocess.run([sys.executable, "-m", "civic_signal.listener.cli", "work", "deliver"], capture_output=True,
                         text=True, cwd=REPO, env=env, timeout=120)
    assert out.returncode != 0
    assert "no Open311 endpoint" in out.stderr and "CIVIC_JURISDICTIONS__<ID>__OPEN311__URL" in out.stderr
