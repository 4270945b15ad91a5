"""The log's sync thread (replica/parts.py SyncThread) when a sync fails or the replica stops during one."""

from __future__ import annotations

import asyncio
import threading

import pytest
from conftest import small_network, stock_record

from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import FileLog
from dompromise.replica.local import Replica


def reserve_record(request_id: str) -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        request_id=request_id,
        reserve=log_pb2.Reserve(sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[1], ttl_ns=10**12),
    )


def file_replica(tmp_path):
    replica = Replica(Engine(small_network()), FileLog(str(tmp_path)))
    replica.bootstrap([stock_record(replica.engine)])
    return replica


def test_a_failed_sync_fails_the_batch_and_stop_still_ends(tmp_path):
    replica = file_replica(tmp_path)

    def failing_sync():
        raise OSError(5, "EIO")

    async def run():
        await replica.start()
        replica.log.sync = failing_sync
        with pytest.raises(UnavailableError):
            await replica.submit(reserve_record("a"))
        with pytest.raises(UnavailableError):
            await replica.submit(reserve_record("b"))
        await asyncio.wait_for(replica.stop(), 5)

    asyncio.run(run())
    assert replica.engine.log_position == 1


def test_stop_during_a_sync_waits_for_it_and_answers_no_ok(tmp_path):
    replica = file_replica(tmp_path)
    entered, release = threading.Event(), threading.Event()
    real = replica.log.sync
    finished = []

    def slow_sync():
        entered.set()
        release.wait(5)
        real()
        finished.append(True)

    async def run():
        await replica.start()
        replica.log.sync = slow_sync
        pending = asyncio.ensure_future(replica.submit(reserve_record("a")))
        await asyncio.to_thread(entered.wait, 5)
        stopping = asyncio.ensure_future(replica.stop())
        await asyncio.sleep(0.05)
        assert not stopping.done(), "stop waits for the sync under way"
        release.set()
        await asyncio.wait_for(stopping, 5)
        assert finished
        assert not (pending.done() and not pending.cancelled() and pending.exception() is None)
        pending.cancel()

    asyncio.run(run())
    assert replica.engine.log_position == 1
