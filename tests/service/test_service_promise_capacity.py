"""Daily shipping capacity over a real socket: reservations through the API fill the
warehouse's day, the promise moves to its next working day, a release gives it back."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import grpc
import pytest
from conftest import ServerThread

from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.replica.local import Replica
from dompromise.v1 import promise_pb2, promise_pb2_grpc, reservation_pb2_grpc
from dompromise.v1 import reservation_pb2 as pb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "promise"))
from scenario_network import network, paris, stock_records  # noqa: E402

STOCK = {("PAD", "WH"): 10}
CLOCK_NS = paris(2026, 11, 24, 9)  # the log's clock: Tuesday 09:00 in Paris


def capacity_network(daily: int):
    base = network()
    shipping = tuple(
        dataclasses.replace(s, daily_capacity_orders=daily) if s.node_id == "WH" else s
        for s in base.transport.node_shipping
    )
    return dataclasses.replace(base, transport=dataclasses.replace(base.transport, node_shipping=shipping))


@pytest.fixture
def channel():
    replica = Replica(Engine(capacity_network(2)), MemoryLog(), clock_ns=lambda: CLOCK_NS)
    replica.bootstrap(stock_records(STOCK))
    running = ServerThread(replica)
    try:
        with grpc.insecure_channel(running.target) as opened:
            yield opened
    finally:
        running.stop()


def promise(channel) -> promise_pb2.PromiseDeliveryResponse:
    request = promise_pb2.PromiseDeliveryRequest(
        lines=[promise_pb2.OrderLine(sku_id="PAD", quantity=1)], postal_code="59000", country_code="FR"
    )
    request.as_of_time.FromNanoseconds(paris(2026, 11, 24, 13))
    return promise_pb2_grpc.PromiseServiceStub(channel).PromiseDelivery(request)


def test_two_orders_fill_the_day_and_a_release_gives_it_back(channel):
    reservations = reservation_pb2_grpc.ReservationServiceStub(channel)
    first = promise(channel)
    assert first.options[0].earliest_delivery_time.ToNanoseconds() == paris(2026, 11, 24, 16, 30)
    # One order through the promise's token, one by lines.
    by_token = reservations.ReserveInventory(
        pb.ReserveInventoryRequest(request_id="r-1", promise_token=first.options[0].promise_token)
    )
    reservations.ReserveInventory(
        pb.ReserveInventoryRequest(request_id="r-2", lines=[pb.ReservationLine(sku_id="PAD", node_id="WH", quantity=1)])
    )
    full = promise(channel)
    best = full.options[0]
    assert (best.shipments[0].node_id, best.shipments[0].carrier_service) == ("WH", "route7")
    assert best.earliest_delivery_time.ToNanoseconds() == paris(2026, 11, 25, 16, 30)
    assert {c.node_id: c.reason for c in full.candidates}["WH"] == promise_pb2.CANDIDATE_REASON_USED
    reservations.ReleaseReservation(
        pb.ReleaseReservationRequest(request_id="r-3", reservation_id=by_token.reservation.reservation_id)
    )
    again = promise(channel)
    assert again.options[0].earliest_delivery_time.ToNanoseconds() == paris(2026, 11, 24, 16, 30)


def test_the_capacity_reason_is_on_the_wire():
    assert promise_pb2.CandidateReason.Name(8) == "CANDIDATE_REASON_CAPACITY"
