"""Future supply through the log: replay and snapshots give the same state and supply ids."""

from __future__ import annotations

from conftest import small_network, stock_record

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine

DAY_NS = 86_400 * 10**9
T0 = 20_000 * DAY_NS


def records() -> list[log_pb2.LogRecord]:
    upsert = log_pb2.UpsertSupply(
        supply_ids=["PO-1", "TR-1", "PO-2", "BAD"],
        sku_ids=["PAD-1", "PAD-1", "OIL-1", "NOPE"],
        node_ids=["DC-1", "WH-N", "DC-1", "DC-1"],
        kinds=[2, 1, 2, 2],
        quantities=[40, 5, 7, 1],
        eta_ns=[T0 + 3 * DAY_NS, T0 + DAY_NS, T0 + 2 * DAY_NS, T0 + DAY_NS],
    )
    slip = log_pb2.UpsertSupply(
        supply_ids=["PO-1", "PO-3"],
        sku_ids=["PAD-1", "PAD-1"],
        node_ids=["DC-1", "DC-1"],
        kinds=[2, 2],
        quantities=[40, 9],
        eta_ns=[T0 + 6 * DAY_NS, T0 + 8 * DAY_NS],
    )
    backorder = log_pb2.Reserve(
        sku_ids=["PAD-1"],
        node_ids=["DC-1"],
        quantities=[45],
        ttl_ns=10 * DAY_NS,
        backorder_by_ns=[T0 + 7 * DAY_NS],
        customer_id="garage-7",
    )
    receipt = log_pb2.ReceiveSupply(supply_ids=["TR-1", "NOPE"], quantities=[5, 1], dispositions=[1, 1])
    return [
        log_pb2.LogRecord(log_time_ns=T0 + 1, upsert_supply=upsert),
        log_pb2.LogRecord(log_time_ns=T0 + 2, reserve=backorder),
        log_pb2.LogRecord(log_time_ns=T0 + 3, upsert_supply=slip),
        log_pb2.LogRecord(log_time_ns=T0 + 4, receive_supply=receipt),
    ]


def applied(engine: Engine, batch: list[log_pb2.LogRecord]) -> list:
    return [engine.apply_record(record, engine.log_position + 1) for record in batch]


def fresh() -> Engine:
    engine = Engine(small_network())
    stock = stock_record(engine)
    stock.log_time_ns = T0
    applied(engine, [stock])
    return engine


def test_supply_ids_are_numbered_in_log_order_and_unknown_items_take_none():
    engine = fresh()
    outcomes = applied(engine, records())
    assert outcomes[0].item_status == (1, 1, 1, 2)  # the unknown SKU is SKU_NOT_FOUND
    assert outcomes[1].reservation is not None  # 10 on hand + PO-1 covers 45 by day 7
    assert outcomes[3].item_status == (1, 13)
    assert engine.supply("PO-1").eta_ns == T0 + 6 * DAY_NS
    assert engine.supply("TR-1").received_quantity == 5
    assert engine.supply("PO-3").quantity == 9
    assert engine.supply("BAD") is None
    engine.core.check_invariants()


def test_replay_and_snapshot_agree():
    first, second = fresh(), fresh()
    applied(first, records())
    applied(second, records())
    assert first.core.digest() == second.core.digest()
    arrays, meta = first.export_state()
    restored = Engine.from_state(first.network, arrays, meta)
    assert restored.core.digest() == first.core.digest()
    assert restored.supply("PO-3") == first.supply("PO-3")
    more = log_pb2.LogRecord(
        log_time_ns=T0 + 5,
        upsert_supply=log_pb2.UpsertSupply(
            supply_ids=["PO-4"], sku_ids=["OIL-1"], node_ids=["WH-N"], kinds=[3], quantities=[2], eta_ns=[T0 + DAY_NS]
        ),
    )
    applied(restored, [more])
    applied(first, [more])
    assert restored.core.digest() == first.core.digest()
    assert restored.supply("PO-4") == first.supply("PO-4")
