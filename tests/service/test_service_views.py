"""Safety stock at every level, channel views with protected allocations, and
units of measure in answers, over a real socket."""

from __future__ import annotations

import dataclasses
import time

import grpc
import pytest
from conftest import ServerThread, small_network, stock_record
from google.protobuf import timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from test_service_availability import field_violations

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.model.views import ProtectedAllocation, SkuQuantities, View
from dompromise.replica.local import Replica
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    common_pb2,
    inventory_pb2,
    inventory_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

OK = common_pb2.ITEM_STATUS_OK
PO = common_pb2.SUPPLY_KIND_PURCHASE_ORDER
TRANSIT = common_pb2.SUPPLY_KIND_IN_TRANSIT
FULL = availability_pb2.AVAILABILITY_VIEW_FULL
TOTALS = availability_pb2.AVAILABILITY_VIEW_TOTALS
DAY_NS = 86_400 * 10**9
START_NS = (time.time_ns() // DAY_NS + 1) * DAY_NS  # next midnight: bucket k ends START + (k + 1) days

# The small network's on hand is 10 * (sku + 1) + node: PAD-1 has 10 at DC-1,
# 11 at WH-N, 12 at ST-1; OIL-1 has 30, 31, 32.
VIEWS = (
    View(
        "garages",
        node_ids=("DC-1", "WH-N"),
        segments=("garage", "premium", "b2b"),
        protected=(
            ProtectedAllocation("premium", quantity=4, sku_ids=("PAD-1",)),
            ProtectedAllocation("b2b", percent=50, node_ids=("WH-N",)),
        ),
        exposure_cap=SkuQuantities(per_sku={"OIL-1": 25}),
        low_stock_threshold=SkuQuantities(default=15),
    ),
    View("counter", node_tags=("north",), safety_stock=SkuQuantities(default=5), supply_kinds=(PO,), horizon_days=3),
)


@pytest.fixture
def server():
    network = dataclasses.replace(small_network(), views=VIEWS)
    replica = Replica(Engine(network), MemoryLog())
    replica.bootstrap([stock_record(replica.engine)])
    running = ServerThread(replica)
    yield running
    running.stop()


@pytest.fixture
def availability(channel):
    return availability_pb2_grpc.AvailabilityServiceStub(channel)


@pytest.fixture
def inventory(channel):
    return inventory_pb2_grpc.InventoryServiceStub(channel)


@pytest.fixture
def reservations(channel):
    return reservation_pb2_grpc.ReservationServiceStub(channel)


def ask(availability, sku_ids=("PAD-1",), **fields):
    return availability.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=list(sku_ids), **fields))


def set_rules(inventory, *rules, **fields):
    request = inventory_pb2.SetSafetyStockRequest(rules=[inventory_pb2.SafetyStockRule(**r) for r in rules], **fields)
    return inventory.SetSafetyStock(request)


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    info = error_details_pb2.ErrorInfo()
    status = rpc_status.from_call(error)
    assert any(d.Unpack(info) for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR))
    return info


