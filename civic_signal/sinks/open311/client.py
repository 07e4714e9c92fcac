"""A thin Open311 GeoReport v2 client over an injected ``httpx.Client``.

Every call has an explicit timeout (``timeout_s``; connect at most 5 s). Errors::

    RetryableSinkError   timeouts, connection errors, HTTP 5xx, 408, 429, a 2xx that is not JSON
                         (:func:`endpoint_down` tells the outages among them)
    PermanentSinkError   any other HTTP 4xx (bad api key, unknown service, missing attribute ...)

Both carry ``status_code`` when the server answered. Lists (``services.json``,
``requests.json``) are read across pages in any style a server uses (:mod:`.paging`).

Messages carry the method, the path, the HTTP status and the server's reason, parsed from the
spec's ``[{"code", "description"}]`` array, from an object such as ``{"code", "detail"}``, from any other JSON, or from an HTML error page.
The api key is sent only in the body of ``POST requests.json`` and is scrubbed from every
message; it never appears in a URL, a log line or a repr.
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import httpx
from pydantic import SecretStr, ValidationError

from civic_signal.config.errors import PermanentSinkError, RetryableSinkError, SinkError
from civic_signal.core import metrics
from civic_signal.sinks.open311.models import (AttributeValue, RequestReceipt, RequestStatus, Service, ServiceAttribute,
                                               ServiceDefinition, TicketRequest)
from civic_signal.sinks.open311.paging import LARGE_PAGE, merge_params, next_page, on_base, page_items

log = logging.getLogger("civic_signal.open311")

#: At most this many pages of a list are read (a loop guard).
MAX_PAGES = 100
_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.I | re.S)
_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.I | re.S)


#: HTTP answers that say the endpoint as a whole is down (a proxy in front of a stopped server).
OUTAGE_STATUS = frozenset({502, 503, 504})


def _down(err: RetryableSinkError) -> RetryableSinkError:
    err.endpoint_down = True  # type: ignore[attr-defined]
    return err


def endpoint_down(exc: BaseException) -> bool:
    """True when ``exc`` says the endpoint as a whole is unreachable or down (connection refused
    or reset, a timeout, HTTP 502/503/504, a 2xx that is not JSON such as a maintenance page),
    rather than that it refused or choked on one request."""
    return bool(getattr(exc, "endpoint_down", False))


def error_reason(body: bytes | str, content_type: str = "") -> str:
    """A short human reason from an error body: the spec's array, other JSON, HTML or text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text:
        return "(empty body)"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if data is not None:
        return _json_reason(data)[:500]
    if "html" in content_type.lower() or text.lstrip().startswith("<"):
        parts = []
        for rx in (_TITLE, _H1):
            m = rx.search(text)
            if m:
                t = " ".join(html.unescape(_TAG.sub(" ", m.group(1))).split())
                if t and not any(t in p for p in parts):
                    parts.append(t)
        if not parts:
            parts.append(" ".join(html.unescape(_TAG.sub(" ", _SCRIPT.sub(" ", text))).split())[:200])
        return ("HTML page: " + " - ".join(parts))[:500]
    return " ".join(text.split())[:300]


def _json_reason(data: Any) -> str:
    if isinstance(data, list):
        items = [_json_reason(d) for d in data[:5]]
        return "; ".join(i for i in items if i) or json.dumps(data)[:300]
    if isinstance(data, dict):
        code = data.get("code") or data.get("status") or data.get("error_code")
        for key in ("description", "message", "error_description", "detail", "error", "errors", "title"):
            if key in data and data[key]:
                v = data[key]
                msg = v if isinstance(v, str) else _json_reason(v)
                return f"{code}: {msg}" if code and str(code) not in msg else msg
        return json.dumps(data, default=str)[:300]
    return str(data)[:300]


