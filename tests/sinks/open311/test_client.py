"""The Open311 client against the fake GeoReport v2 server: discovery, POST, errors, secrets."""

from __future__ import annotations

import logging

import httpx
import pytest

from civic_signal.config.errors import PermanentSinkError, RetryableSinkError
from civic_signal.sinks.open311.catalog import ServiceCatalog, fill_attributes
from civic_signal.sinks.open311.client import Open311Client, error_reason
from civic_signal.sinks.open311.models import ServiceDefinition, TicketRequest
from tests.fakes.open311_server import FakeOpen311

KEY = "s3cr3t-311-key"


@pytest.fixture
def server():
    with FakeOpen311(api_key=KEY, batch_codes=("GENGRAFFITI",)) as srv:
        yield srv


def client(srv: FakeOpen311, **kw) -> Open311Client:
    return Open311Client(srv.url, api_key=kw.pop("api_key", KEY), timeout_s=kw.pop("timeout_s", 2.0), **kw)


def pothole(**kw) -> TicketRequest:
    return TicketRequest(**{"service_code": "REQPOTHL", "lat": 42.35, "long": -71.06, "description": "pothole",
                            "attributes": {"POTHOLE_SIZE": "large"}, **kw})


def test_service_list_follows_pagination():
    with FakeOpen311(page_size=25) as srv:
        services = client(srv).services()
        assert len(services) == 118 and srv.count("GET", "services.json") == 5
        assert {s.code for s in services} >= {"REQPOTHL", "STRLGTOUT"}


def test_catalog_caches_the_list_and_definitions_until_refresh(server):
    cat = ServiceCatalog(client(server))
    assert cat.definition("REQPOTHL").required[0].code == "POTHOLE_SIZE"
    cat.definition("REQPOTHL"), cat.service("STRLGTOUT")
    assert server.count("GET", "services.json") == 1 and server.count("GET", "services/REQPOTHL.json") == 1
    cat.refresh()
    cat.definition("REQPOTHL")
    assert server.count("GET", "services.json") == 2 and server.count("GET", "services/REQPOTHL.json") == 2
    with pytest.raises(PermanentSinkError, match="does not offer"):
        cat.service("NOPE")


def test_required_attributes_are_filled_from_the_text(server):
    definition = client(server).definition("REQPOTHL")
    from datetime import datetime, timezone
    when = datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert fill_attributes(definition, "a LARGE pothole, bigger than a tire", when) == {"POTHOLE_SIZE": "large"}
    assert fill_attributes(definition, "pothole", when) == {"POTHOLE_SIZE": "unknown"}  # the "Not sure" value
    with pytest.raises(PermanentSinkError, match=r"attribute\[POTHOLE_SIZE\] is required"):
        client(server).create(pothole(attributes={}))


def test_post_is_form_encoded_with_one_location_and_returns_the_id(server):
    receipt = client(server).create(pothole(media_url="https://example.org/p.jpg"))
    assert receipt.service_request_id == "101"
    _, _, _, form = server.calls[-1]
    assert form["service_code"] == ["REQPOTHL"] and form["lat"] == ["42.350000"] and "address_string" not in form
    assert form["attribute[POTHOLE_SIZE]"] == ["large"] and form["media_url"] == ["https://example.org/p.jpg"]
    client(server).create(TicketRequest(service_code="STRLGTOUT", address_string="1 City Hall Sq"))
    assert "lat" not in server.calls[-1][3] and server.calls[-1][3]["address_string"] == ["1 City Hall Sq"]
    with pytest.raises(ValueError):
        TicketRequest(service_code="X", lat=1, long=2, address_string="both")
    with pytest.raises(ValueError):
        TicketRequest(service_code="X", description="x" * 4001, address_string="a")


