"""Unavailable stock by reason in the core: SET_UNAVAILABLE, quarantined returns
and receipts, the sum invariant, and snapshots (including ones from before reasons)."""

import numpy as np

from dompromise._core import (
    COMMAND_KIND,
    COMMAND_RESULT,
    ITEM_STATUS,
    QUANTITY_MAX,
    RETURN_DISPOSITION,
    SUPPLY_KIND,
    UNAVAILABLE_REASON,
    Command,
    Core,
)

DAMAGED, QUARANTINED = UNAVAILABLE_REASON["DAMAGED"], UNAVAILABLE_REASON["QUARANTINED"]
INSPECTION, DISPLAY = UNAVAILABLE_REASON["INSPECTION"], UNAVAILABLE_REASON["DISPLAY"]
SET = COMMAND_KIND["SET_UNAVAILABLE"]


class Clock:
    def __init__(self):
        self.now = 10**18

    def tick(self) -> int:
        self.now += 1
        return self.now


def stocked(on_hand: int = 20) -> tuple[Core, Clock]:
    core, clock = Core(3, 2), Clock()
    core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], clock.tick(), [0, 1], [0, 0], [on_hand, on_hand], [1, 1]))
    return core, clock


def set_unavailable(core, clock, items, all_or_nothing=False) -> Command:
    """items: (sku, node, reason, quantity)."""
    sku, node, reason, quantity = zip(*items)
    command = Command(SET, clock.tick(), sku, node, quantity, reason, all_or_nothing=all_or_nothing)
    core.apply(command)
    core.check_invariants()
    return command


def reasons_at(core, sku: int, node: int) -> list[int]:
    out = np.zeros((4, 1), dtype=np.int64)
    core.gather_unavailable(np.array([sku], np.int32), np.array([node], np.int32), out)
    return out[:, 0].tolist()


def test_unavailable_is_the_sum_of_its_reasons_and_leaves_available():
    core, clock = stocked(20)
    command = set_unavailable(core, clock, [(0, 0, DAMAGED, 3), (0, 0, INSPECTION, 2), (0, 0, DISPLAY, 1)])
    assert command.status.tolist() == [ITEM_STATUS["OK"]] * 3
    assert command.available_after.tolist() == [17, 15, 14]
    assert reasons_at(core, 0, 0) == [3, 0, 2, 1]
    assert core.bucket_array("unavailable")[0, 0] == 6
    assert core.bucket_array("available")[0, 0] == 14
    assert core.bucket_array("on_hand")[0, 0] == 20  # unavailable units are still on hand


def test_a_reason_quantity_is_absolute_and_zero_clears_it():
    core, clock = stocked(20)
    set_unavailable(core, clock, [(0, 0, DAMAGED, 5)])
    set_unavailable(core, clock, [(0, 0, DAMAGED, 2)])
    assert reasons_at(core, 0, 0) == [2, 0, 0, 0]
    set_unavailable(core, clock, [(0, 0, DAMAGED, 0)])
    assert reasons_at(core, 0, 0) == [0, 0, 0, 0] and core.bucket_array("available")[0, 0] == 20


def test_a_count_above_on_hand_applies_and_available_reads_zero():
    core, clock = stocked(4)
    command = set_unavailable(core, clock, [(0, 0, DAMAGED, 9)])
    assert command.status.tolist() == [ITEM_STATUS["OK"]]
    assert core.bucket_array("available")[0, 0] == 0


def test_quarantined_returns_and_receipts_count_as_quarantined():
    core, clock = stocked(10)
    core.apply(Command(COMMAND_KIND["RETURN"], clock.tick(), [0], [0], [4], [RETURN_DISPOSITION["QUARANTINE"]]))
    core.apply(
        Command(
            COMMAND_KIND["UPSERT_SUPPLY"],
            clock.tick(),
            [0],
            [0],
            [10],
            [SUPPLY_KIND["PURCHASE_ORDER"]],
            time_ns=[clock.now + 10**12],
            ref=[0],
        )
    )
    core.apply(
        Command(
            COMMAND_KIND["RECEIVE_SUPPLY"], clock.tick(), [0], [0], [3], [RETURN_DISPOSITION["QUARANTINE"]], ref=[0]
        )
    )
    core.check_invariants()
    assert reasons_at(core, 0, 0) == [0, 7, 0, 0]
    # Releasing quarantine is a reason count like any other.
    set_unavailable(core, clock, [(0, 0, QUARANTINED, 0)])
    assert core.bucket_array("available")[0, 0] == 17


def test_unknown_ids_and_too_large_totals_are_per_item_and_all_or_nothing_undoes():
    core, clock = stocked(20)
    set_unavailable(core, clock, [(0, 0, DAMAGED, 1)])
    command = set_unavailable(
        core,
        clock,
        [
            (0, 0, DAMAGED, 4),
            (0, 0, DAMAGED, 6),
            (1, 0, INSPECTION, QUANTITY_MAX),
            (1, 0, DISPLAY, 1),
            (-1, 0, DAMAGED, 1),
            (0, 9, DAMAGED, 1),
        ],
        all_or_nothing=True,
    )
    assert command.status.tolist() == [
        ITEM_STATUS[s]
        for s in ("NOT_APPLIED", "NOT_APPLIED", "NOT_APPLIED", "QUANTITY_TOO_LARGE", "SKU_NOT_FOUND", "NODE_NOT_FOUND")
    ]
    assert command.applied_count == 0 and command.result == COMMAND_RESULT["INVALID_LINES"]
    assert reasons_at(core, 0, 0) == [1, 0, 0, 0] and reasons_at(core, 1, 0) == [0, 0, 0, 0]
    assert command.available_after.tolist()[:4] == [19, 19, 20, 20]


def test_a_reason_outside_the_enum_is_malformed_and_changes_nothing():
    core, clock = stocked(20)
    before = core.digest()
    command = Command(SET, clock.tick(), [0], [0], [1], [5])
    core.apply(command)
    assert command.status.tolist() == [ITEM_STATUS["MALFORMED"]]
    negative = Command(SET, clock.tick(), [0], [0], [-1], [DAMAGED])
    core.apply(negative)
    assert negative.status.tolist() == [ITEM_STATUS["MALFORMED"]]
    assert core.bucket_array("unavailable").sum() == 0 and core.digest() != before  # only the clock moved


def test_snapshot_round_trips_reasons_and_an_old_snapshot_reads_as_quarantined():
    core, clock = stocked(20)
    set_unavailable(core, clock, [(0, 0, DAMAGED, 2), (1, 0, DISPLAY, 3)])
    restored = Core.from_state(core.export_state())
    assert restored.digest() == core.digest() and restored.check_invariants()
    assert reasons_at(restored, 1, 0) == [0, 0, 0, 3]
    # Before reasons only quarantine made stock unavailable: a snapshot without
    # reason tables comes back with its unavailable stock quarantined.
    old = core.export_state()
    del old["reason_row"], old["reason_quantity"]
    migrated = Core.from_state(old)
    assert migrated.check_invariants()
    assert reasons_at(migrated, 0, 0) == [0, 2, 0, 0] and reasons_at(migrated, 1, 0) == [0, 3, 0, 0]
