"""HTTP/JSON: every annotated route over a real socket, the JSON mapping, errors as google.rpc.Status, SSE."""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
import threading
import time

import pytest
from google.rpc import code_pb2

from dompromise.http.app import AuthRejected
from dompromise.http.routes import annotated_routes
from dompromise.http.serve import HTTP_SHUTDOWN_SECONDS, start_http


class HttpServer:
    """The HTTP app of a ServerThread, on 127.0.0.1 port 0, in the gRPC server's event loop."""

    def __init__(self, server, auth_check=None):
        self.grpc = server
        self.runner, self.port = server._call(start_http(server.built, server.replica, "127.0.0.1", 0, auth_check))
        self.app = self.runner.app

    def call(self, method: str, path: str, body: object = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        payload = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        connection.request(method, path, body=payload, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        connection.close()
        assert response.getheader("Content-Type", "").startswith("application/json"), raw[:200]
        return response.status, dict(response.getheaders()), json.loads(raw)

    def stop(self) -> None:
        self.grpc._call(self.runner.cleanup())


@pytest.fixture
def api(server):
    running = HttpServer(server)
    yield running
    running.stop()


def violations(document: dict) -> dict[str, str]:
    """The BadRequest field violations of a google.rpc.Status JSON body: field -> description."""
    found = {}
    for detail in document.get("details", []):
        if detail["@type"].endswith("google.rpc.BadRequest"):
            found.update({v["field"]: v["description"] for v in detail["fieldViolations"]})
    return found


def reserve(api, quantity: int = 2, request_id: str = "hold-1") -> str:
    status, _, body = api.call(
        "POST",
        "/v1/reservations",
        {
            "requestId": request_id,
            "lines": [{"skuId": "PAD-1", "nodeId": "DC-1", "quantity": str(quantity)}],
            "ttl": "600s",
        },
    )
    assert status == 200, body
    return body["reservation"]["reservationId"]


# One request per annotated route: (method, path or a callable of the api giving it, body, expected HTTP status,
# a check of the JSON). Writes the small network refuses on purpose answer their mapped error.
def _reservation_path(suffix: str):
    return lambda api: f"/v1/reservations/{reserve(api, request_id='r-' + suffix)}{suffix}"


ROUTE_CASES = {
    "GetAvailability": (
        "GET",
        "/v1/availability?sku_ids=PAD-1&skuIds=OIL-1&view=AVAILABILITY_VIEW_FULL",
        None,
        200,
        lambda b: (
            [i["skuId"] for i in b["items"]] == ["PAD-1", "OIL-1"]
            and b["items"][0]["availableQuantity"] == str(sum(10 + n for n in (0, 1, 2)))  # int64 as a string
            and b["nodeIds"][:2] == ["DC-1", "WH-N"]
        ),
    ),
    "UpdateStock": (
        "POST",
        "/v1/stock:update",
        {"updates": [{"skuId": "PAD-1", "nodeId": "DC-1", "kind": "STOCK_UPDATE_KIND_SET_ON_HAND", "quantity": 77}]},
        200,
        lambda b: int(b["logPosition"]) > 0,
    ),
    "ReturnStock": (
        "POST",
        "/v1/stock:return",
        {
            "requestId": "ret-1",
            "items": [
                {"skuId": "PAD-1", "nodeId": "DC-1", "quantity": "1", "disposition": "RETURN_DISPOSITION_SELLABLE"}
            ],
        },
        200,
        lambda b: int(b["logPosition"]) > 0,
    ),
    "UpsertSupply": (
        "POST",
        "/v1/supply:upsert",
        {"supplies": [{"supplyId": "po-1", "skuId": "PAD-1", "nodeId": "DC-1", "quantity": "5"}]},
        400,
        lambda b: any(f.startswith("supplies[0]") for f in violations(b)),
    ),
    "ReceiveSupply": (
        "POST",
        "/v1/supply:receive",
        {"receipts": []},
        400,
        lambda b: "receipts" in violations(b),
    ),
    "GetSupply": ("GET", "/v1/supply?supply_id=nope", None, 404, lambda b: b["code"] == code_pb2.NOT_FOUND),
    "SetSafetyStock": (
        "POST",
        "/v1/stock:setSafetyStock",
        {"rules": [{"skuId": "PAD-1", "nodeId": "DC-1", "quantity": "3"}]},
        200,
        lambda b: int(b["logPosition"]) > 0,
    ),
    "SetUnavailable": (
        "POST",
        "/v1/stock:setUnavailable",
        {"items": [{"skuId": "PAD-1", "nodeId": "DC-1", "quantity": "1"}]},
        400,
        lambda b: any("reason" in f for f in violations(b)),
    ),
    "GetNode": ("GET", "/v1/nodes/DC-1", None, 200, lambda b: b["node"]["location"]["postalCode"] == "69007"),
    "SetNodeStatus": (
        "POST",
        "/v1/nodes/WH-N:setStatus",
        {"status": "NODE_STATUS_DISABLED"},
        200,
        lambda b: b["node"]["nodeId"] == "WH-N" and b["node"]["status"] == "NODE_STATUS_DISABLED",
    ),
    "ListNodes": (
        "GET",
        "/v1/nodes?page_size=2&tag=store",
        None,
        200,
        lambda b: [n["nodeId"] for n in b["nodes"]] == ["ST-1", "ST-2"] and b["totalSize"] == 2,
    ),
    "GetSku": ("GET", "/v1/skus/CABLE-1", None, 200, lambda b: b["sku"]["baseUnit"] == "BASE_UNIT_MILLIMETRE"),
    "ListSkus": ("GET", "/v1/skus?pageSize=1", None, 200, lambda b: b["totalSize"] == 4 and b["nextPageToken"]),
    "SearchSkus": ("GET", "/v1/skus:search?query=BRAKE%20pa", None, 200, lambda b: b["skus"][0]["skuId"] == "PAD-1"),
    "PromiseDelivery": (
        "POST",
        "/v1/promise",
        {"lines": [{"skuId": "PAD-1", "quantity": "1"}], "deliveryMethods": ["DELIVERY_METHOD_SHIP"]},
        400,
        lambda b: b["code"] in (code_pb2.INVALID_ARGUMENT, code_pb2.FAILED_PRECONDITION),
    ),
    "ReserveInventory": (
        "POST",
        "/v1/reservations",
        {"requestId": "r-1", "lines": [{"skuId": "PAD-1", "nodeId": "DC-1", "quantity": "4"}], "ttl": "60s"},
        200,
        lambda b: (
            b["reservation"]["state"] == "RESERVATION_STATE_HELD" and b["reservation"]["lines"][0]["quantity"] == "4"
        ),
    ),
    "CommitReservation": ("POST", _reservation_path(":commit"), {"requestId": "c-1"}, 200, lambda b: b["reservation"]),
    "ReleaseReservation": (
        "POST",
        _reservation_path(":release"),
        {"requestId": "rel-1"},
        200,
        lambda b: b["reservation"]["state"] == "RESERVATION_STATE_RELEASED",
    ),
    "ExtendReservation": ("POST", _reservation_path(":extend"), {"requestId": "e-1", "ttl": "900s"}, 200, bool),
    "ShipReservation": (
        "POST",
        _reservation_path(":ship"),
        {"requestId": "s-1", "lines": [{"lineNumber": 0, "quantity": "1"}]},
        400,
        lambda b: b["code"] in (code_pb2.FAILED_PRECONDITION, code_pb2.INVALID_ARGUMENT),
    ),
    "CancelReservationLines": (
        "POST",
        _reservation_path(":cancelLines"),
        {"requestId": "x-1", "lines": [{"lineNumber": 0, "quantity": "1"}]},
        200,
        bool,
    ),
    "AllocateWave": ("POST", "/v1/reservations:allocateWave", {"orders": []}, 400, lambda b: violations(b)),
    "GetReservation": ("GET", "/v1/reservations/nope", None, 404, lambda b: b["code"] == code_pb2.NOT_FOUND),
    "ListReservations": (
        "GET",
        "/v1/reservations?customer_id=nobody&page_size=5",
        None,
        200,
        lambda b: b.get("reservations", []) == [],
    ),
}
STREAMED = {"WatchAvailability"}  # tested below as Server-Sent Events


def test_every_annotated_route_has_a_case():
    assert {r.method_name for r in annotated_routes()} == set(ROUTE_CASES) | STREAMED


def test_big_batches_post_to_the_additional_binding(api):
    status, _, document = api.call("POST", "/v1/availability:batchGet", {"sku_ids": ["PAD-1", "NOPE"], "view": 3})
    assert status == 200
    assert [item.get("status") for item in document["items"]] == ["ITEM_STATUS_OK", "ITEM_STATUS_SKU_NOT_FOUND"]


@pytest.mark.parametrize("method_name", sorted(ROUTE_CASES))
def test_route(api, method_name):
    verb, path, body, expected, check = ROUTE_CASES[method_name]
    path = path(api) if callable(path) else path
    status, headers, document = api.call(verb, path, body)
    assert status == expected, document
    assert check(document), document
    assert int(headers["x-dompromise-position"]) >= 1
    if status >= 400:
        assert document["code"] != code_pb2.INTERNAL and document["message"]


def test_the_answer_is_the_grpc_servicers(api, server):
    """The same engine answers both: a write over HTTP is read over HTTP at the new position."""
    status, headers, written = api.call(
        "POST", "/v1/stock:update", {"updates": [{"skuId": "OIL-1", "nodeId": "ST-1", "kind": 1, "quantity": "5"}]}
    )
    assert status == 200
    assert headers["x-dompromise-position"] == written["logPosition"]
    _, _, read = api.call("GET", "/v1/availability?sku_ids=OIL-1&node_ids=ST-1")
    assert read["items"][0]["nodeAvailableQuantities"] == ["5"]
    assert server.engine.log_position == int(written["logPosition"])


@pytest.mark.parametrize(
    "body, field",
    [
        (b'{"lines": [', "body"),
        (b"[1, 2]", "body"),
        (b'{"lines": [{"skuId": "PAD-1", "quantity": "lots"}]}', "lines.quantity"),
        (b'{"lines": [{"skuId": "PAD-1", "colour": "red"}]}', "lines[0].colour"),
        (b'{"postalCode": 75001}', "postal_code"),
        (b'{"asOfTime": "yesterday"}', "as_of_time"),
        (b'{"deliveryMethods": ["DELIVERY_METHOD_TELEPORT"]}', "delivery_methods[0]"),
    ],
)
def test_bad_json_is_400_naming_the_field(api, body, field):
    status, _, document = api.call("POST", "/v1/promise", body)
    assert status == 400
    assert document["code"] == code_pb2.INVALID_ARGUMENT
    assert field in violations(document), document


@pytest.mark.parametrize(
    "query, field",
    [
        ("sku_ids=PAD-1&view=AVAILABILITY_VIEW_SIDEWAYS", "view"),
        ("sku_ids=PAD-1&with_variants=perhaps", "with_variants"),
        ("sku_ids=PAD-1&colour=red", "colour"),
        ("sku_ids=PAD-1&phasing.bucket_count=many", "phasing.bucket_count"),
    ],
)
def test_bad_query_is_400_naming_the_field(api, query, field):
    status, _, document = api.call("GET", f"/v1/availability?{query}")
    assert status == 400
    assert field in violations(document), document


@pytest.mark.parametrize(
    "verb, path, body, http_status, code",
    [
        ("GET", "/v1/skus/NOPE", None, 404, code_pb2.NOT_FOUND),
        (
            "POST",
            "/v1/availability:batchGet",
            {"skuIds": [f"S{i}" for i in range(10_001)]},
            429,
            code_pb2.RESOURCE_EXHAUSTED,
        ),
        ("POST", "/v1/reservations/nope:commit", {"requestId": "c"}, 404, code_pb2.NOT_FOUND),
        ("GET", "/v1/no-such-route", None, 404, code_pb2.NOT_FOUND),
        ("DELETE", "/v1/availability", None, 405, code_pb2.UNIMPLEMENTED),
    ],
)
def test_errors_map_to_aip193_http_codes(api, verb, path, body, http_status, code):
    status, _, document = api.call(verb, path, body)
    assert (status, document["code"]) == (http_status, code), document


def test_conflicting_request_id_is_409(api):
    reserve(api, 1, "same")
    status, _, document = api.call(
        "POST",
        "/v1/reservations",
        {"requestId": "same", "lines": [{"skuId": "OIL-1", "nodeId": "DC-1", "quantity": 1}]},
    )
    assert (status, document["code"]) == (409, code_pb2.ALREADY_EXISTS)


def test_auth_hook_gets_the_header_and_the_scope(server):
    seen = []

    def check(authorization, scope):
        seen.append((authorization, scope))
        if authorization is None:
            raise AuthRejected(code_pb2.UNAUTHENTICATED, "bearer token required")
        if scope != "availability:read":
            raise AuthRejected(code_pb2.PERMISSION_DENIED, f"token lacks scope {scope}")

    api = HttpServer(server, check)
    try:
        assert api.call("GET", "/v1/skus/PAD-1")[0] == 401
        assert api.call("GET", "/v1/skus/PAD-1", headers={"Authorization": "Bearer r"})[0] == 200
        status, _, document = api.call("POST", "/v1/promise", {}, headers={"Authorization": "Bearer r"})
        assert (status, document["code"]) == (403, code_pb2.PERMISSION_DENIED)
    finally:
        api.stop()
    assert seen == [(None, "availability:read"), ("Bearer r", "availability:read"), ("Bearer r", "promise")]


def test_watch_is_server_sent_events_and_follows_writes(api):
    events: queue.Queue = queue.Queue()

    def listen():
        connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
        connection.request("GET", "/v1/availability:watch?sku_ids=PAD-1&node_ids=DC-1")
        response = connection.getresponse()
        events.put(response.getheader("Content-Type"))
        for line in response:
            if line.startswith(b"data: "):
                events.put(json.loads(line[6:]))
                if events.qsize() >= 3:
                    break
        connection.close()

    threading.Thread(target=listen, daemon=True).start()
    assert events.get(timeout=10) == "text/event-stream"
    first = events.get(timeout=10)
    assert first["fullAnswer"] is True
    assert first["availability"]["items"][0]["nodeAvailableQuantities"] == ["10"]
    status, _, _ = api.call(
        "POST", "/v1/stock:update", {"updates": [{"skuId": "PAD-1", "nodeId": "DC-1", "kind": 1, "quantity": "42"}]}
    )
    assert status == 200
    change = events.get(timeout=10)
    assert change["availability"]["items"][0]["nodeAvailableQuantities"] == ["42"]
    assert int(change["version"]) > int(first["version"])


def test_watch_with_bad_input_is_a_json_error(api):
    status, _, document = api.call("GET", "/v1/availability:watch?resume_after_version=-1&sku_ids=PAD-1")
    assert status == 400
    assert "resume_after_version" in violations(document)


# ---- x-dompromise-min-position over HTTP, and a request line over its limit ------------------------------------


def test_min_position_header_waits_for_a_write_then_answers_at_it(api, server):
    position = server.engine.log_position
    answers: queue.Queue = queue.Queue()
    waiting = threading.Thread(
        target=lambda: answers.put(
            api.call("GET", "/v1/availability?sku_ids=OIL-1", headers={"x-dompromise-min-position": str(position + 1)})
        )
    )
    waiting.start()
    status, _, written = api.call(
        "POST", "/v1/stock:update", {"updates": [{"skuId": "OIL-1", "nodeId": "ST-1", "kind": 1, "quantity": "9"}]}
    )
    assert status == 200
    waiting.join(10)
    status, headers, read = answers.get(timeout=1)
    assert status == 200, read
    assert int(headers["x-dompromise-position"]) >= position + 1


def test_min_position_not_reached_is_unavailable_as_status_json(api, server):
    ahead = server.engine.log_position + 1_000
    status, headers, body = api.call(
        "GET", "/v1/availability?sku_ids=OIL-1", headers={"x-dompromise-min-position": str(ahead)}
    )
    assert status == 503, body
    assert body["code"] == code_pb2.UNAVAILABLE
    assert any("POSITION_NOT_REACHED" in json.dumps(detail) for detail in body.get("details", [])), body
    assert int(headers["x-dompromise-position"]) < ahead


def test_min_position_malformed_is_bad_request_naming_the_header(api):
    status, _, body = api.call("GET", "/v1/availability?sku_ids=OIL-1", headers={"x-dompromise-min-position": "soon"})
    assert status == 400
    assert "x-dompromise-min-position" in violations(body)


def test_min_position_already_reached_answers_at_once(api, server):
    position = server.engine.log_position
    status, _, body = api.call(
        "GET", "/v1/availability?sku_ids=OIL-1", headers={"x-dompromise-min-position": str(position)}
    )
    assert status == 200 and body["items"][0]["skuId"] == "OIL-1"


def test_a_get_longer_than_the_request_line_limit_is_answered_as_status_json(api):
    from dompromise import limits

    query = "&".join(f"sku_ids=SKU-{i:06d}" for i in range(limits.HTTP_REQUEST_LINE_BYTES_MAX // 18 + 10))
    path = f"/v1/availability?{query}"
    assert len(path) > limits.HTTP_REQUEST_LINE_BYTES_MAX
    status, _, body = api.call("GET", path)
    assert status == 414
    assert body["code"] == code_pb2.RESOURCE_EXHAUSTED
    assert "HTTP_REQUEST_LINE_BYTES_MAX" in body["message"]


# ---- what every route answers alike (app.py guarded): no aiohttp middleware ------------------------------------


def test_the_page_and_its_files_are_served_and_a_missing_file_is_status_json(api):
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    for path, kind in (("/", "text/html"), ("/static/app.js", "javascript"), ("/static/style.css", "text/css")):
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200 and kind in response.getheader("Content-Type", ""), path
        assert body
    connection.close()
    for path in ("/static/nope.js", "/static/../app.py", "/nope"):
        status, _, document = api.call("GET", path)
        assert (status, document["code"]) == (404, code_pb2.NOT_FOUND), path


def test_a_wrong_method_is_405_naming_the_allowed_ones(api):
    status, headers, document = api.call("PUT", "/v1/promise", {})
    assert (status, document["code"]) == (405, code_pb2.UNIMPLEMENTED)
    assert headers["Allow"] == "POST"
    assert api.app.middlewares == []  # aiohttp calls each route's handler directly


def test_an_open_stream_ends_when_the_server_stops(server):
    api = HttpServer(server)
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    connection.request("GET", "/v1/availability:watch?sku_ids=PAD-1")
    response = connection.getresponse()
    assert response.readline().startswith(b"data: ")  # the stream is open, waiting for a change

    async def tasks() -> list[str]:
        return [repr(task) for task in asyncio.all_tasks() if "web_protocol" in repr(task)]

    assert server._call(tasks())
    started = time.monotonic()
    api.stop()  # on_shutdown cancels the stream: aiohttp alone waits HTTP_SHUTDOWN_SECONDS for it, then leaves it
    assert time.monotonic() - started < HTTP_SHUTDOWN_SECONDS
    assert server._call(tasks()) == []
    connection.close()
