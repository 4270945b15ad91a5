"""Attribute variants are numbered by the log: the same log gives the same variant
rows, the same holds and the same digest, from scratch or from a snapshot."""

from __future__ import annotations

import dataclasses

import numpy as np
from conftest import small_network, stock_record

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ON_HAND_SET, Engine
from dompromise.log import FileLog
from dompromise.replica.local import Replica

NETWORK = dataclasses.replace(small_network(), attributes=("lot", "date_code"))


def lots(*items) -> log_pb2.AttributeSet:
    keys = sorted(items[0::2])
    values = dict(zip(items[0::2], items[1::2]))
    return log_pb2.AttributeSet(keys=keys, values=[values[key] for key in keys])


def feed(rows) -> log_pb2.LogRecord:
    """rows: (sku_id, node_id, quantity, AttributeSet)."""
    return log_pb2.LogRecord(
        update_on_hand=log_pb2.UpdateOnHand(
            sku_ids=[r[0] for r in rows],
            node_ids=[r[1] for r in rows],
            ops=[ON_HAND_SET] * len(rows),
            quantities=[r[2] for r in rows],
            attributes=[r[3] for r in rows],
        )
    )


def history() -> list[log_pb2.LogRecord]:
    return [
        feed(
            [
                ("PAD-1", "DC-1", 5, lots("lot", "L2", "date_code", "2026-50")),
                ("PAD-1", "DC-1", 3, lots("lot", "L1", "date_code", "2026-44")),
                ("OIL-1", "WH-N", 8, lots("lot", "X9")),
            ]
        ),
        log_pb2.LogRecord(
            request_id="hold-1",
            reserve=log_pb2.Reserve(
                sku_ids=["PAD-1"], node_ids=["DC-1"], quantities=[14], ttl_ns=10**15, customer_id="c"
            ),
        ),
        feed([("PAD-1", "WH-N", 2, lots("lot", "L1", "date_code", "2026-44")), ("PAD-1", "DC-1", 1, lots())]),
        log_pb2.LogRecord(
            request_id="hold-2",
            reserve=log_pb2.Reserve(
                sku_ids=["PAD-1"],
                node_ids=["WH-N"],
                quantities=[2],
                ttl_ns=10**15,
                customer_id="c",
                required_attributes=[lots("lot", "L1")],
            ),
        ),
    ]


def open_replica(directory) -> Replica:
    replica = Replica(Engine(NETWORK), FileLog(str(directory)), snapshot_directory=str(directory))
    replica.recover()
    return replica


def variant_rows(engine: Engine) -> list[tuple]:
    base = len(engine.network.skus)
    return [engine.variant_attributes(row) for row in range(base, base + engine.variant_count)]


def test_replay_numbers_variants_alike_and_keeps_holds(tmp_path):
    live = open_replica(tmp_path / "a")
    live.bootstrap([stock_record(live.engine)])
    outcomes = live.bootstrap(history())
    assert [o.item_status for o in outcomes[1::2]] == [(1,), (1,)]
    first = outcomes[1].reservation
    # 10 unattributed, then L1 (date code 2026-44) before L2 (2026-50): 3 + 1 of L2.
    assert [line[2] for line in first.lines] == [10, 3, 1]
    assert [dict(values).get("lot") for values in first.line_attributes] == [None, "L1", "L2"]
    assert variant_rows(live.engine) == [
        (("date_code", "2026-50"), ("lot", "L2")),
        (("date_code", "2026-44"), ("lot", "L1")),
        (("lot", "X9"),),
    ]
    live.log.close()

    replayed = open_replica(tmp_path / "a")  # no snapshot: the whole log again
    assert replayed.engine.core.digest() == live.engine.core.digest()
    assert variant_rows(replayed.engine) == variant_rows(live.engine)
    assert replayed.engine.reservations_of(customer_id="c") == live.engine.reservations_of(customer_id="c")


def test_two_engines_applying_the_same_log_agree():
    engines = [Engine(NETWORK), Engine(NETWORK)]
    for engine in engines:
        log = [stock_record(engine), *history()]
        for position, record in enumerate(log, start=1):
            engine.apply_record(at_time(record, 10**18 + position), position)
    assert engines[0].core.digest() == engines[1].core.digest()
    assert variant_rows(engines[0]) == variant_rows(engines[1])
    assert engines[0].core.check_invariants()


def test_a_snapshot_carries_the_variants_and_replay_continues_after_it(tmp_path):
    live = open_replica(tmp_path)
    live.bootstrap([stock_record(live.engine)])
    records = history()
    live.bootstrap(records[:2])
    live.snapshot_now()
    live.bootstrap(records[2:])
    live.log.close()

    restarted = open_replica(tmp_path)
    assert restarted.engine.core.digest() == live.engine.core.digest()
    assert variant_rows(restarted.engine) == variant_rows(live.engine)
    nodes = restarted.engine.node_selection()
    for required in ((), (("lot", "L1"),), (("lot", "X9"),)):
        a = live.engine.availability(["PAD-1", "OIL-1"], nodes, required=required)
        b = restarted.engine.availability(["PAD-1", "OIL-1"], nodes, required=required)
        assert np.array_equal(a.cells, b.cells) and np.array_equal(a.totals, b.totals)
    # A new variant after the restart takes the next row on both.
    more = feed([("CABLE-1", "DC-1", 4, lots("lot", "C1"))])
    restarted.bootstrap([more])
    assert variant_rows(restarted.engine)[-1] == (("lot", "C1"),)
    assert restarted.engine.core.sku_count == len(NETWORK.skus) + 4


def test_watchers_hear_of_a_variant_change_as_its_sku():
    engine = Engine(NETWORK)
    engine.take_changed_skus()
    engine.apply_record(at_time(feed([("OIL-1", "DC-1", 3, lots("lot", "Z"))]), 1), 1)
    assert engine.take_changed_skus().tolist() == [2]  # OIL-1's index, not its variant row's


def at_time(record: log_pb2.LogRecord, time_ns: int) -> log_pb2.LogRecord:
    record.log_time_ns = time_ns
    return record
