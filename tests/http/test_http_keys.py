"""`serve --auth-keys` guards the HTTP/JSON API as it guards gRPC: same keys, same scopes, over a real process."""

from __future__ import annotations

import http.client
import json
import socket

import pytest
from google.rpc import code_pb2
from processes import Serving

READ_KEY = "counter-key-" + "r" * 32
CHECKOUT_KEY = "checkout-key-" + "c" * 32
SKU = "FLT-FUE-50127"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def keyed_http(tmp_path):
    keys = tmp_path / "keys.yaml"
    keys.write_text(
        "keys:\n"
        f"  - name: counter\n    key: {READ_KEY}\n    scopes: [availability:read]\n"
        f"  - name: checkout\n    key: {CHECKOUT_KEY}\n    scopes: [availability:read, promise, reserve]\n"
    )
    port = free_port()
    server = Serving("--in-memory", "--auth-keys", str(keys), "--http-port", str(port))
    yield port
    server.stop()


def call(port: int, method: str, path: str, key: str | None = None, body: object = None) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    payload = None if body is None else json.dumps(body).encode()
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    document = json.loads(response.read())
    connection.close()
    return response.status, document


def test_http_needs_a_key_with_the_rpc_scope(keyed_http):
    status, document = call(keyed_http, "GET", f"/v1/availability?sku_ids={SKU}")
    assert (status, document["code"]) == (401, code_pb2.UNAUTHENTICATED)
    assert call(keyed_http, "GET", f"/v1/availability?sku_ids={SKU}", "wrong-" + "w" * 32)[0] == 401
    status, document = call(keyed_http, "GET", f"/v1/availability?sku_ids={SKU}", READ_KEY)
    assert status == 200 and document["items"][0]["skuId"] == SKU
    hold = {"requestId": "keys-1", "lines": [{"skuId": SKU, "nodeId": "DC-NAT", "quantity": "1"}], "ttl": "60s"}
    status, document = call(keyed_http, "POST", "/v1/reservations", READ_KEY, hold)
    assert (status, document["code"]) == (403, code_pb2.PERMISSION_DENIED)
    assert "reserve" in document["message"]
    status, document = call(keyed_http, "POST", "/v1/reservations", CHECKOUT_KEY, hold)
    assert status == 200, document
    assert document["reservation"]["reservationId"].startswith("R")


def test_server_sent_events_take_the_key_as_an_access_token(keyed_http):
    path = f"/v1/availability:watch?sku_ids={SKU}"
    connection = http.client.HTTPConnection("127.0.0.1", keyed_http, timeout=10)
    connection.request("GET", path)
    assert connection.getresponse().status == 401
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", keyed_http, timeout=10)
    connection.request("GET", f"{path}&access_token={READ_KEY}")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    assert any(line.startswith(b"data: ") for line, _ in zip(response, range(20)))
    connection.close()
