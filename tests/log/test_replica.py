"""The replica's write path on a real file log: group commit, ordering, failing closed."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import random
import threading
import time

import pytest
from conftest import small_network, stock_record

from dompromise import limits
from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import FileLog
from dompromise.log.memory import MemoryLog
from dompromise.replica import parts
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
    sync_threads: set[int] = set()
    sync = command_log.sync

    def noted_sync() -> None:
        sync_threads.add(threading.get_ident())
        sync()

    command_log.sync = noted_sync  # type: ignore[method-assign]

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
    assert sync_threads, "nothing was synced"
    if kind == "memory":
        assert sync_threads == {threading.get_ident()}, "a memory log's sync went through a thread"
    else:
        assert threading.get_ident() not in sync_threads, "a file log's fdatasync ran on the event loop"
        assert len(sync_threads) == 1, "a file log's syncs ran in more than one thread"
    assert executor.submitted <= 1, "syncs went through the default executor"  # 1: the sync thread's join at stop


# Writers and their commands in the group-commit tests, and the most a writer waits between two of its commands.
WRITERS = 16
COMMANDS_PER_WRITER = 15
WRITER_PAUSE_SECONDS_MAX = 0.003


def commands_per_sync(directory: str, group_commit: bool) -> tuple[float, int]:
    """Writers that each wait for their answer and pause a little before the next command reach the queue one by
    one, as gRPC calls do: (commands per sync, batches that waited)."""
    replica = file_replica(directory)
    if not group_commit:
        replica.group_commit = None
    syncs_before = replica.log.sync_count
    pauses = random.Random(7)

    async def writer(index: int) -> list[int]:
        positions = []
        for number in range(COMMANDS_PER_WRITER):
            outcome = await replica.submit(reserve_record(f"w{index}-{number}"))
            positions.append(outcome.log_position)
            await asyncio.sleep(pauses.uniform(0, WRITER_PAUSE_SECONDS_MAX))
        return positions

    async def run():
        await replica.start()
        try:
            return await asyncio.gather(*(writer(index) for index in range(WRITERS)))
        finally:
            await replica.stop()

    positions = sorted(position for written in asyncio.run(run()) for position in written)
    commands = WRITERS * COMMANDS_PER_WRITER
    assert positions == list(range(2, 2 + commands))  # every command logged once, in one order
    delayed = 0 if replica.group_commit is None else replica.group_commit.delayed_batches
    return commands / (replica.log.sync_count - syncs_before), delayed


def test_writes_arriving_while_a_sync_runs_wait_to_share_the_next_one(tmp_path):
    grouped, delayed = commands_per_sync(str(tmp_path / "grouped"), group_commit=True)
    alone, _ = commands_per_sync(str(tmp_path / "alone"), group_commit=False)
    assert delayed > 0
    assert grouped >= 2 * alone, (grouped, alone)


def test_a_sequential_writer_is_never_kept_waiting(tmp_path):
    replica = file_replica(tmp_path)
    syncs_before = replica.log.sync_count

    async def run():
        await replica.start()
        try:
            return [await replica.submit(reserve_record(f"s{number}")) for number in range(50)]
        finally:
            await replica.stop()

    outcomes = asyncio.run(run())
    assert [o.log_position for o in outcomes] == list(range(2, 52))
    assert replica.group_commit.delayed_batches == 0
    assert replica.log.sync_count - syncs_before == 50  # each synced as it came: nobody to wait for


def steps_waited(feed_every_seconds: float | None, feed_count: int, queued: int = 1) -> int:
    """wait_for_company over a real asyncio queue holding `queued` commands, while a feeder puts `feed_count` more,
    one every `feed_every_seconds` (None: none come). The feeder's timers fall due before each step's end, and
    asyncio runs due timers in deadline order: each step sees the command put within it, however late the
    loop wakes."""

    async def run() -> int:
        waiting: asyncio.Queue[int] = asyncio.Queue()
        for number in range(queued):
            waiting.put_nowait(-number)

        async def feeder() -> None:
            for number in range(feed_count):
                assert feed_every_seconds is not None
                await asyncio.sleep(feed_every_seconds)
                waiting.put_nowait(number + 1)

        feeding = asyncio.create_task(feeder())
        steps, _ = await parts.wait_for_company(waiting)
        feeding.cancel()
        return steps

    return asyncio.run(run())


def test_a_batch_nobody_joins_waits_one_step():
    assert steps_waited(None, 0) == 1


def test_a_batch_waits_while_commands_keep_joining_up_to_the_most():
    step = parts.GROUP_COMMIT_STEP_SECONDS
    assert steps_waited(step / 4, 1000) == parts.GROUP_COMMIT_STEPS_MAX
    # Commands for two steps, then none: the third step brings nobody and ends the wait.
    assert steps_waited(step * 0.75, 2) == 3


def test_a_batch_that_would_be_full_stops_waiting():
    step = parts.GROUP_COMMIT_STEP_SECONDS
    # One more command makes a full batch with the writer's first: it comes in the first step.
    assert steps_waited(step / 4, 1000, queued=limits.LOG_BATCH_COMMANDS_MAX - 2) == 1


def test_a_wait_for_a_few_writers_in_lockstep_ends_the_moment_they_are_all_back():
    """With 4 writers known, the wait ends when the third command joins the writer's first (well inside the
    step), where a plain wait would see the step out and one more to find it quiet."""
    step = parts.GROUP_COMMIT_STEP_SECONDS

    async def run() -> tuple[int, str, float]:
        queue: asyncio.Queue[int] = asyncio.Queue()
        arrivals = parts.Arrivals()
        queue.put_nowait(1)  # came while the last batch synced

        async def feeder() -> None:  # commands arriving as calls do, between the loop's turns (no timers:
            for number in (2, 3):  # epoll's 1 ms granularity would fire the step's own timer with them)
                for _ in range(3):
                    await asyncio.sleep(0)
                queue.put_nowait(number)
                arrivals.arrived(queue.qsize())

        feeding = asyncio.create_task(feeder())
        began = time.perf_counter()
        steps, ended = await parts.wait_for_company(queue, writers=4, arrivals=arrivals)
        waited = time.perf_counter() - began
        await feeding
        return steps, ended, waited

    steps, ended, waited = asyncio.run(run())
    assert (steps, ended) == (1, parts.ALL_BACK)
    assert waited < step * 0.9, waited


def test_group_commit_trusts_a_few_writers_after_two_like_quiet_waits_and_forgets_them_under_heavy_traffic():
    group = parts.GroupCommit()
    group.learn(parts.QUIET, 4)
    assert group.writers == 0  # once could be a lull in heavy traffic
    group.learn(parts.QUIET, 4)
    assert group.writers == 4
    group.learn(parts.ALL_BACK, 4)
    assert group.writers == 4 and group.all_back_batches == 1
    expected = [group.writers_to_expect() for _ in range(parts.GROUP_COMMIT_PROBE_EVERY)]
    assert expected.count(0) == 1 and expected.count(4) == parts.GROUP_COMMIT_PROBE_EVERY - 1  # one plain wait
    group.learn(parts.ALL_BACK, 6)  # more came than were all
    assert group.writers == 0
    group.learn(parts.QUIET, 3)
    group.learn(parts.QUIET, 3)
    group.learn(parts.TIMED_OUT, 30)
    assert group.writers == 0
    group.learn(parts.QUIET, parts.GROUP_COMMIT_FEW_WRITERS_MAX + 1)
    group.learn(parts.QUIET, parts.GROUP_COMMIT_FEW_WRITERS_MAX + 1)
    assert group.writers == 0  # more than a few: batches grow by waiting


def test_four_writers_in_lockstep_share_syncs_and_are_not_kept_a_step_each(tmp_path):
    """Four writers each resubmitting the moment they are answered: the replica learns them and ends most
    waits as soon as all four are in (each still one sync for up to four commands)."""
    replica = file_replica(tmp_path)
    rounds = 40

    async def writer(index: int) -> list[int]:
        positions = []
        for number in range(rounds):
            positions.append((await replica.submit(reserve_record(f"l{index}-{number}"))).log_position)
            for _ in range(index + 1):  # back after a few of the loop's turns, one writer after another
                await asyncio.sleep(0)
        return positions

    async def run():
        await replica.start()
        try:
            return await asyncio.gather(*(writer(index) for index in range(4)))
        finally:
            await replica.stop()

    syncs_before = replica.log.sync_count
    positions = sorted(p for written in asyncio.run(run()) for p in written)
    assert positions == list(range(2, 2 + 4 * rounds))
    group = replica.group_commit
    assert group.delayed_batches > rounds // 2
    assert group.all_back_batches >= group.delayed_batches // 2, (group.all_back_batches, group.delayed_batches)
    assert (4 * rounds) / (replica.log.sync_count - syncs_before) >= 2
