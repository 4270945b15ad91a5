"""The call pipeline (service/pipeline.py) over real servers: handlers built once, keys before the request
guard, raw-bytes answers (an encoder's bytes included) with their positions and business counters."""

from __future__ import annotations

import time

import grpc
import pytest
from conftest import stocked_replica
from production_server import ProductionServer
from test_service_auth import KEYS, write_keys
from test_service_observability import sample, scrape, scrape_when

from dompromise.service import auth, pipeline
from dompromise.service.auth import KeyRing
from dompromise.service.consistency import MIN_POSITION_KEY, POSITION_KEY
from dompromise.service.decoding import Undecodable
from dompromise.service.serving import ServingOptions
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    common_pb2,
    inventory_pb2,
    inventory_pb2_grpc,
    promise_pb2,
    reservation_pb2,
    reservation_pb2_grpc,
)
from dompromise.wire.promise_request import read_promise_request

GARBAGE = b"\xff\xff\xff\xff\x0f"  # a truncated varint: no message of any type
SERVICES = {
    service.full_name: service
    for module in (availability_pb2, inventory_pb2, promise_pb2, reservation_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
}


def trailing(call) -> dict[str, str]:
    return dict(call.trailing_metadata() or ())


@pytest.fixture
def keyed(tmp_path):
    server = ProductionServer(stocked_replica(), ServingOptions(keys=KeyRing(write_keys(tmp_path / "keys.yaml"))))
    yield server
    server.stop()


def test_every_raw_method_names_its_rpc_and_answer_type():
    for method, raw in pipeline.RAW_METHODS.items():
        service_name, _, name = method[1:].partition("/")
        descriptor = SERVICES[service_name].methods_by_name[name]
        assert descriptor.output_type is raw.response_type.DESCRIPTOR, method
        assert raw.read == name.startswith(("Get", "Watch", "Promise")), method  # reads; the others write
        assert raw.read or "log_position" in raw.response_type.DESCRIPTOR.fields_by_name, method


def test_a_raw_methods_reader_goes_before_the_decoder_and_what_it_declines_is_decoded():
    """RawMethod.reader: its object for what it takes; the message, or the guard's stand-in, for the rest."""
    taken = object()
    decode = pipeline._decoder(
        promise_pb2.PromiseDeliveryRequest.FromString, lambda data: taken if data == b"" else None
    )
    assert decode(b"") is taken
    message = promise_pb2.PromiseDeliveryRequest(postal_code="59000")
    assert decode(message.SerializeToString()) == message
    assert isinstance(decode(GARBAGE), Undecodable)
    assert pipeline.RAW_METHODS[pipeline.PROMISE_DELIVERY].reader is read_promise_request


def test_no_handler_is_built_per_call_with_keys_metrics_and_refusals(tmp_path, monkeypatch):
    options = ServingOptions(keys=KeyRing(write_keys(tmp_path / "keys.yaml")), metrics_port=0)
    server = ProductionServer(stocked_replica(), options)
    built = []
    for name in ("unary_unary_rpc_method_handler", "unary_stream_rpc_method_handler"):
        original = getattr(grpc, name)
        monkeypatch.setattr(grpc, name, lambda *a, _original=original, **k: built.append(a) or _original(*a, **k))
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
            request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
            for key in (KEYS[auth.READ], "not-a-key", KEYS[auth.RESERVE]) * 2:
                try:
                    answer = stub.GetAvailability(request, metadata=(("authorization", f"Bearer {key}"),), timeout=10)
                    assert answer.items[0].status == common_pb2.ITEM_STATUS_OK
                except grpc.RpcError as refused:
                    assert refused.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
        assert built == []
        assert sample(scrape(server.metrics_port), "grpc_server_started_total", grpc_method="GetAvailability") == 6
    finally:
        server.stop()


def test_an_unauthenticated_undecodable_request_is_unauthenticated(keyed):
    with grpc.insecure_channel(keyed.target) as channel:
        call = channel.unary_unary("/dompromise.v1.AvailabilityService/GetAvailability")
        with pytest.raises(grpc.RpcError) as refused:
            call(GARBAGE, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert refused.value.details() == auth.UNAUTHENTICATED_DETAILS  # nothing about the bytes
        assert POSITION_KEY not in trailing(refused.value)  # not served: no position
        key = (("authorization", f"Bearer {KEYS[auth.READ]}"),)
        with pytest.raises(grpc.RpcError) as invalid:
            call(GARBAGE, metadata=key, timeout=10)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_key_without_the_scope_is_refused_before_the_request_is_read(keyed):
    with grpc.insecure_channel(keyed.target) as channel:
        call = channel.unary_unary("/dompromise.v1.InventoryService/UpdateStock")
        with pytest.raises(grpc.RpcError) as refused:
            call(GARBAGE, metadata=(("authorization", f"Bearer {KEYS[auth.READ]}"),), timeout=10)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert auth.INVENTORY_WRITE in refused.value.details()


def test_undecodable_requests_are_counted_in_the_rpc_metrics():
    server = ProductionServer(stocked_replica(), ServingOptions(metrics_port=0))
    try:
        with grpc.insecure_channel(server.target) as channel:
            call = channel.unary_unary("/dompromise.v1.AvailabilityService/GetAvailability")
            with pytest.raises(grpc.RpcError) as invalid:
                call(GARBAGE, timeout=10)
            assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        labels = {"grpc_method": "GetAvailability", "grpc_code": "INVALID_ARGUMENT"}
        samples = scrape_when(server.metrics_port, "grpc_server_handled_total", 1, **labels)
        assert sample(samples, "grpc_server_handled_total", **labels) == 1
        assert sample(samples, "grpc_server_started_total", grpc_method="GetAvailability") == 1
    finally:
        server.stop()


def update(quantity: int) -> inventory_pb2.UpdateStockRequest:
    return inventory_pb2.UpdateStockRequest(
        updates=[
            inventory_pb2.StockUpdate(
                sku_id="PAD-1", node_id="WH-N", kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=quantity
            )
        ]
    )


def test_a_write_answered_as_bytes_carries_its_own_records_position():
    # The table points the method at its bytes writer (dompromise/wire).
    assert pipeline.RAW_METHODS[pipeline.UPDATE_STOCK].behaviour_of.__code__.co_names[-1].endswith("Bytes")
    server = ProductionServer(stocked_replica(), ServingOptions(metrics_port=0))
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = inventory_pb2_grpc.InventoryServiceStub(channel)
            for quantity in (5, 6):
                answer, call = stub.UpdateStock.with_call(update(quantity), timeout=10)
                assert answer.applied_count == 1 and answer.log_position > 0
                assert int(trailing(call)[POSITION_KEY]) == answer.log_position == server.replica.engine.log_position
    finally:
        server.stop()


def test_a_reserve_answered_as_bytes_feeds_the_business_counters():
    # The table points the method at its bytes writer (dompromise/wire).
    assert pipeline.RAW_METHODS[pipeline.RESERVE_INVENTORY].behaviour_of.__code__.co_names[-1].endswith("Bytes")
    server = ProductionServer(stocked_replica(), ServingOptions(metrics_port=0))
    try:
        with grpc.insecure_channel(server.target) as channel:
            reserve = channel.unary_unary(
                "/dompromise.v1.ReservationService/ReserveInventory",
                request_serializer=reservation_pb2.ReserveInventoryRequest.SerializeToString,
                response_deserializer=reservation_pb2.ReserveInventoryResponse.FromString,
            )
            request = reservation_pb2.ReserveInventoryRequest(
                request_id="r-1",
                lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="WH-N", quantity=1)],
                order_id="o-1",
            )
            answer, call = reserve.with_call(request, timeout=10)
        assert answer.reservation.reservation_id
        assert int(trailing(call)[POSITION_KEY]) == answer.log_position
        assert sample(scrape(server.metrics_port), "dompromise_holds_placed_total") == 1
    finally:
        server.stop()


