"""x-dompromise-log-id: answers carry the log id; a min-position from another log is FAILED_PRECONDITION LOG_CHANGED.

Over a real server (port 0) on the memory log; the Redis log's id changes are tested in tests/redis/test_log_epoch.py.
"""

from __future__ import annotations

import pathlib
import threading
import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dompromise import limits
from dompromise.service.consistency import LOG_ID_KEY, MIN_POSITION_KEY, POSITION_KEY
from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2, inventory_pb2_grpc

NODE = "DC-1"
SKU = "PAD-1"


def set_on_hand(channel, quantity: int):
    return inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock.with_call(
        inventory_pb2.UpdateStockRequest(
            updates=[
                inventory_pb2.StockUpdate(
                    sku_id=SKU, node_id=NODE, kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=quantity
                )
            ]
        ),
        timeout=10,
    )


def get_availability(channel, metadata=(), timeout=10):
    return availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability.with_call(
        availability_pb2.GetAvailabilityRequest(sku_ids=[SKU], node_ids=[NODE]), metadata=metadata, timeout=timeout
    )


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    for detail in rpc_status.from_call(error).details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            return error_details_pb2.ErrorInfo.FromString(detail.value)
    raise AssertionError("no ErrorInfo")


def test_every_answer_carries_the_log_id_beside_the_position(channel, server):
    response, call = set_on_hand(channel, 5)
    metadata = dict(call.trailing_metadata())
    assert metadata[LOG_ID_KEY] == server.replica.log_id and len(server.replica.log_id) == 16
    assert int(metadata[POSITION_KEY]) == response.log_position
    _, call = get_availability(channel)
    assert dict(call.trailing_metadata())[LOG_ID_KEY] == server.replica.log_id


def test_a_min_position_with_the_replicas_log_id_is_served(channel, server):
    response, call = set_on_hand(channel, 6)
    written = dict(call.trailing_metadata())
    answer, _ = get_availability(
        channel, ((MIN_POSITION_KEY, written[POSITION_KEY]), (LOG_ID_KEY, written[LOG_ID_KEY]))
    )
    assert answer.log_position >= response.log_position


def test_a_min_position_from_another_log_is_failed_precondition_naming_both_ids(channel, server):
    set_on_hand(channel, 7)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as raised:
        # A position this replica has reached, and one it has not: neither waits.
        get_availability(channel, ((MIN_POSITION_KEY, "1"), (LOG_ID_KEY, "0123456789abcdef")))
    with pytest.raises(grpc.RpcError) as ahead:
        get_availability(channel, ((MIN_POSITION_KEY, "1000000"), (LOG_ID_KEY, "0123456789abcdef.1.00ff00ff")))
    assert time.monotonic() - started < limits.MIN_POSITION_WAIT_MS_MAX / 1000
    for error, requested in ((raised.value, "0123456789abcdef"), (ahead.value, "0123456789abcdef.1.00ff00ff")):
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        info = error_info(error)
        assert info.reason == "LOG_CHANGED"
        assert dict(info.metadata) == {"requested_log_id": requested, "log_id": server.replica.log_id}
        assert requested in error.details() and server.replica.log_id in error.details()
        assert dict(error.trailing_metadata())[LOG_ID_KEY] == server.replica.log_id


def test_the_log_id_alone_is_ignored_and_a_too_long_one_is_invalid_argument(channel, server):
    get_availability(channel, ((LOG_ID_KEY, "not-this-log"),))  # no min-position: nothing to compare
    with pytest.raises(grpc.RpcError) as raised:
        get_availability(channel, ((MIN_POSITION_KEY, "1"), (LOG_ID_KEY, "x" * (limits.LOG_ID_LENGTH_MAX + 1))))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert LOG_ID_KEY in raised.value.details()


def test_a_log_id_change_while_waiting_answers_log_changed(channel, server):
    """The replica's log id changes while the request waits for its position: the wait ends LOG_CHANGED."""
    old_id = server.replica.log_id
    target = server.engine.log_position + 1
    result = {}

    def waiting_read():
        try:
            get_availability(channel, ((MIN_POSITION_KEY, str(target)), (LOG_ID_KEY, old_id)))
            result["answer"] = "served"
        except grpc.RpcError as error:
            result["answer"] = error

    reader = threading.Thread(target=waiting_read)
    reader.start()
    deadline = time.monotonic() + 5
    time.sleep(0.3)  # the read is waiting (nothing wakes it but the write below)
    server.replica.log.log_id = old_id + ".1.0000abcd"  # as a shared replica adopting a bumped id
    set_on_hand(channel, 8)  # applies `target`: wakes the waiter
    reader.join(deadline - time.monotonic())
    error = result["answer"]
    assert isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert dict(error_info(error).metadata) == {"requested_log_id": old_id, "log_id": old_id + ".1.0000abcd"}


def test_every_service_documents_the_log_id_key():
    protos = pathlib.Path(__file__).resolve().parents[2] / "protos" / "dompromise" / "v1"
    for name in ("availability", "inventory", "network", "promise", "reservation"):
        text = (protos / f"{name}.proto").read_text()
        header = text[: text.index("\nservice ")].replace("\n// ", " ")
        for key in (LOG_ID_KEY, "LOG_CHANGED", "FAILED_PRECONDITION"):
            assert key in header, f"{name}.proto's service comment lacks {key}"
    docs = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "redis.md").read_text()
    assert LOG_ID_KEY in docs and "LOG_CHANGED" in docs


def test_a_history_change_ends_the_waits_of_another_log_id_at_once():
    """A shared replica's history listener (a log id change) wakes the waiters whose position counts in
    another id; those of the new id, and those that sent none, wait on."""
    import asyncio
    import types

    from dompromise.service.consistency import PositionWaiters

    listeners = {}
    replica = types.SimpleNamespace(
        engine=types.SimpleNamespace(log_position=5),
        add_apply_listener=lambda listener: listeners.setdefault("applied", listener),
        add_history_listener=lambda listener: listeners.setdefault("history", listener),
    )
    waiters = PositionWaiters(replica)

    async def run():
        old = asyncio.ensure_future(waiters.wait(9, 5.0, "old"))
        new = asyncio.ensure_future(waiters.wait(9, 5.0, "new"))
        unnamed = asyncio.ensure_future(waiters.wait(9, 5.0))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        listeners["history"]("new")
        assert await old is False and time.monotonic() - started < 1.0
        assert not new.done() and not unnamed.done()
        replica.engine.log_position = 9
        listeners["applied"](9, [])
        assert await new is True and await unnamed is True

    asyncio.run(run())
    assert len(waiters._log_ids) == 0
