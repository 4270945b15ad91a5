"""Attribute-split positions (lots, country of origin, date codes) and unavailable
stock by reason, over a real socket: feeds, availability summed over variants and
by lot, reservations requiring a lot, SetUnavailable, and the errors naming fields."""

from __future__ import annotations

import dataclasses
import itertools
import time

import grpc
import pytest
from conftest import ServerThread, small_network, stock_record
from google.protobuf import timestamp_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_service_availability import field_violations

from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
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
FULL = availability_pb2.AVAILABILITY_VIEW_FULL
SET = inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND
DAY_NS = 86_400 * 10**9
L1 = {"lot": "L1", "date_code": "2026-44", "country_of_origin": "DE"}
L2 = {"lot": "L2", "date_code": "2026-50"}


def attributed_network():
    """The small network; every SKU may carry lot, country of origin and date code,
    but OIL-1 only a date code."""
    network = small_network()
    skus = tuple(
        dataclasses.replace(sku, tracked_attributes=("date_code",)) if sku.sku_id == "OIL-1" else sku
        for sku in network.skus
    )
    return dataclasses.replace(network, skus=skus, attributes=("lot", "country_of_origin", "date_code"))


@pytest.fixture
def server():
    replica = Replica(Engine(attributed_network()), MemoryLog())
    replica.bootstrap([stock_record(replica.engine)])  # PAD-1: 10 at DC-1, 11 at WH-N, 12 at ST-1
    running = ServerThread(replica)
    yield running
    running.stop()


@pytest.fixture
def inventory(channel):
    return inventory_pb2_grpc.InventoryServiceStub(channel)


@pytest.fixture
def availability(channel):
    return availability_pb2_grpc.AvailabilityServiceStub(channel)


@pytest.fixture
def reservations(channel):
    return reservation_pb2_grpc.ReservationServiceStub(channel)


def update(quantity, attributes=None, sku_id="PAD-1", node_id="DC-1"):
    return inventory_pb2.StockUpdate(
        sku_id=sku_id, node_id=node_id, kind=SET, quantity=quantity, attributes=attributes or {}
    )


def feed_lots(inventory):
    response = inventory.UpdateStock(
        inventory_pb2.UpdateStockRequest(updates=[update(5, L1), update(7, L2), update(4, L1, node_id="WH-N")])
    )
    assert [r.status for r in response.results] == [OK] * 3
    assert [r.on_hand_quantity for r in response.results] == [5, 7, 4]


def ask(availability, required=None, with_variants=False, view=0, sku_ids=("PAD-1",)):
    return availability.GetAvailability(
        availability_pb2.GetAvailabilityRequest(
            sku_ids=list(sku_ids), required_attributes=required or {}, with_variants=with_variants, view=view
        )
    )


def test_a_sku_answers_the_sum_of_its_unattributed_stock_and_its_lots(inventory, availability):
    feed_lots(inventory)
    item = ask(availability).items[0]
    assert list(item.node_available_quantities) == [10 + 5 + 7, 11 + 4, 12]
    assert item.available_quantity == 49
    broken_down = ask(availability, with_variants=True).items[0]
    assert [dict(v.attributes) for v in broken_down.variants] == [{}, L1, L2]  # unattributed, then by date code
    assert [list(v.node_available_quantities) for v in broken_down.variants] == [[10, 11, 12], [5, 4, 0], [7, 0, 0]]
    # A delta addresses the same variant; no attributes addresses the unattributed stock.
    inventory.UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id="PAD-1",
                    node_id="DC-1",
                    kind=inventory_pb2.STOCK_UPDATE_KIND_ADJUST_ON_HAND,
                    quantity=-2,
                    attributes=L2,
                )
            ]
        )
    )
    assert ask(availability).items[0].available_quantity == 47


def test_availability_by_lot_counts_only_matching_variants(inventory, availability):
    feed_lots(inventory)
    lot_one = ask(availability, {"lot": "L1"}).items[0]
    assert list(lot_one.node_available_quantities) == [5, 4, 0] and lot_one.available_quantity == 9
    german = ask(availability, {"country_of_origin": "DE"}, with_variants=True).items[0]
    assert german.available_quantity == 9 and [dict(v.attributes) for v in german.variants] == [L1]
    nothing = ask(availability, {"lot": "L9"}, with_variants=True, sku_ids=("PAD-1", "OIL-1", "NOPE"))
    assert [i.available_quantity for i in nothing.items] == [0, 0, 0]
    assert nothing.items[2].status == common_pb2.ITEM_STATUS_SKU_NOT_FOUND
    assert not nothing.items[0].variants
    full = ask(availability, {"lot": "L2"}, view=FULL).items[0]
    assert list(full.node_on_hand_quantities) == [7, 0, 0]


