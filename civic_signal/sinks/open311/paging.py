"""Where the next page of a GeoReport v2 list is, whatever style the server pages in.

The spec has no pagination, so servers invent their own. :func:`next_page` recognises, in this
order of trust:

1. a ``Link: <url>; rel="next"`` header (RFC 8288; CKAN, GitHub-style APIs);
2. a next URL in a JSON object body: ``next``, ``next_page``, ``next_page_url``, ``next_url``, at
   the top or under ``links``/``_links``/``meta``/``pagination``/``paging`` (a string, or an object
   with ``href``/``url``; Django REST framework, JSON:API, HAL); a number there is a page number;
3. an ``X-Next-Page-URL`` header (or ``X-Next-Page``, a URL or a page number);
4. counts that say more pages exist, with no link: ``X-Page-Count``/``X-Total-Pages``/``total_pages``
   (pages) or ``X-Result-Count``/``X-Total-Count``/``X-Total``/``count``/``total`` (items); then the
   next page is asked for by number (``page=N+1`` on this page's URL and parameters); likewise
   when the body only says ``has_more``/``has_next``: true.

:func:`page_items` finds the list in a body: the body itself, or the first list under a known key
(``services``, ``service_requests``, ``results``, ``data``, ...), one level deep at most.
Pure functions of a response and its parsed body; the loop (and its guard) is
:meth:`civic_signal.sinks.open311.client.Open311Client.pages`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

#: Page-size parameters sent with the first request of a list ("ask for large pages first"):
#: Django REST framework and most page-number APIs read ``page_size``, Rails/WordPress-style ones
#: ``per_page``. A server that refuses them (a 4xx) is asked again without them.
LARGE_PAGE = {"page_size": "1000", "per_page": "1000"}

_LIST_KEYS = ("services", "service_list", "service_requests", "requests", "results", "data", "items",
              "service", "request", "records")
_NEST_KEYS = ("links", "_links", "meta", "pagination", "paging")
_NEXT_KEYS = ("next", "next_page", "next_page_url", "next_url")
_PAGES_HEADERS = ("x-page-count", "x-total-pages", "x-pages")
_ITEMS_HEADERS = ("x-result-count", "x-total-count", "x-total")
_PAGES_KEYS = ("total_pages", "page_count", "num_pages", "pages", "last_page")
_ITEMS_KEYS = ("count", "total", "total_count", "total_results", "result_count")
_PAGE_KEYS = ("page", "current_page", "page_number")
_MORE_KEYS = ("has_more", "has_next", "has_next_page", "more")


def page_items(data: Any) -> list | None:
    """The list of records in a page body, or None when there is none."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return None
    for key in _LIST_KEYS:
        v = data.get(key)
        if isinstance(v, list):
            return v
        if isinstance(v, dict):  # {"service_requests": {"request": [...]}} (XML turned JSON)
            inner = next((x for x in v.values() if isinstance(x, list)), None)
            if inner is not None:
                return inner
    return None


def _int(v: Any) -> int | None:
    try:
        n = int(str(v).strip())
    except (TypeError, ValueError):
        return None
    return n if n >= 0 else None


def _places(data: Any) -> list[dict]:
    """The body and its pagination sub-objects, where next links and counts live."""
    if not isinstance(data, dict):
        return []
    out = [data]
    for key in _NEST_KEYS:
        v = data.get(key)
        if isinstance(v, dict):
            out.append(v)
            out += [x for x in v.values() if isinstance(x, dict)]  # meta.pagination.links
    return out


def _json_next(data: Any) -> str | int | None:
    for d in _places(data):
        for key in _NEXT_KEYS:
            v = d.get(key)
            if isinstance(v, dict):
                v = v.get("href") or v.get("url")
            if isinstance(v, bool) or v in (None, ""):
                continue
            if isinstance(v, int):
                return v
            if isinstance(v, str):
                return _int(v) if v.strip().isdigit() else v
    return None


def _first(data: Any, keys: tuple[str, ...]) -> int | None:
    for d in _places(data):
        for key in keys:
            if key in d and not isinstance(d[key], (list, dict, bool)):
                n = _int(d[key])
                if n is not None:
                    return n
    return None


def _header_int(resp: httpx.Response, names: tuple[str, ...]) -> int | None:
    for name in names:
        n = _int(resp.headers.get(name))
        if n is not None:
            return n
    return None


def with_page(url: str, page: int) -> str:
    """``url`` with its ``page`` query parameter set to ``page``."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.append(("page", str(page)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def next_page(resp: httpx.Response, data: Any, *, page: int, collected: int, got: int) -> tuple[str | None, str]:
    """The absolute URL of the page after this one, or None; and how it was found (for logs).

    ``page`` is this page's number (1 for the first), ``collected`` how many distinct records
    were read so far, ``got`` how many this page held. A link always wins over counts.
    """
    here = str(resp.url)
    link = resp.links.get("next", {}).get("url")
    if link:
        return urljoin(here, link), "Link header"
    nxt = _json_next(data)
    if isinstance(nxt, str):
        return urljoin(here, nxt), "JSON next"
    if isinstance(nxt, int):
        return (with_page(here, nxt), "JSON next page number") if nxt > page else (None, "")
    header = resp.headers.get("x-next-page-url") or resp.headers.get("x-next-page")
    if header and header.strip():
        header = header.strip()
        if header.isdigit():
            return (with_page(here, int(header)), "X-Next-Page") if int(header) > page else (None, "")
        return urljoin(here, header), "X-Next-Page-URL header"
    if got == 0:
        return None, ""
    current = _header_int(resp, ("x-page", "x-current-page")) or _first(data, _PAGE_KEYS) or page
    pages = _header_int(resp, _PAGES_HEADERS) or _first(data, _PAGES_KEYS)
    total = _header_int(resp, _ITEMS_HEADERS) or _first(data, _ITEMS_KEYS)
    if total is not None and collected >= total:
        return None, ""
    if (pages is not None and current < pages) or (pages is None and total is not None and collected < total):
        return with_page(here, current + 1), "page number (counts say more pages exist)"
    if pages is None and total is None and any(d.get(k) is True for d in _places(data) for k in _MORE_KEYS):
        return with_page(here, current + 1), "page number (the body says it has more)"
    return None, ""


def merge_params(url: str, params: dict[str, Any]) -> str:
    """``url`` plus those of ``params`` its query lacks (a next link that dropped ``jurisdiction_id``)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    have = {k for k, _ in query}
    query += [(k, str(v)) for k, v in params.items() if k not in have and v not in (None, "")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def on_base(url: str, base_url: str) -> str:
    """``url`` moved onto ``base_url``'s scheme and host when its path lies under the base path
    but its origin differs (``http://app:8000/open311/v2/...`` behind a proxy, or ``http`` where
    we speak ``https``); any other URL unchanged."""
    u, b = urlsplit(url), urlsplit(base_url)
    if (u.scheme, u.netloc) != (b.scheme, b.netloc) and u.path.startswith(b.path.rstrip("/") + "/"):
        return urlunsplit(u._replace(scheme=b.scheme, netloc=b.netloc))
    return url
