"""PromiseDelivery over a real socket: options, explanations, tokens, bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
import pytest
from conftest import ServerThread
from test_service_availability import field_violations

from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.replica.local import Replica
from dompromise.v1 import promise_pb2, promise_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "promise"))
from scenario_network import network, paris, stock_records  # noqa: E402

STOCK = {("PAD", "WH"): 10, ("PAD", "DC"): 40, ("OIL", "DC"): 20, ("BULB", "SUP"): 50}


@pytest.fixture
def promise_server():
    replica = Replica(Engine(network()), MemoryLog())
    replica.bootstrap(stock_records(STOCK))
    running = ServerThread(replica)
    yield running
    running.stop()


@pytest.fixture
def stub(promise_server):
    with grpc.insecure_channel(promise_server.target) as channel:
        yield promise_pb2_grpc.PromiseServiceStub(channel)


def order(*lines, **fields) -> promise_pb2.PromiseDeliveryRequest:
    request = promise_pb2.PromiseDeliveryRequest(
        lines=[promise_pb2.OrderLine(sku_id=sku, quantity=quantity) for sku, quantity in lines], **fields
    )
    if "as_of_time" not in fields:
        request.as_of_time.FromNanoseconds(paris(2026, 11, 24, 13, 46))
    return request


def test_a_garage_order_gets_route7_tomorrow_morning_with_a_token(stub):
    response = stub.PromiseDelivery(order(("PAD", 2), postal_code="59000", country_code="FR", max_options=3))
    assert response.zone_id == "Z59"
    best = response.options[0]
    shipment = best.shipments[0]
    assert (shipment.node_id, shipment.carrier_service, shipment.method) == (
        "WH",
        "route7",
        promise_pb2.DELIVERY_METHOD_SHIP,
    )
    assert best.earliest_delivery_time.ToNanoseconds() == paris(2026, 11, 25, 8, 0)
    assert best.currency == "EUR" and best.cost_minor == 450 and best.fill_percent == 100.0
    assert best.promise_token.startswith("v1.")
    assert [c.node_id for c in response.candidates] == ["DC", "WH", "ST", "SUP", "OFF"]
    reasons = {c.node_id: c.reason for c in response.candidates}
    assert reasons["OFF"] == promise_pb2.CANDIDATE_REASON_NODE_NOT_SELLABLE
    assert reasons["SUP"] == promise_pb2.CANDIDATE_REASON_SHORT


def test_a_thousand_line_b2b_order_is_answered_in_one_call():
    """1,000 distinct parts of the demo network to Lille, partial fills allowed, up to 5 shipments."""
    from dompromise.demo import network as demo
    from dompromise.internal.v1 import log_pb2

    demo_network = demo.demo_network()
    rows = demo.demo_stock(demo_network)
    replica = Replica(Engine(demo_network), MemoryLog())
    replica.bootstrap(
        [
            log_pb2.LogRecord(
                update_on_hand=log_pb2.UpdateOnHand(
                    sku_ids=[r.sku_id for r in rows],
                    node_ids=[r.node_id for r in rows],
                    ops=[1] * len(rows),
                    quantities=[r.on_hand_quantity for r in rows],
                )
            )
        ]
    )
    running = ServerThread(replica)
    try:
        with grpc.insecure_channel(running.target) as channel:
            skus = [sku.sku_id for sku in demo_network.skus[:1_000]]
            request = order(
                *[(sku, 1) for sku in skus],
                postal_code="59000",
                max_shipments=5,
                fill_policy=promise_pb2.FILL_POLICY_PARTIAL,
                min_fill_percent=50,
            )
            response = promise_pb2_grpc.PromiseServiceStub(channel).PromiseDelivery(request, timeout=60)
    finally:
        running.stop()
    assert response.options, list(response.candidates)
    best = response.options[0]
    planned = [line.sku_id for s in best.shipments for line in s.lines]
    assert len(planned) == len(set(planned)) and set(planned) <= set(skus)
    assert best.fill_percent >= 50 and len(best.shipments) <= 5
    assert len(planned) + sum(1 for _ in best.short_lines) == 1_000


def test_unknown_things_are_not_found(stub):
    for request, field in (
        (order(("NOPE", 1), zone_id="Z59"), "lines[0].sku_id"),
        (order(("PAD", 1), postal_code="99999"), "postal_code"),
        (order(("PAD", 1), zone_id="Z00"), "zone_id"),
        (order(("PAD", 1), pickup_node_id="ST-NOWHERE"), "pickup_node_id"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            stub.PromiseDelivery(request)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND, field
        assert field in caught.value.details()


def test_bad_input_names_every_field(stub):
    request = order(("PAD", 0), max_shipments=99, min_fill_percent=101)
    request.deliver_after_time.FromNanoseconds(paris(2026, 12, 2, 0))
    request.deliver_before_time.FromNanoseconds(paris(2026, 12, 1, 0))
    with pytest.raises(grpc.RpcError) as caught:
        stub.PromiseDelivery(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {
        "lines[0].quantity",
        "postal_code",
        "max_shipments",
        "min_fill_percent",
        "deliver_before_time",
    }


def test_too_many_lines_is_resource_exhausted(stub):
    from dompromise import limits

    with pytest.raises(grpc.RpcError) as caught:
        stub.PromiseDelivery(order(*[("PAD", 1)] * (limits.PROMISE_LINES_MAX + 1), zone_id="Z59"))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_network_without_transport_cannot_promise(channel):
    with pytest.raises(grpc.RpcError) as caught:
        promise_pb2_grpc.PromiseServiceStub(channel).PromiseDelivery(order(("PAD-1", 1), zone_id="Z59"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def reservations(promise_server):
    from dompromise.v1 import reservation_pb2_grpc

    channel = grpc.insecure_channel(promise_server.target)
    return channel, reservation_pb2_grpc.ReservationServiceStub(channel)


def reserve_token(stub, token, request_id):
    from dompromise.v1 import reservation_pb2

    return stub.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(request_id=request_id, promise_token=token, customer_id="garage-7")
    )


def test_reserving_a_token_holds_exactly_the_plan_then_aborts_with_a_fresh_one(stub, promise_server):
    from google.rpc import status_pb2
    from grpc_status import rpc_status

    now = promise_server.replica.now_ns()
    request = order(("PAD", 10), zone_id="Z59")
    request.as_of_time.FromNanoseconds(now)
    first = stub.PromiseDelivery(request)
    best = first.options[0]
    request.as_of_time.FromNanoseconds(now + 1_000)  # the same plan, promised again: another token
    same_plan = stub.PromiseDelivery(request).options[0]
    assert same_plan.promise_token != best.promise_token
    planned = [(s.node_id, line.sku_id, line.quantity) for s in best.shipments for line in s.lines]
    channel, reservation_stub = reservations(promise_server)
    with channel:
        held = reserve_token(reservation_stub, best.promise_token, "token-1")
        lines = [(line.node_id, line.sku_id, line.quantity) for line in held.reservation.lines]
        assert lines == planned
        # The same plan again: the warehouse's pads are held now, so it aborts with a fresh promise.
        with pytest.raises(grpc.RpcError) as caught:
            reserve_token(reservation_stub, same_plan.promise_token, "token-2")
        assert caught.value.code() == grpc.StatusCode.ABORTED
        details = rpc_status.from_call(caught.value).details
        fresh = promise_pb2.PromiseDeliveryResponse()
        assert any(detail.Unpack(fresh) for detail in details)
        assert fresh.options and fresh.options[0].promise_token != best.promise_token
        assert all(s.node_id != "WH" or sum(line.quantity for line in s.lines) == 0 for s in fresh.options[0].shipments)
        # The fresh token reserves.
        assert reserve_token(reservation_stub, fresh.options[0].promise_token, "token-3").reservation.reservation_id
        # A retry of the first request returns the first answer (idempotent by request_id).
        again = reserve_token(reservation_stub, best.promise_token, "token-1")
        assert again.reservation.reservation_id == held.reservation.reservation_id
        assert isinstance(status_pb2.Status(), status_pb2.Status)


def test_a_forged_or_altered_token_is_invalid(stub, promise_server):
    best = stub.PromiseDelivery(order(("PAD", 1), zone_id="Z59")).options[0]
    version, payload, signature = best.promise_token.split(".")
    tampered = f"{version}.{payload[:-2]}AA.{signature}"
    channel, reservation_stub = reservations(promise_server)
    with channel:
        for token in (tampered, "not-a-token"):
            with pytest.raises(grpc.RpcError) as caught:
                reserve_token(reservation_stub, token, f"forged-{len(token)}")
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert set(field_violations(caught.value)) == {"promise_token"}


def test_an_expired_token_aborts_with_a_fresh_promise_that_keeps_the_options():
    from grpc_status import rpc_status

    from dompromise.promise.token import PlannedHold, TokenContent, TokenSigner

    key = b"k" * 32
    replica = Replica(Engine(network()), MemoryLog())
    replica.bootstrap(stock_records(STOCK))
    running = ServerThread(replica, token_key=key)
    try:
        now = replica.now_ns()
        # Signed with the server's key, but expired a minute ago; the order allowed only 1 shipment
        # and only ship methods.
        options = {
            "fill_policy": 1,
            "min_fill_percent": 1,
            "max_shipments": 1,
            "sourcing": 1,
            "methods": [1],
            "allow_future_supply": True,
            "customer_tier": "",
            "max_options": 3,
        }
        token = TokenSigner(key).sign(
            TokenContent((PlannedHold("PAD", "WH", 1, 0),), now - 60 * 10**9, 1, ("PAD",), (1,), "Z59", "", options)
        )
        with grpc.insecure_channel(running.target) as channel:
            from dompromise.v1 import reservation_pb2, reservation_pb2_grpc

            with pytest.raises(grpc.RpcError) as caught:
                reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
                    reservation_pb2.ReserveInventoryRequest(request_id="late", promise_token=token)
                )
    finally:
        running.stop()
    assert caught.value.code() == grpc.StatusCode.ABORTED
    assert "expired" in caught.value.details()
    fresh = promise_pb2.PromiseDeliveryResponse()
    assert any(d.Unpack(fresh) for d in rpc_status.from_call(caught.value).details) and fresh.options
    assert len(fresh.options) <= 3
    assert all(o.method == promise_pb2.DELIVERY_METHOD_SHIP and len(o.shipments) == 1 for o in fresh.options)


def test_a_what_if_promise_in_the_future_still_expires_by_the_server_clock(stub, promise_server):
    import base64
    import json

    from dompromise import limits

    request = order(("PAD", 1), zone_id="Z59")
    request.as_of_time.FromNanoseconds(promise_server.replica.now_ns() + 365 * 86_400 * 10**9)
    token = stub.PromiseDelivery(request).options[0].promise_token
    payload = token.split(".")[1]
    expire_ns = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["e"]
    assert expire_ns <= promise_server.replica.now_ns() + limits.PROMISE_TOKEN_TTL_SECONDS * 10**9


def test_times_out_of_range_and_odd_signatures_are_invalid_not_internal(stub, promise_server):
    request = order(("PAD", 1), zone_id="Z59")
    request.as_of_time.seconds = 10**10
    with pytest.raises(grpc.RpcError) as caught:
        stub.PromiseDelivery(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"as_of_time"}
    channel, reservation_stub = reservations(promise_server)
    with channel:
        with pytest.raises(grpc.RpcError) as caught:
            reserve_token(reservation_stub, "v1.abc.\u00e9", "odd")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_split_lines_takes_a_line_from_several_nodes_and_the_token_holds_each_part(stub, promise_server):
    # 45 PAD and 5 OIL to Lille: DC has 40 PAD and the OIL, WH 10 PAD; nobody has 45 PAD.
    request = order(("PAD", 45), ("OIL", 5), zone_id="Z59", max_shipments=2)
    assert not stub.PromiseDelivery(request).options  # a line ships whole from one node by default
    request.split_lines = True
    request.max_options = 5
    options = stub.PromiseDelivery(request).options
    # Best: one shipment from WH, its own 10 PAD and the rest trunked in from DC (consolidation).
    assert [s.node_id for s in options[0].shipments] == ["WH"]
    assert sources(options[0]) == [("DC", "OIL", 5), ("DC", "PAD", 35), ("WH", "PAD", 10)]
    # Also: two shipments, DC's 40 PAD and the OIL, and 5 PAD from WH.
    split = next(option for option in options if len(option.shipments) == 2)
    assert sources(split) == [("DC", "OIL", 5), ("DC", "PAD", 40), ("WH", "PAD", 5)]
    assert split.fill_percent == 100.0
    channel, stub_of_reservations = reservations(promise_server)
    with channel:
        held = reserve_token(stub_of_reservations, split.promise_token, "split")
    assert sorted((line.node_id, line.sku_id, line.quantity) for line in held.reservation.lines) == sources(split)
    request.max_shipments = 1
    assert all(len(option.shipments) == 1 for option in stub.PromiseDelivery(request).options)  # the cap holds


def sources(option) -> list[tuple[str, str, int]]:
    """(node the units are taken from, SKU, quantity) of every planned line, sorted."""
    return sorted(
        (line.source_node_id or s.node_id, line.sku_id, line.quantity) for s in option.shipments for line in s.lines
    )


def test_split_lines_consolidates_a_line_from_the_hubs_own_stock_and_a_feeder(stub):
    # One shipment of 45 PAD to Lille: WH's own 10 and 35 trunked in from DC overnight.
    request = order(("PAD", 45), zone_id="Z59", fill_policy=promise_pb2.FILL_POLICY_SHIP_COMPLETE)
    assert not stub.PromiseDelivery(request).options
    request.split_lines = True
    best = stub.PromiseDelivery(request).options[0]
    assert [s.node_id for s in best.shipments] == ["WH"]
    parts = [(line.source_node_id, line.quantity) for line in best.shipments[0].lines]
    assert parts == [("", 10), ("DC", 35)]
    # The trunk leaves DC at 21:00 and reaches WH at 07:00; route 7 then leaves at 14:00.
    assert best.earliest_delivery_time.ToNanoseconds() == paris(2026, 11, 25, 16, 30)