def at(days: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(START_NS + int(days * DAY_NS))
    return stamp


# ---- safety stock --------------------------------------------------------------


def test_safety_stock_precedence_sku_by_node_then_sku_then_node(availability, inventory):
    response = set_rules(
        inventory,
        {"node_id": "WH-N", "quantity": 2},
        {"sku_id": "PAD-1", "quantity": 3},
        {"sku_id": "PAD-1", "node_id": "ST-1", "quantity": 5},
        request_id="ss-1",
    )
    assert [r.status for r in response.results] == [OK, OK, OK]
    assert [r.available_quantity for r in response.results] == [0, 0, 12 - 5]
    assert response.applied_count == 3
    item = ask(availability, ("PAD-1", "OIL-1"), view=FULL).items
    assert list(item[0].node_safety_stock_quantities) == [3, 3, 5]  # SKU beats node, position beats SKU
    assert list(item[0].node_available_quantities) == [7, 8, 7]
    assert list(item[1].node_safety_stock_quantities) == [0, 2, 0]  # OIL-1 inherits the node rule
    set_rules(inventory, {"sku_id": "PAD-1", "clear": True})
    assert list(ask(availability, view=FULL).items[0].node_safety_stock_quantities) == [0, 2, 5]


def test_safety_stock_rules_name_unknown_ids_per_rule_and_all_or_nothing_applies_none(availability, inventory):
    response = set_rules(
        inventory,
        {"sku_id": "NOPE", "quantity": 1},
        {"sku_id": "PAD-1", "node_id": "DC-1", "quantity": 4},
        all_or_nothing=True,
    )
    assert [r.status for r in response.results] == [
        common_pb2.ITEM_STATUS_SKU_NOT_FOUND,
        common_pb2.ITEM_STATUS_NOT_APPLIED,
    ]
    assert response.applied_count == 0
    assert ask(availability).items[0].node_available_quantities[0] == 10


def test_safety_stock_rules_are_validated_field_by_field(inventory):
    with pytest.raises(grpc.RpcError) as caught:
        set_rules(
            inventory,
            {"quantity": 1},
            {"sku_id": "PAD-1", "clear": True, "quantity": 2},
            {"node_id": "DC-1", "quantity": -1},
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"rules[0]", "rules[1].quantity", "rules[2].quantity"}


def test_safety_stock_rules_covering_too_many_positions_are_resource_exhausted(inventory, monkeypatch):
    from dompromise import limits

    monkeypatch.setattr(limits, "SAFETY_STOCK_POSITIONS_MAX", 7)  # the network has 5 nodes and 4 SKUs
    with pytest.raises(grpc.RpcError) as caught:
        set_rules(inventory, {"sku_id": "PAD-1", "quantity": 1}, {"node_id": "DC-1", "quantity": 1})
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_info(caught.value).metadata["limit_name"] == "SAFETY_STOCK_POSITIONS_MAX"
    assert set_rules(inventory, {"sku_id": "PAD-1", "quantity": 1}).applied_count == 1  # 5 positions


# ---- channel views ---------------------------------------------------------------


def test_a_view_shows_its_nodes_less_what_it_protects_for_other_segments(availability):
    anonymous = ask(availability, ("PAD-1", "OIL-1"), channel_view_id="garages", node_tags=["north"])
    # Only the view's nodes (intersected with the filter): ST-1 is north but not the view's.
    assert list(anonymous.node_ids) == ["WH-N"]
    anonymous = ask(availability, ("PAD-1", "OIL-1"), channel_view_id="garages")
    assert list(anonymous.node_ids) == ["DC-1", "WH-N"]
    pad, oil = anonymous.items
    # PAD-1: premium's 4 everywhere, b2b's 50% of WH-N's 11 on hand (5).
    assert list(pad.node_available_quantities) == [10 - 4, 11 - 4 - 5]
    assert pad.available_quantity == 8 and pad.low_stock  # threshold 15
    # OIL-1: b2b's 50% of 31 at WH-N; DC-1's 30 capped at the view's 25.
    assert list(oil.node_available_quantities) == [25, 31 - 15]
    assert not oil.low_stock
    premium = ask(availability, channel_view_id="garages", customer_segment="premium").items[0]
    assert list(premium.node_available_quantities) == [10, 11 - 5]  # its own protection is its to take
    assert not premium.low_stock
    whole_network = ask(availability).items[0]
    assert list(whole_network.node_available_quantities) == [10, 11, 12] and not whole_network.low_stock


def test_a_view_safety_stock_replaces_the_network_one_but_never_lowers_it(availability, inventory):
    set_rules(
        inventory,
        {"sku_id": "PAD-1", "node_id": "ST-1", "quantity": 7},
        {"sku_id": "PAD-1", "node_id": "WH-N", "quantity": 3},
    )
    counter = ask(availability, channel_view_id="counter", view=FULL).items[0]
    # WH-N: the view's 5 instead of the network's 3; ST-1: the network's 7 stays.
    assert list(counter.node_available_quantities) == [11 - 5, 12 - 7]
    assert list(counter.node_safety_stock_quantities) == [5, 7]
    assert list(counter.node_on_hand_quantities) == [11, 12]


def test_a_view_phases_only_its_supply_kinds_up_to_its_horizon(availability, inventory):
    inventory.UpsertSupply(
        inventory_pb2.UpsertSupplyRequest(
            supplies=[
                inventory_pb2.Supply(
                    supply_id="PO-1", sku_id="PAD-1", node_id="WH-N", kind=PO, quantity=20, eta=at(1.5)
                ),
                inventory_pb2.Supply(
                    supply_id="TR-1", sku_id="PAD-1", node_id="WH-N", kind=TRANSIT, quantity=7, eta=at(0.5)
                ),
            ]
        )
    )
    phasing = availability_pb2.TimePhasing(start_time=at(0), bucket_count=5, wanted_quantity=10)
    answer = ask(availability, channel_view_id="counter", node_ids=["WH-N"], phasing=phasing)
    # The horizon (now + 3 days) ends before START + 3 days: two buckets; the
    # transfer-less view counts the PO, not the shipment in transit.
    assert len(answer.bucket_end_times) == 2
    item = answer.items[0]
    assert list(item.phased_available_quantities) == [11 - 5, 11 - 5 + 20]
    # 10 wanted: 11 on hand would do without the view; with its 5 kept back, the PO's ETA.
    assert item.earliest_time.ToNanoseconds() == START_NS + int(1.5 * DAY_NS)
    whole = ask(availability, node_ids=["WH-N"], phasing=phasing).items[0]
    assert whole.earliest_time.ToNanoseconds() == START_NS and list(whole.phased_available_quantities)[:2] == [18, 38]


def test_a_phasing_past_the_horizon_is_invalid(availability):
    phasing = availability_pb2.TimePhasing(start_time=at(5), bucket_count=2)
    with pytest.raises(grpc.RpcError) as caught:
        ask(availability, channel_view_id="counter", phasing=phasing)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "phasing" in field_violations(caught.value)


def test_unknown_views_and_segments_are_named(availability):
    with pytest.raises(grpc.RpcError) as caught:
        ask(availability, channel_view_id="nope")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    info = error_info(caught.value)
    assert info.reason == "VIEW_NOT_FOUND" and info.metadata["field"] == "channel_view_id"
    for fields in ({"channel_view_id": "garages", "customer_segment": "vip"}, {"customer_segment": "premium"}):
        with pytest.raises(grpc.RpcError) as caught:
            ask(availability, **fields)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert list(field_violations(caught.value)) == ["customer_segment"]


def test_a_capped_view_refuses_the_full_view(availability):
    with pytest.raises(grpc.RpcError) as caught:
        ask(availability, channel_view_id="garages", view=FULL)
    assert list(field_violations(caught.value)) == ["view"]


# ---- reservations honour protection -------------------------------------------------


def reserve(reservations, request_id, quantity, segment="", view="garages", sku_id="PAD-1", node_id="DC-1", unit=""):
    return reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id=request_id,
            channel_view_id=view,
            customer_segment=segment,
            lines=[reservation_pb2.ReservationLine(sku_id=sku_id, node_id=node_id, quantity=quantity, unit=unit)],
        )
    )