def test_jurisdiction_is_sent_only_when_set():
    with FakeOpen311(api_key=KEY, jurisdiction_id="cityofboston.gov") as srv:
        client(srv).create(pothole())
        assert "jurisdiction_id" not in srv.calls[-1][3]
        client(srv, jurisdiction_id="cityofboston.gov").create(pothole())
        assert srv.calls[-1][3]["jurisdiction_id"] == ["cityofboston.gov"]
        with pytest.raises(PermanentSinkError, match="404"):
            client(srv, jurisdiction_id="elsewhere.gov").create(pothole())


def test_batch_services_answer_a_token_that_resolves_to_an_id(server):
    c = client(server)
    receipt = c.create(TicketRequest(service_code="GENGRAFFITI", lat=42.3, long=-71.1))
    assert receipt.token and receipt.service_request_id is None
    assert c.token(receipt.token) == server.created[-1]["service_request_id"]
    assert c.token("no-such-token") is None


@pytest.mark.parametrize("kind, exc, text", [
    ("500", RetryableSinkError, "HTTP 500: injected fault 500"),
    ("502-html", RetryableSinkError, "HTTP 502: HTML page: 502 Bad Gateway"),
    ("503", RetryableSinkError, "HTTP 503"),
    ("timeout", RetryableSinkError, "timed out"),
    ("drop", RetryableSinkError, "failed"),
    ("200-html", RetryableSinkError, "not JSON"),
    ("403", PermanentSinkError, "HTTP 403"),
    ("400", PermanentSinkError, "HTTP 400"),
])
def test_4xx_is_permanent_5xx_and_timeouts_are_retryable(server, kind, exc, text):
    server.fail("POST", "requests.json", kind)
    with pytest.raises(exc, match=text):
        client(server, timeout_s=0.3).create(pothole())


def test_unreachable_endpoint_is_retryable():
    srv = FakeOpen311().start()
    url = srv.url
    srv.stop()
    with pytest.raises(RetryableSinkError, match="CIVIC_OPEN311__URL"):
        Open311Client(url, timeout_s=0.5).services()


def test_error_reasons_from_the_spec_array_other_json_and_html():
    assert error_reason(b'[{"code": 403, "description": "Invalid api_key"}]') == "403: Invalid api_key"
    assert error_reason(b'{"error": "Bad Request", "message": "lat out of range"}') == "lat out of range"
    assert error_reason(b'{"errors": [{"description": "missing service_code"}]}') == "missing service_code"
    page = b"<html><head><title>503 Service Unavailable</title></head><body><h1>Down</h1></body></html>"
    assert error_reason(page, "text/html") == "HTML page: 503 Service Unavailable - Down"
    assert error_reason(b"") == "(empty body)"


def test_the_api_key_never_appears_in_errors_logs_or_repr(server, caplog):
    caplog.set_level(logging.DEBUG)
    bad = Open311Client(server.url, api_key=KEY + "-wrong", timeout_s=1)
    with pytest.raises(PermanentSinkError) as info:
        bad.create(pothole())
    assert "403" in str(info.value) and "check CIVIC_OPEN311__API_KEY" in str(info.value)

    def echo(request: httpx.Request) -> httpx.Response:  # a server that echoes the form back in its error
        return httpx.Response(500, text=f"<html><title>error</title><body>{request.content.decode()}</body></html>")
    c = Open311Client("https://311.example/open311/v2/", api_key=KEY, http=httpx.Client(transport=httpx.MockTransport(echo)))
    with pytest.raises(RetryableSinkError) as info:
        c.create(pothole())
    texts = [str(info.value), repr(c), repr(info.value), caplog.text]
    assert all(KEY not in t for t in texts)


def test_injected_client_still_gets_explicit_timeouts():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.extensions["timeout"])
        return httpx.Response(200, json=[])
    c = Open311Client("https://311.example/open311/v2/", http=httpx.Client(transport=httpx.MockTransport(handler)), timeout_s=7)
    c.services()
    assert seen["read"] == 7 and seen["connect"] == 5


