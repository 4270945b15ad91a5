"""Snapshots bound recovery: restart loads the newest good one, replays only the tail."""

from __future__ import annotations

import asyncio
import os

from conftest import small_network, stock_record

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import FileLog
from dompromise.log.snapshot import snapshot_paths
from dompromise.model.network import Network, Sku
from dompromise.replica.bootstrap import start_log
from dompromise.replica.local import Replica


def open_replica(directory, network=None, interval=100_000) -> Replica:
    replica = Replica(
        Engine(network or small_network()),
        FileLog(str(directory)),
        snapshot_directory=str(directory),
        snapshot_interval_records=interval,
    )
    replica.recover()
    return replica


def reserve(request_id: str, quantity: int = 1, customer: str = "c") -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        request_id=request_id,
        reserve=log_pb2.Reserve(
            sku_ids=["PAD-1", "OIL-1"],
            node_ids=["DC-1", "WH-N"],
            quantities=[quantity, 1],
            ttl_ns=10**15,
            customer_id=customer,
        ),
    )


def build_history(replica: Replica, start: int, count: int) -> None:
    for i in range(start, start + count):
        outcome = replica.bootstrap([reserve(f"r{i}")])[0]
        if i % 3 == 0 and outcome.reservation is not None:
            replica.bootstrap(
                [
                    log_pb2.LogRecord(
                        commit=log_pb2.Resolve(reservation_id=outcome.reservation.reservation_id, order_id=f"O{i}")
                    )
                ]
            )


def same_state(a: Replica, b: Replica) -> None:
    assert a.engine.core.digest() == b.engine.core.digest()
    assert a.engine.reservations_of(customer_id="c") == b.engine.reservations_of(customer_id="c")


def test_restart_from_snapshot_replays_only_the_tail(tmp_path):
    live = open_replica(tmp_path)
    live.bootstrap([stock_record(live.engine)])
    build_history(live, 0, 6)
    snapshot_position = live.engine.log_position
    live.snapshot_now()
    build_history(live, 6, 3)
    live.log.close()

    restarted = Replica(Engine(small_network()), FileLog(str(tmp_path)), snapshot_directory=str(tmp_path))
    assert restarted.recover() == live.engine.log_position - snapshot_position
    same_state(live, restarted)
    # Idempotency keys from before the snapshot still answer with the first result.
    first = live.engine.reservations_of(customer_id="c")[0]
    retry = restarted.bootstrap([reserve("r0")])[0]
    assert retry.reservation.reservation_id == first.reservation_id


def test_compaction_drops_segments_below_the_older_kept_snapshot(tmp_path):
    live = open_replica(tmp_path)
    live.bootstrap([stock_record(live.engine)])
    build_history(live, 0, 3)
    live.snapshot_now()
    build_history(live, 3, 3)
    live.snapshot_now()
    build_history(live, 6, 3)
    live.snapshot_now()
    assert len(snapshot_paths(str(tmp_path))) == 2
    assert live.log.first_position > 1
    live.log.close()
    restarted = open_replica(tmp_path)
    same_state(live, restarted)


def test_a_damaged_newest_snapshot_falls_back_to_the_older_one(tmp_path):
    live = open_replica(tmp_path)
    live.bootstrap([stock_record(live.engine)])
    build_history(live, 0, 3)
    live.snapshot_now()
    build_history(live, 3, 3)
    newest = live.snapshot_now()
    build_history(live, 6, 2)
    live.log.close()
    with open(newest, "r+b") as target:
        target.seek(os.path.getsize(newest) // 2)
        target.write(b"\xff" * 64)
    restarted = open_replica(tmp_path)
    same_state(live, restarted)


def test_a_changed_catalog_with_a_compacted_log_loads_the_snapshot_network(tmp_path):
    """The snapshot carries its network: a config with one more SKU no longer refuses to start;
    the state is the snapshot's, and start_log reconciles the new SKU in as a log command."""
    live = open_replica(tmp_path)
    live.bootstrap([stock_record(live.engine)])
    build_history(live, 0, 3)
    live.snapshot_now()
    build_history(live, 3, 3)
    live.snapshot_now()
    live.log.close()
    network = small_network()
    changed = Network(nodes=network.nodes, skus=network.skus + (Sku("NEW-1"),))
    restarted = open_replica(tmp_path, network=changed)
    same_state(live, restarted)
    assert restarted.engine.sku("NEW-1") is None  # not yet: the reconcile logs it
    start_log(restarted, [], "test", changed)
    assert restarted.engine.sku("NEW-1") == Sku("NEW-1")
    assert restarted.engine.reservations_of(customer_id="c") == live.engine.reservations_of(customer_id="c")


def test_the_writer_snapshots_by_itself_every_interval(tmp_path):
    replica = open_replica(tmp_path, interval=10)
    replica.bootstrap([stock_record(replica.engine)])

    async def run():
        await replica.start()
        try:
            for i in range(25):
                await replica.submit(reserve(f"bg{i}"))
            await asyncio.sleep(0.2)
        finally:
            await replica.stop()

    asyncio.run(run())
    assert snapshot_paths(str(tmp_path)), "no snapshot was written"
    restarted = open_replica(tmp_path)
    same_state(replica, restarted)
