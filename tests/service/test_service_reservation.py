"""ReservationService over a real socket: lifecycle, idempotency, expiry, races, bad input."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from test_service_availability import field_violations

from dompromise.v1 import availability_pb2, availability_pb2_grpc, common_pb2, reservation_pb2_grpc
from dompromise.v1 import reservation_pb2 as pb

OK = common_pb2.ITEM_STATUS_OK


@pytest.fixture
def stub(channel):
    return reservation_pb2_grpc.ReservationServiceStub(channel)


def available(channel, sku_id, node_id):
    response = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
        availability_pb2.GetAvailabilityRequest(sku_ids=[sku_id], node_ids=[node_id])
    )
    return response.items[0].available_quantity


def line(sku_id, node_id, quantity):
    return pb.ReservationLine(sku_id=sku_id, node_id=node_id, quantity=quantity)


def reason(error: grpc.RpcError) -> str:
    status = rpc_status.from_call(error)
    info = error_details_pb2.ErrorInfo()
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
    return info.reason


def test_reserve_commit_release_lifecycle(stub, channel):
    reserved = stub.ReserveInventory(
        pb.ReserveInventoryRequest(
            request_id="req-1", lines=[line("PAD-1", "DC-1", 4), line("OIL-1", "WH-N", 31)], customer_id="garage-7"
        )
    )
    reservation = reserved.reservation
    assert reservation.state == pb.RESERVATION_STATE_HELD
    assert [(line.sku_id, line.node_id, line.quantity) for line in reservation.lines] == [
        ("PAD-1", "DC-1", 4),
        ("OIL-1", "WH-N", 31),
    ]
    assert [r.status for r in reserved.line_results] == [OK, OK]
    assert reservation.expire_time.ToSeconds() - reservation.create_time.ToSeconds() == 15 * 60
    assert available(channel, "PAD-1", "DC-1") == 6
    assert available(channel, "OIL-1", "WH-N") == 0

    committed = stub.CommitReservation(
        pb.CommitReservationRequest(request_id="req-2", reservation_id=reservation.reservation_id, order_id="ORD-1")
    )
    assert committed.reservation.state == pb.RESERVATION_STATE_COMMITTED
    assert committed.reservation.order_id == "ORD-1"
    assert available(channel, "PAD-1", "DC-1") == 6

    listed = stub.ListReservations(pb.ListReservationsRequest(order_id="ORD-1"))
    assert [r.reservation_id for r in listed.reservations] == [reservation.reservation_id]
    by_customer = stub.ListReservations(pb.ListReservationsRequest(customer_id="garage-7"))
    assert len(by_customer.reservations) == 1

    released = stub.ReleaseReservation(
        pb.ReleaseReservationRequest(request_id="req-3", reservation_id=reservation.reservation_id)
    )
    assert released.reservation.state == pb.RESERVATION_STATE_RELEASED
    assert available(channel, "PAD-1", "DC-1") == 10
    got = stub.GetReservation(pb.GetReservationRequest(reservation_id=reservation.reservation_id))
    assert got.reservation.state == pb.RESERVATION_STATE_RELEASED


def test_short_line_holds_nothing_and_reports_the_shortfall(stub, channel):
    response = stub.ReserveInventory(
        pb.ReserveInventoryRequest(request_id="short", lines=[line("PAD-1", "DC-1", 2), line("PAD-1", "WH-N", 12)])
    )
    assert not response.HasField("reservation")
    assert [r.status for r in response.line_results] == [
        common_pb2.ITEM_STATUS_NOT_APPLIED,
        common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK,
    ]
    assert response.line_results[1].available_quantity == 11
    assert available(channel, "PAD-1", "DC-1") == 10


def test_partial_fill_holds_what_there_is(stub):
    response = stub.ReserveInventory(
        pb.ReserveInventoryRequest(
            request_id="partial", allow_partial=True, lines=[line("PAD-1", "WH-N", 15), line("NOPE", "DC-1", 1)]
        )
    )
    assert [r.status for r in response.line_results] == [
        common_pb2.ITEM_STATUS_PARTIALLY_FILLED,
        common_pb2.ITEM_STATUS_SKU_NOT_FOUND,
    ]
    assert response.line_results[0].reserved_quantity == 11
    assert [(line.sku_id, line.quantity) for line in response.reservation.lines] == [("PAD-1", 11)]


def test_drained_node_is_not_reservable(stub):
    response = stub.ReserveInventory(pb.ReserveInventoryRequest(request_id="drain", lines=[line("PAD-1", "ST-2", 1)]))
    assert response.line_results[0].status == common_pb2.ITEM_STATUS_NODE_NOT_SELLABLE


def test_same_request_id_same_payload_returns_the_first_result(stub, channel):
    request = pb.ReserveInventoryRequest(request_id="retry-me", lines=[line("PAD-1", "DC-1", 3)])
    first = stub.ReserveInventory(request)
    again = stub.ReserveInventory(request)
    assert again.reservation.reservation_id == first.reservation.reservation_id
    assert again.log_position == first.log_position
    assert available(channel, "PAD-1", "DC-1") == 7


def test_same_request_id_other_payload_is_already_exists(stub, channel):
    stub.ReserveInventory(pb.ReserveInventoryRequest(request_id="k", lines=[line("PAD-1", "DC-1", 3)]))
    with pytest.raises(grpc.RpcError) as caught:
        stub.ReserveInventory(pb.ReserveInventoryRequest(request_id="k", lines=[line("PAD-1", "DC-1", 4)]))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason(caught.value) == "REQUEST_ID_REUSED"
    assert available(channel, "PAD-1", "DC-1") == 7


def test_commit_twice_with_new_request_id_is_failed_precondition(stub):
    reservation_id = stub.ReserveInventory(
        pb.ReserveInventoryRequest(request_id="c0", lines=[line("PAD-1", "DC-1", 1)])
    ).reservation.reservation_id
    stub.CommitReservation(pb.CommitReservationRequest(request_id="c1", reservation_id=reservation_id))
    with pytest.raises(grpc.RpcError) as caught:
        stub.CommitReservation(pb.CommitReservationRequest(request_id="c2", reservation_id=reservation_id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(caught.value) == "RESERVATION_COMMITTED"


def test_hold_expires_without_traffic_and_cannot_be_committed(stub, channel):
    reservation_id = stub.ReserveInventory(
        pb.ReserveInventoryRequest(
            request_id="ttl",
            lines=[line("PAD-1", "DC-1", 10)],
            ttl=duration_pb2.Duration(seconds=1),
        )
    ).reservation.reservation_id
    assert available(channel, "PAD-1", "DC-1") == 0
    deadline = time.monotonic() + 10
    while available(channel, "PAD-1", "DC-1") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert available(channel, "PAD-1", "DC-1") == 10
    got = stub.GetReservation(pb.GetReservationRequest(reservation_id=reservation_id))
    assert got.reservation.state == pb.RESERVATION_STATE_EXPIRED
    with pytest.raises(grpc.RpcError) as caught:
        stub.CommitReservation(pb.CommitReservationRequest(request_id="late", reservation_id=reservation_id))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(caught.value) == "RESERVATION_EXPIRED"


def test_extend_moves_the_expiry(stub):
    reserved = stub.ReserveInventory(
        pb.ReserveInventoryRequest(
            request_id="e0", lines=[line("PAD-1", "DC-1", 1)], ttl=duration_pb2.Duration(seconds=60)
        )
    )
    extended = stub.ExtendReservation(
        pb.ExtendReservationRequest(
            request_id="e1", reservation_id=reserved.reservation.reservation_id, ttl=duration_pb2.Duration(seconds=3600)
        )
    )
    assert extended.reservation.expire_time.ToSeconds() - reserved.reservation.expire_time.ToSeconds() >= 3500


def test_unknown_reservation_is_not_found(stub):
    for call, request in (
        (stub.GetReservation, pb.GetReservationRequest(reservation_id="R999")),
        (stub.CommitReservation, pb.CommitReservationRequest(request_id="x1", reservation_id="R999")),
        (stub.ReleaseReservation, pb.ReleaseReservationRequest(request_id="x2", reservation_id="R999")),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call(request)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_reserve_requests_name_their_fields(stub, engine):
    before = engine.core.digest()
    with pytest.raises(grpc.RpcError) as caught:
        stub.ReserveInventory(pb.ReserveInventoryRequest(lines=[line("", "DC-1", 0)]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"request_id", "lines[0].sku_id", "lines[0].quantity"}
    with pytest.raises(grpc.RpcError) as caught:
        stub.ReserveInventory(
            pb.ReserveInventoryRequest(
                request_id="t", lines=[line("PAD-1", "DC-1", 1)], ttl=duration_pb2.Duration(seconds=8 * 24 * 3600)
            )
        )
    assert set(field_violations(caught.value)) == {"ttl"}
    with pytest.raises(grpc.RpcError) as caught:
        stub.ReserveInventory(pb.ReserveInventoryRequest(request_id="none"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListReservations(pb.ListReservationsRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert engine.core.digest() == before


def test_race_for_the_last_units_has_exactly_k_winners(server):
    """N clients on their own channels race for k units, many rounds: exactly k win each round."""
    clients, units, rounds = 12, 5, 12  # 12 rounds: each on its own fresh (SKU, node) position
    channels = [grpc.insecure_channel(server.target) for _ in range(clients)]
    stubs = [reservation_pb2_grpc.ReservationServiceStub(c) for c in channels]
    try:
        for round_number in range(rounds):
            sku = ("PAD-1", "CABLE-1", "OIL-1", "GREASE-1")[round_number % 4]
            node = ("DC-1", "WH-N", "ST-1")[round_number % 3]
            _set_on_hand(server, sku, node, units)
            barrier = threading.Barrier(clients)
            winners = []

            def race(index):
                barrier.wait()
                response = stubs[index].ReserveInventory(
                    pb.ReserveInventoryRequest(request_id=f"race-{round_number}-{index}", lines=[line(sku, node, 1)])
                )
                if response.HasField("reservation"):
                    winners.append(response.reservation.reservation_id)

            threads = [threading.Thread(target=race, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert len(winners) == units, f"round {round_number}: {len(winners)} winners for {units} units"
            assert len(set(winners)) == units
            assert server.engine.core.check_invariants()
    finally:
        for channel in channels:
            channel.close()


def _set_on_hand(server, sku, node, quantity) -> None:
    from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

    with grpc.insecure_channel(server.target) as channel:
        inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
            inventory_pb2.UpdateStockRequest(
                updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id=node, kind=1, quantity=quantity)]
            )
        )


def test_list_reservations_pages(stub):
    ids = [
        stub.ReserveInventory(
            pb.ReserveInventoryRequest(request_id=f"page-{i}", customer_id="pager", lines=[line("PAD-1", "DC-1", 1)])
        ).reservation.reservation_id
        for i in range(5)
    ]
    first = stub.ListReservations(pb.ListReservationsRequest(customer_id="pager", page_size=2))
    assert [r.reservation_id for r in first.reservations] == ids[:2]
    assert first.total_size == 5
    rest = stub.ListReservations(
        pb.ListReservationsRequest(customer_id="pager", page_size=10, page_token=first.next_page_token)
    )
    assert [r.reservation_id for r in rest.reservations] == ids[2:]
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListReservations(pb.ListReservationsRequest(customer_id="other", page_token=first.next_page_token))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_ship_part_then_the_rest(stub, channel):
    reservation_id = stub.ReserveInventory(
        pb.ReserveInventoryRequest(request_id="s0", lines=[line("PAD-1", "DC-1", 4), line("OIL-1", "DC-1", 2)])
    ).reservation.reservation_id
    with pytest.raises(grpc.RpcError) as caught:
        stub.ShipReservation(
            pb.ShipReservationRequest(
                request_id="s1", reservation_id=reservation_id, lines=[pb.LineQuantity(line_number=0, quantity=1)]
            )
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(caught.value) == "RESERVATION_NOT_COMMITTED"
    stub.CommitReservation(pb.CommitReservationRequest(request_id="s2", reservation_id=reservation_id))
    shipped = stub.ShipReservation(
        pb.ShipReservationRequest(
            request_id="s3", reservation_id=reservation_id, lines=[pb.LineQuantity(line_number=0, quantity=3)]
        )
    )
    assert [(line.quantity, line.shipped_quantity) for line in shipped.reservation.lines] == [(1, 3), (2, 0)]
    assert shipped.reservation.state == pb.RESERVATION_STATE_COMMITTED
    assert available(channel, "PAD-1", "DC-1") == 6  # 10 on hand - 3 shipped - 1 still allocated
    done = stub.ShipReservation(
        pb.ShipReservationRequest(
            request_id="s4",
            reservation_id=reservation_id,
            lines=[pb.LineQuantity(line_number=0, quantity=1), pb.LineQuantity(line_number=1, quantity=2)],
        )
    )
    assert done.reservation.state == pb.RESERVATION_STATE_SHIPPED


def test_ship_more_than_open_names_the_line_and_changes_nothing(stub, channel):
    reservation_id = stub.ReserveInventory(
        pb.ReserveInventoryRequest(request_id="x0", lines=[line("PAD-1", "DC-1", 2)])
    ).reservation.reservation_id
    stub.CommitReservation(pb.CommitReservationRequest(request_id="x1", reservation_id=reservation_id))
    with pytest.raises(grpc.RpcError) as caught:
        stub.ShipReservation(
            pb.ShipReservationRequest(
                request_id="x2",
                reservation_id=reservation_id,
                lines=[pb.LineQuantity(line_number=0, quantity=1), pb.LineQuantity(line_number=3, quantity=1)],
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"lines[1]"}
    got = stub.GetReservation(pb.GetReservationRequest(reservation_id=reservation_id))
    assert got.reservation.lines[0].shipped_quantity == 0
    assert available(channel, "PAD-1", "DC-1") == 8


def test_cancel_some_lines_gives_stock_back(stub, channel):
    reservation_id = stub.ReserveInventory(
        pb.ReserveInventoryRequest(request_id="k0", lines=[line("PAD-1", "DC-1", 5)])
    ).reservation.reservation_id
    response = stub.CancelReservationLines(
        pb.CancelReservationLinesRequest(
            request_id="k1", reservation_id=reservation_id, lines=[pb.LineQuantity(line_number=0, quantity=2)]
        )
    )
    assert response.reservation.lines[0].quantity == 3
    assert available(channel, "PAD-1", "DC-1") == 7


def test_returns_restock_sellable_and_quarantined(channel):
    from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

    inventory = inventory_pb2_grpc.InventoryServiceStub(channel)
    response = inventory.ReturnStock(
        inventory_pb2.ReturnStockRequest(
            request_id="ret-1",
            items=[
                inventory_pb2.ReturnedStock(
                    sku_id="PAD-1", node_id="DC-1", quantity=2, disposition=inventory_pb2.RETURN_DISPOSITION_SELLABLE
                ),
                inventory_pb2.ReturnedStock(
                    sku_id="PAD-1", node_id="WH-N", quantity=5, disposition=inventory_pb2.RETURN_DISPOSITION_QUARANTINE
                ),
            ],
        )
    )
    assert response.applied_count == 2
    assert available(channel, "PAD-1", "DC-1") == 12
    assert available(channel, "PAD-1", "WH-N") == 11
    with pytest.raises(grpc.RpcError) as caught:
        inventory.ReturnStock(
            inventory_pb2.ReturnStockRequest(
                items=[inventory_pb2.ReturnedStock(sku_id="PAD-1", node_id="DC-1", quantity=0)]
            )
        )
    assert set(field_violations(caught.value)) == {"items[0].quantity", "items[0].disposition"}


def test_duration_with_mixed_signs_is_invalid(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.ReserveInventory(
            pb.ReserveInventoryRequest(
                request_id="d",
                lines=[line("PAD-1", "DC-1", 1)],
                ttl=duration_pb2.Duration(seconds=5, nanos=-999_999_999),
            )
        )
    assert set(field_violations(caught.value)) == {"ttl"}


def test_every_ship_line_is_validated_not_just_the_first_twenty(stub):
    lines = [pb.LineQuantity(line_number=0, quantity=1)] * 20 + [pb.LineQuantity(line_number=0, quantity=0)]
    with pytest.raises(grpc.RpcError) as caught:
        stub.CancelReservationLines(pb.CancelReservationLinesRequest(request_id="c", reservation_id="R1", lines=lines))
    assert set(field_violations(caught.value)) == {"lines[20].quantity"}


def wave_order(order_id, priority, quantity, need_by_seconds=None, partial=False):
    order = pb.WaveOrder(
        order_id=order_id, priority=priority, allow_partial=partial, lines=[line("PAD-1", "DC-1", quantity)]
    )
    if need_by_seconds is not None:
        order.need_by_time.FromSeconds(need_by_seconds)
    return order


def test_wave_allocates_in_priority_then_need_by_order(stub, channel):
    # PAD-1 at DC-1 has 10. Ranks: P1 (priority 0), then B (need-by 100), then A (need-by 200), then C.
    response = stub.AllocateWave(
        pb.AllocateWaveRequest(
            request_id="wave-1",
            orders=[
                wave_order("A", 1, 4, need_by_seconds=200),
                wave_order("B", 1, 4, need_by_seconds=100),
                wave_order("C", 1, 4, partial=True),
                wave_order("P1", 0, 3),
            ],
        )
    )
    by_order = {r.order_id: r for r in response.results}
    assert [r.order_id for r in response.results] == ["A", "B", "C", "P1"]
    assert [by_order[o].allocation_rank for o in ("P1", "B", "A", "C")] == [0, 1, 2, 3]
    assert by_order["P1"].reservation.state == pb.RESERVATION_STATE_COMMITTED
    assert by_order["B"].reservation.lines[0].quantity == 4
    assert not by_order["A"].HasField("reservation")  # 3 left, all or nothing
    assert by_order["A"].line_results[0].status == common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK
    assert by_order["C"].line_results[0].status == common_pb2.ITEM_STATUS_PARTIALLY_FILLED
    assert by_order["C"].reservation.lines[0].quantity == 3
    assert available(channel, "PAD-1", "DC-1") == 0
    listed = stub.ListReservations(pb.ListReservationsRequest(order_id="B"))
    assert [r.reservation_id for r in listed.reservations] == [by_order["B"].reservation.reservation_id]
    again = stub.AllocateWave(
        pb.AllocateWaveRequest(
            request_id="wave-1",
            orders=[
                wave_order("A", 1, 4, need_by_seconds=200),
                wave_order("B", 1, 4, need_by_seconds=100),
                wave_order("C", 1, 4, partial=True),
                wave_order("P1", 0, 3),
            ],
        )
    )
    assert again == response


def test_wave_bad_input_names_fields(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.AllocateWave(pb.AllocateWaveRequest(request_id="w", orders=[pb.WaveOrder(order_id="")]))
    assert set(field_violations(caught.value)) == {"orders[0].order_id", "orders[0].lines"}
