"""Small local servers speaking each source's wire format, on 127.0.0.1 with a port from the OS.

:class:`ScriptedServer` answers each request to a path with the next function of a script; a
function gets a :class:`Reply` to write a status, headers, chunks, or to cut the connection.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Reply:
    """The server side of one request."""

    def __init__(self, handler: BaseHTTPRequestHandler, server: "ScriptedServer") -> None:
        self.h = handler
        self.server = server
        self.method, self.path = handler.command, urlsplit(handler.path).path
        self.query = {k: v[-1] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        self.headers = handler.headers
        n = int(handler.headers.get("Content-Length") or 0)
        self.body = handler.rfile.read(n) if n else b""

    def json(self):
        return json.loads(self.body)

    def status(self, code: int, body: bytes | dict | list = b"", headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        self.h.send_response(code)
        for k, v in (headers or {}).items():
            self.h.send_header(k, v)
        self.h.send_header("Content-Type", "application/json")
        self.h.send_header("Content-Length", str(len(data)))
        self.h.end_headers()
        self.h.wfile.write(data)
        self.h.wfile.flush()

    def start_stream(self, content_type: str = "application/json") -> None:
        self.h.send_response(200)
        self.h.send_header("Content-Type", content_type)
        self.h.send_header("Transfer-Encoding", "chunked")
        self.h.end_headers()
        self.h.wfile.flush()

    def chunk(self, data: bytes | str) -> None:
        data = data.encode() if isinstance(data, str) else data
        self.h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.h.wfile.flush()

    def end_stream(self) -> None:
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()

    def cut(self) -> None:
        """Drop the connection mid-stream (no final chunk)."""
        self.h.close_connection = True
        try:
            self.h.connection.shutdown(2)
        except OSError:
            pass

    def hold(self, seconds: float = 10.0) -> None:
        """Stall: send nothing until the test ends (or ``seconds``)."""
        self.server.release.wait(seconds)

    def keep_alive_until_released(self, beat: bytes = b"\r\n", every: float = 0.05) -> None:
        """Keep-alives until the test ends or the client goes away."""
        while not self.server.release.wait(every):
            try:
                self.chunk(beat)
            except OSError:
                return


Step = Callable[[Reply], None]


class ScriptedServer:
    """Answers ``METHOD path`` with the next step of its script (the last step repeats)."""

    def __init__(self, scripts: dict[str, list[Step]]) -> None:
        self.scripts = scripts
        self.calls: dict[str, int] = defaultdict(int)
        self.requests: list[Reply] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _any(self) -> None:
                key = f"{self.command} {urlsplit(self.path).path}"
                reply = Reply(self, outer)
                with outer.lock:
                    outer.requests.append(reply)
                    n = outer.calls[key]
                    outer.calls[key] += 1
                steps = outer.scripts.get(key)
                if not steps:
                    reply.status(404, {"title": "Not Found", "path": key})
                    return
                try:
                    steps[min(n, len(steps) - 1)](reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests_to(self, key: str) -> list[Reply]:
        method, path = key.split(" ", 1)
        return [r for r in self.requests if r.method == method and r.path == path]


def take(source, n: int, *, limit_s: float = 20.0, predicate=None) -> list:
    """Iterate ``source`` in a thread until ``n`` items (matching ``predicate``) arrived; then close it
    and let the iteration end by itself (so the source's after-publish steps run).

    ``limit_s`` only guards against a hang (the test then fails on the count), it is not a timing check.
    """
    items: list = []
    got = threading.Event()

    def run() -> None:
        for item in source:  # once enough arrived: close, and take what the source still finishes
            items.append(item)
            if not got.is_set() and sum(1 for i in items if predicate is None or predicate(i)) >= n:
                got.set()
                source.close()
        got.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    got.wait(limit_s)
    source.close()
    t.join(5)
    return items