def test_an_overloaded_server_sheds_before_decoding():
    server = ProductionServer(stocked_replica(), ServingOptions(inflight_max=2))
    far = str(server.replica.log_position + 1_000_000)  # a position never reached: each call waits 2 s
    try:
        with grpc.insecure_channel(server.target) as channel:
            get = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability
            request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
            waiting = [get.future(request, metadata=((MIN_POSITION_KEY, far),), timeout=10) for _ in range(2)]
            time.sleep(0.3)  # the two are in flight
            with pytest.raises(grpc.RpcError) as shed:
                channel.unary_unary("/dompromise.v1.AvailabilityService/GetAvailability")(GARBAGE, timeout=10)
            assert shed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED  # not INVALID_ARGUMENT: never decoded
            for future in waiting:
                with pytest.raises(grpc.RpcError) as unreached:
                    future.result()
                assert unreached.value.code() == grpc.StatusCode.UNAVAILABLE
        deadline = time.monotonic() + 5  # a call leaves the count just after its status went out
        while server.additions.overload.inflight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.additions.overload.inflight == 0
    finally:
        server.stop()


def test_the_metrics_page_counts_reservations_by_state():
    server = ProductionServer(stocked_replica(), ServingOptions(metrics_port=0))
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = reservation_pb2_grpc.ReservationServiceStub(channel)
            held = [
                stub.ReserveInventory(
                    reservation_pb2.ReserveInventoryRequest(
                        request_id=f"r-{n}",
                        lines=[reservation_pb2.ReservationLine(sku_id="PAD-1", node_id="WH-N", quantity=1)],
                    ),
                    timeout=10,
                ).reservation.reservation_id
                for n in range(3)
            ]
            stub.CommitReservation(
                reservation_pb2.CommitReservationRequest(request_id="c-0", reservation_id=held[0]), timeout=10
            )
        samples = scrape(server.metrics_port)
        assert sample(samples, "dompromise_holds", state="held") == 2
        assert sample(samples, "dompromise_holds", state="committed") == 1
        assert sample(samples, "dompromise_holds", state="expired") == 0
    finally:
        server.stop()


