"""WatchReservationEvents over a real socket: a slipping PO puts a backorder at risk,
a better ETA brings it back, a drained node flags its open lines; resume by version."""

from __future__ import annotations

import queue
import threading
import time

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from dompromise.replica.reservation_events import _pegged
from dompromise.v1 import (
    common_pb2,
    inventory_pb2,
    inventory_pb2_grpc,
    network_pb2,
    reservation_pb2,
    reservation_pb2_grpc,
)

DAY_NS = 86_400 * 10**9
BASE_NS = (time.time_ns() // DAY_NS + 1) * DAY_NS
AT_RISK = reservation_pb2.RESERVATION_EVENT_TYPE_AT_RISK
BACK = reservation_pb2.RESERVATION_EVENT_TYPE_BACK_ON_TRACK
NODE_GONE = reservation_pb2.RESERVATION_EVENT_TYPE_NODE_UNAVAILABLE
WAIT_SECONDS = 10


def at(days: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(BASE_NS + int(days * DAY_NS))
    return stamp


class Watching:
    """A WatchReservationEvents stream read on a thread into a queue."""

    def __init__(self, channel, **request):
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        self.call = stub.WatchReservationEvents(reservation_pb2.WatchReservationEventsRequest(**request))
        self.events: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for response in self.call:
                for event in response.events:
                    self.events.put(event)
        except grpc.RpcError as error:
            self.events.put(error)

    def next(self, timeout=WAIT_SECONDS):
        item = self.events.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def nothing_for(self, seconds: float) -> bool:
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self):
        self.call.cancel()
        self.thread.join(5)


def upsert_po(channel, quantity, eta_days):
    inventory_pb2_grpc.InventoryServiceStub(channel).UpsertSupply(
        inventory_pb2.UpsertSupplyRequest(
            supplies=[
                inventory_pb2.Supply(
                    supply_id="PO-9",
                    sku_id="PAD-1",
                    node_id="DC-1",
                    quantity=quantity,
                    kind=common_pb2.SUPPLY_KIND_PURCHASE_ORDER,
                    eta=at(eta_days),
                )
            ]
        )
    )


def backorder(channel, quantity, by_days, customer="garage-9"):
    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    return stub.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id=f"bo-{quantity}-{by_days}",
            customer_id=customer,
            ttl=duration_pb2.Duration(seconds=3600),
            lines=[
                reservation_pb2.ReservationLine(
                    sku_id="PAD-1", node_id="DC-1", quantity=quantity, backorder_by=at(by_days)
                )
            ],
        )
    ).reservation


@pytest.fixture
def watching(channel):
    streams = []

    def open_stream(**request):
        streams.append(Watching(channel, **request))
        time.sleep(0.2)  # the server registers the stream before writes that should reach it
        return streams[-1]

    yield open_stream
    for stream in streams:
        stream.close()


def test_a_slipping_po_puts_the_backorder_at_risk_and_a_better_eta_brings_it_back(channel, watching):
    events = watching(customer_id="garage-9")
    upsert_po(channel, 30, 2.5)
    held = backorder(channel, 35, 3)  # 10 on hand + the PO cover it by day 3
    assert events.nothing_for(0.5)
    upsert_po(channel, 30, 6.5)  # the supplier slips four days
    risk = events.next()
    assert (risk.type, risk.reservation_id, risk.line_number) == (AT_RISK, held.reservation_id, 0)
    assert risk.expected_available_time == at(6.5) and risk.backorder_by == at(3)
    upsert_po(channel, 30, 2.0)
    back = events.next()
    assert (back.type, back.reservation_id) == (BACK, held.reservation_id)
    assert back.version > risk.version


def test_a_cancelled_po_leaves_no_date_and_other_customers_see_nothing(channel, watching):
    mine, theirs = watching(customer_id="garage-9"), watching(customer_id="someone-else")
    upsert_po(channel, 30, 2.5)
    backorder(channel, 35, 3)
    upsert_po(channel, 0, 2.5)  # cancelled
    risk = mine.next()
    assert risk.type == AT_RISK and not risk.HasField("expected_available_time")
    assert theirs.nothing_for(0.5)


def test_draining_a_node_flags_its_open_lines(channel, watching):
    events = watching()
    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    held = stub.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id="hold-wh",
            customer_id="garage-1",
            lines=[reservation_pb2.ReservationLine(sku_id="OIL-1", node_id="WH-N", quantity=2)],
        )
    ).reservation
    from dompromise.v1 import network_pb2_grpc

    network_pb2_grpc.NetworkServiceStub(channel).SetNodeStatus(
        network_pb2.SetNodeStatusRequest(node_id="WH-N", status=common_pb2.NODE_STATUS_DRAIN, request_id="drain-wh")
    )
    event = events.next()
    assert (event.type, event.reservation_id, event.node_id, event.quantity) == (
        NODE_GONE,
        held.reservation_id,
        "WH-N",
        2,
    )


