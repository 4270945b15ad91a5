"""The replica's write path on a real file log: group commit, ordering, failing closed."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from conftest import small_network, stock_record

from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import FileLog, datadir
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


class GatedLog(FileLog):
    """A real file log whose syncs wait for the test's go (a slow disk, held still), or fail (a dying one)."""

    def __init__(self, directory: str):
        super().__init__(directory)
        self.go = threading.Event()
        self.started = threading.Semaphore(0)  # released once per sync that began
        self.error: OSError | None = None

    def sync_to(self, point) -> None:
        self.started.release()
        if not self.go.wait(10):
            raise TimeoutError("the test never let the sync go")
        if self.error is not None:
            raise self.error
        super().sync_to(point)


def gated_replica(tmp_path) -> Replica:
    replica = Replica(Engine(small_network()), GatedLog(str(tmp_path)))
    replica.log.go.set()
    replica.bootstrap([stock_record(replica.engine)])
    replica.log.go.clear()
    return replica


async def _started(log: GatedLog) -> None:
    """Waits (off the event loop) until one more sync began."""
    assert await asyncio.get_running_loop().run_in_executor(None, log.started.acquire, True, 10)


def test_a_command_written_during_a_sync_is_written_at_once_and_answered_only_once_durable(tmp_path):
    replica = gated_replica(tmp_path)
    log = replica.log
    assert isinstance(log, GatedLog)

    async def run():
        await replica.start()
        try:
            first = asyncio.ensure_future(replica.submit(reserve_record("a")))
            await _started(log)  # a's sync is held
            second = asyncio.ensure_future(replica.submit(reserve_record("b")))
            await _started(log)  # b was written and its own sync began, a's still running
            assert log.last_position == 3, "b waited for a's sync before being written"
            await asyncio.sleep(0.05)
            assert not first.done() and not second.done(), "answered before durable"
            assert replica.engine.log_position == 1, "applied before durable"
            log.go.set()
            return [(await first).log_position, (await second).log_position]
        finally:
            await replica.stop()

    assert asyncio.run(run()) == [2, 3]
    assert replica.engine.log_position == 3
    assert datadir.read_synced(str(tmp_path)).last_position == 3


def test_a_failed_sync_fails_the_commands_written_since_and_refuses_writes(tmp_path):
    replica = gated_replica(tmp_path)
    log = replica.log
    assert isinstance(log, GatedLog)

    async def run():
        await replica.start()
        try:
            first = asyncio.ensure_future(replica.submit(reserve_record("a")))
            await _started(log)
            second = asyncio.ensure_future(replica.submit(reserve_record("b")))
            await _started(log)
            log.error = OSError(5, "Input/output error")
            log.go.set()
            for pending in (first, second):
                with pytest.raises(UnavailableError):
                    await pending
            with pytest.raises(UnavailableError):
                await replica.submit(reserve_record("c"))
        finally:
            for task in replica._tasks:
                task.cancel()

    asyncio.run(run())
    assert replica.engine.log_position == 1, "a record whose sync failed was applied"


def test_a_sync_point_never_moves_the_mark_back_and_one_before_a_rotation_needs_nothing(tmp_path):
    log = FileLog(str(tmp_path))
    log.write([b"one"])
    early = log.sync_point()
    log.write([b"two"])
    log.sync_to(log.sync_point())
    syncs = log.sync_count
    log.sync_to(early)  # a sync that started before the later one, ending after it
    assert datadir.read_synced(str(tmp_path)).last_position == 2
    assert log.sync_count == syncs
    log.write([b"three"])
    before_rotation = log.sync_point()
    log.rotate()
    log.sync_to(before_rotation)
    mark = datadir.read_synced(str(tmp_path))
    assert (mark.segment_first_position, mark.last_position) == (4, 3), "the mark went back to the old segment"
    log.close()
