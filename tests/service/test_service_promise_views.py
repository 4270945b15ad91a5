"""PromiseDelivery through a channel view, over a real socket: the view's nodes,
its protected stock, its ranking; order lines in pack units; tokens that
reserve through the same view."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import grpc
import pytest
from conftest import ServerThread
from grpc_status import rpc_status
from test_service_availability import field_violations

from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.model.views import ProtectedAllocation, RankingWeights, View
from dompromise.replica.local import Replica
from dompromise.v1 import promise_pb2, promise_pb2_grpc, reservation_pb2, reservation_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "promise"))
from scenario_network import network, paris, stock_records  # noqa: E402

# PAD: WH 10, DC 40 of which 30 are ring-fenced for the b2b segment of the garages view.
STOCK = {("PAD", "WH"): 10, ("PAD", "DC"): 40, ("OIL", "DC"): 20}
VIEWS = (
    View(
        "garages",
        node_ids=("DC", "WH", "ST"),
        segments=("trade",),
        protected=(ProtectedAllocation("b2b", quantity=30, sku_ids=("PAD",), node_ids=("DC",)),),
    ),
    # WH is the least preferred node of this view: priority steps outweigh a day of delivery.
    View("central", ranking=RankingWeights(per_priority_step=100.0)),
)


def view_network():
    base = network()
    skus = tuple(dataclasses.replace(sku, pack_sizes={"box": 4}) if sku.sku_id == "PAD" else sku for sku in base.skus)
    nodes = tuple(dataclasses.replace(node, priority=5) if node.node_id == "WH" else node for node in base.nodes)
    return dataclasses.replace(base, skus=skus, nodes=nodes, views=VIEWS)


@pytest.fixture
def server():
    replica = Replica(Engine(view_network()), MemoryLog())
    replica.bootstrap(stock_records(STOCK))
    running = ServerThread(replica)
    yield running
    running.stop()


@pytest.fixture
def stubs(server):
    with grpc.insecure_channel(server.target) as channel:
        yield promise_pb2_grpc.PromiseServiceStub(channel), reservation_pb2_grpc.ReservationServiceStub(channel)


def order(*lines, segment: str = "", **fields) -> promise_pb2.PromiseDeliveryRequest:
    request = promise_pb2.PromiseDeliveryRequest(
        lines=[
            promise_pb2.OrderLine(sku_id=line[0], quantity=line[1], unit=line[2] if len(line) > 2 else "")
            for line in lines
        ],
        customer=promise_pb2.Customer(segment=segment),
        **fields,
    )
    request.as_of_time.FromNanoseconds(paris(2026, 11, 24, 13, 46))
    return request


def planned(option) -> dict[str, int]:
    totals: dict[str, int] = {}
    for shipment in option.shipments:
        for line in shipment.lines:
            source = line.source_node_id or shipment.node_id
            totals[source] = totals.get(source, 0) + line.quantity
    return totals


def test_a_view_offers_only_its_nodes_and_explains_the_others(stubs):
    promise, _ = stubs
    response = promise.PromiseDelivery(order(("OIL", 1), zone_id="Z69", channel_view_id="garages"))
    reasons = {c.node_id: (c.reason, c.detail) for c in response.candidates}
    assert reasons["SUP"][0] == promise_pb2.CANDIDATE_REASON_NODE_NOT_SELLABLE
    assert "garages" in reasons["SUP"][1]
    assert {s.node_id for o in response.options for s in o.shipments} == {"DC"}


def test_protected_stock_is_promised_to_its_segment_only(stubs):
    promise, _ = stubs
    # 25 PAD: WH has 10; DC has 40, of which the b2b segment's 30 are not for others.
    others = promise.PromiseDelivery(order(("PAD", 25), zone_id="Z69", channel_view_id="garages"))
    assert not others.options
    assert {c.node_id: c.reason for c in others.candidates}["DC"] == promise_pb2.CANDIDATE_REASON_SHORT
    b2b = promise.PromiseDelivery(order(("PAD", 25), zone_id="Z69", channel_view_id="garages", segment="b2b"))
    assert b2b.options and planned(b2b.options[0]) == {"DC": 25}
    # Without a view nothing is ring-fenced.
    plain = promise.PromiseDelivery(order(("PAD", 25), zone_id="Z69"))
    assert plain.options and planned(plain.options[0]) == {"DC": 25}


def test_a_token_reserves_through_the_view_it_was_promised_through(stubs):
    promise, reservations = stubs
    # DC can give the view's other requesters 10 PAD: a token for 8 of them.
    token = promise.PromiseDelivery(order(("PAD", 8), zone_id="Z69", channel_view_id="garages")).options[0]
    assert planned(token) == {"DC": 8}
    # Meanwhile someone outside the view holds 30 at DC: 10 are left, all of them b2b's.
    taken = reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id="outside", lines=[reservation_pb2.ReservationLine(sku_id="PAD", node_id="DC", quantity=30)]
        )
    )
    assert taken.line_results[0].reserved_quantity == 30
    # Without the view the token's 8 would fit in those 10; through it they do not.
    with pytest.raises(grpc.RpcError) as caught:
        reservations.ReserveInventory(
            reservation_pb2.ReserveInventoryRequest(request_id="token", promise_token=token.promise_token)
        )
    assert caught.value.code() == grpc.StatusCode.ABORTED
    fresh = promise_pb2.PromiseDeliveryResponse()
    assert any(detail.Unpack(fresh) for detail in rpc_status.from_call(caught.value).details)
    # The fresh promise is made through the view too: DC's last 10 are b2b's.
    assert not fresh.options
    assert {c.node_id: c.reason for c in fresh.candidates}["DC"] == promise_pb2.CANDIDATE_REASON_SHORT


def test_a_b2b_token_reserves_its_protected_stock(stubs):
    promise, reservations = stubs
    token = promise.PromiseDelivery(
        order(("PAD", 35), zone_id="Z69", channel_view_id="garages", segment="b2b")
    ).options[0]
    reserved = reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(request_id="b2b", promise_token=token.promise_token)
    )
    assert [line.reserved_quantity for line in reserved.line_results] == [35]


def test_a_view_ranks_by_its_own_weights(stubs):
    promise, _ = stubs
    # To Lille WH's route 7 is fastest; through "central" WH's priority 5 costs 500 points.
    plain = promise.PromiseDelivery(order(("PAD", 2), zone_id="Z59"))
    central = promise.PromiseDelivery(order(("PAD", 2), zone_id="Z59", channel_view_id="central"))
    assert plain.options[0].shipments[0].node_id == "WH"
    assert central.options[0].shipments[0].node_id == "DC"
    # The same WH option, 5 priority steps of 100 dearer.
    wh_plain = min(o.score for o in plain.options if o.shipments[0].node_id == "WH")
    wh_central = [o.score for o in central.options if o.shipments[0].node_id == "WH"]
    assert not wh_central or min(wh_central) == pytest.approx(wh_plain + 500.0)


def test_lines_in_a_pack_unit_are_planned_in_base_units(stubs):
    promise, _ = stubs
    response = promise.PromiseDelivery(order(("PAD", 2, "box"), ("PAD", 1), zone_id="Z69"))
    assert planned(response.options[0]) == {"DC": 9}  # 2 boxes of 4 and 1 each, one line


def test_bad_view_segment_and_unit_name_their_fields(stubs):
    promise, _ = stubs
    with pytest.raises(grpc.RpcError) as caught:
        promise.PromiseDelivery(order(("PAD", 1), zone_id="Z69", channel_view_id="nope"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND and "channel_view_id" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        promise.PromiseDelivery(order(("PAD", 1), zone_id="Z69", channel_view_id="garages", segment="retail"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "customer.segment" in field_violations(caught.value)
    with pytest.raises(grpc.RpcError) as caught:
        promise.PromiseDelivery(order(("PAD", 1, "crate"), ("OIL", 1, "box"), zone_id="Z69"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"lines[0].unit", "lines[1].unit"}


# ---- lines requiring attribute values ---------------------------------------------------


@pytest.fixture
def lot_stubs():
    """PAD stocked by lot: WH 6 of L1 and 4 unattributed; DC 9 of L2 and 20 unattributed;
    and a PO of 50 PAD due at WH tomorrow (no attributes)."""
    from dompromise.internal.v1 import log_pb2

    lot_network = dataclasses.replace(view_network(), attributes=("lot",))
    replica = Replica(Engine(lot_network), MemoryLog())
    supply = ("PO-1", "PAD", "WH", 50, paris(2026, 11, 25, 7, 0))
    records = stock_records({("PAD", "WH"): 4, ("PAD", "DC"): 20}, supplies=(supply,))
    records.append(
        log_pb2.LogRecord(
            log_time_ns=3,
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=["PAD", "PAD"],
                node_ids=["WH", "DC"],
                ops=[1, 1],
                quantities=[6, 9],
                attributes=[
                    log_pb2.AttributeSet(keys=["lot"], values=["L1"]),
                    log_pb2.AttributeSet(keys=["lot"], values=["L2"]),
                ],
            ),
        )
    )
    replica.bootstrap(records)
    running = ServerThread(replica)
    with grpc.insecure_channel(running.target) as channel:
        yield promise_pb2_grpc.PromiseServiceStub(channel), reservation_pb2_grpc.ReservationServiceStub(channel)
    running.stop()


def lot_line(quantity: int, lot: str) -> promise_pb2.OrderLine:
    return promise_pb2.OrderLine(sku_id="PAD", quantity=quantity, required_attributes={"lot": lot})


def test_a_line_requiring_a_lot_is_planned_from_that_lot_only_and_reserved_from_it(lot_stubs):
    promise, reservations = lot_stubs
    request = order(zone_id="Z59")
    request.lines.append(lot_line(5, "L1"))
    best = promise.PromiseDelivery(request).options[0]
    assert planned(best) == {"WH": 5}
    # 7 of L1: WH has 6 and the PO brings no lots: nobody can, not even tomorrow.
    request = order(zone_id="Z59")
    request.lines.append(lot_line(7, "L1"))
    assert not promise.PromiseDelivery(request).options
    # Lot L2 is at DC only: DC ships it (by the trunk to WH and route 7 on).
    request = order(zone_id="Z59")
    request.lines.append(lot_line(9, "L2"))
    best = promise.PromiseDelivery(request).options[0]
    assert planned(best) == {"DC": 9}
    held = reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(request_id="lot", promise_token=best.promise_token)
    )
    assert [(line.node_id, line.quantity, dict(line.held_attributes)) for line in held.reservation.lines] == [
        ("DC", 9, {"lot": "L2"})
    ]


def test_lines_of_one_sku_must_require_the_same_values_and_keys_must_be_declared(lot_stubs):
    promise, _ = lot_stubs
    request = order(zone_id="Z59")
    request.lines.extend(
        [
            lot_line(1, "L1"),
            lot_line(1, "L2"),
            promise_pb2.OrderLine(sku_id="OIL", quantity=1, required_attributes={"colour": "red"}),
        ]
    )
    with pytest.raises(grpc.RpcError) as caught:
        promise.PromiseDelivery(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(caught.value)
    assert "lines[1].required_attributes" in violations
    assert any(field.startswith("lines[2].required_attributes") for field in violations)
