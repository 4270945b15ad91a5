"""Future supply over a real socket: UpsertSupply / ReceiveSupply / GetSupply,
time-phased GetAvailability, and backorders through ReserveInventory."""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from test_service_availability import field_violations

from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    common_pb2,
    inventory_pb2,
    inventory_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

DAY_NS = 86_400 * 10**9
PO = common_pb2.SUPPLY_KIND_PURCHASE_ORDER
TRANSIT = common_pb2.SUPPLY_KIND_IN_TRANSIT
OK = common_pb2.ITEM_STATUS_OK
# Start of the phasing: fixed, so bucket k ends at START + (k + 1) days.
START_NS = (time.time_ns() // DAY_NS + 1) * DAY_NS


def at(days: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(START_NS + int(days * DAY_NS))
    return stamp


@pytest.fixture
def inventory(channel):
    return inventory_pb2_grpc.InventoryServiceStub(channel)


@pytest.fixture
def availability(channel):
    return availability_pb2_grpc.AvailabilityServiceStub(channel)


@pytest.fixture
def reservations(channel):
    return reservation_pb2_grpc.ReservationServiceStub(channel)


def supply(supply_id, quantity, eta_days, kind=PO, sku_id="PAD-1", node_id="DC-1"):
    return inventory_pb2.Supply(
        supply_id=supply_id, sku_id=sku_id, node_id=node_id, kind=kind, quantity=quantity, eta=at(eta_days)
    )


def phased(availability, sku_id="PAD-1", node_ids=("DC-1",), days=5, wanted=0, kinds=()):
    return availability.GetAvailability(
        availability_pb2.GetAvailabilityRequest(
            sku_ids=[sku_id],
            node_ids=list(node_ids),
            phasing=availability_pb2.TimePhasing(
                start_time=at(0), bucket_count=days, wanted_quantity=wanted, supply_kinds=list(kinds)
            ),
        )
    )


def test_a_purchase_order_shows_from_its_eta_on(inventory, availability):
    # The small network's PAD-1 at DC-1 starts with 10 on hand.
    response = inventory.UpsertSupply(inventory_pb2.UpsertSupplyRequest(supplies=[supply("PO-1/10", 25, 2.5)]))
    assert [r.status for r in response.results] == [OK]
    answer = phased(availability)
    assert list(answer.items[0].phased_available_quantities) == [10, 10, 35, 35, 35]
    assert list(answer.items[0].node_phased_available_quantities) == [10, 10, 35, 35, 35]
    assert answer.items[0].available_quantity == 10  # now: never the future
    assert [t.ToNanoseconds() for t in answer.bucket_end_times] == [START_NS + k * DAY_NS for k in range(1, 6)]


def test_an_eta_change_and_a_receipt(inventory, availability):
    inventory.UpsertSupply(inventory_pb2.UpsertSupplyRequest(supplies=[supply("PO-2/10", 20, 1.5)]))
    inventory.UpsertSupply(inventory_pb2.UpsertSupplyRequest(supplies=[supply("PO-2/10", 20, 3.5, kind=TRANSIT)]))
    assert list(phased(availability).items[0].phased_available_quantities) == [10, 10, 10, 30, 30]
    receipt = inventory.ReceiveSupply(
        inventory_pb2.ReceiveSupplyRequest(receipts=[inventory_pb2.Receipt(supply_id="PO-2/10", quantity=8)])
    )
    assert [(r.status, r.on_hand_quantity) for r in receipt.results] == [(OK, 18)]
    got = inventory.GetSupply(inventory_pb2.GetSupplyRequest(supply_id="PO-2/10")).supply
    assert (got.quantity, got.received_quantity, got.kind) == (12, 8, TRANSIT)
    assert got.eta == at(3.5)
    assert list(phased(availability).items[0].phased_available_quantities) == [18, 18, 18, 30, 30]


def test_earliest_time_for_a_quantity_names_the_node(inventory, availability):
    inventory.UpsertSupply(
        inventory_pb2.UpsertSupplyRequest(
            supplies=[supply("PO-3/1", 50, 3.25), supply("TR-9", 50, 1.25, kind=TRANSIT, node_id="WH-N")]
        )
    )
    item = phased(availability, node_ids=(), wanted=40).items[0]
    assert (item.earliest_time, item.earliest_node_id) == (at(1.25), "WH-N")
    only_po = phased(availability, node_ids=(), wanted=40, kinds=[PO]).items[0]
    assert (only_po.earliest_time, only_po.earliest_node_id) == (at(3.25), "DC-1")
    now = phased(availability, node_ids=(), wanted=5).items[0]
    assert now.earliest_time == at(0)
    never = phased(availability, node_ids=(), wanted=10**6).items[0]
    assert not never.HasField("earliest_time")


def test_a_backorder_is_promised_from_the_purchase_order_once(inventory, availability, reservations):
    inventory.UpsertSupply(inventory_pb2.UpsertSupplyRequest(supplies=[supply("PO-4/1", 30, 2.5)]))

    def reserve(quantity):
        return reservations.ReserveInventory(
            reservation_pb2.ReserveInventoryRequest(
                request_id=f"backorder-{quantity}",
                customer_id="garage-7",
                ttl=duration_pb2.Duration(seconds=3600),
                lines=[
                    reservation_pb2.ReservationLine(
                        sku_id="PAD-1", node_id="DC-1", quantity=quantity, backorder_by=at(3)
                    )
                ],
            )
        )

    first = reserve(35)
    assert [r.status for r in first.line_results] == [OK]
    assert first.reservation.lines[0].backorder_by == at(3)
    assert list(phased(availability).items[0].phased_available_quantities) == [5, 5, 5, 5, 5]
    second = reserve(6)
    assert [r.status for r in second.line_results] == [common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK]
    # Releasing the backorder gives the PO back.
    reservations.ReleaseReservation(
        reservation_pb2.ReleaseReservationRequest(
            request_id="release-backorder", reservation_id=first.reservation.reservation_id
        )
    )
    assert list(phased(availability).items[0].phased_available_quantities) == [10, 10, 40, 40, 40]


def test_bad_supply_input_names_the_field(inventory):
    with pytest.raises(grpc.RpcError) as caught:
        inventory.UpsertSupply(
            inventory_pb2.UpsertSupplyRequest(
                supplies=[
                    inventory_pb2.Supply(
                        supply_id="PO-X", sku_id="PAD-1", node_id="DC-1", kind=PO, quantity=-1, eta=at(1)
                    ),
                    inventory_pb2.Supply(supply_id="PO-Y", sku_id="PAD-1", node_id="DC-1", quantity=1, eta=at(-3)),
                    inventory_pb2.Supply(supply_id="PO-X", sku_id="PAD-1", node_id="DC-1", kind=PO, quantity=1),
                ]
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {
        "supplies[0].quantity",
        "supplies[1].kind",
        "supplies[1].eta",
        "supplies[2].supply_id",
        "supplies[2].eta",
    }


def test_unknown_supply_receipt_is_per_item_and_get_is_not_found(inventory):
    response = inventory.ReceiveSupply(
        inventory_pb2.ReceiveSupplyRequest(receipts=[inventory_pb2.Receipt(supply_id="NOPE", quantity=1)])
    )
    assert [r.status for r in response.results] == [common_pb2.ITEM_STATUS_SUPPLY_NOT_FOUND]
    with pytest.raises(grpc.RpcError) as caught:
        inventory.GetSupply(inventory_pb2.GetSupplyRequest(supply_id="NOPE"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_phasing_names_the_field(availability):
    with pytest.raises(grpc.RpcError) as caught:
        availability.GetAvailability(
            availability_pb2.GetAvailabilityRequest(
                sku_ids=["PAD-1"],
                phasing=availability_pb2.TimePhasing(
                    bucket_count=0, supply_kinds=[9], bucket_duration=duration_pb2.Duration(seconds=1)
                ),
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {
        "phasing.bucket_count",
        "phasing.supply_kinds[0]",
        "phasing.bucket_duration",
    }


def test_a_backorder_date_in_the_past_is_refused(reservations):
    with pytest.raises(grpc.RpcError) as caught:
        reservations.ReserveInventory(
            reservation_pb2.ReserveInventoryRequest(
                request_id="late",
                lines=[
                    reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=1, backorder_by=at(-2))
                ],
            )
        )
    assert set(field_violations(caught.value)) == {"lines[0].backorder_by"}
