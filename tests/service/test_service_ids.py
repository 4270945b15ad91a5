"""Ids a client keeps are never re-issued, and a promise token reserves once (issue 15).

Over a real gRPC server on a socket; the determinism checks apply the same log to two engines.
"""

from __future__ import annotations

import grpc
import pytest
from conftest import ServerThread, small_network, stock_record
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from test_service_promise import (
    STOCK,
    network,
    order,
    paris,
    promise_server,  # noqa: F401 (a fixture)
    reservations,
    reserve_token,
    stock_records,
)

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log.memory import MemoryLog
from dompromise.replica.local import Replica
from dompromise.reservations.book import parse_reservation_id, reservation_id_of
from dompromise.v1 import promise_pb2_grpc, reservation_pb2, reservation_pb2_grpc


@pytest.fixture
def promise_stub(promise_server):  # noqa: F811 (promise_server is a fixture)
    with grpc.insecure_channel(promise_server.target) as channel:
        yield promise_pb2_grpc.PromiseServiceStub(channel)


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    return next(
        error_details_pb2.ErrorInfo.FromString(detail.value)
        for detail in rpc_status.from_call(error).details
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)
    )


def reserve(stub, request_id: str, order_id: str, quantity: int = 1) -> reservation_pb2.ReserveInventoryResponse:
    return stub.ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(
            request_id=request_id,
            order_id=order_id,
            lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=quantity)],
        )
    )


def test_the_id_format_parses_and_old_ids_stay_valid():
    assert reservation_id_of(12) == "R12"  # a record from before nonces
    assert reservation_id_of(12, 3) == "R12.3"
    assert reservation_id_of(12, -1, 0xAB) == "R12-00000000000000ab"
    assert reservation_id_of(12, 3, 2**64 - 1) == "R12.3-ffffffffffffffff"
    for position, rank, nonce in ((12, -1, 0), (12, 3, 0), (7, -1, 99), (7, 2, 2**63)):
        parsed = parse_reservation_id(reservation_id_of(position, rank, nonce))
        assert parsed is not None and (parsed.log_position, parsed.wave_rank, parsed.nonce) == (position, rank, nonce)
    for malformed in ("", "R", "12", "R-1", "R1-xyz", "R1-00000000000000AB", "R1.-0", "r1", "R1 "):
        assert parse_reservation_id(malformed) is None, malformed


def test_an_id_carries_the_writers_nonce_and_two_replicas_derive_the_same(server, channel):
    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    held = reserve(stub, "a", "order-a")
    parsed = parse_reservation_id(held.reservation.reservation_id)
    assert parsed is not None and parsed.nonce != 0 and parsed.log_position == held.log_position
    wave = stub.AllocateWave(
        reservation_pb2.AllocateWaveRequest(
            request_id="w",
            orders=[
                reservation_pb2.WaveOrder(
                    order_id=f"wave-{n}",
                    lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="DC-1", quantity=1)],
                )
                for n in range(2)
            ],
        )
    )
    wave_ids = [result.reservation.reservation_id for result in wave.results]
    assert [parse_reservation_id(i).wave_rank for i in wave_ids] == [0, 1]  # type: ignore[union-attr]
    assert len({parse_reservation_id(i).nonce for i in wave_ids}) == 1  # type: ignore[union-attr]
    # A second replica applying the same log names every reservation alike.
    other = Engine(small_network())
    for position, payload in server.replica.log.records(0):
        other.apply_record(log_pb2.LogRecord.FromString(payload), position)
    for reservation_id, order_id in [(held.reservation.reservation_id, "order-a")] + list(
        zip(wave_ids, ("wave-0", "wave-1"))
    ):
        view = other.reservation(reservation_id)
        assert view is not None and view.order_id == order_id


def test_the_same_request_retried_keeps_its_id_though_the_retry_draws_another_nonce(server, channel):
    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    first = reserve(stub, "retry", "order-r")
    again = reserve(stub, "retry", "order-r")
    assert again.reservation.reservation_id == first.reservation.reservation_id


