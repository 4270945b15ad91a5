"""The core state machine: on-hand commands, derived availability, gathers."""

from __future__ import annotations

import numpy as np
import pytest

from dompromise import _core, limits
from dompromise._core import BUCKETS, ITEM_STATUS, Command, Core

UPDATE = _core.COMMAND_KIND["UPDATE_ON_HAND"]
SET = _core.ON_HAND_OP["SET"]
ADJUST = _core.ON_HAND_OP["ADJUST"]


def command(items, log_time_ns=1, all_or_nothing=False):
    """items: (sku, node, op, quantity) tuples."""
    sku, node, op, quantity = zip(*items)
    return Command(UPDATE, log_time_ns, sku, node, quantity, op, all_or_nothing)


def on_hand(core: Core) -> np.ndarray:
    return core.bucket_array("on_hand")


def test_set_then_adjust_in_order():
    core = Core(3, 2)
    cmd = command([(0, 1, SET, 10), (0, 1, ADJUST, -4), (1, 2, ADJUST, 7)])
    assert core.apply(cmd) == 1
    assert cmd.status.tolist() == [ITEM_STATUS["OK"]] * 3
    assert cmd.on_hand_after.tolist() == [10, 6, 7]
    assert on_hand(core)[0, 1] == 6
    assert on_hand(core)[1, 2] == 7
    assert cmd.applied_count == 3


def test_positions_are_sku_major():
    core = Core(4, 3)
    core.apply(command([(2, 3, SET, 99)]))
    flat = np.asarray(core.bucket_array("on_hand")).ravel()
    assert flat[2 * 4 + 3] == 99
    assert flat.sum() == 99


def test_unknown_indices_report_per_item_and_others_apply():
    core = Core(2, 2)
    cmd = command([(-1, 0, SET, 5), (0, -1, SET, 5), (0, 5, SET, 5), (1, 1, SET, 5)])
    core.apply(cmd)
    assert cmd.status.tolist() == [
        ITEM_STATUS["SKU_NOT_FOUND"],
        ITEM_STATUS["NODE_NOT_FOUND"],
        ITEM_STATUS["NODE_NOT_FOUND"],
        ITEM_STATUS["OK"],
    ]
    assert on_hand(core).sum() == 5


def test_delta_below_zero_is_refused_and_leaves_position():
    core = Core(1, 1)
    core.apply(command([(0, 0, SET, 3)]))
    cmd = command([(0, 0, ADJUST, -4)], log_time_ns=2)
    core.apply(cmd)
    assert cmd.status.tolist() == [ITEM_STATUS["NEGATIVE_QUANTITY"]]
    assert cmd.on_hand_after.tolist() == [3]
    assert on_hand(core)[0, 0] == 3


def test_quantity_max_is_enforced_and_matches_limits():
    assert _core.QUANTITY_MAX == limits.QUANTITY_MAX
    core = Core(1, 1)
    core.apply(command([(0, 0, SET, limits.QUANTITY_MAX)]))
    cmd = command([(0, 0, ADJUST, 1), (0, 0, SET, limits.QUANTITY_MAX + 1)], log_time_ns=2)
    core.apply(cmd)
    assert cmd.status.tolist() == [ITEM_STATUS["QUANTITY_TOO_LARGE"]] * 2
    assert on_hand(core)[0, 0] == limits.QUANTITY_MAX


def test_all_or_nothing_undoes_everything_on_one_failure():
    core = Core(2, 2)
    core.apply(command([(0, 0, SET, 5), (1, 1, SET, 1)]))
    before = core.digest()
    cmd = command(
        [(0, 0, ADJUST, 3), (0, 0, SET, 20), (0, 0, ADJUST, -1), (1, 1, ADJUST, -2)], log_time_ns=2, all_or_nothing=True
    )
    core.apply(cmd)
    assert cmd.status.tolist() == [ITEM_STATUS["NOT_APPLIED"]] * 3 + [ITEM_STATUS["NEGATIVE_QUANTITY"]]
    assert cmd.applied_count == 0
    assert cmd.on_hand_after.tolist() == [5, 5, 5, 1]
    assert on_hand(core)[0, 0] == 5
    # The state is as before but for the log position and clock, which advance.
    assert core.log_position == 2
    core_again = Core(2, 2)
    core_again.apply(command([(0, 0, SET, 5), (1, 1, SET, 1)]))
    assert np.array_equal(on_hand(core), on_hand(core_again))
    assert before != core.digest()


def test_all_or_nothing_applies_when_every_item_is_good():
    core = Core(1, 2)
    cmd = command([(0, 0, SET, 5), (1, 0, SET, 6)], all_or_nothing=True)
    core.apply(cmd)
    assert cmd.status.tolist() == [ITEM_STATUS["OK"]] * 2
    assert on_hand(core)[:, 0].tolist() == [5, 6]


