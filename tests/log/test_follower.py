"""replica/follower.py with replica/writer_link.py, in one process over real files and a real unix socket:
a LocalReplica writes the log (as worker 0 does), a FollowerReplica follows it (as the other workers do)."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest
from conftest import small_network, stock_record

from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ON_HAND_SET, Engine
from dompromise.log.file import FileLog, segment_name
from dompromise.log.verify import repair
from dompromise.replica.follower import FollowerReplica
from dompromise.replica.local import LocalReplica
from dompromise.replica.writer_link import WriterEndpoint

# Every wait here, in seconds.
WAIT_SECONDS_MAX = 10.0


def writer(directory: str, snapshot_interval_records: int = 50_000) -> LocalReplica:
    replica = LocalReplica(
        Engine(small_network()),
        FileLog(directory, exclusive=True),
        snapshot_directory=directory,
        snapshot_interval_records=snapshot_interval_records,
    )
    replica.recover()
    replica.bootstrap([stock_record(replica.engine)])
    return replica


def set_on_hand(sku: str, node: str, quantity: int) -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        update_on_hand=log_pb2.UpdateOnHand(sku_ids=[sku], node_ids=[node], ops=[ON_HAND_SET], quantities=[quantity])
    )


def same_state(one: Engine, other: Engine) -> bool:
    if one.log_position != other.log_position:
        return False
    mine, _ = one.export_state()
    theirs, _ = other.export_state()
    return mine.keys() == theirs.keys() and all(np.array_equal(mine[name], theirs[name]) for name in mine)


async def until(condition, what: str) -> None:
    for _ in range(int(WAIT_SECONDS_MAX / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {WAIT_SECONDS_MAX}s: {what}")


def test_writes_forwarded_to_the_writer_are_answered_with_the_readers_own_outcome(tmp_path):
    directory = str(tmp_path)
    local = writer(directory)
    follower = FollowerReplica(Engine(small_network()), directory)
    assert follower.recover() == local.log_position
    applied: list[int] = []
    follower.add_apply_listener(lambda position, records: applied.append(position))

    async def run() -> None:
        endpoint = WriterEndpoint(local, directory)
        await local.start()
        await endpoint.start()
        await follower.start()
        try:
            await until(lambda: follower.writable, "the link up")
            outcomes = await asyncio.gather(
                *(follower.submit(set_on_hand("PAD-1", "DC-1", 100 + i)) for i in range(20)),
                local.submit(set_on_hand("OIL-1", "WH-N", 7)),
            )
            positions = [outcome.log_position for outcome in outcomes]
            assert sorted(positions) == list(range(local.log_position - 20, local.log_position + 1))
            # Each caller was answered after the follower applied its write: its answer's position is there.
            assert follower.log_position >= max(positions[:20])
            await until(lambda: follower.log_position == local.log_position, "the follower caught up")
            assert same_state(follower.engine, local.engine)
            assert applied and applied[-1] == local.log_position  # watchers heard of every batch
            assert await follower.head_position() == local.log_position
        finally:
            await follower.stop()
            await endpoint.stop()
            await local.stop()

    asyncio.run(run())
    follower.close()
    local.close()


def test_the_writer_down_writes_refused_reads_go_on_and_health_hears_of_it(tmp_path):
    directory = str(tmp_path)
    local = writer(directory)
    follower = FollowerReplica(Engine(small_network()), directory)
    follower.recover()
    heard: list[bool] = []

    async def run() -> None:
        endpoint = WriterEndpoint(local, directory)
        await local.start()
        await follower.start()
        follower.add_writability_listener(heard.append)
        assert heard == [False]  # told at once: no writer yet
        with pytest.raises(UnavailableError, match="writer"):
            await follower.submit(set_on_hand("PAD-1", "DC-1", 1))
        await endpoint.start()
        await until(lambda: follower.writable, "the link up")
        assert heard == [False, True]
        await follower.submit(set_on_hand("PAD-1", "DC-1", 2))
        await endpoint.stop()  # the writer goes away
        await until(lambda: not follower.writable, "the link down")
        assert heard == [False, True, False]
        with pytest.raises(UnavailableError, match="writer"):
            await follower.submit(set_on_hand("PAD-1", "DC-1", 3))
        await follower.stop()
        await local.stop()

    asyncio.run(run())
    assert same_state(follower.engine, local.engine)
    follower.close()
    local.close()


def test_a_follower_that_lagged_past_compaction_loads_the_newest_snapshot_in_place(tmp_path):
    directory = str(tmp_path)
    local = writer(directory)
    follower = FollowerReplica(Engine(small_network()), directory)
    follower.recover()
    engine = follower.engine
    histories: list[str] = []
    follower.add_history_listener(histories.append)

    async def run() -> None:
        await local.start()
        # While the follower sleeps with the first segment open: three snapshots, each rotating the log and
        # compacting it below the older kept one, so the segment after the follower's is gone.
        for i in range(15):
            await local.submit(set_on_hand("PAD-1", "DC-1", i))
            if i % 5 == 4:
                local.snapshot_now()
        await local.stop()
        assert not os.path.exists(os.path.join(directory, segment_name(7)))
        await follower.start()
        await until(lambda: follower.log_position == local.log_position, "the follower caught up")
        await follower.stop()

    asyncio.run(run())
    assert follower.resync_count == 1
    assert histories == [local.log_id]
    assert follower.engine is engine  # servicers keep this object: the state was replaced inside it
    assert same_state(follower.engine, local.engine)
    follower.close()
    local.close()


def test_a_log_repaired_while_the_writer_was_down_is_adopted_in_place_by_a_running_follower(tmp_path):
    """`log repair` gives the directory a new log id while the readers run; when the writer comes back serving
    it, a follower reloads the repaired log in place and takes writes again, without a restart."""
    directory = str(tmp_path)
    local = writer(directory)
    follower = FollowerReplica(Engine(small_network()), directory)
    follower.recover()
    engine, old_log_id = follower.engine, follower.log_id
    histories: list[str] = []
    follower.add_history_listener(histories.append)

    async def run() -> None:
        endpoint = WriterEndpoint(local, directory)
        await local.start()
        await endpoint.start()
        await follower.start()
        await until(lambda: follower.writable, "the link up")
        damaged = await follower.submit(set_on_hand("OIL-1", "WH-N", 77))
        for quantity in (1, 2, 3):
            await follower.submit(set_on_hand("PAD-1", "DC-1", quantity))
        await until(lambda: follower.log_position == local.log_position, "the follower caught up")
        before = follower.engine.export_state()[0]
        await endpoint.stop()  # the writer goes down; an operator repairs a damaged record
        await local.stop()
        local.close()
        await until(lambda: not follower.writable, "the link down")
        flip_payload_of(directory, damaged.log_position)
        repaired = repair(directory)
        assert repaired is not None and repaired.log_id != old_log_id
        assert [line.split(":")[0] for line in repaired.lost] == [f"position {damaged.log_position}"]

        back = LocalReplica(Engine(small_network()), FileLog(directory, exclusive=True), snapshot_directory=directory)
        back.recover()
        back_endpoint = WriterEndpoint(back, directory)
        await back.start()
        await back_endpoint.start()
        try:
            await until(lambda: follower.writable, "the link up again, to the repaired log")
            assert follower.log_id == repaired.log_id
            assert histories == [repaired.log_id]
            assert follower.engine is engine  # servicers keep this object: the state was replaced inside it
            assert same_state(follower.engine, back.engine)
            after = follower.engine.export_state()[0]
            assert any(not np.array_equal(before[name], after[name]) for name in before), "the lost write stayed"
            outcome = await follower.submit(set_on_hand("PAD-1", "DC-1", 9))
            assert outcome.log_position == back.log_position
            assert same_state(follower.engine, back.engine)
        finally:
            await follower.stop()
            await back_endpoint.stop()
            await back.stop()
            back.close()

    asyncio.run(run())
    follower.close()


def flip_payload_of(directory: str, position: int) -> None:
    """Flips a byte in the middle of the record at `position`, in the segment holding it."""
    records = dict(FileLog(directory).records())
    payload = records[position]
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(".log") or not os.path.isfile(path):
            continue
        with open(path, "rb") as source:
            data = bytearray(source.read())
        offset = data.find(payload)
        if offset >= 0:
            data[offset + len(payload) // 2] ^= 0x5A
            with open(path, "wb") as target:
                target.write(data)
            return
    raise AssertionError(f"record {position} not found in {directory}")


def test_a_writer_naming_a_log_the_directory_does_not_hold_is_refused(tmp_path):
    directory = str(tmp_path)
    local = writer(directory)
    follower = FollowerReplica(Engine(small_network()), directory)
    follower.recover()
    assert not follower._adopt_log("0123456789abcdef")  # what WriterLink asks at a HELLO naming another log
    assert follower.log_id == local.log_id
    assert follower.resync_count == 0
    follower.close()
    local.close()


def test_a_log_adopted_while_the_tail_is_between_slices_does_not_stop_the_follower(tmp_path, monkeypatch):
    """_adopt_log runs on the link's task (at a HELLO): the tail loop may be suspended between two slices of a
    read from the old tail. Resumed, it must not apply the rest of that read onto the reloaded state (positions
    no longer follow: LogCorruption, and the worker stops following the log for good)."""
    directory = str(tmp_path)
    local = writer(directory)
    follower = FollowerReplica(Engine(small_network()), directory)
    follower.recover()

    async def run() -> None:
        await local.start()
        try:
            for quantity in range(1, 11):
                await local.submit(set_on_hand("PAD-1", "DC-1", quantity))
        finally:
            await local.stop()
        monkeypatch.setattr("dompromise.replica.follower.APPLY_SLICE_SECONDS", -1.0)  # a slice of one record
        follow = asyncio.create_task(follower._follow())
        for _ in range(3):
            await asyncio.sleep(0)  # a few slices applied, the rest of the read to go
        assert 0 < follower.log_position - (local.log_position - 10) < 10, "the tail is between slices"
        with open(os.path.join(directory, "log-id")) as source:
            assert source.read().strip() == follower.log_id
        with open(os.path.join(directory, "log-id"), "w") as target:
            target.write("0123456789abcdef\n")  # as `log repair` leaves it
        assert follower._adopt_log("0123456789abcdef")  # the writer's HELLO names it
        await follow  # raised LogCorruption: the rest of the old read applied at the wrong positions
        assert follower._broken_ns is None
        assert same_state(follower.engine, local.engine)

    asyncio.run(run())
    follower.close()
    local.close()


def test_a_log_adoption_that_fails_on_a_read_error_is_tried_again_at_the_next_hello(tmp_path, monkeypatch):
    """A read error while reloading (here listing the snapshots) leaves this worker on the old log's state: it
    must not count as following the new log, or the next HELLO (same id then) takes the link on the old state."""
    directory = str(tmp_path)
    local = writer(directory)
    follower = FollowerReplica(Engine(small_network()), directory)
    follower.recover()
    old_log_id = follower.log_id
    with open(os.path.join(directory, "log-id"), "w") as target:
        target.write("0123456789abcdef\n")  # as `log repair` leaves it

    def unreadable(directory: str) -> list[str]:
        raise OSError(24, "Too many open files")

    with monkeypatch.context() as patched:
        patched.setattr("dompromise.log.snapshot.snapshot_paths", unreadable)
        try:
            adopted = follower._adopt_log("0123456789abcdef")
        except OSError:  # WriterLink.run takes it as a link that ended, and connects again
            adopted = False
    assert not adopted
    assert follower.log_id == old_log_id, "the next HELLO would take the link on the old log's state"
    resyncs = follower.resync_count
    assert follower._adopt_log("0123456789abcdef")
    assert follower.log_id == "0123456789abcdef" and follower.resync_count == resyncs + 1
    follower.close()
    local.close()
