"""SIGKILL under load: every acknowledged reservation is there after restart, none doubled."""

from __future__ import annotations

import threading
import time

import grpc
from google.protobuf import duration_pb2
from processes import Serving

from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    inventory_pb2,
    inventory_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

NODE = "DC-NAT"
LOAD_SECONDS = 1.5
CLIENTS = 6
HOUR = duration_pb2.Duration(seconds=3600)


def demo_sku() -> str:
    from dompromise.demo import network as demo

    return demo.demo_network().skus[0].sku_id


def held_at(target: str, sku: str) -> int:
    with grpc.insecure_channel(target) as channel:
        response = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
            availability_pb2.GetAvailabilityRequest(
                sku_ids=[sku], node_ids=[NODE], view=availability_pb2.AVAILABILITY_VIEW_FULL
            )
        )
    return response.items[0].node_held_quantities[0]


def held_reservations(stub) -> set[str]:
    """Ids of every held reservation of the test's customer, through all pages."""
    found, token = set(), ""
    while True:
        page = stub.ListReservations(
            reservation_pb2.ListReservationsRequest(customer_id="crash-test", page_size=1000, page_token=token)
        )
        found |= {r.reservation_id for r in page.reservations if r.state == reservation_pb2.RESERVATION_STATE_HELD}
        token = page.next_page_token
        if not token:
            return found


def test_sigkill_under_load_loses_no_acknowledged_reservation(tmp_path):
    sku = demo_sku()
    data = str(tmp_path / "data")
    first = Serving("--data-dir", data)
    with grpc.insecure_channel(first.target) as channel:
        inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
            inventory_pb2.UpdateStockRequest(
                updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id=NODE, kind=1, quantity=10**9)]
            )
        )

    acknowledged: dict[str, str] = {}  # request_id -> reservation_id
    stop = threading.Event()

    def client(number: int) -> None:
        with grpc.insecure_channel(first.target) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            sent = 0
            while not stop.is_set() and sent < 100_000:
                request_id = f"crash-{number}-{sent}"
                sent += 1
                try:
                    response = stub.ReserveInventory(
                        reservation_pb2.ReserveInventoryRequest(
                            request_id=request_id,
                            customer_id="crash-test",
                            ttl=HOUR,
                            lines=[reservation_pb2.ReservationLine(sku_id=sku, node_id=NODE, quantity=1)],
                        ),
                        timeout=5,
                    )
                except grpc.RpcError:
                    return  # the server died under us: what was not answered was not promised
                acknowledged[request_id] = response.reservation.reservation_id

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(LOAD_SECONDS)
    first.kill()
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(acknowledged) > 50, "the load did not get going"

    second = Serving("--data-dir", data)
    try:
        with grpc.insecure_channel(second.target) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            found = held_reservations(stub)
            # Every acknowledged hold is there; the log may hold a few more that were
            # durable but not yet answered when the process died.
            assert set(acknowledged.values()) <= found
            assert len(found) - len(acknowledged) <= CLIENTS * 2
            # Held stock is exactly the sum of the holds: nothing doubled, nothing lost.
            assert held_at(second.target, sku) == len(found)
            # A retry of an acknowledged request after the restart returns the first result.
            some_request, some_reservation = next(iter(acknowledged.items()))
            retried = stub.ReserveInventory(
                reservation_pb2.ReserveInventoryRequest(
                    request_id=some_request,
                    customer_id="crash-test",
                    ttl=HOUR,
                    lines=[reservation_pb2.ReservationLine(sku_id=sku, node_id=NODE, quantity=1)],
                )
            )
            assert retried.reservation.reservation_id == some_reservation
            assert held_at(second.target, sku) == len(found)
    finally:
        assert second.stop() == 0
