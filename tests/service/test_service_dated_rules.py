"""Dated rules over a real socket: PromiseDelivery as of a date before, inside and after a
Christmas timetable's window answers with that date's timetable (tests/transport/test_dated_rules.py
holds the network and works the EDTs out by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
import pytest
from conftest import ServerThread

from dompromise.config import parse_network
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.replica.local import Replica
from dompromise.v1 import promise_pb2, promise_pb2_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "promise"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "transport"))
from scenario_network import stock_records  # noqa: E402
from scenarios import local, when  # noqa: E402
from test_dated_rules import NETWORK  # noqa: E402

# Route 7 alone: the parcel lane would win the promises inside the window.
PARCEL_LANE = '    - from: WH\n      to_zone: Z\n      service: parcel\n      pickup: "17:00"\n'
ROUTE7_ONLY = NETWORK.replace(PARCEL_LANE, "").replace('      transit_working_days: 1\n      arrives: "09:00"\n', "")
CLOCK_NS = when("2026-12-01 09:00")  # the server's clock: the answers below depend on as_of_time only


@pytest.fixture(scope="module")
def stub():
    assert "parcel" not in ROUTE7_ONLY.split("lanes:")[1]
    replica = Replica(Engine(parse_network(ROUTE7_ONLY, "dated.yaml")), MemoryLog(), clock_ns=lambda: CLOCK_NS)
    replica.bootstrap(stock_records({("S1", "WH"): 10}))
    running = ServerThread(replica)
    try:
        with grpc.insecure_channel(running.target) as channel:
            yield promise_pb2_grpc.PromiseServiceStub(channel)
    finally:
        running.stop()


def route7_delivery(stub, as_of: str) -> str | None:
    """The earliest delivery (Paris time) of the route 7 option of a one-line promise to 59000."""
    request = promise_pb2.PromiseDeliveryRequest(
        lines=[promise_pb2.OrderLine(sku_id="S1", quantity=1)], postal_code="59000"
    )
    request.as_of_time.FromNanoseconds(when(as_of))
    response = stub.PromiseDelivery(request)
    found = [
        option.earliest_delivery_time.ToNanoseconds()
        for option in response.options
        if [shipment.carrier_service for shipment in option.shipments] == ["route7"]
    ]
    assert found, response
    return local(min(found))


@pytest.mark.parametrize(
    ("as_of", "earliest"),
    [
        ("2026-12-16 10:00", "2026-12-17 08:00"),  # before: the ordinary Wednesday 14:00 run
        ("2026-12-22 10:00", "2026-12-24 08:00"),  # inside: no Tuesday run at Christmas; Wednesday 20:00
        ("2026-12-31 15:00", "2027-01-04 08:00"),  # the last day's 20:00 run, arriving after the window
        ("2027-01-04 15:00", "2027-01-06 08:00"),  # after: ordinary again
    ],
)
def test_promise_as_of_a_date_uses_that_dates_timetable(stub, as_of, earliest):
    assert route7_delivery(stub, as_of) == earliest
