"""The replica's write path on a real file log: group commit, ordering, failing closed."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os

import pytest
from conftest import small_network, stock_record

from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import FileLog
from dompromise.log.memory import MemoryLog
from dompromise.replica.local import Replica


def reserve_record(request_id: str, quantity: int = 1) -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        request_id=request_id,
        reserve=log_pb2.Reserve(sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[quantity], ttl_ns=10**12),
    )


def file_replica(tmp_path) -> Replica:
    replica = Replica(Engine(small_network()), FileLog(str(tmp_path)))
    replica.bootstrap([stock_record(replica.engine)])
    return replica


def test_concurrent_writes_share_syncs_and_apply_in_log_order(tmp_path):
    replica = file_replica(tmp_path)
    syncs_before = replica.log.sync_count

    async def run():
        await replica.start()
        try:
            return await asyncio.gather(*(replica.submit(reserve_record(f"r{i}")) for i in range(40)))
        finally:
            await replica.stop()

    outcomes = asyncio.run(run())
    positions = [o.log_position for o in outcomes]
    assert sorted(positions) == list(range(2, 42))
    # PAD-1 at DC-1 has 10: exactly the first 10 in log order got a hold.
    winners = sorted(o.log_position for o in outcomes if o.reservation is not None)
    assert winners == list(range(2, 12))
    assert replica.log.sync_count - syncs_before < 40, "no group commit happened"


def test_a_failed_disk_fails_writes_closed_and_reads_go_on(tmp_path):
    replica = file_replica(tmp_path)

    async def run():
        await replica.start()
        try:
            os.close(replica.log._fd)  # the disk goes away: the next write fails for real (EBADF)
            with pytest.raises(UnavailableError):
                await replica.submit(reserve_record("a"))
            with pytest.raises(UnavailableError):
                await replica.submit(reserve_record("b"))
            nodes = replica.engine.node_selection()
            return replica.engine.availability(["PAD-1"], nodes).totals.tolist()
        finally:
            for task in replica._tasks:
                task.cancel()

    assert asyncio.run(run()) == [33]
    assert replica.engine.log_position == 1


@pytest.mark.parametrize("collector_on", [True, False])
def test_recovery_replays_with_the_collector_paused_and_leaves_it_as_it_was(tmp_path, collector_on):
    import gc

    writer = file_replica(tmp_path)
    writer.bootstrap([reserve_record("a"), reserve_record("b")])
    writer.close()
    seen = []
    reader = Replica(Engine(small_network()), FileLog(str(tmp_path)))
    replay_payload = reader.engine.replay_payload  # recovery applies each record from its bytes

    def watched(payload, position):
        seen.append(gc.isenabled())
        return replay_payload(payload, position)

    reader.engine.replay_payload = watched
    was = gc.isenabled()
    (gc.enable if collector_on else gc.disable)()
    try:
        assert reader.recover() == len(seen) >= 2
        assert not any(seen), "records were replayed with the collector on"
        assert gc.isenabled() == collector_on
    finally:
        (gc.enable if was else gc.disable)()
        reader.close()


class CountingExecutor(concurrent.futures.ThreadPoolExecutor):
    """A real thread pool that counts what it is handed."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_only_a_log_that_waits_for_a_disk_syncs_in_a_thread(tmp_path, kind):
    command_log = MemoryLog() if kind == "memory" else FileLog(str(tmp_path))
    replica = Replica(Engine(small_network()), command_log)
    replica.bootstrap([stock_record(replica.engine)])
    executor = CountingExecutor()

    async def run():
        asyncio.get_running_loop().set_default_executor(executor)
        await replica.start()
        try:
            return await asyncio.gather(*(replica.submit(reserve_record(f"r{i}")) for i in range(20)))
        finally:
            await replica.stop()

    outcomes = asyncio.run(run())
    assert sorted(o.log_position for o in outcomes) == list(range(2, 22))
    assert replica.engine.log_position == 21
    if kind == "memory":
        assert executor.submitted == 0, "a memory log's sync went through a thread"
    else:
        assert executor.submitted >= 1, "a file log's fdatasync ran on the event loop"