def test_resume_after_a_version_replays_what_was_missed(channel, watching):
    first = watching(customer_id="garage-9")
    upsert_po(channel, 30, 2.5)
    backorder(channel, 35, 3)
    upsert_po(channel, 30, 6.5)
    risk = first.next()
    upsert_po(channel, 30, 2.0)
    back = first.next()
    again = watching(customer_id="garage-9", resume_after_version=risk.version)
    replayed = again.next()
    assert (replayed.type, replayed.version) == (BACK, back.version)


def test_bad_requests_name_the_field(channel):
    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        next(
            iter(
                stub.WatchReservationEvents(
                    reservation_pb2.WatchReservationEventsRequest(customer_id="has space", resume_after_version=-1)
                )
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        next(
            iter(stub.WatchReservationEvents(reservation_pb2.WatchReservationEventsRequest(resume_after_version=10**9)))
        )
    assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE


@pytest.mark.parametrize(
    "net,supplies,backorders,expected",
    [
        (0, [(0, 2, 10, 5)], [(7, 20, 5)], {}),  # covered
        (0, [(0, 2, 30, 5)], [(7, 20, 5)], {7: 30}),  # supply after the date
        (2, [(0, 2, 10, 3)], [(7, 20, 4), (8, 25, 2)], {8: 0}),  # the later one is short, nothing comes
        (0, [(0, 2, 10, 1), (1, 2, 40, 9)], [(7, 20, 5)], {7: 40}),  # partly, then covered later
    ],
)
def test_pegging(net, supplies, backorders, expected):
    assert _pegged(net, supplies, backorders) == expected


def test_resuming_across_a_time_nobody_watched_is_out_of_range(channel, watching):
    first = watching(customer_id="garage-9")
    upsert_po(channel, 30, 2.5)
    backorder(channel, 35, 3)
    upsert_po(channel, 30, 6.5)
    risk = first.next()
    first.close()
    time.sleep(0.3)
    upsert_po(channel, 30, 2.0)  # nobody watching: not tracked
    again = watching(customer_id="garage-9", resume_after_version=risk.version)
    with pytest.raises(grpc.RpcError) as caught:
        again.next()
    assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE


def test_events_carry_the_log_id_and_a_resume_from_another_log_starts_afresh(channel, watching, replica):
    """Versions are positions of one log: a resume naming another log's id never gets this log's kept events as
    if they followed it (nor OUT_OF_RANGE for a version this log has not reached): it starts from now."""
    first = watching(customer_id="garage-9")
    upsert_po(channel, 30, 2.5)
    backorder(channel, 35, 3)
    upsert_po(channel, 30, 6.5)
    risk = first.next()
    assert risk.log_id == replica.log_id and risk.log_id
    upsert_po(channel, 30, 2.0)
    back = first.next()
    assert back.log_id == replica.log_id
    # The same log: what was missed is replayed.
    same = watching(customer_id="garage-9", resume_after_version=risk.version, resume_log_id=risk.log_id)
    assert same.next().version == back.version
    # Another log (a restarted in-memory server, a wiped data dir): from now, not this log's events.
    other = watching(customer_id="garage-9", resume_after_version=risk.version, resume_log_id="another-log")
    ahead = watching(customer_id="garage-9", resume_after_version=10**9, resume_log_id="another-log")
    assert other.nothing_for(0.5) and ahead.nothing_for(0.1)
    upsert_po(channel, 30, 6.5)
    for stream in (other, ahead):
        fresh = stream.next()
        assert (fresh.type, fresh.log_id) == (AT_RISK, replica.log_id)
        assert fresh.version > back.version


def test_every_message_carries_the_log_id(channel, replica):
    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    call = stub.WatchReservationEvents(reservation_pb2.WatchReservationEventsRequest(customer_id="garage-9"))
    time.sleep(0.2)
    try:
        upsert_po(channel, 30, 2.5)
        backorder(channel, 35, 3)
        upsert_po(channel, 30, 6.5)
        message = next(iter(call))
        assert message.log_id == replica.log_id
        assert [event.log_id for event in message.events] == [replica.log_id] * len(message.events)
    finally:
        call.cancel()


def test_a_resume_log_id_over_its_limit_is_invalid_argument_naming_it(channel):
    from test_service_availability import field_violations

    from dompromise import limits

    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    request = reservation_pb2.WatchReservationEventsRequest(resume_log_id="x" * (limits.LOG_ID_LENGTH_MAX + 1))
    with pytest.raises(grpc.RpcError) as caught:
        next(iter(stub.WatchReservationEvents(request)))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"resume_log_id"}
