"""Readiness: checks run in the background; state() reads the cache; a hanging checker makes the role unready."""

from __future__ import annotations

import threading
import time

from civic_signal.listener.readiness import Readiness


def _wait(cond, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_not_ready_before_the_first_round_then_each_check_counts():
    ok = {"a": True}
    r = Readiness({"a": lambda: None if ok["a"] else "a is down", "b": lambda: None})
    assert not r.state().ready and r.state().as_dict()["checks"]["a"]["detail"] == "not checked yet"
    assert r.run_once().ready
    ok["a"] = False
    state = r.run_once()
    assert not state.ready and state.as_dict()["checks"]["a"] == {"ok": False, "detail": "a is down"}


def test_a_check_that_raises_is_a_failed_check_and_the_thread_goes_on():
    calls = {"n": 0}

    def boom():
        calls["n"] += 1
        raise RuntimeError("probe exploded")

    r = Readiness({"x": boom}, interval_s=0.02).start()
    try:
        assert _wait(lambda: calls["n"] >= 3)
        assert r.state().as_dict()["checks"]["x"]["detail"] == "RuntimeError: probe exploded"
    finally:
        r.close()


def test_state_never_runs_a_check():
    calls = {"n": 0}

    def check():
        calls["n"] += 1
        return None

    r = Readiness({"c": check})
    r.run_once()
    for _ in range(50):
        assert r.state().ready
    assert calls["n"] == 1


def test_a_hanging_checker_makes_the_role_unready():
    release = threading.Event()
    first = {"done": False}

    def check():
        if first["done"]:
            release.wait(30)  # hangs, as a check stuck on a dead network would
        first["done"] = True
        return None

    r = Readiness({"slow": check}, interval_s=0.01, stale_after_s=0.3).start()
    try:
        assert _wait(lambda: r.state().ready)
        assert _wait(lambda: not r.state().ready)
        assert "checker hangs" in r.state().as_dict()["checks"]["checks"]["detail"]
    finally:
        release.set()
        r.close()