def test_a_garage_cannot_take_stock_protected_for_premium_dealers_and_a_premium_dealer_can(reservations, server):
    # PAD-1 at DC-1: 10 on hand, 4 protected for premium.
    garage = reserve(reservations, "g-1", 7, "garage")
    assert [r.status for r in garage.line_results] == [common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK]
    assert garage.line_results[0].available_quantity == 6  # what a garage may take
    assert not garage.HasField("reservation")
    assert reserve(reservations, "g-2", 6, "garage").line_results[0].status == OK
    garage = reserve(reservations, "g-3", 1, "garage")
    assert garage.line_results[0].status == common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK
    assert garage.line_results[0].available_quantity == 0
    premium = reserve(reservations, "p-1", 4, "premium")
    assert premium.line_results[0].status == OK and premium.reservation.lines[0].quantity == 4
    assert int(server.engine.core.bucket_array("available")[0, 0]) == 0
    assert server.engine.core.check_invariants()


def test_the_log_record_carries_the_protection_so_a_replay_never_reads_the_config(server, reservations):
    reserve(reservations, "g-1", 6, "garage")
    records = [log_pb2.LogRecord.FromString(payload) for _, payload in server.replica.log.records()]
    body = records[-1].reserve
    assert body.channel_view_id == "garages" and body.customer_segment == "garage"
    assert list(body.protected_quantities) == [4] and list(body.protected_percents) == [0]
    assert list(body.channel_safety_stock_quantities) == [-1]
    # Replayed on a network whose views were edited away, the state is the same.
    bare = Engine(small_network())
    for position, record in enumerate(records, start=1):
        bare.apply_record(record, position)
    assert bare.core.digest() == server.engine.core.digest()
    assert int(bare.core.bucket_array("held")[0, 0]) == 6


def test_lines_outside_the_view_and_unknown_views_are_refused(reservations):
    with pytest.raises(grpc.RpcError) as caught:
        reserve(reservations, "x-1", 1, "garage", node_id="ST-1")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(caught.value)) == ["lines[0].node_id"]
    with pytest.raises(grpc.RpcError) as caught:
        reserve(reservations, "x-2", 1, view="nope")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert error_info(caught.value).metadata["field"] == "channel_view_id"


