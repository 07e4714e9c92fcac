"""The Open311 client counts its failed requests by kind (civic_signal_open311_request_errors_total)."""

from __future__ import annotations

import socket

import pytest

from civic_signal.config.errors import PermanentSinkError, RetryableSinkError
from civic_signal.core.metrics import sample
from civic_signal.sinks.open311.client import Open311Client
from tests.fakes.open311_server import FakeOpen311


def _errors(kind: str) -> float:
    return sample("civic_signal_open311_request_errors_total", {"kind": kind}) or 0.0


def test_http_errors_are_counted_by_class_and_a_success_is_not():
    with FakeOpen311(api_key="k") as srv:
        client = Open311Client(srv.url, api_key="k", timeout_s=5)
        before = {k: _errors(k) for k in ("http_5xx", "http_4xx")}
        srv.fail("GET", "services.json", "503")
        with pytest.raises(RetryableSinkError):
            client.services()
        # a 4xx to the large-page request is asked again without page parameters: 403 twice is final
        srv.fail("GET", "services.json", "403", times=2)
        with pytest.raises(PermanentSinkError):
            client.services()
        assert client.services()  # works again: no error counted
        client.close()
    assert _errors("http_5xx") == before["http_5xx"] + 1
    assert _errors("http_4xx") == before["http_4xx"] + 2


def test_a_refused_connection_is_a_transport_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    before = _errors("transport")
    client = Open311Client(f"http://127.0.0.1:{port}/open311/v2/", api_key="k", timeout_s=2)
    with pytest.raises(RetryableSinkError):
        client.services()
    client.close()
    assert _errors("transport") == before + 1
