"""A small Open311 GeoReport v2 server for tests, with fault injection. Reusable by anyone.

It runs in a thread on ``127.0.0.1`` with a port from the OS (stdlib ``ThreadingHTTPServer``)
and speaks the JSON flavour of the spec (``/open311/v2/...json``)::

    with FakeOpen311(api_key="k") as srv:            # srv.url ends in "/open311/v2/"
        srv.fail("POST", "requests.json", "500", times=2)   # then it works again
        ...
        assert len(srv.created) == 1                 # every request it accepted, in order
        srv.set_status(srv.created[0]["service_request_id"], "closed", "fixed")

What it checks like a real endpoint (errors are the spec's ``[{"code", "description"}]`` array):
``api_key`` (403), a known ``service_code`` (400), exactly one location (``lat``+``long``,
``address_string`` or ``address_id``; 400), ``description`` <= 4,000 characters (400), every
required ``attribute[CODE]`` of the service definition (400), and ``jurisdiction_id`` when the
server is given one (404 for another value). Services are Boston's list
(``config/data/services.json``) unless given; ``batch_codes`` answer with a token that
``tokens/{token}.json`` resolves after ``token_lookups`` lookups.

Paging (``services.json`` and ``requests.json``): ``page_size`` records a page (None: no paging),
the client's ``page_size``/``per_page`` honoured up to ``max_page_size`` (None: ignored), and
``paging`` the style a real server uses:

- ``"link"``: a ``Link: <...?page=N>; rel="next"`` header;
- ``"json-next"``: Django REST framework's ``{"count", "next", "previous", "results"}``;
- ``"x-next"``: an absolute ``X-Next-Page-URL`` header that keeps only ``page`` (the other
  query parameters are dropped), with ``X-Result-Count`` (records) and ``X-Page-Count`` (pages);
- ``"page-params"``: no link at all, only ``X-Result-Count``/``X-Page-Count``: ask ``page=N``;
- ``"repeat"`` (broken): ignores ``page``, always serves page 1 and a ``Link`` to the next page;
- ``"loop"`` (broken): the last page's ``Link`` points back to page 1.

Quirks of servers we did not write: ``error_style="object"`` answers errors as one
``{"code", "detail"}`` object; ``reads_address=True`` reads ``address`` instead of
``address_string``; ``crash_on_missing=True`` answers an HTML 500 page (an unhandled exception)
instead of a 400 when a field it reads is missing. :meth:`FakeOpen311.independent` bundles the
ones of the independent server in issue 20 (pages of 100 with ``X-Next-Page-URL``, all quirks on).
``port`` binds a given port: stop a server and start another on the same port to play an outage.

Faults (``fail(method, path_suffix, kind, times)``), served before the normal answer:
``"500"`` (JSON array), ``"500-html"`` and ``"502-html"`` (an HTML error page), ``"503"``,
``"403"``, ``"400"``, ``"404"``, ``"timeout"`` (holds the request until :meth:`stop`, so the
client times out), ``"drop"`` (closes the connection without answering), ``"200-html"`` (a 200
with an HTML page), ``"create-then-500"`` (creates the request, then answers 500).
Every call is recorded in :attr:`calls` (method, path, query, form).
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SERVICES_JSON = Path(__file__).resolve().parents[2] / "civic_signal" / "config" / "data" / "services.json"
PREFIX = "/open311/v2/"

#: A definition with a required list attribute, for potholes (used unless ``definitions`` is given).
POTHOLE_DEFINITION = {
    "service_code": "REQPOTHL",
    "attributes": [
        {"variable": True, "code": "POTHOLE_SIZE", "datatype": "singlevaluelist", "required": True,
         "datatype_description": None, "order": 1, "description": "How big is the pothole?",
         "values": [{"key": "small", "name": "Small (smaller than a hand)"},
                    {"key": "large", "name": "Large (bigger than a car tire)"},
                    {"key": "unknown", "name": "Not sure"}]},
        {"variable": True, "code": "NOTES", "datatype": "text", "required": False, "order": 2,
         "description": "Anything else?"},
    ],
}

_HTML_PAGE = ("<!DOCTYPE html><html><head><title>{code} {title}</title><style>body{{}}</style></head>"
              "<body><h1>{title}</h1><p>The server encountered a temporary error.</p></body></html>")


class FakeOpen311:
    def __init__(self, *, api_key: str = "test-key", jurisdiction_id: str | None = None,
                 services: list[dict[str, Any]] | None = None, definitions: dict[str, dict] | None = None,
                 batch_codes: tuple[str, ...] = (), token_lookups: int = 1, page_size: int | None = None,
                 max_page_size: int | None = None, paging: str = "link", error_style: str = "array",
                 reads_address: bool = False, crash_on_missing: bool = False, port: int = 0) -> None:
        assert paging in ("link", "json-next", "x-next", "page-params", "repeat", "loop"), paging
        assert error_style in ("array", "object"), error_style
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        raw = services if services is not None else json.loads(SERVICES_JSON.read_text())
        self.services = [dict(s, type="batch" if s["service_code"] in batch_codes else s.get("type", "realtime"))
                         for s in raw]
        self.definitions = definitions if definitions is not None else {"REQPOTHL": POTHOLE_DEFINITION}
        self.token_lookups = token_lookups
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.paging = paging
        self.error_style = error_style
        self.reads_address = reads_address
        self.crash_on_missing = crash_on_missing
        self.port = port
        self.created: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str, dict[str, str], dict[str, list[str]]]] = []
        self._faults: list[list[Any]] = []  # [method, suffix, kind, remaining]
        self._tokens: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(101)
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{PREFIX}"

    def start(self) -> "FakeOpen311":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

            def do_POST(self) -> None:
                server._handle(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up (timeouts, drops) is part of the game here

        self._httpd = Server(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-open311", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @classmethod
    def independent(cls, **kw: Any) -> "FakeOpen311":
        """Like the independent Open311 server of issue 20 (Django REST based): pages of 100 that
        ignore larger page sizes, next page in ``X-Next-Page-URL`` with ``X-Result-Count`` and
        ``X-Page-Count``, ``{"code", "detail"}`` errors, ``address`` read instead of
        ``address_string``, and an HTML 500 page when a field it reads is missing."""
        return cls(**{"page_size": 100, "max_page_size": 100, "paging": "x-next", "error_style": "object",
                      "reads_address": True, "crash_on_missing": True, **kw})

    def __enter__(self) -> "FakeOpen311":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, method: str, path_suffix: str, kind: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` to a path ending in ``path_suffix`` get fault ``kind``."""
        with self._lock:
            self._faults.append([method.upper(), path_suffix, kind, times])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def set_status(self, service_request_id: str, status: str, notes: str | None = None) -> None:
        with self._lock:
            for r in self.created:
                if r["service_request_id"] == service_request_id:
                    r["status"], r["status_notes"] = status, notes
                    r["updated_datetime"] = datetime.now(timezone.utc).isoformat()

    def count(self, method: str, path_suffix: str) -> int:
        return sum(1 for m, p, _, _ in self.calls if m == method and p.endswith(path_suffix))

    # -- serving --------------------------------------------------------------------------------
    def _take_fault(self, method: str, path: str) -> str | None:
        with self._lock:
            for f in self._faults:
                if f[0] == method and path.endswith(f[1]) and f[3] > 0:
                    f[3] -= 1
                    return f[2]
        return None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True) if h.command == "POST" else {}
        with self._lock:
            self.calls.append((h.command, path, query, form))
        fault = self._take_fault(h.command, path)
        if fault == "drop":
            h.close_connection = True
            h.connection.close()
            return
        if fault == "timeout":
            self._release.wait(30)
            fault = "503"
        if fault == "create-then-500":
            self._route(h.command, path, query, form)
            return self._send(h, 500, [{"code": 500, "description": "internal error after saving"}])
        if fault in ("500-html", "502-html", "200-html"):
            code = int(fault[:3])
            title = {500: "Internal Server Error", 502: "Bad Gateway", 200: "Maintenance"}[code]
            return self._send(h, code, _HTML_PAGE.format(code=code, title=title).encode(), "text/html; charset=utf-8")
        if fault:
            code = int(fault)
            return self._send(h, code, [{"code": code, "description": f"injected fault {code}"}])
        if not path.startswith(PREFIX):
            return self._send(h, 404, b"<html><title>404 Not Found</title></html>", "text/html")
        status, payload, headers = self._route(h.command, path[len(PREFIX):], query, form)
        if status == 500 and isinstance(payload, bytes):
            return self._send(h, 500, payload, "text/html; charset=utf-8")
        if status == 200 and h.command == "GET" and path[len(PREFIX):] in ("services.json", "requests.json"):
            status, payload, headers = self._page(path, query, payload)
        self._send(h, status, payload, headers=headers)

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: Any, ctype: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        if (status >= 400 and self.error_style == "object" and isinstance(payload, list) and len(payload) == 1
                and isinstance(payload[0], dict) and "description" in payload[0]):
            payload = {"code": payload[0]["code"], "detail": payload[0]["description"]}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, rel: str, q: dict[str, str], form: dict[str, list[str]]):
        if rel.startswith(PREFIX):
            rel = rel[len(PREFIX):]
        j = (form.get("jurisdiction_id") or [q.get("jurisdiction_id")])[0] if (form or q) else None
        if self.jurisdiction_id and j is not None and j != self.jurisdiction_id:
            return 404, [{"code": 404, "description": f"jurisdiction_id {j!r} not found"}], None
        if method == "GET" and rel == "services.json":
            return self._services(q)
        if method == "GET" and rel.startswith("services/") and rel.endswith(".json"):
            code = rel[len("services/"):-5]
            if code not in self.definitions and any(x["service_code"] == code for x in self.services):
                return 200, {"service_code": code, "attributes": []}, None
            if code not in self.definitions:
                return 404, [{"code": 404, "description": f"service_code {code} has no definition"}], None
            return 200, self.definitions[code], None
        if method == "POST" and rel == "requests.json":
            return self._create(form)
        if method == "GET" and rel.startswith("tokens/"):
            return self._token(rel[len("tokens/"):-5])
        if method == "GET" and rel == "requests.json":
            return 200, self._query(q), None  # paged by _page
        if method == "GET" and rel.startswith("requests/"):
            sid = rel[len("requests/"):-5]
            found = [self._public(r) for r in self.created if r["service_request_id"] == sid]
            return (200, found, None) if found else (404, [{"code": 404, "description": "not found"}], None)
        return 404, [{"code": 404, "description": f"no such resource {rel}"}], None

    def _services(self, q: dict[str, str]):
        return 200, self.services, None

    def _page(self, path: str, q: dict[str, str], rows: list[dict[str, Any]]):
        """One page of ``rows`` in the configured style (everything when ``page_size`` is None)."""
        if not self.page_size:
            return 200, rows, None
        size = self.page_size
        asked = q.get("page_size") or q.get("per_page")
        if self.max_page_size and asked and asked.isdigit() and int(asked) > 0:
            size = min(int(asked), self.max_page_size)
        pages = max(1, -(-len(rows) // size))
        page = 1 if self.paging == "repeat" else max(1, int(q.get("page") or 1) if (q.get("page") or "").isdigit() else 1)
        chunk = rows[(page - 1) * size: page * size]
        nxt = page + 1 if page < pages else (1 if self.paging == "loop" and pages > 1 else None)
        if self.paging == "repeat" and pages > 1:
            nxt = int(q.get("page") or 1) + 1
        rel = urlencode({**q, "page": nxt}) if nxt else ""
        headers: dict[str, str] = {}
        if self.paging in ("link", "repeat", "loop"):
            if nxt:
                headers["Link"] = f'<{path}?{rel}>; rel="next", <{path}?{urlencode({**q, "page": 1})}>; rel="first"'
            return 200, chunk, headers
        if self.paging == "json-next":
            return 200, {"count": len(rows), "next": f"{self.url}{path[len(PREFIX):]}?{rel}" if nxt else None,
                         "previous": None, "results": chunk}, None
        headers = {"X-Result-Count": str(len(rows)), "X-Page-Count": str(pages)}
        if self.paging == "x-next" and nxt:
            headers["X-Next-Page-URL"] = f"{self.url}{path[len(PREFIX):]}?page={nxt}"
        return 200, chunk, headers

    def _create(self, form: dict[str, list[str]]):
        f = {k: v[-1] for k, v in form.items()}
        if f.get("api_key") != self.api_key:
            return 403, [{"code": 403, "description": "Invalid api_key"}], None
        code = f.get("service_code", "")
        svc = next((s for s in self.services if s["service_code"] == code), None)
        if svc is None:
            return 400, [{"code": 400, "description": f"service_code {code!r} not found"}], None
        has_point = bool(f.get("lat")) and bool(f.get("long"))
        address = f.get("address") if self.reads_address else f.get("address_string")
        if self.crash_on_missing and not (has_point or address or f.get("address_id")):
            missing = "address" if self.reads_address else "address_string"
            return 500, _HTML_PAGE.format(code=500, title="Server Error").replace(
                "The server encountered a temporary error.", f"KeyError: '{missing}'").encode(), None
        if not (has_point or address or f.get("address_id")):
            return 400, [{"code": 400, "description": "a location (lat/long, address_string or address_id) is required"}], None
        if len(f.get("description", "")) > 4000:
            return 400, [{"code": 400, "description": "description is longer than 4000 characters"}], None
        for attr in (self.definitions.get(code) or {}).get("attributes", []):
            if attr.get("required") and not (form.get(f"attribute[{attr['code']}]") or form.get(f"attribute[{attr['code']}][]")):
                return 400, [{"code": 400, "description": f"attribute[{attr['code']}] is required"}], None
        now = datetime.now(timezone.utc).isoformat()
        with self._lock:
            sid = str(next(self._ids))
            rec = dict(service_request_id=sid, service_code=code, description=f.get("description", ""),
                       status="open", status_notes=None, requested_datetime=now, updated_datetime=now,
                       lat=f.get("lat"), long=f.get("long"), address=address,
                       media_url=f.get("media_url"), form=form, type=svc.get("type", "realtime"))
            self.created.append(rec)
            if rec["type"] == "batch":
                token = f"tok-{sid}"
                self._tokens[token] = {"sid": sid, "lookups": 0}
                return 200, [{"token": token}], None
        if rec["type"] == "blackbox":
            return 200, [{"service_notice": "thank you"}], None
        return 200, [{"service_request_id": sid, "service_notice": "We will look into it"}], None

    def _token(self, token: str):
        with self._lock:
            t = self._tokens.get(token)
            if t is None:
                return 404, [{"code": 404, "description": f"token {token} not found"}], None
            t["lookups"] += 1
            ready = t["lookups"] >= self.token_lookups
        return 200, [{"token": token, "service_request_id": t["sid"] if ready else None}], None

    @staticmethod
    def _public(r: dict[str, Any]) -> dict[str, Any]:
        keys = ("service_request_id", "status", "status_notes", "service_code", "description",
                "requested_datetime", "updated_datetime", "media_url")
        out = {k: r.get(k) for k in keys}
        out.update(lat=float(r["lat"]) if r.get("lat") else None, long=float(r["long"]) if r.get("long") else None,
                   address=r.get("address"))
        return out

    def _query(self, q: dict[str, str]) -> list[dict[str, Any]]:
        with self._lock:
            rows = list(self.created)
        if q.get("service_request_id"):
            ids = set(q["service_request_id"].split(","))
            return [self._public(r) for r in rows if r["service_request_id"] in ids]
        if q.get("service_code"):
            rows = [r for r in rows if r["service_code"] in q["service_code"].split(",")]
        if q.get("status"):
            rows = [r for r in rows if r["status"] in q["status"].split(",")]

        def when(v: str) -> datetime:
            return datetime.fromisoformat(v.replace("Z", "+00:00"))
        if q.get("start_date"):
            rows = [r for r in rows if when(r["requested_datetime"]) >= when(q["start_date"])]
        if q.get("end_date"):
            rows = [r for r in rows if when(r["requested_datetime"]) <= when(q["end_date"])]
        return [self._public(r) for r in rows[:1000]]