def test_log_clock_never_goes_backwards():
    core = Core(1, 1)
    core.apply(command([(0, 0, SET, 1)], log_time_ns=100))
    with pytest.raises(AssertionError):
        core.apply(command([(0, 0, SET, 1)], log_time_ns=99))
    assert core.log_time_ns == 100
    assert core.log_position == 1


def test_gather_available_over_selected_nodes():
    core = Core(4, 3)
    core.apply(command([(s, n, SET, 10 * s + n) for s in range(3) for n in range(4)]))
    sku = np.array([2, -1, 0], dtype=np.int32)
    nodes = np.array([3, 1], dtype=np.int32)
    cells = np.empty(6, dtype=np.int64)
    totals = np.empty(3, dtype=np.int64)
    core.gather_available(sku, nodes, cells, totals)
    assert cells.tolist() == [23, 21, 0, 0, 3, 1]
    assert totals.tolist() == [44, 0, 4]


def test_gather_totals_only():
    core = Core(3, 1)
    core.apply(command([(0, n, SET, n + 1) for n in range(3)]))
    totals = np.empty(1, dtype=np.int64)
    core.gather_available(np.array([0], np.int32), np.array([0, 2], np.int32), np.empty(0, np.int64), totals)
    assert totals.tolist() == [4]


def test_gather_buckets_rows_follow_bucket_names():
    core = Core(2, 1)
    core.apply(command([(0, 1, SET, 7)]))
    out = np.empty((len(BUCKETS), 2), dtype=np.int64)
    core.gather_buckets(np.array([0], np.int32), np.array([0, 1], np.int32), out)
    row = dict(zip(BUCKETS, out.tolist()))
    assert row["on_hand"] == [0, 7]
    assert row["available"] == [0, 7]
    assert row["held"] == [0, 0]


def test_gather_rejects_wrong_dtypes_and_read_only_outputs():
    core = Core(2, 1)
    with pytest.raises(TypeError):
        core.gather_available(
            np.array([0], np.int64), np.array([0], np.int32), np.empty(1, np.int64), np.empty(1, np.int64)
        )
    with pytest.raises(TypeError):
        core.gather_available(
            np.array([0], np.int32), np.arange(4, dtype=np.int32)[::2], np.empty(2, np.int64), np.empty(1, np.int64)
        )
    read_only = np.empty(1, np.int64)
    read_only.flags.writeable = False
    with pytest.raises(ValueError):
        core.gather_available(np.array([0], np.int32), np.array([0], np.int32), np.empty(1, np.int64), read_only)


def test_gather_every_node_path_equals_the_selected_path():
    core = Core(5, 4)
    core.apply(command([(s, n, SET, 7 * s + n) for s in range(4) for n in range(5)]))
    sku = np.array([3, 0, -1, 2, 1], dtype=np.int32)
    results = []
    for nodes in (np.arange(5, dtype=np.int32), np.array([0, 1, 2, 3, 4], dtype=np.int32)[::1].copy()):
        cells, totals = np.empty(25, np.int64), np.empty(5, np.int64)
        core.gather_available(sku, nodes, cells, totals)
        results.append((cells.tolist(), totals.tolist()))
    reordered = np.array([4, 3, 2, 1, 0], dtype=np.int32)
    cells, totals = np.empty(25, np.int64), np.empty(5, np.int64)
    core.gather_available(sku, reordered, cells, totals)
    assert results[0] == results[1]
    assert totals.tolist() == results[0][1]
    assert cells.reshape(5, 5)[:, ::-1].ravel().tolist() == results[0][0]


def test_gather_rejects_node_out_of_range():
    core = Core(2, 1)
    with pytest.raises(ValueError):
        core.gather_available(
            np.array([0], np.int32), np.array([2], np.int32), np.empty(1, np.int64), np.empty(1, np.int64)
        )


def test_sellable_nodes_follow_status():
    statuses = [
        _core.NODE_STATUS["ENABLED"],
        _core.NODE_STATUS["DRAIN"],
        _core.NODE_STATUS["DISABLED"],
        _core.NODE_STATUS["ENABLED"],
    ]
    core = Core(4, 1, node_status=statuses)
    assert core.sellable_nodes().tolist() == [0, 3]


def test_digest_equal_for_equal_histories_and_differs_otherwise():
    a, b = Core(3, 3), Core(3, 3)
    for core in (a, b):
        core.apply(command([(1, 1, SET, 4), (2, 0, ADJUST, 9)]))
    assert a.digest() == b.digest()
    b.apply(command([(0, 0, ADJUST, 1)], log_time_ns=2))
    assert a.digest() != b.digest()


def test_bucket_views_are_read_only():
    core = Core(1, 1)
    view = core.bucket_array("on_hand")
    with pytest.raises(ValueError):
        view[0, 0] = 5
