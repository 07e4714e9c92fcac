"""Where the next page is, in every style servers use (pure functions over httpx responses),
and the client walking them against the fake GeoReport v2 server, loop guard included."""

from __future__ import annotations

import httpx
import pytest

from civic_signal.config.errors import RetryableSinkError
from civic_signal.sinks.open311.client import Open311Client
from civic_signal.sinks.open311.paging import merge_params, next_page, on_base, page_items
from tests.fakes.open311_server import FakeOpen311

URL = "https://311.example/open311/v2/services.json?jurisdiction_id=j"


def resp(body=None, headers=None, url=URL) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else [], headers=headers or {},
                          request=httpx.Request("GET", url))


def nxt(r: httpx.Response, data, *, page=1, collected=100, got=100):
    return next_page(r, data, page=page, collected=collected, got=got)[0]


def test_a_link_header_wins_and_relative_links_are_made_absolute():
    r = resp(headers={"Link": '</open311/v2/services.json?page=2>; rel="next", <x?page=9>; rel="last"',
                      "X-Next-Page-URL": "https://elsewhere/p3"})
    assert nxt(r, []) == "https://311.example/open311/v2/services.json?page=2"


@pytest.mark.parametrize("body, expected", [
    ({"count": 118, "next": "https://311.example/s.json?page=2", "results": []}, "https://311.example/s.json?page=2"),
    ({"data": [], "links": {"next": "/s.json?cursor=abc"}}, "https://311.example/s.json?cursor=abc"),
    ({"items": [], "_links": {"next": {"href": "s.json?page=2"}}}, "https://311.example/open311/v2/s.json?page=2"),
    ({"services": [], "meta": {"pagination": {"next_url": "s.json?p=2"}}}, "https://311.example/open311/v2/s.json?p=2"),
    ({"services": [], "next_page": 2}, "https://311.example/open311/v2/services.json?jurisdiction_id=j&page=2"),
    ({"results": [], "next": None, "count": 100}, None),
])
def test_json_next_links_and_page_numbers(body, expected):
    assert nxt(resp(body), body) == expected


def test_x_next_page_url_header():
    r = resp(headers={"X-Next-Page-URL": "https://311.example/open311/v2/services.json?page=2",
                      "X-Result-Count": "118", "X-Page-Count": "2"})
    assert nxt(r, []) == "https://311.example/open311/v2/services.json?page=2"
    assert nxt(resp(headers={"X-Next-Page": "3"}), [], page=2) == URL + "&page=3"


@pytest.mark.parametrize("headers, body, collected, expected", [
    ({"X-Result-Count": "118", "X-Page-Count": "2"}, [], 100, URL + "&page=2"),
    ({"X-Total-Count": "118"}, [], 100, URL + "&page=2"),
    ({"X-Total-Pages": "3", "X-Page": "2"}, [], 200, URL + "&page=3"),
    ({}, {"services": [], "total_pages": 2, "page": 1}, 100, URL + "&page=2"),
    ({}, {"results": [], "count": 118}, 100, URL + "&page=2"),
    ({"X-Result-Count": "118", "X-Page-Count": "2"}, [], 118, None),  # all read
    ({"X-Total-Pages": "2", "X-Page": "2"}, [], 150, None),  # last page
    ({}, [], 100, None),  # no link, no counts: one page
    ({}, {"services": [], "has_more": True}, 100, URL + "&page=2"),
    ({}, {"services": [], "has_more": False}, 100, None),
])
def test_page_numbers_when_counts_say_more_pages_exist(headers, body, collected, expected):
    assert nxt(resp(body, headers), body, collected=collected) == expected


def test_an_empty_page_ends_a_walk_driven_by_counts():
    r = resp(headers={"X-Result-Count": "500"})
    assert nxt(r, [], collected=100, got=0) is None


def test_page_items_finds_the_list_under_known_keys():
    assert page_items([{"a": 1}]) == [{"a": 1}]
    assert page_items({"results": [1]}) == [1]
    assert page_items({"service_requests": {"request": [2]}}) == [2]
    assert page_items({"count": 3}) is None


def test_merge_params_adds_only_what_the_next_link_dropped():
    assert merge_params("https://h/s.json?page=2", {"jurisdiction_id": "j", "page": "1", "x": ""}) == \
        "https://h/s.json?page=2&jurisdiction_id=j"