def test_an_id_from_a_lost_history_answers_not_found_log_changed(server, channel):
    """A position this log holds with another nonce, and a position past its head: LOG_CHANGED, on reads and
    writes; an id never issued in any history (malformed, or old-format) is a plain NOT_FOUND."""
    stub = reservation_pb2_grpc.ReservationServiceStub(channel)
    held = reserve(stub, "h", "order-h")
    parsed = parse_reservation_id(held.reservation.reservation_id)
    assert parsed is not None
    other_nonce = reservation_id_of(parsed.log_position, -1, parsed.nonce ^ 1)
    past_head = reservation_id_of(held.log_position + 1000, -1, 0x1234)
    for lost in (other_nonce, past_head):
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetReservation(reservation_pb2.GetReservationRequest(reservation_id=lost))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        info = error_info(raised.value)
        assert info.reason == "LOG_CHANGED" and info.metadata["log_id"] == server.replica.log_id
        with pytest.raises(grpc.RpcError) as raised:
            stub.CommitReservation(
                reservation_pb2.CommitReservationRequest(request_id=f"c-{lost}", reservation_id=lost)
            )
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND and error_info(raised.value).reason == "LOG_CHANGED"
    for never in ("R999", "order-h", "R1.2"):
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetReservation(reservation_pb2.GetReservationRequest(reservation_id=never))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        assert error_info(raised.value).reason == "RESERVATION_NOT_FOUND"
    # The real one is untouched.
    got = stub.GetReservation(reservation_pb2.GetReservationRequest(reservation_id=held.reservation.reservation_id))
    assert got.reservation.order_id == "order-h"


def test_records_from_before_nonces_keep_their_old_ids():
    """A log written by the previous release (no id_nonce) replays to the ids it gave: R<position>."""
    replica = Replica(Engine(small_network()), MemoryLog())
    replica.bootstrap([stock_record(replica.engine)])
    old = log_pb2.LogRecord(
        request_id="old",
        reserve=log_pb2.Reserve(sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[1], ttl_ns=60 * 10**9, order_id="o"),
    )
    (outcome,) = replica.bootstrap([old])
    assert outcome.reservation is not None and outcome.reservation.reservation_id == f"R{outcome.log_position}"
    running = ServerThread(replica)
    try:
        with grpc.insecure_channel(running.target) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            got = stub.GetReservation(reservation_pb2.GetReservationRequest(reservation_id=f"R{outcome.log_position}"))
            assert got.reservation.order_id == "o"
    finally:
        running.stop()


def test_a_promise_token_reserves_once(promise_stub, promise_server):  # noqa: F811
    now = promise_server.replica.now_ns()
    request = order(("PAD", 2), zone_id="Z59")
    request.as_of_time.FromNanoseconds(now)
    token = promise_stub.PromiseDelivery(request).options[0].promise_token
    channel, reservation_stub = reservations(promise_server)
    with channel:
        first = reserve_token(reservation_stub, token, "once-1")
        first_id = first.reservation.reservation_id
        with pytest.raises(grpc.RpcError) as raised:
            reserve_token(reservation_stub, token, "once-2")
        assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
        info = error_info(raised.value)
        assert info.reason == "PROMISE_TOKEN_ALREADY_RESERVED"
        assert info.metadata["reservation_id"] == first_id and info.metadata["request_id"] == "once-2"
        # The same request_id retried still gets the first answer.
        assert reserve_token(reservation_stub, token, "once-1").reservation.reservation_id == first_id
        # Released, the token still reserves nothing more: once for its whole validity.
        reservation_stub.ReleaseReservation(
            reservation_pb2.ReleaseReservationRequest(request_id="once-release", reservation_id=first_id)
        )
        with pytest.raises(grpc.RpcError) as raised:
            reserve_token(reservation_stub, token, "once-3")
        assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert error_info(raised.value).metadata["reservation_id"] == first_id
    # Decided when the record applies: a replica replaying the log refuses the same second reserve.
    replay = Engine(promise_server.engine.network)
    outcomes = [
        replay.apply_record(log_pb2.LogRecord.FromString(payload), position)
        for position, payload in promise_server.replica.log.records(0)
    ]
    reused = [outcome for outcome in outcomes if outcome.token_reused]
    assert len(reused) == 2 and all(o.reservation.reservation_id == first_id for o in reused)  # type: ignore[union-attr]


