"""Log positions in metadata and x-dompromise-min-position, over a real server (port 0) on the memory log."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dompromise import limits
from dompromise.errors import InvalidArgumentError
from dompromise.service.consistency import MIN_POSITION_KEY, POSITION_KEY, STALE_MS_KEY, parse_min_position
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    inventory_pb2,
    inventory_pb2_grpc,
    network_pb2,
    network_pb2_grpc,
)

NODE = "DC-1"
SKU = "PAD-1"


def metadata_of(call) -> dict[str, str]:
    """A unary answer's metadata: the trailing metadata (see service/consistency.py)."""
    return dict(call.trailing_metadata())


def set_on_hand(channel, quantity: int, metadata=()):
    stub = inventory_pb2_grpc.InventoryServiceStub(channel)
    return stub.UpdateStock.with_call(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id=SKU, node_id=NODE, kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=quantity
                )
            ]
        ),
        metadata=metadata,
    )


def get_availability(channel, metadata=(), timeout=10):
    stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
    return stub.GetAvailability.with_call(
        availability_pb2.GetAvailabilityRequest(
            sku_ids=[SKU], node_ids=[NODE], view=availability_pb2.AVAILABILITY_VIEW_FULL
        ),
        metadata=metadata,
        timeout=timeout,
    )


def test_a_write_answers_its_own_records_position(channel, server):
    response, call = set_on_hand(channel, 7)
    assert int(metadata_of(call)[POSITION_KEY]) == response.log_position == server.engine.log_position
    assert STALE_MS_KEY not in metadata_of(call)  # the memory log is never stale


def test_reads_without_a_log_position_field_carry_the_replicas_position(channel, server):
    set_on_hand(channel, 3)
    _, call = network_pb2_grpc.NetworkServiceStub(channel).ListNodes.with_call(network_pb2.ListNodesRequest())
    assert int(metadata_of(call)[POSITION_KEY]) == server.engine.log_position


def test_positions_are_present_and_monotonic_over_writes_and_reads(channel):
    seen = []
    for round_number in range(30):
        if round_number % 3 == 0:
            _, call = set_on_hand(channel, round_number)
        else:
            _, call = get_availability(channel)
        seen.append(int(metadata_of(call)[POSITION_KEY]))
    assert seen == sorted(seen)
    assert seen[-1] > seen[0]


def test_a_reached_min_position_is_served_at_once(channel, server):
    response, _ = set_on_hand(channel, 11)
    started = time.monotonic()
    answer, call = get_availability(channel, ((MIN_POSITION_KEY, str(response.log_position)),))
    assert time.monotonic() - started < 1.0
    assert answer.items[0].node_on_hand_quantities[0] == 11
    assert int(metadata_of(call)[POSITION_KEY]) >= response.log_position


def test_a_read_waits_for_its_position_and_is_woken_by_the_write(channel, server):
    target = server.engine.log_position + 1
    answers = []
    reader = threading.Thread(
        target=lambda: answers.append(get_availability(channel, ((MIN_POSITION_KEY, str(target)),)))
    )
    reader.start()
    time.sleep(0.2)  # the read is waiting now
    assert not answers
    set_on_hand(channel, 42)
    reader.join(5)
    answer, call = answers[0]
    assert answer.items[0].node_on_hand_quantities[0] == 42
    assert int(metadata_of(call)[POSITION_KEY]) >= target


def test_a_position_far_ahead_is_unavailable_after_the_named_wait(channel, server):
    ahead = server.engine.log_position + 1_000_000
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as raised:
        get_availability(channel, ((MIN_POSITION_KEY, str(ahead)),))
    waited = time.monotonic() - started
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert limits.MIN_POSITION_WAIT_MS_MAX / 1000 * 0.9 <= waited < limits.MIN_POSITION_WAIT_MS_MAX / 1000 + 1.0
    status = rpc_status.from_call(raised.value)
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.reason == "POSITION_NOT_REACHED"
    assert info.metadata["requested_position"] == str(ahead)
    assert info.metadata["reached_position"] == str(server.engine.log_position)
    assert str(server.engine.log_position) in raised.value.details()
    assert dict(raised.value.trailing_metadata())[POSITION_KEY] == str(server.engine.log_position)
    assert any(detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for detail in status.details)


def test_the_wait_never_runs_past_the_calls_deadline(channel, server):
    ahead = server.engine.log_position + 1_000
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as raised:
        get_availability(channel, ((MIN_POSITION_KEY, str(ahead)),), timeout=1.0)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE  # answered before the deadline, not DEADLINE_EXCEEDED
    assert time.monotonic() - started < 1.0 + 0.5


@pytest.mark.parametrize("value", ["", "-1", "abc", "1.5", "0x10", "1e3", "9" * 30, str(2**63), "+5", "7 7"])
def test_a_malformed_min_position_is_invalid_argument_naming_the_key(channel, value):
    with pytest.raises(grpc.RpcError) as raised:
        get_availability(channel, ((MIN_POSITION_KEY, value),))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert MIN_POSITION_KEY in raised.value.details()
    bad_request = error_details_pb2.BadRequest()
    rpc_status.from_call(raised.value).details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == MIN_POSITION_KEY