def test_a_line_requiring_a_lot_holds_only_that_lot(inventory, availability, reservations):
    feed_lots(inventory)
    short = reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id="r1",
            lines=[
                reservation_pb2.ReservationLine(
                    sku_id="PAD-1", node_id="DC-1", quantity=6, required_attributes={"lot": "L1"}
                )
            ],
        )
    )
    assert not short.HasField("reservation")
    assert short.line_results[0].status == common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK
    assert short.line_results[0].available_quantity == 5
    held = reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id="r2",
            lines=[
                reservation_pb2.ReservationLine(
                    sku_id="PAD-1", node_id="DC-1", quantity=5, required_attributes={"lot": "L1"}
                )
            ],
        )
    )
    assert held.line_results[0].status == OK
    assert [(line.quantity, dict(line.held_attributes)) for line in held.reservation.lines] == [(5, L1)]
    assert ask(availability, {"lot": "L1"}).items[0].node_available_quantities[0] == 0
    assert ask(availability).items[0].node_available_quantities[0] == 17  # 10 unattributed + 7 of L2


def test_a_plain_line_takes_unattributed_stock_first_then_lots_first_expiring_first(
    inventory, reservations, availability
):
    feed_lots(inventory)
    held = reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id="r1", lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=18)]
        )
    )
    assert held.line_results[0].reserved_quantity == 18
    assert [(line.sku_id, line.quantity, dict(line.held_attributes)) for line in held.reservation.lines] == [
        ("PAD-1", 10, {}),
        ("PAD-1", 5, L1),
        ("PAD-1", 3, L2),
    ]
    # Committed and shipped per line: the lot's stock leaves.
    reservation_id = held.reservation.reservation_id
    reservations.CommitReservation(
        reservation_pb2.CommitReservationRequest(request_id="c1", reservation_id=reservation_id, order_id="O1")
    )
    shipped = reservations.ShipReservation(
        reservation_pb2.ShipReservationRequest(
            request_id="s1",
            reservation_id=reservation_id,
            lines=[reservation_pb2.LineQuantity(line_number=2, quantity=3)],
        )
    )
    assert shipped.reservation.lines[2].shipped_quantity == 3
    after = ask(availability, {"lot": "L2"}, view=FULL).items[0]
    assert after.node_on_hand_quantities[0] == 4 and after.node_available_quantities[0] == 4
    # All or nothing over the rows: 4 left in all at DC-1.
    refused = reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id="r2", lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=5)]
        )
    )
    assert refused.line_results[0].status == common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK
    assert refused.line_results[0].available_quantity == 4