def test_an_address_goes_as_address_string_and_address_for_servers_that_read_the_other():
    with FakeOpen311.independent(api_key=KEY) as srv:
        receipt = client(srv).create(TicketRequest(service_code="STRLGTOUT", address_string="1 City Hall Sq"))
        assert receipt.service_request_id and srv.created[-1]["address"] == "1 City Hall Sq"
        form = srv.calls[-1][3]
        assert form["address_string"] == form["address"] == ["1 City Hall Sq"] and "lat" not in form


def test_the_independent_servers_errors_object_shaped_and_html_500_on_a_missing_field():
    with FakeOpen311.independent(api_key=KEY) as srv:
        with pytest.raises(PermanentSinkError, match=r"HTTP 400: 400: service_code 'NOPE' not found"):
            client(srv).create(TicketRequest(service_code="NOPE", lat=42.3, long=-71.1))
        with pytest.raises(PermanentSinkError, match=r"HTTP 403: 403: Invalid api_key"):
            client(srv, api_key="wrong").create(pothole())
        # a form with address_string only (as we used to send) crashes it: an HTML 500, retryable
        c = client(srv)
        with pytest.raises(RetryableSinkError, match=r"HTTP 500: HTML page: 500 Server Error"):
            c._send("POST", srv.url + "requests.json", data={"api_key": KEY, "service_code": "STRLGTOUT",
                                                              "address_string": "1 City Hall Sq"})


def test_an_error_body_under_a_2xx_status_is_not_taken_for_a_receipt():
    def handler(status: int):
        return lambda r: httpx.Response(200, json={"code": status, "detail": "service_code REQPOTHL is closed"})
    for status, exc in ((400, PermanentSinkError), (503, RetryableSinkError)):
        c = Open311Client("https://311.example/open311/v2/", api_key=KEY,
                          http=httpx.Client(transport=httpx.MockTransport(handler(status))))
        with pytest.raises(exc, match="with an error body: .*REQPOTHL is closed"):
            c.create(pothole())


def test_error_reasons_from_object_shaped_errors():
    assert error_reason(b'{"code": 400, "detail": "service_code UNSHVSDWLK not found"}') == \
        "400: service_code UNSHVSDWLK not found"


def test_a_code_missing_from_a_stale_list_reloads_it_once_and_finds_it():
    with FakeOpen311(api_key=KEY, services=[{"service_code": "REQPOTHL", "metadata": False}]) as srv:
        cat = ServiceCatalog(client(srv), miss_refresh_s=0)
        assert set(cat.services()) == {"REQPOTHL"}
        srv.services.append({"service_code": "NEWCODE", "metadata": True, "type": "realtime"})  # added since
        assert cat.find("NEWCODE").code == "NEWCODE" and srv.count("GET", "services.json") == 2
        assert cat.definition("NEWCODE") is not None and cat.lists("NEWCODE")


def test_a_code_missing_from_a_partial_list_is_not_failed_by_the_catalogue():
    with FakeOpen311(api_key=KEY, page_size=25, paging="repeat") as srv:  # a server that shows only page 1
        cat = ServiceCatalog(client(srv))  # a miss reloads the list only if it is older than a minute
        assert len(cat.services()) == 25 and srv.count("GET", "services.json") == 2
        assert cat.find("UNSHVSDWLK") is None and srv.count("GET", "services.json") == 2
        cat.miss_refresh_s = 0
        assert cat.find("UNSHVSDWLK") is None and srv.count("GET", "services.json") == 4  # one reload
        # its definition is asked for anyway; an unknown one is None, not an error
        assert cat.definition("UNSHVSDWLK") == ServiceDefinition(service_code="UNSHVSDWLK")
        assert cat.definition("NOSUCHCODE") is None
        assert srv.count("GET", "services/UNSHVSDWLK.json") == srv.count("GET", "services/NOSUCHCODE.json") == 1
        with pytest.raises(PermanentSinkError, match="does not offer service code 'UNSHVSDWLK'"):
            cat.service("UNSHVSDWLK")
