"""Core.prepare_rows / install_rows: the copy of a doubling made in another thread while reads go
on, put in on the applying thread; refused (nothing changed) if a write came between. Room is not
state: a core grown this way has the digest of one grown in add_skus, and of one built at that size."""

from __future__ import annotations

import threading

import numpy as np

from dompromise._core import COMMAND_KIND, Command, Core

NODES = 4
T0 = 10**18


def stocked(rows: int) -> Core:
    core = Core(NODES, rows)
    skus = list(range(rows))
    core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], T0, skus, [1] * rows, [5] * rows, [1] * rows, ref=[0] * rows))
    core.apply(Command(COMMAND_KIND["RESERVE"], T0 + 1, [rows - 1], [1], [2], deadline_ns=T0 + 10**12))
    return core


def test_a_growth_prepared_in_a_thread_is_the_growth_add_skus_makes():
    prepared_core, plain_core = stocked(50), stocked(50)
    reads: list[int] = []
    stop = threading.Event()

    def prepare(into: list) -> None:
        into.append(prepared_core.prepare_rows(30))
        stop.set()

    result: list = []
    thread = threading.Thread(target=prepare, args=(result,))
    thread.start()
    while True:  # reads of the old tables go on meanwhile
        reads.append(int(prepared_core.bucket_array("available")[49, 1]))
        if stop.is_set():
            break
    thread.join()
    assert reads and set(reads) == {3}
    assert prepared_core.sku_capacity == 50, "nothing put in before install_rows"
    replaced = prepared_core.install_rows(result[0])
    assert replaced is not None and len(replaced) >= 10  # the old buffers, for the caller to drop
    assert prepared_core.sku_capacity >= 80
    assert prepared_core.add_skus(30) == plain_core.add_skus(30) == 50
    assert prepared_core.digest() == plain_core.digest()
    assert prepared_core.check_invariants()
    assert (prepared_core.bucket_array("on_hand")[50:] == 0).all()
    # The new rows take writes like any other.
    prepared_core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], T0 + 2, [79], [3], [7], [1], ref=[0]))
    assert prepared_core.bucket_array("available")[79, 3] == 7


def test_room_doubles_so_most_additions_copy_nothing():
    core = Core(NODES, 100)
    capacities = set()
    for _ in range(100):
        core.add_skus(10)
        capacities.add(core.sku_capacity)
    assert core.sku_count == 1100
    assert len(capacities) <= 4, capacities  # 100 -> 216 -> 448 -> 912 -> 1840: a handful of copies
    # With room, prepare_rows has nothing to copy (it only maps the rows' memory).
    assert core.prepare_rows(10) is None


def test_a_prepared_growth_is_refused_after_a_write_and_add_skus_still_grows():
    core = stocked(20)
    prepared = core.prepare_rows(5)
    assert prepared is not None
    core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], T0 + 2, [3], [2], [9], [1], ref=[0]))
    assert core.install_rows(prepared) is None
    assert core.sku_capacity == 20
    assert core.add_skus(5) == 20
    assert core.bucket_array("on_hand")[3, 2] == 9 and core.check_invariants()
    other = stocked(20)
    assert core.install_rows(other.prepare_rows(5)) is None, "another core's growth"


def test_a_prepared_growth_keeps_feed_sequences_and_matches_a_core_built_at_that_size():
    grown, built = Core(NODES, 10), Core(NODES, 16)
    for core in (grown, built):
        core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], T0, [2], [1], [4], [1], ref=[1], time_ns=[5]))
    assert grown.install_rows(grown.prepare_rows(6)) is not None
    grown.add_skus(6)
    assert grown.digest() == built.digest()
    stale = Command(COMMAND_KIND["UPDATE_ON_HAND"], T0 + 1, [2, 15], [1, 0], [9, 1], [1, 1], ref=[1, 1], time_ns=[4, 1])
    grown.apply(stale)
    assert np.asarray(stale.status).tolist()[0] != 1, "the old row's feed sequence was kept"
    assert grown.bucket_array("on_hand")[15, 0] == 1
