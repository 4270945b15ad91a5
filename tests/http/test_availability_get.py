"""The counter's GET /v1/availability (http/availability_get.py): the same bytes as the generic route, over a socket.

A request with `x-dompromise-min-position: 0` (always reached) is read the generic way (json_format, the servicer,
fast_json.py); the same request without it takes the plain route when its query names only SKU ids.
"""

from __future__ import annotations

import http.client
import json

import pytest
from google.rpc import code_pb2
from test_http_api import HttpServer, violations

from dompromise import limits
from dompromise.http.availability_get import plain_sku_ids

GENERIC = {"x-dompromise-min-position": "0"}


@pytest.fixture
def api(server):
    running = HttpServer(server)
    yield running
    running.stop()


def raw_call(api: HttpServer, path: str, headers: dict | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {key.lower(): value for key, value in response.getheaders()}, body


def assert_same_as_generic(api: HttpServer, query: str) -> bytes:
    assert plain_sku_ids(query) is not None, query  # this query takes the plain route
    path = f"/v1/availability?{query}"
    status, headers, body = raw_call(api, path)
    generic_status, generic_headers, generic_body = raw_call(api, path, GENERIC)
    assert (status, body) == (generic_status, generic_body)
    for name in ("content-type", "x-dompromise-position", "x-dompromise-log-id"):
        assert headers[name] == generic_headers[name], name
    return body


@pytest.mark.parametrize(
    "query",
    [
        "sku_ids=PAD-1",
        "skuIds=OIL-1",
        "sku_ids=NOPE",
        "sku_ids=PAD-1&skuIds=NOPE&sku_ids=GREASE-1&sku_ids=PAD-1",  # both names, unknown, twice: in order
        'sku_ids=Q"UOTE\\D',  # an unknown id JSON escapes
        "sku_ids=CABLE-1&sku_ids=OIL-1&sku_ids=GREASE-1&sku_ids=PAD-1",  # every base unit
    ],
)
def test_plain_lookups_answer_the_generic_routes_bytes(api, query):
    body = assert_same_as_generic(api, query)
    assert body.startswith(b'{"nodeIds":["DC-1","WH-N","ST-1"],"items":[{"skuId":')


def test_zero_quantities_and_a_changed_node_selection_answer_the_same_bytes(api, server):
    updates = [{"skuId": "PAD-1", "nodeId": node, "kind": 1, "quantity": "0"} for node in ("DC-1", "WH-N", "ST-1")]
    status, _, _ = api.call("POST", "/v1/stock:update", {"updates": updates})
    assert status == 200
    body = assert_same_as_generic(api, "sku_ids=PAD-1")
    assert b'"availableQuantity"' not in body  # zero: left out, as proto3 JSON does
    assert b'"nodeAvailableQuantities":["0","0","0"]' in body
    status, _, _ = api.call("POST", "/v1/nodes/WH-N:setStatus", {"status": "NODE_STATUS_DISABLED"})
    assert status == 200
    body = assert_same_as_generic(api, "sku_ids=OIL-1")
    assert body.startswith(b'{"nodeIds":["DC-1","ST-1"],')  # the head is made again for the new selection


def test_answers_follow_writes_at_their_position(api, server):
    status, _, written = api.call(
        "POST", "/v1/stock:update", {"updates": [{"skuId": "OIL-1", "nodeId": "ST-1", "kind": 1, "quantity": "7"}]}
    )
    assert status == 200
    status, headers, document = api.call("GET", "/v1/availability?sku_ids=OIL-1")
    assert status == 200
    assert headers["x-dompromise-position"] == written["logPosition"] == document["logPosition"]
    assert document["items"][0]["nodeAvailableQuantities"][2] == "7"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "sku_ids=PAD%2D1",  # an escape: yarl unescapes it
        "sku_ids=PAD+1",  # "+" is a space to parse_qsl
        "sku_ids=PAD-1;x",
        "sku_ids=PAD-1&view=AVAILABILITY_VIEW_FULL",
        "sku_ids=PAD-1&node_ids=DC-1",
        "sku_ids=PAD-1&access_token=k",
        "sku_ids=",
        "sku_ids=PAD-1&&sku_ids=OIL-1",
        "sku_ids=" + "X" * (limits.ID_LENGTH_MAX + 1),
        "sku_ids=PAD-\u00e91",
    ],
)
def test_other_queries_are_read_the_generic_way(query):
    assert plain_sku_ids(query) is None


def test_the_plain_reading_keeps_order_and_repeats():
    assert plain_sku_ids("sku_ids=B&skuIds=A&sku_ids=B") == ["B", "A", "B"]
    assert plain_sku_ids("sku_ids=A=B") == ["A=B"]  # parse_qsl splits at the first "=" too


@pytest.mark.parametrize(
    "query, http_status, field",
    [
        ("sku_ids=", 400, "sku_ids[0]"),
        ("sku_ids=" + "X" * (limits.ID_LENGTH_MAX + 1), 400, "sku_ids[0]"),
        ("sku_ids=PAD-1&colour=red", 400, "colour"),
    ],
)
def test_bad_lookups_are_the_generic_routes_errors(api, query, http_status, field):
    status, headers, document = api.call("GET", f"/v1/availability?{query}")
    assert status == http_status
    assert document["code"] == code_pb2.INVALID_ARGUMENT
    assert field in violations(document), document


@pytest.mark.parametrize("numbers", [[0], [143, 47, 0], [-5, 2**63 - 1, -(2**63), 7]])
def test_int64_lists_are_written_as_json_strings(numbers):
    from dompromise.http.availability_get import _int64s_json

    assert _int64s_json(numbers) == json.dumps([str(n) for n in numbers], separators=(",", ":"))
