"""Snapshots taken before the core kept future supply as records still restore.

Format 3 stores the supply tables by supply index: six columns and each
position's list head, links naming supplies. The core now keeps the walked
fields in 32-byte records laid out its own way, but a snapshot still holds
exactly those columns, so the format is unchanged and an upgraded replica
restarts from a snapshot its predecessor wrote without losing state. The
columns and digest below are what the build before the records (038db32)
wrote and computed for the records of test_supply_replay.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_supply_replay import DAY_NS, T0, applied, fresh, records

from dompromise._core import SUPPLY_ALL_KINDS
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log.snapshot import FORMAT_VERSION, load_latest, write_snapshot

# Written by 038db32 for fresh() + records(): PO-1, TR-1, PO-2, PO-3 (TR-1 received, closed).
OLD_SUPPLY_COLUMNS = {
    "supply_position": np.array([0, 1, 10, 0], dtype=np.int64),
    "supply_eta_ns": np.array(
        [1728518400000000000, 1728086400000000000, 1728172800000000000, 1728691200000000000], dtype=np.int64
    ),
    "supply_quantity": np.array([40, 0, 7, 9], dtype=np.int64),
    "supply_received": np.array([0, 5, 0, 0], dtype=np.int64),
    "supply_kind": np.array([2, 1, 2, 2], dtype=np.uint8),
    "supply_next": np.array([3, -2, -1, -1], dtype=np.int64),  # PO-1 -> PO-3; TR-1 not listed
}
OLD_HEADS = {0: 0, 10: 2}  # position -> first supply; -1 everywhere else
OLD_DIGEST = "d03ce9ccb4b371bdf36232e015abda4a"


def old_snapshot_arrays() -> tuple[dict[str, np.ndarray], dict]:
    """A format-3 snapshot's arrays with the supply tables exactly as the old build wrote them."""
    engine = fresh()
    applied(engine, records())
    arrays, meta = engine.export_state()
    head = np.full(arrays["supply_head"].shape, -1, dtype=np.int64)
    for position, supply in OLD_HEADS.items():
        head[position] = supply
    arrays.update(OLD_SUPPLY_COLUMNS, supply_head=head)
    return arrays, meta


def phased_answer(engine: Engine) -> tuple[list, list, list]:
    core, skus, buckets = engine.core, np.array([0, 5], np.int32), 9
    nodes = np.arange(core.node_count, dtype=np.int32)
    cells = np.empty(skus.size * nodes.size * buckets, np.int64)
    totals, earliest = np.empty(skus.size * buckets, np.int64), np.empty(skus.size * nodes.size, np.int64)
    boundaries = np.array([T0 + k * DAY_NS for k in range(1, buckets + 1)], np.int64)
    core.gather_phased(
        skus, nodes, boundaries, SUPPLY_ALL_KINDS, np.full(skus.size, 40, np.int64), cells, totals, earliest
    )
    return cells.tolist(), totals.tolist(), earliest.tolist()


def test_the_snapshot_format_is_unchanged():
    assert FORMAT_VERSION == 3
    engine = fresh()
    applied(engine, records())
    arrays, _ = engine.export_state()
    old, _ = old_snapshot_arrays()
    for name in list(OLD_SUPPLY_COLUMNS) + ["supply_head"]:
        assert arrays[name].dtype == old[name].dtype and np.array_equal(arrays[name], old[name]), name
    assert engine.core.digest() == OLD_DIGEST


def test_a_snapshot_written_before_the_records_restores_and_goes_on(tmp_path):
    arrays, meta = old_snapshot_arrays()
    write_snapshot(str(tmp_path), 4, arrays, meta)
    loaded_meta, loaded = load_latest(str(tmp_path))
    assert loaded_meta["format_version"] == 3
    restored = Engine.from_state(fresh().network, loaded, loaded_meta)
    restored.core.check_invariants()
    assert restored.core.digest() == OLD_DIGEST
    # The records moved (PO-3 now sits beside PO-1), the answers did not.
    assert restored.core.supply_layout().tolist() == [0, 3, 2, 1]
    assert restored.supply("PO-1").eta_ns == T0 + 6 * DAY_NS
    assert restored.supply("TR-1").received_quantity == 5 and restored.supply("TR-1").quantity == 0
    assert restored.supply("PO-3").quantity == 9
    never_restored = fresh()
    applied(never_restored, records())
    assert restored.core.position_plan(0, 0) == never_restored.core.position_plan(0, 0)
    phased = [phased_answer(engine) for engine in (restored, never_restored)]
    assert phased[0] == phased[1]
    # Both take the next records alike.
    more = log_pb2.LogRecord(
        log_time_ns=T0 + 5,
        upsert_supply=log_pb2.UpsertSupply(
            supply_ids=["PO-4", "PO-3"],
            sku_ids=["PAD-1", "PAD-1"],
            node_ids=["DC-1", "DC-1"],
            kinds=[3, 2],
            quantities=[2, 0],
            eta_ns=[T0 + DAY_NS, T0 + 8 * DAY_NS],
        ),
    )
    applied(restored, [more])
    applied(never_restored, [more])
    assert restored.core.digest() == never_restored.core.digest()
    assert restored.supply("PO-4") == never_restored.supply("PO-4")


def test_a_snapshot_whose_links_disagree_with_its_columns_is_refused():
    arrays, meta = old_snapshot_arrays()
    arrays["supply_next"] = np.array([-1, -2, -1, -1], dtype=np.int64)  # PO-3 dropped from PO-1's list
    with pytest.raises(AssertionError, match="supply links"):
        Engine.from_state(fresh().network, arrays, meta)