@pytest.fixture
def still_clock_server():
    """The promise scenario served with a clock standing still (a simulated clock between its steps, or a
    coarse one): promises made at "the same instant" really are."""
    instant_ns = paris(2026, 11, 24, 10, 0)
    replica = Replica(Engine(network(), clock_ns=lambda: instant_ns), MemoryLog(), clock_ns=lambda: instant_ns)
    replica.bootstrap(stock_records(STOCK))
    running = ServerThread(replica)
    yield running
    running.stop()


def test_two_promises_with_identical_inputs_reserve_their_own_holds(still_clock_server):
    """Two checkouts asking the same thing at the same instant get distinct tokens (each has a random part), so
    the second caller's Reserve holds its own stock instead of answering ALREADY_EXISTS with the first caller's
    reservation; each token still reserves once."""
    request = order(("PAD", 2), zone_id="Z59")
    request.as_of_time.FromNanoseconds(still_clock_server.replica.now_ns())
    channel, reservation_stub = reservations(still_clock_server)
    with channel:
        promise_stub = promise_pb2_grpc.PromiseServiceStub(channel)
        first, second = (promise_stub.PromiseDelivery(request) for _ in range(2))
        assert first.log_position == second.log_position  # the same inputs, the same state, the same instant
        first_tokens = [option.promise_token for option in first.options]
        second_tokens = [option.promise_token for option in second.options]
        assert len(set(first_tokens + second_tokens)) == len(first_tokens) + len(second_tokens)
        one = reserve_token(reservation_stub, first_tokens[0], "same-1").reservation
        two = reserve_token(reservation_stub, second_tokens[0], "same-2").reservation
        assert one.reservation_id != two.reservation_id
        assert [line.quantity for line in one.lines] == [line.quantity for line in two.lines] == [2]
        with pytest.raises(grpc.RpcError) as raised:  # a true double reserve of one token is still refused
            reserve_token(reservation_stub, second_tokens[0], "same-3")
        assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
        info = error_info(raised.value)
        assert info.reason == "PROMISE_TOKEN_ALREADY_RESERVED"
        assert info.metadata["reservation_id"] == two.reservation_id


def test_reserved_tokens_survive_a_snapshot(promise_server, promise_stub):  # noqa: F811
    """The book's tokens are in the snapshot: a replica loaded from it still refuses the token."""
    now = promise_server.replica.now_ns()
    request = order(("PAD", 1), zone_id="Z59")
    request.as_of_time.FromNanoseconds(now)
    token = promise_stub.PromiseDelivery(request).options[0].promise_token
    channel, reservation_stub = reservations(promise_server)
    with channel:
        first_id = reserve_token(reservation_stub, token, "snap-1").reservation.reservation_id
    engine = promise_server.engine
    arrays, meta = engine.export_state()
    loaded = Engine.from_state(engine.network, arrays, meta)
    from dompromise.service.promise_reserve import token_key

    index = loaded._book.token_reservation(token_key(token))
    assert index >= 0 and loaded.reservation_view(index).reservation_id == first_id


def test_a_snapshot_from_before_tokens_and_nonces_loads():
    """A snapshot of the previous release has no token arrays and old-format ids: it loads, ids stay valid."""
    replica = Replica(Engine(small_network()), MemoryLog())
    old = log_pb2.LogRecord(
        reserve=log_pb2.Reserve(sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[1], ttl_ns=60 * 10**9, order_id="o")
    )
    replica.bootstrap([stock_record(replica.engine), old])
    arrays, meta = replica.engine.export_state()
    previous = {name: array for name, array in arrays.items() if not name.startswith("book_token_")}
    assert len(previous) < len(arrays)
    loaded = Engine.from_state(replica.engine.network, previous, meta)
    view = loaded.reservation("R2")
    assert view is not None and view.order_id == "o"
    assert not loaded.reservation_from_lost_history("R2") and not loaded.reservation_from_lost_history("R9")