def test_unknown_attribute_keys_are_rejected_naming_the_field(inventory, availability, reservations):
    with pytest.raises(grpc.RpcError) as caught:
        inventory.UpdateStock(
            inventory_pb2.UpdateStockRequest(
                updates=[
                    update(1, L1),
                    update(1, {"lott": "X"}),
                    update(1, {"lot": "L1"}, sku_id="OIL-1"),
                    update(1, {"lot": "has space"}),
                ]
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(caught.value)
    assert set(violations) == {"updates[1].attributes.lott", "updates[2].attributes.lot", "updates[3].attributes.lot"}
    assert "declared: lot, country_of_origin, date_code" in violations["updates[1].attributes.lott"]
    assert "declared: date_code" in violations["updates[2].attributes.lot"]
    with pytest.raises(grpc.RpcError) as caught:
        ask(availability, {"lott": "L1"})
    assert set(field_violations(caught.value)) == {"required_attributes.lott"}
    with pytest.raises(grpc.RpcError) as caught:
        reservations.ReserveInventory(
            reservation_pb2.ReserveInventoryRequest(
                request_id="r",
                lines=[
                    reservation_pb2.ReservationLine(
                        sku_id="PAD-1", node_id="DC-1", quantity=1, required_attributes={"lott": "L1"}
                    )
                ],
            )
        )
    assert set(field_violations(caught.value)) == {"lines[0].required_attributes.lott"}
    with pytest.raises(grpc.RpcError) as caught:
        ask(availability, with_variants=True, view=availability_pb2.AVAILABILITY_VIEW_TOTALS)
    assert set(field_violations(caught.value)) == {"with_variants"}


def test_past_the_variant_limit_is_resource_exhausted(server, inventory):
    server.engine._variants.limit = 2  # as if the network held VARIANTS_MAX already
    inventory.UpdateStock(inventory_pb2.UpdateStockRequest(updates=[update(1, L1), update(1, L2)]))
    with pytest.raises(grpc.RpcError) as caught:
        inventory.UpdateStock(inventory_pb2.UpdateStockRequest(updates=[update(1, L1), update(1, {"lot": "L3"})]))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    # Known variants still take updates.
    response = inventory.UpdateStock(inventory_pb2.UpdateStockRequest(updates=[update(3, L2)]))
    assert response.results[0].status == OK


def test_upload_rows_carry_attributes_and_bad_ones_are_reported_with_their_field(inventory, availability):
    chunk = inventory_pb2.UploadStockRequest(updates=[update(6, L1), update(2, {"lott": "x"}), update(1, L2)])
    response = inventory.UploadStock(iter([chunk]))
    assert (response.applied_count, response.rejected_count) == (2, 1)
    assert [(p.row, p.field) for p in response.problems] == [(1, "attributes.lott")]
    assert ask(availability, {"lot": "L1"}).items[0].available_quantity == 6


def test_set_unavailable_by_reason_shows_in_the_full_view(inventory, availability):
    response = inventory.SetUnavailable(
        inventory_pb2.SetUnavailableRequest(
            items=[
                inventory_pb2.UnavailableStock(
                    sku_id="PAD-1", node_id="DC-1", reason=common_pb2.UNAVAILABLE_REASON_DAMAGED, quantity=2
                ),
                inventory_pb2.UnavailableStock(
                    sku_id="PAD-1", node_id="DC-1", reason=common_pb2.UNAVAILABLE_REASON_DISPLAY, quantity=1
                ),
                inventory_pb2.UnavailableStock(
                    sku_id="PAD-1", node_id="WH-N", reason=common_pb2.UNAVAILABLE_REASON_INSPECTION, quantity=3
                ),
                inventory_pb2.UnavailableStock(
                    sku_id="NOPE", node_id="WH-N", reason=common_pb2.UNAVAILABLE_REASON_DAMAGED, quantity=3
                ),
            ]
        )
    )
    assert [r.status for r in response.results] == [OK, OK, OK, common_pb2.ITEM_STATUS_SKU_NOT_FOUND]
    assert [r.available_quantity for r in response.results[:3]] == [8, 7, 8]
    inventory.ReturnStock(
        inventory_pb2.ReturnStockRequest(
            items=[
                inventory_pb2.ReturnedStock(
                    sku_id="PAD-1", node_id="ST-1", quantity=4, disposition=inventory_pb2.RETURN_DISPOSITION_QUARANTINE
                )
            ]
        )
    )
    item = ask(availability, view=FULL).items[0]
    assert list(item.node_unavailable_quantities) == [3, 3, 4]
    assert list(item.node_damaged_quantities) == [2, 0, 0]
    assert list(item.node_quarantined_quantities) == [0, 0, 4]
    assert list(item.node_inspection_quantities) == [0, 3, 0]
    assert list(item.node_display_quantities) == [1, 0, 0]
    assert list(item.node_available_quantities) == [7, 8, 12]


def test_set_unavailable_on_a_lot_and_bad_input_names_the_field(inventory, availability):
    feed_lots(inventory)
    inventory.SetUnavailable(
        inventory_pb2.SetUnavailableRequest(
            items=[
                inventory_pb2.UnavailableStock(
                    sku_id="PAD-1",
                    node_id="DC-1",
                    reason=common_pb2.UNAVAILABLE_REASON_QUARANTINED,
                    quantity=5,
                    attributes=L1,
                )
            ]
        )
    )
    assert ask(availability, {"lot": "L1"}).items[0].node_available_quantities[0] == 0
    assert ask(availability, view=FULL).items[0].node_quarantined_quantities[0] == 5
    with pytest.raises(grpc.RpcError) as caught:
        inventory.SetUnavailable(
            inventory_pb2.SetUnavailableRequest(
                items=[
                    inventory_pb2.UnavailableStock(sku_id="PAD-1", node_id="DC-1", quantity=1),
                    inventory_pb2.UnavailableStock(
                        sku_id="PAD-1",
                        node_id="DC-1",
                        quantity=-1,
                        reason=common_pb2.UNAVAILABLE_REASON_DAMAGED,
                        attributes={"lott": "x"},
                    ),
                ]
            )
        )
    assert set(field_violations(caught.value)) == {"items[0].reason", "items[1].quantity", "items[1].attributes.lott"}


HOLD_IDS = itertools.count()
LOTS = [
    {},
    {"lot": "A"},
    {"lot": "B", "date_code": "2026-01"},
    {"lot": "A", "country_of_origin": "FR"},
    {"date_code": "2025-12"},
]
updates = st.lists(
    st.tuples(
        st.sampled_from(["PAD-1", "CABLE-1"]),
        st.sampled_from(["DC-1", "WH-N", "ST-1"]),
        st.integers(0, 40),
        st.sampled_from(range(len(LOTS))),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(updates, st.integers(0, 30))
def test_a_sku_answers_the_sum_of_its_rows(inventory, availability, reservations, batch, hold):
    inventory.UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[
                update(quantity, LOTS[lot], sku_id=sku_id, node_id=node_id) for sku_id, node_id, quantity, lot in batch
            ]
        )
    )
    reservations.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id=f"hold-{next(HOLD_IDS)}",
            allow_partial=True,
            lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=hold or 1)],
        )
    )
    answer = ask(availability, with_variants=True, view=FULL, sku_ids=("PAD-1", "CABLE-1"))
    for item in answer.items:
        rows = item.variants
        assert item.available_quantity == sum(v.available_quantity for v in rows)
        for column, quantity in enumerate(item.node_available_quantities):
            assert quantity == sum(v.node_available_quantities[column] for v in rows)
        for lot in ("A", "B"):
            by_lot = ask(availability, {"lot": lot}, sku_ids=(item.sku_id,)).items[0]
            assert by_lot.available_quantity == sum(
                v.available_quantity for v in rows if v.attributes.get("lot") == lot
            )
        assert all(a >= 0 for a in item.node_available_quantities)