def test_a_malformed_min_position_on_a_write_writes_nothing(channel, server):
    before = server.engine.log_position
    with pytest.raises(grpc.RpcError) as raised:
        set_on_hand(channel, 5, ((MIN_POSITION_KEY, "soon"),))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert server.engine.log_position == before


def test_parse_min_position_bounds():
    assert parse_min_position("0") == 0
    assert parse_min_position(" 12 ") == 12
    assert parse_min_position(str(2**63 - 1)) == 2**63 - 1
    with pytest.raises(InvalidArgumentError):
        parse_min_position(str(2**63))


def test_a_stream_sends_its_position_before_the_first_message(channel, server):
    set_on_hand(channel, 9)
    stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
    call = stub.WatchAvailability(
        availability_pb2.WatchAvailabilityRequest(sku_ids=[SKU], node_ids=[NODE]),
        metadata=((MIN_POSITION_KEY, str(server.engine.log_position)),),
        timeout=10,
    )
    try:
        assert int(dict(call.initial_metadata())[POSITION_KEY]) == server.engine.log_position
        first = next(call)
        assert first.version == server.engine.log_position
    finally:
        call.cancel()


def test_a_stream_with_a_malformed_min_position_ends_invalid_argument(channel):
    stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
    call = stub.WatchAvailability(
        availability_pb2.WatchAvailabilityRequest(sku_ids=[SKU], node_ids=[NODE]),
        metadata=((MIN_POSITION_KEY, "x"),),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as raised:
        next(call)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_every_service_documents_the_metadata_keys_and_the_wait_limit():
    import pathlib

    protos = pathlib.Path(__file__).resolve().parents[2] / "protos" / "dompromise" / "v1"
    for name in ("availability", "inventory", "network", "promise", "reservation"):
        text = (protos / f"{name}.proto").read_text()
        header = text[: text.index("\nservice ")]
        for key in (
            POSITION_KEY,
            MIN_POSITION_KEY,
            STALE_MS_KEY,
            "MIN_POSITION_WAIT_MS_MAX",
            f"{limits.MIN_POSITION_WAIT_MS_MAX:,} ms",
            "POSITION_NOT_REACHED",
        ):
            assert key in header.replace("\n// ", " "), f"{name}.proto's service comment lacks {key}"


def test_an_error_answer_carries_the_position_too(channel, server):
    set_on_hand(channel, 4)
    stub = network_pb2_grpc.NetworkServiceStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetNode(network_pb2.GetNodeRequest(node_id="NO-SUCH-NODE"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert rpc_status.from_call(raised.value) is not None  # the rich status survived the merge
    assert int(dict(raised.value.trailing_metadata())[POSITION_KEY]) == server.engine.log_position


def test_health_checking_is_left_alone(channel):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    _, call = health_pb2_grpc.HealthStub(channel).Check.with_call(health_pb2.HealthCheckRequest())
    assert POSITION_KEY not in dict(call.trailing_metadata())


def test_a_client_stream_waits_for_its_position_and_answers_its_own(channel, server):
    target = server.engine.log_position + 1
    stub = inventory_pb2_grpc.InventoryServiceStub(channel)
    answers = []

    def upload():
        answers.append(
            stub.UploadStock.with_call(
                iter(
                    [
                        inventory_pb2.UploadStockRequest(
                            columns=inventory_pb2.StockColumns(sku_ids=["OIL-1"], node_ids=["WH-N"], quantities=[77])
                        )
                    ]
                ),
                metadata=((MIN_POSITION_KEY, str(target)),),
                timeout=10,
            )
        )

    uploader = threading.Thread(target=upload)
    uploader.start()
    time.sleep(0.2)
    assert not answers  # waiting for `target`, which the next write makes
    set_on_hand(channel, 1)
    uploader.join(5)
    response, call = answers[0]
    assert response.log_position > target
    assert int(metadata_of(call)[POSITION_KEY]) == response.log_position


def test_the_file_log_replica_reports_and_waits_for_its_positions(tmp_path):
    from conftest import ServerThread, stocked_replica

    from dompromise.log import FileLog

    running = ServerThread(stocked_replica(FileLog(str(tmp_path))))
    try:
        with grpc.insecure_channel(running.target) as channel:
            response, call = set_on_hand(channel, 21)
            assert int(metadata_of(call)[POSITION_KEY]) == response.log_position == running.engine.log_position
            answers = []
            reader = threading.Thread(
                target=lambda: answers.append(
                    get_availability(channel, ((MIN_POSITION_KEY, str(response.log_position + 1)),))
                )
            )
            reader.start()
            time.sleep(0.2)
            assert not answers
            set_on_hand(channel, 22)
            reader.join(5)
            assert answers[0][0].items[0].node_on_hand_quantities[0] == 22
    finally:
        running.stop()
