"""The operations endpoint of a long-running role: ``/metrics``, ``/healthz``, ``/readyz`` on one port.

- ``GET /metrics``: every metric of :data:`civic_signal.core.metrics.REGISTRY` in the Prometheus
  text format.
- ``GET /healthz``: ``200 ok`` while the process serves HTTP at all (liveness).
- ``GET /readyz``: ``200`` when every readiness check passed, else ``503``; the body is JSON naming
  each check and why it failed. Answered from :meth:`Readiness.state` (a cache), never by running
  a check, so it takes microseconds.

The server runs in daemon threads (``ThreadingHTTPServer``) and binds ``host`` (127.0.0.1 unless
configured). Port 0 asks the system for a free port (:attr:`OpsServer.port` tells which).
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from civic_signal.config.errors import ConfigError
from civic_signal.core.metrics import REGISTRY
from civic_signal.listener.readiness import Readiness

log = logging.getLogger("civic_signal.ops_http")


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, a kept-alive scrape waits ~40 ms

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            self._answer(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            state = self.server.readiness.state()
            self._answer(200 if state.ready else 503, orjson.dumps(state.as_dict()) + b"\n", "application/json")
        else:
            self._answer(404, b"not found: try /metrics, /healthz, /readyz\n", "text/plain; charset=utf-8")

    def _answer(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - scrapes are not news
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    readiness: Readiness


class OpsServer:
    """Serves the three endpoints for ``readiness`` until :meth:`close`."""

    def __init__(self, readiness: Readiness, *, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as exc:
            raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                              hint="choose another metrics.port (CIVIC_METRICS__PORT) or stop what uses it") from None
        self._server.readiness = readiness
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="ops-http", daemon=True)

    @property
    def host(self) -> str:
        return self._server.server_address[0]

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> "OpsServer":
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
