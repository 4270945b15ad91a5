"""A catalog record that doubles the core's room, through a real LocalReplica and file log: the
copy is made in a thread before the record applies, and the state is the one a replay (which grows
inline, in add_skus) rebuilds: room is not state."""

from __future__ import annotations

import asyncio
import threading

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log.file import FileLog
from dompromise.model import document
from dompromise.model.network import Network, Node, NodeType, Sku
from dompromise.replica.local import LocalReplica

NETWORK = Network(
    nodes=tuple(Node(f"N{i}", NodeType.STORE) for i in range(5)), skus=tuple(Sku(f"S{i}") for i in range(40))
)


def upsert(first: int, count: int) -> log_pb2.LogRecord:
    documents = [document.sku_document(Sku(f"NEW-{i}", brand="Acme")) for i in range(first, first + count)]
    return log_pb2.LogRecord(upsert_skus=log_pb2.UpsertSkus(sku_documents=documents))


def test_growth_is_prepared_off_the_loop_and_replay_rebuilds_the_same_state(tmp_path):
    engine = Engine(NETWORK)
    threads: list[int] = []
    prepare = engine.prepare_rows

    def recorded(records, count):
        threads.append(threading.get_ident())
        return prepare(records, count)

    engine.prepare_rows = recorded

    async def serve() -> None:
        replica = LocalReplica(engine, FileLog(str(tmp_path)))
        await replica.start()
        try:
            stock = log_pb2.UpdateOnHand(sku_ids=["S3"], node_ids=["N1"], ops=[1], quantities=[8])
            await replica.submit(log_pb2.LogRecord(update_on_hand=stock))
            outcome = await replica.submit(upsert(0, 100))  # 40 rows -> 140: the room doubles
            assert outcome.applied_count == 100
            await replica.submit(upsert(100, 3))  # room enough: nothing copied
            new_stock = log_pb2.UpdateOnHand(sku_ids=["NEW-102"], node_ids=["N4"], ops=[1], quantities=[5])
            await replica.submit(log_pb2.LogRecord(update_on_hand=new_stock))
            reserve = log_pb2.Reserve(
                sku_ids=["NEW-102", "S3"], node_ids=["N4", "N1"], quantities=[2, 1], ttl_ns=10**15
            )
            assert (await replica.submit(log_pb2.LogRecord(reserve=reserve))).reservation is not None
        finally:
            await replica.stop()

    asyncio.run(serve())
    assert threads and threading.get_ident() not in threads, "the room was made on the loop's thread"
    assert engine.core.sku_capacity >= 143 and engine.core.sku_count == 143
    assert engine.core.check_invariants()
    replayed = LocalReplica(Engine(NETWORK), FileLog(str(tmp_path)))
    assert replayed.recover() == engine.log_position
    assert replayed.engine.state_digest() == engine.state_digest()
    answer = replayed.engine.availability(["NEW-102", "S3"], replayed.engine.node_selection())
    assert answer.totals.tolist() == [3, 7]