def test_phasing_sums_variants_and_future_supply_counts_for_the_unattributed_stock(inventory, availability):
    feed_lots(inventory)  # PAD-1 at DC-1: 10 unattributed, 5 of L1, 7 of L2
    start_ns = (time.time_ns() // DAY_NS + 1) * DAY_NS
    eta = timestamp_pb2.Timestamp()
    eta.FromNanoseconds(start_ns + DAY_NS + DAY_NS // 2)
    inventory.UpsertSupply(
        inventory_pb2.UpsertSupplyRequest(
            supplies=[
                inventory_pb2.Supply(
                    supply_id="PO-1",
                    sku_id="PAD-1",
                    node_id="DC-1",
                    kind=common_pb2.SUPPLY_KIND_PURCHASE_ORDER,
                    quantity=30,
                    eta=eta,
                )
            ]
        )
    )
    start = timestamp_pb2.Timestamp()
    start.FromNanoseconds(start_ns)

    def phased(required, wanted):
        return availability.GetAvailability(
            availability_pb2.GetAvailabilityRequest(
                sku_ids=["PAD-1"],
                node_ids=["DC-1"],
                required_attributes=required,
                phasing=availability_pb2.TimePhasing(start_time=start, bucket_count=3, wanted_quantity=wanted),
            )
        ).items[0]

    every = phased({}, 20)
    assert list(every.phased_available_quantities) == [22, 52, 52]
    assert every.earliest_time.ToNanoseconds() == start_ns  # 10 + 5 + 7 now, over the rows together
    assert phased({}, 40).earliest_time.ToNanoseconds() == eta.ToNanoseconds()  # the unattributed row with the PO
    lot = phased({"lot": "L2"}, 7)
    assert list(lot.phased_available_quantities) == [7, 7, 7]  # supply has no lot
    assert lot.earliest_time.ToNanoseconds() == start_ns
    assert not phased({"lot": "L2"}, 8).HasField("earliest_time")