# ---- units --------------------------------------------------------------------------


def test_availability_in_a_unit_answers_whole_units_per_node(availability, inventory):
    inventory.UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id="CABLE-1", node_id=node, kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=quantity
                )
                for node, quantity in (("DC-1", 2500), ("WH-N", 1999))
            ]
        )
    )
    cable, pad = ask(availability, ("CABLE-1", "PAD-1"), unit="metre", view=FULL).items
    assert cable.status == OK and cable.unit == "metre"
    assert list(cable.node_available_quantities) == [2, 1, 0]  # 2500 mm, 1999 mm, 22 mm
    assert cable.available_quantity == 3  # whole metres node by node, not 4521 // 1000
    assert list(cable.node_on_hand_quantities) == [2, 1, 0]
    assert pad.status == common_pb2.ITEM_STATUS_UNIT_NOT_FOUND and pad.unit == "metre"
    assert not pad.node_available_quantities and pad.available_quantity == 0
    totals = ask(availability, ("CABLE-1",), unit="metre", view=TOTALS).items[0]
    assert totals.available_quantity == 3 and not totals.node_available_quantities
    in_mm = ask(availability, ("CABLE-1",), unit="mm").items[0]
    assert in_mm.available_quantity == 2500 + 1999 + 22 and in_mm.unit == "mm"


def test_a_unit_no_sku_has_is_invalid(availability):
    with pytest.raises(grpc.RpcError) as caught:
        ask(availability, unit="carton")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(caught.value)) == ["unit"]


def test_phased_availability_and_wanted_quantity_count_in_the_unit(availability, inventory):
    inventory.UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id="CABLE-1", node_id="DC-1", kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=2500
                )
            ]
        )
    )
    inventory.UpsertSupply(
        inventory_pb2.UpsertSupplyRequest(
            supplies=[
                inventory_pb2.Supply(
                    supply_id="PO-C", sku_id="CABLE-1", node_id="DC-1", kind=PO, quantity=1500, eta=at(1.5)
                )
            ]
        )
    )
    phasing = availability_pb2.TimePhasing(start_time=at(0), bucket_count=3, wanted_quantity=3)
    item = ask(availability, ("CABLE-1",), node_ids=["DC-1"], unit="metre", phasing=phasing).items[0]
    assert list(item.phased_available_quantities) == [2, 4, 4]
    assert list(item.node_phased_available_quantities) == [2, 4, 4]
    assert item.earliest_time.ToNanoseconds() == START_NS + int(1.5 * DAY_NS)  # 3 metres: with the PO


def test_a_reservation_line_in_a_unit_holds_base_units(reservations, inventory):
    inventory.UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id="OIL-1", node_id="DC-1", kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=5000
                )
            ]
        )
    )
    held = reserve(reservations, "u-1", 3, view="", sku_id="OIL-1", unit="litre")
    assert held.line_results[0].status == OK
    assert held.line_results[0].reserved_quantity == 3000
    assert held.reservation.lines[0].quantity == 3000 and held.reservation.lines[0].unit == ""
    with pytest.raises(grpc.RpcError) as caught:
        reserve(reservations, "u-2", 1, view="", sku_id="PAD-1", unit="litre")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(caught.value)) == ["lines[0].unit"]


def test_a_wave_line_in_a_unit_allocates_base_units(reservations, inventory):
    inventory.UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id="GREASE-1", node_id="DC-1", kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=2500
                )
            ]
        )
    )
    line = reservation_pb2.ReservationLine(sku_id="GREASE-1", node_id="DC-1", quantity=2, unit="kg")
    wave = reservations.AllocateWave(
        reservation_pb2.AllocateWaveRequest(
            request_id="w-1", orders=[reservation_pb2.WaveOrder(order_id="O-1", lines=[line])]
        )
    )
    assert wave.results[0].line_results[0].reserved_quantity == 2000
    too_many = reservation_pb2.ReservationLine(sku_id="GREASE-1", node_id="DC-1", quantity=10**15, unit="kg")
    with pytest.raises(grpc.RpcError) as caught:
        reservations.AllocateWave(
            reservation_pb2.AllocateWaveRequest(
                request_id="w-2", orders=[reservation_pb2.WaveOrder(order_id="O-2", lines=[line, too_many])]
            )
        )
    assert list(field_violations(caught.value)) == ["orders[0].lines[1].quantity"]
