"""Future supply in the core: purchase orders, in-transit and transfers with ETAs,
receipts, backorders against them, and time-phased availability."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise._core import (
    COMMAND_KIND,
    COMMAND_RESULT,
    EARLIEST,
    ITEM_STATUS,
    RESERVATION_STATE,
    RETURN_DISPOSITION,
    SUPPLY_ALL_KINDS,
    SUPPLY_KIND,
    Command,
    Core,
)

DAY_NS = 86_400 * 10**9
T0 = 1_000 * DAY_NS  # the log's clock at the start of every test
PO = SUPPLY_KIND["PURCHASE_ORDER"]
TRANSIT = SUPPLY_KIND["IN_TRANSIT"]
TRANSFER = SUPPLY_KIND["TRANSFER"]
HOUR_NS = 3_600 * 10**9


def day(n: float) -> int:
    return T0 + int(n * DAY_NS)


class Clock:
    def __init__(self):
        self.now = T0

    def tick(self) -> int:
        self.now += 1
        return self.now


def core_with(on_hand: int, nodes: int = 2, skus: int = 2) -> tuple[Core, Clock]:
    core, clock = Core(nodes, skus), Clock()
    if on_hand:
        command = Command(COMMAND_KIND["UPDATE_ON_HAND"], clock.tick(), [0], [0], [on_hand], [1])
        core.apply(command)
    return core, clock


def upsert(core, clock, ref, quantity, eta_ns, kind=PO, sku=0, node=0, all_or_nothing=False):
    command = Command(
        COMMAND_KIND["UPSERT_SUPPLY"],
        clock.tick(),
        [sku],
        [node],
        [quantity],
        [kind],
        all_or_nothing=all_or_nothing,
        time_ns=[eta_ns],
        ref=[ref],
    )
    core.apply(command)
    core.check_invariants()
    return command


def receive(core, clock, ref, quantity, quarantine=False):
    disposition = RETURN_DISPOSITION["QUARANTINE" if quarantine else "SELLABLE"]
    command = Command(COMMAND_KIND["RECEIVE_SUPPLY"], clock.tick(), [0], [0], [quantity], [disposition], ref=[ref])
    core.apply(command)
    core.check_invariants()
    return command


def reserve(core, clock, quantity, due_ns=0, sku=0, node=0, ttl_ns=DAY_NS * 30):
    now = clock.tick()
    command = Command(
        COMMAND_KIND["RESERVE"],
        now,
        [sku],
        [node],
        [quantity],
        all_or_nothing=True,
        deadline_ns=now + ttl_ns,
        time_ns=[due_ns],
    )
    core.apply(command)
    core.check_invariants()
    return command


def phased(core, boundaries, sku=0, nodes=(0,), kind_mask=SUPPLY_ALL_KINDS, wanted=0):
    boundaries = np.asarray(boundaries, dtype=np.int64)
    nodes = np.asarray(nodes, dtype=np.int32)
    cells = np.empty(len(nodes) * len(boundaries), dtype=np.int64)
    totals = np.empty(len(boundaries), dtype=np.int64)
    earliest = np.empty(len(nodes), dtype=np.int64)
    core.gather_phased(
        np.array([sku], np.int32), nodes, boundaries, kind_mask, np.array([wanted], np.int64), cells, totals, earliest
    )
    assert totals.tolist() == cells.reshape(len(nodes), len(boundaries)).sum(axis=0).tolist()
    only_totals, earliest_again = np.empty(len(boundaries), dtype=np.int64), np.empty(len(nodes), dtype=np.int64)
    core.gather_phased(
        np.array([sku], np.int32),
        nodes,
        boundaries,
        kind_mask,
        np.array([wanted], np.int64),
        np.empty(0, np.int64),
        only_totals,
        earliest_again,
    )
    assert only_totals.tolist() == totals.tolist() and earliest_again.tolist() == earliest.tolist()
    return cells.reshape(len(nodes), len(boundaries)).tolist(), earliest.tolist()


def available_now(core, sku=0, node=0) -> int:
    return int(core.bucket_array("available")[sku, node])


DAYS = [day(n) for n in range(1, 11)]  # bucket ends: day 1 .. day 10


def test_a_purchase_order_counts_from_its_eta_bucket_on():
    core, clock = core_with(5)
    command = upsert(core, clock, 0, 20, day(3.5))
    assert command.status.tolist() == [ITEM_STATUS["OK"]]
    cells, _ = phased(core, DAYS)
    assert cells == [[5, 5, 5, 25, 25, 25, 25, 25, 25, 25]]
    assert available_now(core) == 5  # future supply is never sellable now
    assert core.supply(0)[2:] == (PO, day(3.5), 20, 0)


def test_an_eta_change_moves_exactly_that_supply():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(2.5))
    upsert(core, clock, 1, 7, day(5.5), kind=TRANSIT)
    upsert(core, clock, 0, 10, day(7.5))  # the PO slips five days
    cells, _ = phased(core, DAYS)
    assert cells == [[0, 0, 0, 0, 0, 7, 7, 17, 17, 17]]


def test_cancelling_a_supply_removes_it_and_it_can_come_back():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(2.5))
    upsert(core, clock, 0, 0, day(2.5))
    assert phased(core, DAYS)[0] == [[0] * 10]
    upsert(core, clock, 0, 4, day(4.5))
    assert phased(core, DAYS)[0][0][4] == 4


def test_a_partial_receipt_moves_units_from_the_supply_to_on_hand():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(2.5))
    command = receive(core, clock, 0, 4)
    assert command.filled.tolist() == [4]
    assert command.on_hand_after.tolist() == [4]
    assert core.supply(0)[4:] == (6, 4)
    cells, _ = phased(core, DAYS)
    assert cells == [[4, 4, 10, 10, 10, 10, 10, 10, 10, 10]]


def test_an_over_receipt_closes_the_supply_and_keeps_every_unit():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(2.5))
    command = receive(core, clock, 0, 12)
    assert command.filled.tolist() == [10]
    assert core.supply(0)[4:] == (0, 12)
    assert available_now(core) == 12
    assert core.position_plan(0, 0) == ([], [])


def test_quarantined_receipts_are_on_hand_but_not_sellable():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(2.5))
    receive(core, clock, 0, 10, quarantine=True)
    assert core.bucket_array("on_hand")[0, 0] == 10
    assert available_now(core) == 0


def test_receiving_an_unknown_supply_changes_nothing():
    core, clock = core_with(3)
    command = receive(core, clock, 5, 1)
    assert command.status.tolist() == [ITEM_STATUS["SUPPLY_NOT_FOUND"]]
    assert command.result == COMMAND_RESULT["INVALID_LINES"]
    assert core.bucket_array("on_hand")[0, 0] == 3


def test_a_supply_cannot_move_to_another_position_or_appear_twice():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(2.5))
    moved = upsert(core, clock, 0, 10, day(2.5), sku=1)
    assert moved.status.tolist() == [ITEM_STATUS["SUPPLY_CONFLICT"]]
    twice = Command(
        COMMAND_KIND["UPSERT_SUPPLY"],
        clock.tick(),
        [0, 0],
        [0, 0],
        [1, 2],
        [PO, PO],
        time_ns=[day(1), day(2)],
        ref=[0, 0],
        all_or_nothing=True,
    )
    core.apply(twice)
    assert twice.status.tolist() == [ITEM_STATUS["NOT_APPLIED"], ITEM_STATUS["SUPPLY_CONFLICT"]]
    assert core.supply(0)[4] == 10


def test_an_upsert_without_a_real_eta_is_malformed():
    core, clock = core_with(0)
    command = upsert(core, clock, 0, 10, 0)
    assert command.result == COMMAND_RESULT["MALFORMED"]
    assert core.supply_count == 0


def test_a_backorder_takes_future_supply_once():
    core, clock = core_with(2)
    upsert(core, clock, 0, 10, day(3.5))
    first = reserve(core, clock, 8, due_ns=day(5))
    assert first.result == COMMAND_RESULT["OK"]
    assert core.reservation(first.reservation)[6].tolist() == [day(5)]
    # The on-hand units stay sellable now: the PO covers the backorder by its date.
    assert available_now(core) == 2
    second = reserve(core, clock, 8, due_ns=day(5))
    assert second.result == COMMAND_RESULT["INSUFFICIENT_STOCK"]
    third = reserve(core, clock, 4, due_ns=day(6))
    assert third.result == COMMAND_RESULT["OK"]
    # 2 + 10 - 8 - 4 = 0 left at every date; and now nothing, since day 6 would go short.
    assert phased(core, DAYS)[0] == [[0] * 10]
    assert available_now(core) == 0


def test_a_backorder_date_before_the_eta_is_refused():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(3.5))
    assert reserve(core, clock, 1, due_ns=day(2)).result == COMMAND_RESULT["INSUFFICIENT_STOCK"]
    assert reserve(core, clock, 1, due_ns=day(4)).result == COMMAND_RESULT["OK"]


def test_releasing_a_backorder_gives_its_supply_back():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(3.5))
    held = reserve(core, clock, 10, due_ns=day(4))
    assert phased(core, DAYS)[0][0][9] == 0
    core.apply(Command(COMMAND_KIND["RELEASE"], clock.tick(), reservation=held.reservation))
    core.check_invariants()
    assert phased(core, DAYS)[0][0][9] == 10


def test_an_expired_backorder_gives_its_supply_back():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(3.5))
    reserve(core, clock, 10, due_ns=day(4), ttl_ns=HOUR_NS)
    clock.now += 2 * HOUR_NS
    core.apply(Command(COMMAND_KIND["TICK"], clock.tick()))
    core.check_invariants()
    assert phased(core, DAYS)[0][0][9] == 10


def test_a_committed_backorder_ships_from_the_receipt():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(3.5))
    held = reserve(core, clock, 6, due_ns=day(4))
    core.apply(Command(COMMAND_KIND["COMMIT"], clock.tick(), reservation=held.reservation))
    assert core.bucket_array("allocated")[0, 0] == 0  # demand at a date, not allocated stock
    receive(core, clock, 0, 10)
    assert available_now(core) == 4
    ship = Command(COMMAND_KIND["SHIP"], clock.tick(), [0], [0], [6], reservation=held.reservation, line=[0])
    core.apply(ship)
    core.check_invariants()
    assert ship.result == COMMAND_RESULT["OK"]
    assert core.bucket_array("on_hand")[0, 0] == 4
    assert available_now(core) == 4
    assert core.reservation(held.reservation)[0] == RESERVATION_STATE["SHIPPED"]
    assert core.position_plan(0, 0) == ([], [])


def test_a_slipping_eta_leaves_the_backorder_short_and_nothing_sellable():
    core, clock = core_with(3)
    upsert(core, clock, 0, 10, day(3.5))
    reserve(core, clock, 12, due_ns=day(5))
    upsert(core, clock, 0, 10, day(8.5))  # a fact from the supplier: it cannot be refused
    assert available_now(core) == 0
    cells, earliest = phased(core, DAYS, wanted=1)
    assert cells == [[0] * 8 + [1, 1]]
    assert earliest == [day(8.5)]  # from then on, 3 + 10 - 12 = 1 unit is free


def test_earliest_date_for_a_quantity():
    core, clock = core_with(2)
    upsert(core, clock, 0, 5, day(2.5), kind=TRANSIT)
    upsert(core, clock, 1, 5, day(6.5))
    assert phased(core, DAYS, wanted=2)[1] == [EARLIEST["NOW"]]
    assert phased(core, DAYS, wanted=7)[1] == [day(2.5)]
    assert phased(core, DAYS, wanted=12)[1] == [day(6.5)]
    assert phased(core, DAYS, wanted=13)[1] == [EARLIEST["NEVER"]]


def test_the_kind_mask_leaves_out_supply_kinds():
    core, clock = core_with(1)
    upsert(core, clock, 0, 5, day(2.5), kind=TRANSIT)
    upsert(core, clock, 1, 7, day(3.5), kind=PO)
    upsert(core, clock, 2, 11, day(4.5), kind=TRANSFER)
    in_transit_only = 1 << TRANSIT
    assert phased(core, DAYS, kind_mask=in_transit_only)[0] == [[1, 1, 6, 6, 6, 6, 6, 6, 6, 6]]
    assert phased(core, DAYS, kind_mask=0)[0] == [[1] * 10]
    assert phased(core, DAYS)[0] == [[1, 1, 6, 13, 24, 24, 24, 24, 24, 24]]


def test_overdue_supply_counts_from_the_first_bucket():
    core, clock = core_with(0)
    upsert(core, clock, 0, 5, day(-2))
    assert phased(core, DAYS)[0] == [[5] * 10]
    assert available_now(core) == 0


def test_all_or_nothing_reserve_undoes_a_backorder_line():
    core, clock = core_with(0)
    upsert(core, clock, 0, 10, day(3.5))
    now = clock.tick()
    command = Command(
        COMMAND_KIND["RESERVE"],
        now,
        [0, 1],
        [0, 0],
        [5, 5],
        all_or_nothing=True,
        deadline_ns=now + DAY_NS,
        time_ns=[day(4), day(4)],
    )
    core.apply(command)
    core.check_invariants()
    assert command.status.tolist() == [ITEM_STATUS["NOT_APPLIED"], ITEM_STATUS["INSUFFICIENT_STOCK"]]
    assert core.position_plan(0, 0)[1] == []
    assert core.reservation_count == 0


def test_snapshot_state_round_trips_supply_and_backorders():
    core, clock = core_with(4)
    upsert(core, clock, 0, 10, day(3.5))
    upsert(core, clock, 1, 3, day(1.5), kind=TRANSIT)
    reserve(core, clock, 9, due_ns=day(5))
    copy = Core.from_state(core.export_state())
    assert copy.digest() == core.digest()
    copy.check_invariants()
    assert phased(copy, DAYS) == phased(core, DAYS)
    # And it goes on the same way.
    upsert(core, clock, 2, 1, day(2))
    clock.now -= 1
    upsert(copy, clock, 2, 1, day(2))
    assert copy.digest() == core.digest()


# ---- property: time-phased ATP never exceeds supply at any date ----------------

events = st.lists(
    st.one_of(
        st.tuples(
            st.just("upsert"),
            st.integers(0, 5),
            st.integers(0, 30),
            st.integers(-2, 12),
            st.sampled_from([TRANSIT, PO, TRANSFER]),
        ),
        st.tuples(st.just("receive"), st.integers(0, 5), st.integers(1, 30)),
        st.tuples(st.just("backorder"), st.integers(1, 25), st.integers(0, 12)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("on_hand"), st.integers(0, 40)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(events, st.integers(0, 40))
def test_phased_availability_never_exceeds_supply_and_matches_a_model(steps, start):
    core, clock = core_with(start)
    supplies: dict[int, tuple[int, int]] = {}  # ref -> (open quantity, eta_ns)
    for step in steps:
        if step[0] == "upsert":
            _, ref, quantity, eta_day, kind = step
            ref = min(ref, core.supply_count)
            upsert(core, clock, ref, quantity, day(eta_day + 0.5), kind)
        elif step[0] == "receive" and core.supply_count:
            receive(core, clock, step[1] % core.supply_count, step[2])
        elif step[0] == "backorder":
            reserve(core, clock, step[1], due_ns=day(step[2]))
        elif step[0] == "release" and core.reservation_count:
            core.apply(Command(COMMAND_KIND["RELEASE"], clock.tick(), reservation=step[1] % core.reservation_count))
        elif step[0] == "on_hand":
            core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], clock.tick(), [0], [0], [step[1]], [1]))
        core.check_invariants()
    for ref in range(core.supply_count):
        supplies[ref] = (core.supply(ref)[4], core.supply(ref)[3])
    boundaries = [day(n) for n in range(-1, 14)]
    cells, _ = phased(core, boundaries)
    net = core.net_on_hand(0, 0)
    _, backorders = core.position_plan(0, 0)
    # The model: the lowest cumulative balance at or after each boundary.
    timeline = sorted(
        [(eta, 0, quantity) for quantity, eta in supplies.values() if quantity > 0]
        + [(due, 1, -quantity) for _, due, quantity in backorders]
    )
    for k, boundary in enumerate(boundaries):
        supply_by_then = max(net, 0) + sum(q for eta, kind, q in timeline if kind == 0 and eta <= boundary)
        assert cells[0][k] <= supply_by_then
        balance = net + sum(q for eta, _, q in timeline if eta <= boundary)
        lowest = balance
        for eta, _, q in timeline:
            if eta > boundary:
                balance += q
                lowest = min(lowest, balance)
        assert cells[0][k] == max(lowest, 0)
        if k:
            assert cells[0][k] >= cells[0][k - 1]
    assert available_now(core) <= cells[0][0] or not timeline


def test_the_change_journal_names_each_written_sku_once():
    core, clock = core_with(0, skus=3)
    core.take_changed_skus()
    command = Command(COMMAND_KIND["UPDATE_ON_HAND"], clock.tick(), [2, 0, 2], [0, 1, 1], [1, 1, 1], [1, 1, 1])
    core.apply(command)
    upsert(core, clock, 0, 5, day(2), sku=1)
    assert core.take_changed_skus().tolist() == [2, 0, 1]
    assert core.take_changed_skus().tolist() == []
    held = reserve(core, clock, 1, sku=2, ttl_ns=HOUR_NS)
    core.take_changed_skus()
    clock.now += 2 * HOUR_NS
    core.apply(Command(COMMAND_KIND["TICK"], clock.tick()))  # the hold expires: SKU 2 changes
    assert core.take_changed_skus().tolist() == [2]
    assert core.reservation(held.reservation)[0] == RESERVATION_STATE["EXPIRED"]
