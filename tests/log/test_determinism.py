"""Replay never depends on anything outside the log: config edits, bad records, listing order."""

from __future__ import annotations

import asyncio
import dataclasses

from conftest import small_network, stock_record

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import COMMAND_RESULT, Engine
from dompromise.log import FileLog
from dompromise.model.network import Network, NodeStatus
from dompromise.replica.local import Replica


def new_replica(directory, network=None) -> Replica:
    replica = Replica(Engine(network or small_network()), FileLog(str(directory)), snapshot_directory=str(directory))
    replica.recover()
    status = replica.status_changes()
    if status is not None:
        replica.bootstrap([status])
    return replica


def reserve_at(node_id: str, request_id: str) -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        request_id=request_id,
        reserve=log_pb2.Reserve(sku_ids=["PAD-1"], node_ids=[node_id], quantities=[5], ttl_ns=10**15, customer_id="c"),
    )


def test_a_config_status_change_is_logged_and_replay_keeps_earlier_holds(tmp_path):
    first = new_replica(tmp_path)
    first.bootstrap([stock_record(first.engine)])
    held = first.bootstrap([reserve_at("WH-N", "r1")])[0]
    assert held.reservation is not None
    first.log.close()

    network = small_network()
    drained = Network(
        nodes=tuple(
            dataclasses.replace(n, status=NodeStatus.DRAIN) if n.node_id == "WH-N" else n for n in network.nodes
        ),
        skus=network.skus,
    )
    second = new_replica(tmp_path, drained)
    # The hold placed while WH-N sold is still there; new demand at WH-N is refused.
    assert second.engine.reservation(held.reservation.reservation_id) is not None
    refused = second.bootstrap([reserve_at("WH-N", "r2")])[0]
    assert refused.reservation is None
    second.log.close()
    # Replaying with the drained config from scratch gives the same state.
    third = Replica(Engine(drained), FileLog(str(tmp_path)))
    third.recover()
    assert third.engine.core.digest() == second.engine.core.digest()


def test_a_malformed_record_is_recorded_not_fatal(tmp_path):
    replica = new_replica(tmp_path)
    replica.bootstrap([stock_record(replica.engine)])
    bad = log_pb2.LogRecord(
        reserve=log_pb2.Reserve(sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[0], ttl_ns=10**12)
    )
    empty = log_pb2.LogRecord()
    outcomes = replica.bootstrap([bad, empty])
    assert [o.result for o in outcomes] == [COMMAND_RESULT["MALFORMED"]] * 2
    after = replica.bootstrap([reserve_at("DC-1", "ok")])[0]
    assert after.reservation is not None
    replica.log.close()
    again = Replica(Engine(small_network()), FileLog(str(tmp_path)))
    again.recover()
    assert again.engine.core.digest() == replica.engine.core.digest()


def test_listing_order_survives_a_snapshot(tmp_path):
    replica = new_replica(tmp_path)
    replica.bootstrap([stock_record(replica.engine)])
    a = replica.bootstrap([reserve_at("DC-1", "a")])[0].reservation.reservation_id
    b = replica.bootstrap([reserve_at("WH-N", "b")])[0].reservation.reservation_id
    replica.bootstrap([log_pb2.LogRecord(commit=log_pb2.Resolve(reservation_id=b, order_id="O"))])
    replica.bootstrap([log_pb2.LogRecord(commit=log_pb2.Resolve(reservation_id=a, order_id="O"))])
    live_order = [v.reservation_id for v in replica.engine.reservations_of(order_id="O")]
    assert live_order == [b, a]
    replica.snapshot_now()
    replica.log.close()
    restored = new_replica(tmp_path)
    assert [v.reservation_id for v in restored.engine.reservations_of(order_id="O")] == live_order


def test_idempotency_memory_is_bounded_by_bytes(monkeypatch):
    from dompromise import limits
    from dompromise.log import MemoryLog

    monkeypatch.setattr(limits, "IDEMPOTENCY_BYTES_MAX", 20_000)
    replica = Replica(Engine(small_network()), MemoryLog())
    replica.bootstrap([stock_record(replica.engine)])
    for i in range(200):
        replica.bootstrap(
            [
                log_pb2.LogRecord(
                    request_id=f"k{i}",
                    update_on_hand=log_pb2.UpdateOnHand(
                        sku_ids=["PAD-1"] * 20, node_ids=["DC-1"] * 20, ops=[2] * 20, quantities=[0] * 20
                    ),
                )
            ]
        )
    book = replica.engine._book
    assert book._key_bytes <= 20_000
    assert "k199" in book._keys and "k0" not in book._keys


def test_cancelled_writers_do_not_stall_a_failing_log(tmp_path):
    import os

    from dompromise.errors import UnavailableError

    replica = new_replica(tmp_path)
    replica.bootstrap([stock_record(replica.engine)])

    async def run():
        await replica.start()
        os.close(replica.log._fd)
        gave_up = asyncio.ensure_future(replica.submit(reserve_at("DC-1", "x")))
        waiting = [asyncio.ensure_future(replica.submit(reserve_at("DC-1", f"y{i}"))) for i in range(2)]
        gave_up.cancel()
        results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), 5)
        for task in replica._tasks:
            task.cancel()
        return results

    results = asyncio.run(run())
    assert all(isinstance(r, UnavailableError) for r in results)


def test_a_wave_replays_and_its_answer_survives_a_snapshot(tmp_path):
    replica = new_replica(tmp_path)
    replica.bootstrap([stock_record(replica.engine)])
    wave = log_pb2.LogRecord(
        request_id="w1",
        allocate_wave=log_pb2.AllocateWave(
            orders=[
                log_pb2.WaveOrder(
                    order_id=f"O{i}", priority=i % 2, sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[3]
                )
                for i in range(5)
            ]
        ),
    )
    first = replica.bootstrap([wave])[0]
    assert sum(part.reservation is not None for part in first.parts) == 3  # 10 units, 3 each
    replayed = Replica(Engine(small_network()), FileLog(str(tmp_path)))
    replayed.recover()  # the log alone gives the same allocation
    assert replayed.engine.core.digest() == replica.engine.core.digest()
    replayed.log.close()
    replica.snapshot_now()
    replica.log.close()
    restored = new_replica(tmp_path)
    assert restored.engine.core.digest() == replica.engine.core.digest()
    retry = restored.bootstrap([log_pb2.LogRecord(request_id="w1", allocate_wave=wave.allocate_wave)])[0]
    assert retry == first
