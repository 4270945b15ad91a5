"""Log epochs over a real redis-server and two `dompromise serve --redis` processes.

The loss is made the way it happens in operation: Redis is restored from an
older backup. The backup is a copy of Redis's AOF directory taken while it runs
(appendfsync always: every acknowledged write is in the files when it is
acknowledged); more writes are acknowledged and applied by both instances;
then Redis is SIGKILLed and started again on the copy. Redis now holds a
shorter log under the same log id, and new writes reuse the lost positions.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time

import grpc
import pytest
import redis
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from processes import until
from redis_server import needs_redis_server
from test_redis_instances import NODE, demo_skus, serve

from dompromise.log.redis.log import log_id_generation
from dompromise.service.consistency import LOG_ID_KEY, MIN_POSITION_KEY, POSITION_KEY
from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2, inventory_pb2_grpc

pytestmark = needs_redis_server
AOF_DIRECTORY = "appendonlydir"  # Redis 7's appenddirname default
# How long a watch message may take to arrive, in seconds (a reconnect backs off up to 2 s).
ARRIVAL_SECONDS_MAX = 15


def update(sku: str, quantity: int) -> inventory_pb2.UpdateStockRequest:
    return inventory_pb2.UpdateStockRequest(
        updates=[
            inventory_pb2.StockUpdate(
                sku_id=sku, node_id=NODE, kind=inventory_pb2.STOCK_UPDATE_KIND_SET_ON_HAND, quantity=quantity
            )
        ]
    )


def read(sku: str) -> availability_pb2.GetAvailabilityRequest:
    return availability_pb2.GetAvailabilityRequest(
        sku_ids=[sku], node_ids=[NODE], view=availability_pb2.AVAILABILITY_VIEW_FULL
    )


def write(target: str, sku: str, quantity: int) -> tuple[int, str]:
    """(position, log id) of an acknowledged stock write."""
    with grpc.insecure_channel(target) as channel:
        response, call = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock.with_call(
            update(sku, quantity), timeout=10
        )
    metadata = dict(call.trailing_metadata())
    assert int(metadata[POSITION_KEY]) == response.log_position
    return response.log_position, metadata[LOG_ID_KEY]


def write_once_writable(target: str, sku: str, quantity: int) -> tuple[int, str]:
    """write(), retried while the instance refuses writes (its tail reconnecting to Redis)."""

    def attempt():
        try:
            return write(target, sku, quantity)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            time.sleep(0.05)
            return None

    return until(attempt, "the instance writes again")


def read_at(target: str, sku: str, metadata=()) -> tuple[int, dict[str, str]]:
    """(on hand, answer metadata) of a read with this request metadata."""
    with grpc.insecure_channel(target) as channel:
        answer, call = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability.with_call(
            read(sku), metadata=metadata, timeout=10
        )
    return answer.items[0].node_on_hand_quantities[0], dict(call.trailing_metadata())


def answered_log_id(target: str, sku: str) -> str:
    try:
        return read_at(target, sku)[1][LOG_ID_KEY]
    except grpc.RpcError:
        return ""


def head_log_id(url: str) -> str:
    client = redis.Redis.from_url(url)
    try:
        return client.hget("dompromise:head", "log_id").decode()
    finally:
        client.close()


class Watch:
    """A WatchAvailability stream read by a thread into a queue."""

    def __init__(self, target: str, **fields):
        self.channel = grpc.insecure_channel(target)
        self.call = availability_pb2_grpc.AvailabilityServiceStub(self.channel).WatchAvailability(
            availability_pb2.WatchAvailabilityRequest(**fields)
        )
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self.messages.put(message)
        except grpc.RpcError as error:
            self.messages.put(error)

    def next(self, timeout: float = ARRIVAL_SECONDS_MAX) -> availability_pb2.WatchAvailabilityResponse:
        message = self.messages.get(timeout=timeout)
        assert not isinstance(message, grpc.RpcError), message
        return message

    def close(self) -> None:
        self.call.cancel()
        self.channel.close()


def test_a_restore_from_an_older_backup_changes_the_log_id_once_for_both_instances(redis_server, instances):
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    kept_position, old_id = write(first.target, sku, 100)
    assert log_id_generation(old_id) == 0 and old_id == head_log_id(redis_server.url)
    until(lambda: read_at(second.target, sku)[0] == 100, "B applied the kept write")
    backup = os.path.join(redis_server.directory, "backup")
    shutil.copytree(os.path.join(redis_server.directory, AOF_DIRECTORY), backup)

    # Acknowledged and applied by both instances, then lost with the restore.
    lost_positions = [write(first.target, sku, quantity)[0] for quantity in (201, 202, 203, 204, 205)]
    lost_position = lost_positions[-1]
    quantity, metadata = read_at(second.target, sku, ((MIN_POSITION_KEY, str(lost_position)), (LOG_ID_KEY, old_id)))
    assert quantity == 205 and metadata[LOG_ID_KEY] == old_id
    watch = Watch(second.target, sku_ids=[sku], node_ids=[NODE], view=availability_pb2.AVAILABILITY_VIEW_FULL)
    try:
        seen = watch.next()
        assert (seen.version, seen.log_id) == (lost_position, old_id)
        assert seen.availability.items[0].node_on_hand_quantities[0] == 205

        redis_server.kill()
        shutil.rmtree(os.path.join(redis_server.directory, AOF_DIRECTORY))
        shutil.copytree(backup, os.path.join(redis_server.directory, AOF_DIRECTORY))
        redis_server.start()

        # Both noticed (each had applied what Redis lost); the id was replaced once.
        new_id = until(
            lambda: (
                (answered_log_id(first.target, sku) == answered_log_id(second.target, sku) != old_id)
                and answered_log_id(first.target, sku)
            ),
            "both instances on a new log id",
        )
        assert new_id == head_log_id(redis_server.url)
        assert new_id.startswith(old_id + ".")
        assert log_id_generation(new_id) == 1, f"{new_id}: bumped more than once"
        bumps = sum(instance.stderr_text().count("(marker at position") for instance in (first, second))
        assert bumps == 1, f"{bumps} instances replaced the log id"

        # The watch opened before: its next message is a full answer under the new id, with what Redis holds.
        changed = watch.next()
        assert changed.full_answer and changed.log_id == new_id
        assert changed.availability.items[0].node_on_hand_quantities[0] == 100
    finally:
        watch.close()

    # New writes reuse the lost positions, under the new id.
    reused, write_id = write_once_writable(first.target, sku, 300)
    assert reused <= lost_position and write_id == new_id
    until(lambda: read_at(second.target, sku)[0] == 300, "B applied the write after the loss")

    # A client resuming with the old version and id gets a full answer, not "nothing changed".
    resumed = Watch(
        second.target,
        sku_ids=[sku],
        node_ids=[NODE],
        view=availability_pb2.AVAILABILITY_VIEW_FULL,
        resume_after_version=lost_position,
        resume_log_id=old_id,
    )
    try:
        first_message = resumed.next()
        assert first_message.full_answer and first_message.log_id == new_id
        assert first_message.availability.items[0].node_on_hand_quantities[0] == 300
    finally:
        resumed.close()

    # A client holding the lost write's position: its min-position counts in another history.
    for target in (first.target, second.target):
        with pytest.raises(grpc.RpcError) as raised:
            read_at(target, sku, ((MIN_POSITION_KEY, str(kept_position)), (LOG_ID_KEY, old_id)))
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        info = next(
            error_details_pb2.ErrorInfo.FromString(d.value)
            for d in rpc_status.from_call(raised.value).details
            if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)
        )
        assert info.reason == "LOG_CHANGED"
        assert dict(info.metadata) == {"requested_log_id": old_id, "log_id": new_id}
        assert dict(raised.value.trailing_metadata())[LOG_ID_KEY] == new_id
        # With the id of the answer it came from, the same kind of request is served.
        quantity, metadata = read_at(target, sku, ((MIN_POSITION_KEY, str(reused)), (LOG_ID_KEY, new_id)))
        assert quantity == 300 and metadata[LOG_ID_KEY] == new_id


def test_without_a_loss_the_log_id_never_changes(redis_server, instances):
    """Writes on both instances, a Redis restart that loses nothing (appendfsync always), more writes."""
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    skus = demo_skus(4)
    log_id = head_log_id(redis_server.url)
    seen = set()
    for index in range(40):
        position, answered = write((first, second)[index % 2].target, skus[index % 4], index)
        seen.add(answered)
    redis_server.kill()
    redis_server.start()

    write_once_writable(first.target, skus[0], 1000)
    write_once_writable(second.target, skus[0], 1001)
    for index in range(40):
        position, answered = write((first, second)[index % 2].target, skus[index % 4], 2000 + index)
        seen.add(answered)
    quantity, metadata = read_at(second.target, skus[3], ((MIN_POSITION_KEY, str(position)), (LOG_ID_KEY, log_id)))
    assert quantity == 2039
    seen.add(metadata[LOG_ID_KEY])
    assert seen == {log_id} and head_log_id(redis_server.url) == log_id
    assert not any("(marker at position" in instance.stderr_text() for instance in (first, second))


# ---- in process: the compare-and-set, and the gap resync that is no loss ------------------------------


def replica_of(url: str):
    from conftest import small_network

    from dompromise.inventory.engine import Engine
    from dompromise.log.redis.log import RedisLog
    from dompromise.replica.shared import SharedReplica

    replica = SharedReplica(Engine(small_network()), RedisLog(url))
    replica.recover()
    return replica


def test_two_instances_noticing_one_loss_bump_the_id_once_whatever_the_order(redis_server):
    """Both read the id Redis holds, then both bump: one wins the compare-and-set. A third reads after the
    bump: the higher generation says somebody bumped already."""
    import asyncio

    from conftest import stock_record

    first, second, third = (replica_of(redis_server.url) for _ in range(3))
    first.bootstrap([stock_record(first.engine)])
    old_id = first.log.log_id
    assert second.log.log_id == third.log.log_id == old_id

    async def bump_all():
        try:
            found = [await replica.log.head_and_id_async() for replica in (first, second)]
            for replica, (_, found_id) in zip((first, second), found):
                await replica._bump_log_id(found_id)
            _, found_late = await third.log.head_and_id_async()
            await third._bump_log_id(found_late)
        finally:
            for replica in (first, second, third):
                await replica.log.aclose()

    asyncio.run(bump_all())
    new_id = head_log_id(redis_server.url)
    assert (first.log_id_bumps, second.log_id_bumps, third.log_id_bumps) == (1, 0, 0)
    assert log_id_generation(new_id) == 1 and new_id.startswith(old_id + ".")
    # The bump's Tick names the new id: every replica takes it when it applies it.
    for replica in (first, second, third):
        replica._catch_up()
        assert replica.log_id == new_id
        replica.close()


def test_a_resync_over_a_trimmed_stream_keeps_the_log_id(redis_server):
    """A gap (the stream trimmed past a slow replica) loses nothing: resync, same id."""
    from conftest import stock_record
    from test_redis_log import some_records

    writer = replica_of(redis_server.url)
    writer.bootstrap([stock_record(writer.engine)])
    left_behind = replica_of(redis_server.url)
    log_id = writer.log_id
    for round_number in range(3):
        writer.bootstrap(some_records(40, round_number + 1))
        writer.snapshot_now()
    left_behind._resync()
    assert left_behind.engine.log_position == writer.engine.log_position
    assert left_behind.log_id == writer.log_id == head_log_id(redis_server.url) == log_id
    for replica in (writer, left_behind):
        replica.close()
