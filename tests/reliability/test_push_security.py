"""The push receiver's door: HMAC compared in constant time, oversize refused, replays refused."""

from __future__ import annotations

import hmac
import json

import pytest
from starlette.testclient import TestClient

from civic_signal.listener.sources import push as push_mod
from civic_signal.listener.sources.push import SIGNATURE_HEADER, TIMESTAMP_HEADER, Spool, make_app, sign

SECRET = b"push-secret-for-tests"
NOW = 1_795_000_000
BODY = json.dumps({"interactions": [{"interaction": {"id": "1e3a", "content": "pothole", "created_at":
                                                     "Fri, 20 Nov 2026 12:00:00 +0000"}}]}).encode()


@pytest.fixture
def door(tmp_path):
    accepted = []
    spool = Spool(tmp_path / "spool")
    app = make_app(spool, SECRET, max_body=10_000, max_skew_s=300, accept=accepted.append, has_room=lambda: True,
                   clock=lambda: NOW)
    with TestClient(app) as client:
        yield client, spool, accepted


def _post(client, body=BODY, ts=NOW, sig=None, secret=SECRET, **headers):
    h = {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sig if sig is not None else sign(secret, str(ts), body)}
    h.update(headers)
    return client.post("/push", content=body, headers=h)


def test_a_signed_fresh_batch_is_stored_once_and_its_replay_is_not_stored_again(door):
    client, spool, accepted = door
    assert _post(client).status_code == 200
    again = _post(client)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert len(spool.pending()) == 1 == len(accepted)


@pytest.mark.parametrize("case", ["wrong secret", "no signature", "no timestamp", "tampered body", "old", "future",
                                  "signature of another timestamp", "uppercase hex", "huge timestamp"])
def test_what_is_refused_is_not_stored(door, case):
    client, spool, accepted = door
    if case == "wrong secret":
        r = _post(client, secret=b"guess")
    elif case == "no signature":
        r = client.post("/push", content=BODY, headers={TIMESTAMP_HEADER: str(NOW)})
    elif case == "no timestamp":
        r = client.post("/push", content=BODY, headers={SIGNATURE_HEADER: sign(SECRET, str(NOW), BODY)})
    elif case == "tampered body":
        r = _post(client, body=BODY.replace(b"pothole", b"nothing"), sig=sign(SECRET, str(NOW), BODY))
    elif case == "old":  # a captured request replayed after the window
        r = _post(client, ts=NOW - 301)
    elif case == "future":
        r = _post(client, ts=NOW + 301)
    elif case == "signature of another timestamp":
        r = _post(client, ts=NOW, sig=sign(SECRET, str(NOW - 10), BODY))
    elif case == "uppercase hex":
        r = _post(client, sig=sign(SECRET, str(NOW), BODY).upper())
    else:  # a timestamp of thousands of digits must be a clean 401, not a server error
        r = _post(client, ts="9" * 5000, sig="sha256=00")
    assert r.status_code == 401, (case, r.status_code, r.text)
    assert spool.pending() == [] and accepted == []
    assert SECRET.decode() not in r.text


def test_oversize_bodies_are_refused_by_header_and_while_reading(door):
    client, spool, _ = door
    big = b'{"interactions": [' + b'{"a": 1},' * 2000 + b'{}]}'
    assert _post(client, body=big).status_code == 413

    def chunks():
        for _ in range(50):
            yield b"x" * 1000
    r = client.post("/push", content=chunks(), headers={TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "sha256=0"})
    assert r.status_code == 413
    assert spool.pending() == []


def test_the_signature_is_compared_in_constant_time(door, monkeypatch):
    client, _, _ = door
    calls = []
    original = hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return original(a, b)
    monkeypatch.setattr(push_mod.hmac, "compare_digest", spy)
    _post(client, secret=b"guess")
    _post(client)
    assert len(calls) == 2  # every signature check goes through hmac.compare_digest
