"""ReserveInventory and UpdateStock answers written by wire/outcomes.pyx are the generated classes' bytes.

Hypothesis builds Outcomes (the writer's answers: reservations/book.py) over every value the fields can
hold, the large and negative int64s (ten-byte varints), empty and non-ASCII strings, zero times (a present,
empty Timestamp) and times before the epoch, backorder dates and none; the bytes written must equal what
the message path (the servicers' own response builders) serializes. Then through a real server: the
methods are answered by the bytes path, and a client reads the same answers as before.
"""

from __future__ import annotations

import grpc
from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise.reservations.book import Outcome, ReservationView
from dompromise.service import inventory, reservation
from dompromise.v1 import common_pb2, inventory_pb2, inventory_pb2_grpc, reservation_pb2, reservation_pb2_grpc
from dompromise.wire import outcomes

INT64 = st.integers(-(2**63), 2**63 - 1)
QUANTITIES = st.one_of(st.just(0), st.integers(-3, 50), INT64)
# Times in ns (int64): around the epoch and now, and the extremes (a Timestamp of them still serializes).
TIMES_NS = st.one_of(st.just(0), st.integers(-(10**18), 10**18), INT64)
TEXTS = st.one_of(st.just(""), st.text(max_size=12), st.from_regex(r"[A-Z]{3}-[0-9]{1,6}", fullmatch=True))
LINES = st.tuples(TEXTS, TEXTS, QUANTITIES, QUANTITIES, st.one_of(st.just(0), TIMES_NS))
VIEWS = st.builds(
    ReservationView,
    reservation_id=TEXTS,
    state=st.integers(0, 5),
    expire_ns=TIMES_NS,
    create_ns=TIMES_NS,
    order_id=TEXTS,
    customer_id=TEXTS,
    lines=st.lists(LINES, max_size=6).map(tuple),
    line_attributes=st.just(()),
)


@st.composite
def outcomes_of(draw, with_reservation: bool) -> Outcome:
    count = draw(st.integers(0, 8))
    items = st.lists(QUANTITIES, min_size=count, max_size=count).map(tuple)
    return Outcome(
        log_position=draw(st.one_of(st.integers(0, 1000), st.integers(0, 2**63 - 1))),
        log_time_ns=draw(TIMES_NS),
        result=draw(st.integers(0, 10)),
        # A status list may run shorter or longer than the others: the answer pairs them as zip does.
        item_status=tuple(draw(st.lists(st.sampled_from(list(common_pb2.ItemStatus.values())), max_size=count + 1))),
        item_quantity=draw(items),
        item_available=draw(items),
        applied_count=draw(QUANTITIES),
        reservation=draw(st.one_of(st.none(), VIEWS)) if with_reservation else None,
    )


@settings(max_examples=250, deadline=None)
@given(outcomes_of(with_reservation=True))
def test_reserve_response_bytes_are_the_messages(outcome):
    assert outcomes.reserve_response(outcome) == reservation._reserve_response(outcome).SerializeToString()


@settings(max_examples=200, deadline=None)
@given(outcomes_of(with_reservation=False))
def test_update_stock_response_bytes_are_the_messages(outcome):
    assert outcomes.update_stock_response(outcome) == inventory._update_stock_response(outcome).SerializeToString()


def test_a_line_holding_attribute_values_is_left_to_the_message():
    view = ReservationView("R1", 1, 10, 5, "", "", (("S", "N", 1, 0, 0),), ((("lot", "A"),),))
    assert outcomes.reserve_response(Outcome(log_position=1, log_time_ns=5, reservation=view)) is None


def test_the_server_answers_through_the_bytes_path(channel, monkeypatch):
    calls = {"reserve": 0, "stock": 0}

    def counted(name, write):
        def counting(outcome):
            calls[name] += 1
            return write(outcome)

        return counting

    monkeypatch.setattr(reservation.outcomes, "reserve_response", counted("reserve", outcomes.reserve_response))
    monkeypatch.setattr(inventory.outcomes, "update_stock_response", counted("stock", outcomes.update_stock_response))
    reserved = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id="bytes-1",
            lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=2)],
            order_id="order-1",
        )
    )
    assert reserved.reservation.state == reservation_pb2.RESERVATION_STATE_HELD
    assert [(line.sku_id, line.node_id, line.quantity) for line in reserved.reservation.lines] == [("PAD-1", "DC-1", 2)]
    assert reserved.reservation.order_id == "order-1" and reserved.log_position > 0
    assert [r.status for r in reserved.line_results] == [common_pb2.ITEM_STATUS_OK]
    updated = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id="PAD-1", node_id="DC-1", kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=9
                ),
                inventory_pb2.StockUpdate(
                    sku_id="NOPE", node_id="DC-1", kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=1
                ),
            ]
        )
    )
    assert [r.status for r in updated.results] == [common_pb2.ITEM_STATUS_OK, common_pb2.ITEM_STATUS_SKU_NOT_FOUND]
    assert updated.results[0].on_hand_quantity == 9 and updated.applied_count == 1
    assert calls == {"reserve": 1, "stock": 1}
    # A refused request is refused as the message method refuses it (map_errors).
    try:
        reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(reservation_pb2.ReserveInventoryRequest())
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    else:
        raise AssertionError("a reserve without lines was accepted")