def _int_or_none(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


class Open311Client:
    """GeoReport v2 calls against ``base_url`` (ending in ``/``). Thread-safe if ``http`` is."""

    def __init__(self, base_url: str, *, api_key: SecretStr | str = "", jurisdiction_id: str = "",
                 http: httpx.Client | None = None, timeout_s: float = 10.0) -> None:
        if not base_url.endswith("/"):
            base_url += "/"
        self.base_url = base_url
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.jurisdiction_id = jurisdiction_id or ""
        self.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=self.timeout, follow_redirects=True,
                                         headers={"User-Agent": "civic-signal/0.1 (+open311)"})

    @classmethod
    def from_settings(cls, s, http: httpx.Client | None = None) -> "Open311Client":
        """From :class:`civic_signal.config.settings.Open311Settings`."""
        return cls(s.url, api_key=s.api_key, jurisdiction_id=s.jurisdiction_id, http=http, timeout_s=s.timeout_s)

    def __repr__(self) -> str:
        return f"Open311Client({self.base_url!r}, jurisdiction_id={self.jurisdiction_id!r}, api_key=**********)"

    # -- plumbing ---------------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """``text`` with the api key (and its URL-encoded form) replaced by ``**********``."""
        key = self._api_key.get_secret_value()
        if key:
            from urllib.parse import quote_plus
            for form in {key, quote_plus(key)}:
                text = text.replace(form, "**********")
        return text

    def _params(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (extra or {}).items() if v not in (None, "")}
        if self.jurisdiction_id:
            params["jurisdiction_id"] = self.jurisdiction_id
        return params

    def _send(self, method: str, url: str, *, params=None, data=None) -> httpx.Response:
        what = f"Open311 {method} {url.split('?')[0]}"
        try:
            resp = self.http.request(method, url, params=params, data=data, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            metrics.open311_error("timeout")
            raise _down(RetryableSinkError(
                self.scrub(f"{what} timed out after {self.timeout.read:g}s ({exc.__class__.__name__})"),
                hint="the endpoint is slow or down; the ticket is retried with backoff")) from None
        except httpx.TransportError as exc:
            metrics.open311_error("transport")
            raise _down(RetryableSinkError(self.scrub(f"{what} failed: {exc.__class__.__name__}: {exc}"),
                                           hint="check open311.url / CIVIC_OPEN311__URL and the network")) from None
        if resp.status_code >= 400:
            metrics.open311_error("http_5xx" if resp.status_code >= 500 else "http_4xx")
            reason = self.scrub(error_reason(resp.content, resp.headers.get("content-type", "")))
            msg = f"{what} -> HTTP {resp.status_code}: {reason}"
            if resp.status_code >= 500 or resp.status_code in (408, 425, 429):
                err = RetryableSinkError(msg, hint="the endpoint failed; the ticket is retried with backoff")
                err.status_code = resp.status_code  # type: ignore[attr-defined]
                raise _down(err) if resp.status_code in OUTAGE_STATUS else err
            hint = ("check CIVIC_OPEN311__API_KEY" if resp.status_code in (401, 403)
                    else "the endpoint refused this request; it is dead-lettered, not retried")
            err = PermanentSinkError(msg, hint=hint)
            err.status_code = resp.status_code  # type: ignore[attr-defined]
            raise err
        return resp

    def _json(self, resp: httpx.Response, what: str) -> Any:
        try:
            return resp.json()
        except ValueError:
            reason = self.scrub(error_reason(resp.content, resp.headers.get("content-type", "")))
            raise _down(RetryableSinkError(f"Open311 {what} -> HTTP {resp.status_code} but not JSON: {reason}",
                                           hint="is open311.url the GeoReport v2 base (ending in /open311/v2/)?")) from None

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self._send("GET", urljoin(self.base_url, path), params=self._params(params))
        return self._json(resp, f"GET {path}")

    # -- lists (paged) ------------------------------------------------------------------------
    def pages(self, path: str, params: dict[str, Any] | None = None, *, key: str,
              partial_ok: bool = False) -> list[dict[str, Any]]:
        """Every record of the list at ``path``, across pages, distinct by ``key`` (first wins).

        Asks for large pages first (:data:`paging.LARGE_PAGE`; asked again without them if the
        server answers the first page with a 4xx), then follows whatever next page the server
        announces (:func:`paging.next_page`: ``Link``, JSON ``next``, ``X-Next-Page-URL``, or a
        page number when counts say more pages exist). Loop guard: at most :data:`MAX_PAGES`
        pages, never the same URL twice, and a page that adds no new record ends the walk (a
        server that ignores ``page`` and repeats itself). When the guard stops a walk that still
        had a next page, a warning is logged and what was read is returned. A next link to another
        host under our base path (a server behind a proxy that names its inner host, or ``http``
        for ``https``) is followed on our base URL's scheme and host. An error on a later page
        raises, unless ``partial_ok``: then it is logged and the pages read so far are returned.
        """
        base = urljoin(self.base_url, path)
        first_params = {**self._params(params), **LARGE_PAGE}
        try:
            resp = self._send("GET", base, params=first_params)
        except PermanentSinkError:
            first_params = self._params(params)  # a server that refuses unknown parameters
            resp = self._send("GET", base, params=first_params)
        seen: set[str] = set()
        out: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            seen.add(str(resp.url))
            data = self._json(resp, f"GET {path}")
            items = page_items(data)
            if items is None:
                if isinstance(data, dict) and not data:
                    items = []
                else:
                    raise RetryableSinkError(f"Open311 GET {path}: expected a list, got {type(data).__name__}",
                                             hint="is open311.url the GeoReport v2 base (ending in /open311/v2/)?")
            new = 0
            for d in items:
                if isinstance(d, dict) and d.get(key) not in (None, "") and str(d[key]) not in out:
                    out[str(d[key])] = d
                    new += 1
            nxt, how = next_page(resp, data, page=page, collected=len(out), got=len(items))
            if nxt is None:
                break
            nxt = merge_params(on_base(nxt, self.base_url), first_params)
            why = ("it has read %d pages" % MAX_PAGES if page >= MAX_PAGES else
                   "the server repeats a page" if nxt in seen or (items and not new) else "")
            if why:
                log.warning("open311: GET %s: stopped paging (%s) after %d records; next was %s (%s)",
                            path, why, len(out), self.scrub(nxt), how)
                break
            page += 1
            try:
                resp = self._send("GET", nxt)
            except SinkError as exc:
                if not partial_ok:
                    raise
                log.warning("open311: GET %s: page %d failed, using the %d records read so far: %s",
                            path, page, len(out), exc)
                break
        return list(out.values())

    # -- discovery ----------------------------------------------------------------------------
    def services(self) -> list[Service]:
        """Every service of ``services.json``, across pages (see :meth:`pages`). A later page that
        fails leaves the list partial, which is safe: a code missing from it is sent anyway
        (:meth:`civic_signal.sinks.open311.catalog.ServiceCatalog.find`). ``requests.json`` is read whole or not at all, since the
        search for a ticket's marker must not miss a page."""
        return [Service.from_json(d) for d in self.pages("services.json", key="service_code", partial_ok=True)]

    def definition(self, service_code: str) -> ServiceDefinition:
        data = self._get(f"services/{service_code}.json")
        if isinstance(data, list):
            data = data[0] if data else {}
        attrs = []
        for a in (data or {}).get("attributes") or []:
            try:
                attrs.append(ServiceAttribute(
                    code=str(a["code"]), variable=str(a.get("variable", True)).lower() != "false",
                    datatype=str(a.get("datatype") or "string").lower(),
                    required=str(a.get("required", False)).lower() == "true",
                    description=str(a.get("description") or ""),
                    datatype_description=str(a.get("datatype_description") or ""),
                    order=int(a.get("order") or 0),
                    values=tuple(AttributeValue(key=str(v.get("key")), name=str(v.get("name") or ""))
                                 for v in a.get("values") or [] if isinstance(v, dict))))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("service %s: skipping an attribute it could not read (%s)", service_code, exc)
        return ServiceDefinition(service_code=service_code, attributes=tuple(attrs))

    # -- requests -------------------------------------------------------------------------------
    def create(self, req: TicketRequest) -> RequestReceipt:
        """``POST requests.json`` (form-encoded, UTF-8). Returns the id, the token or neither."""
        body = req.form() + [("api_key", self._api_key.get_secret_value())]
        if self.jurisdiction_id:
            body.append(("jurisdiction_id", self.jurisdiction_id))
        form: dict[str, list[str]] = {}
        for k, v in body:
            form.setdefault(k, []).append(v)
        url = urljoin(self.base_url, "requests.json")
        resp = self._send("POST", url, data=form)
        data = self._json(resp, "POST requests.json")
        first = data[0] if isinstance(data, list) and data else data if isinstance(data, dict) else {}
        if not isinstance(first, dict):
            first = {}
        sid, token = first.get("service_request_id"), first.get("token")
        status = _int_or_none(first.get("code"))
        if sid in (None, "") and token in (None, "") and status and status >= 400 \
                and any(first.get(k) for k in ("description", "detail", "message")):
            # an error body under a 2xx status: treat it as the status it names
            msg = f"Open311 POST requests.json -> HTTP {resp.status_code} with an error body: {self.scrub(_json_reason(data))}"
            err: SinkError = (RetryableSinkError(msg, hint="the endpoint failed; the ticket is retried with backoff")
                              if status >= 500 or status in (408, 425, 429) else
                              PermanentSinkError(msg, hint="the endpoint refused this request; it is dead-lettered"))
            err.status_code = status  # type: ignore[attr-defined]
            raise err
        return RequestReceipt(service_request_id=str(sid) if sid not in (None, "") else None,
                              token=str(token) if token not in (None, "") else None,
                              service_notice=first.get("service_notice") or None)

    def token(self, token: str) -> str | None:
        """The service request id behind a batch ``token``, or None while it is not known yet."""
        try:
            data = self._get(f"tokens/{token}.json")
        except PermanentSinkError as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise
        items = data if isinstance(data, list) else [data]
        for d in items:
            if isinstance(d, dict) and d.get("service_request_id"):
                return str(d["service_request_id"])
        return None

    def requests(self, *, ids: list[str] | tuple[str, ...] = (), service_code: str | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 status: str | None = None) -> list[RequestStatus]:
        """``GET requests.json`` with the spec's filters (dates must be aware), across pages."""
        params = {"service_request_id": ",".join(ids) or None, "service_code": service_code,
                  "start_date": start.isoformat() if start else None, "end_date": end.isoformat() if end else None,
                  "status": status}
        items = self.pages("requests.json", params, key="service_request_id")
        out = []
        for d in items:
            try:
                out.append(RequestStatus.from_json(d))
            except (KeyError, TypeError, ValidationError):
                continue
        return out

    def request(self, service_request_id: str) -> RequestStatus | None:
        try:
            data = self._get(f"requests/{service_request_id}.json")
        except PermanentSinkError as exc:
            if getattr(exc, "status_code", None) == 404:
                return None
            raise
        items = data if isinstance(data, list) else [data]
        return RequestStatus.from_json(items[0]) if items and isinstance(items[0], dict) else None

    def close(self) -> None:
        if self._owns_http:
            self.http.close()
