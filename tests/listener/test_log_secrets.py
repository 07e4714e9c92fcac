"""The log filter masks secrets that libraries log, in messages, arguments and tracebacks."""

from __future__ import annotations

import io
import logging

import pytest

from civic_signal.listener import log_secrets


@pytest.fixture
def logger(monkeypatch):
    monkeypatch.setattr(log_secrets, "_values", set())
    monkeypatch.setenv("CIVIC_X__BEARER_TOKEN", "tok-ABC/123+xyz")
    stream = io.StringIO()
    lg = logging.getLogger("test.log_secrets")
    lg.propagate = False
    handler = logging.StreamHandler(stream)
    lg.addHandler(handler)
    log_secrets.install(lg)
    yield lg, stream
    lg.removeHandler(handler)


def test_secrets_from_the_environment_are_masked_in_messages_and_arguments(logger):
    lg, stream = logger
    lg.warning("headers: %s", {"Authorization": "Bearer tok-ABC/123+xyz"})
    lg.warning("url: https://h/?token=%s", "tok-ABC%2F123%2Bxyz")
    lg.warning("bytes: %r", b"Bearer tok-ABC/123+xyz")
    out = stream.getvalue()
    assert "tok-ABC" not in out and out.count(log_secrets.MASK) == 3


def test_secrets_in_tracebacks_are_masked(logger):
    lg, stream = logger
    try:
        raise RuntimeError("connect failed for sasl password tok-ABC/123+xyz")
    except RuntimeError:
        lg.exception("boom")
    assert "tok-ABC" not in stream.getvalue() and "RuntimeError" in stream.getvalue()


def test_secrets_of_loaded_settings_are_protected_too(logger, monkeypatch):
    from civic_signal.config.settings import load_settings
    lg, stream = logger
    monkeypatch.setenv("CIVIC_OPEN311__API_KEY", "key-from-settings-42")
    log_secrets.protect_settings(load_settings())
    lg.error("POST failed: api_key=key-from-settings-42")
    assert "key-from-settings-42" not in stream.getvalue()
    assert log_secrets.scrub("x key-from-settings-42 y") == f"x {log_secrets.MASK} y"


def test_short_values_are_not_masked_everywhere(logger):
    log_secrets.protect(["ab", ""])
    assert log_secrets.scrub("abc ab") == "abc ab"