def test_concurrent_calls_are_judged_by_their_own_keys(keyed):
    """The pipeline reads each call's metadata as grpc's look-up saw it (a ContextVar set per call's task): calls
    in flight together, keyed, unkeyed and wrongly scoped, interleaved, must each get their own verdict."""
    kinds = {
        "read": ((("authorization", f"Bearer {KEYS[auth.READ]}"),), grpc.StatusCode.OK),
        "none": ((), grpc.StatusCode.UNAUTHENTICATED),
        "wrong": ((("authorization", "Bearer " + "z" * 40),), grpc.StatusCode.UNAUTHENTICATED),
        "scope": ((("authorization", f"Bearer {KEYS[auth.INVENTORY_WRITE]}"),), grpc.StatusCode.PERMISSION_DENIED),
    }
    request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
    with grpc.insecure_channel(keyed.target) as channel:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        order = [name for _ in range(50) for name in kinds]  # 200 calls, every kind beside every other
        futures = [(name, stub.GetAvailability.future(request, metadata=kinds[name][0], timeout=30)) for name in order]
        for name, future in futures:
            assert future.code() == kinds[name][1], name


def test_a_cancelled_stream_ends_counted_with_its_code_and_time():
    """A stream's end goes through the same counting as a unary call's (MethodStats.ended): CANCELLED, timed."""
    server = ProductionServer(stocked_replica(), ServingOptions(metrics_port=0))
    method = {"grpc_service": "dompromise.v1.AvailabilityService", "grpc_method": "WatchAvailability"}
    try:
        with grpc.insecure_channel(server.target) as channel:
            watch = availability_pb2_grpc.AvailabilityServiceStub(channel).WatchAvailability(
                availability_pb2.WatchAvailabilityRequest(sku_ids=["PAD-1"])
            )
            next(iter(watch))  # open: its first snapshot came
            watch.cancel()
            deadline = time.monotonic() + 10
            samples = scrape(server.metrics_port)
            while sample(samples, "grpc_server_handled_total", **method) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)  # the server learns of the cancellation a little later
                samples = scrape(server.metrics_port)
        assert sample(samples, "grpc_server_started_total", grpc_type="server_stream", **method) == 1
        assert sample(samples, "grpc_server_handled_total", grpc_code="CANCELLED", **method) == 1
        assert sample(samples, "grpc_server_handling_seconds_count", **method) == 1
        assert sample(samples, "grpc_server_handling_seconds_bucket", le="+Inf", **method) == 1
        assert sample(samples, "grpc_server_handling_seconds_sum", **method) > 0
    finally:
        server.stop()
