"""Read-your-writes across instances, positions and staleness in metadata, and group commit,
over a real redis-server."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
import redis
from conftest import small_network
from redis_server import needs_redis_server
from test_redis_instances import NODE, demo_skus, serve  # noqa: F401  (fixtures below reuse serve)

from dompromise import limits
from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ON_HAND_ADJUST, Engine
from dompromise.log.redis.log import RedisLog
from dompromise.replica.shared import SharedReplica
from dompromise.service.consistency import MIN_POSITION_KEY, POSITION_KEY, STALE_MS_KEY
from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2, inventory_pb2_grpc

pytestmark = needs_redis_server
ROUNDS = 300


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


def test_a_write_on_a_is_read_on_b_at_its_position_every_time(redis_server, instances):
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    with grpc.insecure_channel(first.target) as a, grpc.insecure_channel(second.target) as b:
        writer = inventory_pb2_grpc.InventoryServiceStub(a)
        reader = availability_pb2_grpc.AvailabilityServiceStub(b)
        read_positions = []
        for quantity in range(ROUNDS):
            response, call = writer.UpdateStock.with_call(update(sku, quantity), timeout=10)
            written_at = dict(call.trailing_metadata())[POSITION_KEY]
            assert int(written_at) == response.log_position
            # No polling: the read itself waits on B until B applied the write.
            answer, call = reader.GetAvailability.with_call(
                read(sku), metadata=((MIN_POSITION_KEY, written_at),), timeout=10
            )
            assert answer.items[0].node_on_hand_quantities[0] == quantity, f"round {quantity}"
            assert answer.log_position >= response.log_position
            read_positions.append(int(dict(call.trailing_metadata())[POSITION_KEY]))
        assert read_positions == sorted(read_positions), "B's positions went backwards"


def test_positions_in_metadata_are_present_and_monotonic_on_each_instance(redis_server, instances):
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    seen: dict[str, list[int]] = {first.target: [], second.target: []}
    channels = {target: grpc.insecure_channel(target) for target in seen}
    try:
        for index in range(60):
            target = (first, second)[index % 2].target
            channel = channels[target]
            if index % 3 == 0:
                _, call = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock.with_call(
                    update(sku, index), timeout=10
                )
            else:
                _, call = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability.with_call(
                    read(sku), timeout=10
                )
            metadata = dict(call.trailing_metadata())
            assert STALE_MS_KEY not in metadata
            seen[target].append(int(metadata[POSITION_KEY]))
    finally:
        for channel in channels.values():
            channel.close()
    for positions in seen.values():
        assert positions == sorted(positions)
        assert positions[-1] > positions[0]


def test_a_position_far_ahead_is_unavailable_after_the_bounded_wait(redis_server, instances):
    first = serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    with grpc.insecure_channel(first.target) as channel:
        reader = availability_pb2_grpc.AvailabilityServiceStub(channel)
        _, call = reader.GetAvailability.with_call(read(sku), timeout=10)
        reached = int(dict(call.trailing_metadata())[POSITION_KEY])
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as raised:
            reader.GetAvailability(read(sku), metadata=((MIN_POSITION_KEY, str(reached + 10**9)),), timeout=10)
        waited = time.monotonic() - started
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert f"reached log position {reached}" in raised.value.details()
        assert limits.MIN_POSITION_WAIT_MS_MAX / 1000 * 0.9 <= waited < limits.MIN_POSITION_WAIT_MS_MAX / 1000 + 1
        # and a malformed one is refused at once
        with pytest.raises(grpc.RpcError) as raised:
            reader.GetAvailability(read(sku), metadata=((MIN_POSITION_KEY, "latest"),), timeout=10)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert MIN_POSITION_KEY in raised.value.details()


def test_reads_while_redis_is_away_report_staleness(redis_server, instances):
    first = serve(instances, redis_server.url)
    sku = demo_skus(1)[0]
    with grpc.insecure_channel(first.target) as channel:
        reader = availability_pb2_grpc.AvailabilityServiceStub(channel)
        _, call = reader.GetAvailability.with_call(read(sku), timeout=10)
        assert STALE_MS_KEY not in dict(call.trailing_metadata())
        position = dict(call.trailing_metadata())[POSITION_KEY]
        redis_server.kill()
        stale = []
        deadline = time.monotonic() + 10
        while len(stale) < 2 and time.monotonic() < deadline:
            _, call = reader.GetAvailability.with_call(read(sku), timeout=10)  # reads go on
            metadata = dict(call.trailing_metadata())
            assert metadata[POSITION_KEY] == position
            if STALE_MS_KEY in metadata:
                stale.append(int(metadata[STALE_MS_KEY]))
                time.sleep(0.3)
            else:
                time.sleep(0.02)
        assert len(stale) == 2, "reads never reported staleness with Redis down"
        assert stale[1] >= stale[0] + 250, f"staleness does not grow: {stale}"
        # A read asking for a position past what this replica has waits, then says where it is.
        with pytest.raises(grpc.RpcError) as raised:
            reader.GetAvailability(read(sku), metadata=((MIN_POSITION_KEY, str(int(position) + 1)),), timeout=0.5)
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        assert dict(raised.value.trailing_metadata())[STALE_MS_KEY]
        redis_server.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, call = reader.GetAvailability.with_call(read(sku), timeout=10)
            if STALE_MS_KEY not in dict(call.trailing_metadata()):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("still stale 10 s after Redis came back")


# ---- group commit, in process ---------------------------------------------------


def adjust(delta: int) -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        update_on_hand=log_pb2.UpdateOnHand(
            sku_ids=["PAD-1"], node_ids=["DC-1"], ops=[ON_HAND_ADJUST], quantities=[delta]
        )
    )


def script_calls(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(stats.get(name, {}).get("calls", 0) for name in ("cmdstat_evalsha", "cmdstat_eval"))


def test_concurrent_writers_go_together_in_few_script_calls(redis_server):
    replica = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    replica.recover()
    writers = 500

    async def run():
        await replica.start()
        try:
            calls_before = script_calls(redis_server.url)
            outcomes = await asyncio.gather(*(replica.submit(adjust(1)) for _ in range(writers)))
            return outcomes, script_calls(redis_server.url) - calls_before
        finally:
            await replica.stop()

    outcomes, calls = asyncio.run(run())
    replica.close()
    positions = sorted(outcome.log_position for outcome in outcomes)
    assert positions == list(range(positions[0], positions[0] + writers)), "one dense position per writer"
    # The first write goes alone; the rest queue behind it and share a few calls.
    assert calls <= 1 + -(-(writers - 1) // limits.LOG_BATCH_COMMANDS_MAX) + 2, f"{calls} script calls"
    assert replica.engine.log_position == positions[-1]


def counting_appends(replica: SharedReplica, fail_calls=()) -> tuple[list[int], asyncio.Event]:
    """Wraps the replica's script call: records each batch's size; raises on the calls numbered in fail_calls."""
    sizes: list[int] = []
    in_flight = asyncio.Event()
    original = replica.log.write_async

    async def counting(payloads, times_ns, tokens):
        sizes.append(len(payloads))
        in_flight.set()
        if len(sizes) in fail_calls:
            raise redis.ConnectionError("lost in the test")
        return await original(payloads, times_ns, tokens)

    replica.log.write_async = counting
    return sizes, in_flight


def test_writes_arriving_during_a_round_trip_go_together_in_the_next_call(redis_server):
    replica = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    replica.recover()

    async def run():
        sizes, in_flight = counting_appends(replica)
        await replica.start()
        try:
            first = asyncio.ensure_future(replica.submit(adjust(1)))
            await in_flight.wait()  # the first script call is on its way to Redis
            later = [asyncio.ensure_future(replica.submit(adjust(1))) for _ in range(200)]
            outcomes = await asyncio.gather(first, *later)
            return sizes, outcomes
        finally:
            await replica.stop()

    sizes, outcomes = asyncio.run(run())
    replica.close()
    assert sizes == [1, 200]
    assert [outcome.log_position for outcome in outcomes] == list(range(1, 202))


def test_a_batch_is_bounded_by_the_named_limit(redis_server, monkeypatch):
    monkeypatch.setattr(limits, "LOG_BATCH_COMMANDS_MAX", 16)
    replica = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    replica.recover()

    async def run():
        sizes, _ = counting_appends(replica)
        await replica.start()
        try:
            await asyncio.gather(*(replica.submit(adjust(1)) for _ in range(100)))
        finally:
            await replica.stop()
        return sizes

    sizes = asyncio.run(run())
    replica.close()
    assert sum(sizes) == 100
    assert max(sizes) == 16
    assert len(sizes) == 7


def test_a_failed_batch_fails_every_writer_in_it(redis_server):
    replica = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    replica.recover()

    async def run():
        sizes, in_flight = counting_appends(replica, fail_calls=(2,))
        await replica.start()
        try:
            first = asyncio.ensure_future(replica.submit(adjust(1)))
            await in_flight.wait()
            later = [asyncio.ensure_future(replica.submit(adjust(1))) for _ in range(49)]
            answers = await asyncio.gather(first, *later, return_exceptions=True)
            return sizes, answers
        finally:
            await replica.stop()

    sizes, answers = asyncio.run(run())
    replica.close()
    assert sizes[:2] == [1, 49]
    assert not isinstance(answers[0], BaseException)
    failed = answers[1:]
    assert all(isinstance(error, UnavailableError) for error in failed), failed
    # Nothing of the failed batch reached Redis or the state, and nobody was told otherwise.
    log = RedisLog(redis_server.url)
    assert log.last_position == 1
    log.close()
    assert replica.engine.log_position == 1