# -- the client against the fake server, one style each ---------------------------------------------
STYLES = ["link", "json-next", "x-next", "page-params"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("max_page_size", [None, 1000])
def test_every_service_is_read_in_every_style(style, max_page_size):
    with FakeOpen311(page_size=30, max_page_size=max_page_size, paging=style, jurisdiction_id="j") as srv:
        services = Open311Client(srv.url, jurisdiction_id="j", timeout_s=2).services()
        gets = [q for m, p, q, _ in srv.calls if p.endswith("services.json")]
    assert len(services) == 118 and len({s.code for s in services}) == 118
    assert {"UNSHVSDWLK", "WHLNCOMP", "PVMTMRKINS"} <= {s.code for s in services}
    assert gets[0]["page_size"] == gets[0]["per_page"] == "1000"  # large pages asked for first
    assert len(gets) == (1 if max_page_size else 4)  # a server that honours it needs one page
    assert all(q.get("jurisdiction_id") == "j" for q in gets)  # kept even where the next link drops it


def test_the_independent_servers_x_next_page_url_at_100():
    with FakeOpen311.independent() as srv:
        services = Open311Client(srv.url, timeout_s=2).services()
        assert len(services) == 118 and srv.count("GET", "services.json") == 2


@pytest.mark.parametrize("style", STYLES)
def test_requests_json_is_paged_too(style):
    with FakeOpen311(page_size=7, paging=style) as srv:
        c = Open311Client(srv.url, api_key="test-key", timeout_s=2)
        from civic_signal.sinks.open311.models import TicketRequest
        for n in range(20):
            c.create(TicketRequest(service_code="STRLGTOUT", lat=42.35, long=-71.06, description=f"light {n}"))
        found = c.requests(service_code="STRLGTOUT")
        assert sorted(int(r.service_request_id) for r in found) == list(range(101, 121))
        assert srv.count("GET", "requests.json") == 3


@pytest.mark.parametrize("style, expected", [("repeat", 25), ("loop", 118)])
def test_a_server_that_repeats_or_loops_does_not_hang_the_client(style, expected, caplog):
    with FakeOpen311(page_size=25, paging=style) as srv:
        services = Open311Client(srv.url, timeout_s=2).services()
        assert len(services) == expected and srv.count("GET", "services.json") <= 6
    assert "stopped paging (the server repeats a page)" in caplog.text


def test_an_endless_series_of_new_pages_stops_at_the_guard(monkeypatch):
    import civic_signal.sinks.open311.client as client_mod
    monkeypatch.setattr(client_mod, "MAX_PAGES", 5)
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:  # every page new, every page says "more"
        n = int(request.url.params.get("page", "1"))
        calls.append(n)
        return httpx.Response(200, json=[{"service_code": f"S{n}"}], headers={"X-Next-Page": str(n + 1)})
    c = Open311Client("https://311.example/open311/v2/", http=httpx.Client(transport=httpx.MockTransport(handler)))
    assert [s.code for s in c.services()] == ["S1", "S2", "S3", "S4", "S5"] and calls == [1, 2, 3, 4, 5]


def test_a_server_that_refuses_page_size_parameters_is_asked_again_without_them():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        if "per_page" in request.url.params:
            return httpx.Response(400, json={"code": 400, "detail": "unknown parameter per_page"})
        return httpx.Response(200, json=[{"service_code": "A"}])
    c = Open311Client("https://311.example/open311/v2/", http=httpx.Client(transport=httpx.MockTransport(handler)))
    assert [s.code for s in c.services()] == ["A"] and seen == [{"page_size": "1000", "per_page": "1000"}, {}]


def test_a_page_that_is_not_a_list_is_a_retryable_error():
    c = Open311Client("https://311.example/open311/v2/", http=httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(200, json={"message": "maintenance"}))))
    with pytest.raises(RetryableSinkError, match="expected a list"):
        c.services()


def test_a_next_link_naming_an_inner_host_is_followed_on_our_base():
    assert on_base("http://app:8000/open311/v2/services.json?page=2", "https://311.example/open311/v2/") == \
        "https://311.example/open311/v2/services.json?page=2"
    assert on_base("https://cdn.example/other/p2", "https://311.example/open311/v2/") == "https://cdn.example/other/p2"
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host != "311.example":
            raise httpx.ConnectError("unknown host", request=request)
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json=[{"service_code": "B"}])
        return httpx.Response(200, json=[{"service_code": "A"}],
                              headers={"X-Next-Page-URL": "http://app:8000/open311/v2/services.json?page=2"})
    c = Open311Client("https://311.example/open311/v2/", http=httpx.Client(transport=httpx.MockTransport(handler)))
    assert [s.code for s in c.services()] == ["A", "B"] and all(u.startswith("https://311.example/") for u in seen)


def test_a_failing_later_page_leaves_the_service_list_partial_but_fails_a_requests_search():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(502, text="<html><title>502 Bad Gateway</title></html>")
        key = "service_code" if request.url.path.endswith("services.json") else "service_request_id"
        return httpx.Response(200, json=[{key: "A"}], headers={"X-Result-Count": "2", "X-Page-Count": "2"})
    c = Open311Client("https://311.example/open311/v2/", http=httpx.Client(transport=httpx.MockTransport(handler)))
    assert [s.code for s in c.services()] == ["A"]  # partial is safe: a missing code is sent anyway
    with pytest.raises(RetryableSinkError, match="502"):  # a marker search must not miss a page
        c.requests(service_code="A")
