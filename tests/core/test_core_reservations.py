"""Reservations in the core: holds, commit, release, extend, expiry by the log's clock."""

from __future__ import annotations

from dompromise import _core
from dompromise._core import COMMAND_KIND, COMMAND_RESULT, ITEM_STATUS, RESERVATION_STATE, Command, Core

SET = _core.ON_HAND_OP["SET"]
SECOND_NS = 1_000_000_000


def stocked(nodes=2, skus=2, quantity=10, node_status=None) -> Core:
    core = Core(nodes, skus, node_status=node_status)
    items = [(s, n) for s in range(skus) for n in range(nodes)]
    core.apply(
        Command(
            COMMAND_KIND["UPDATE_ON_HAND"],
            0,
            [s for s, _ in items],
            [n for _, n in items],
            [quantity] * len(items),
            [SET] * len(items),
        )
    )
    return core


def reserve(core, lines, at_ns, ttl_ns=60 * SECOND_NS, partial=False) -> Command:
    sku, node, quantity = zip(*lines)
    command = Command(
        COMMAND_KIND["RESERVE"], at_ns, sku, node, quantity, all_or_nothing=not partial, deadline_ns=at_ns + ttl_ns
    )
    core.apply(command)
    return command


def resolve(core, kind, reservation, at_ns, deadline_ns=0) -> Command:
    command = Command(COMMAND_KIND[kind], at_ns, reservation=reservation, deadline_ns=deadline_ns)
    core.apply(command)
    return command


def bucket(core, name, sku, node):
    return int(core.bucket_array(name)[sku, node])


def test_reserve_holds_and_reduces_available():
    core = stocked()
    cmd = reserve(core, [(0, 0, 4), (1, 1, 10)], SECOND_NS)
    assert cmd.result == COMMAND_RESULT["OK"]
    assert cmd.reservation == 0
    assert cmd.status.tolist() == [ITEM_STATUS["OK"]] * 2
    assert cmd.filled.tolist() == [4, 10]
    assert bucket(core, "held", 0, 0) == 4
    assert bucket(core, "available", 0, 0) == 6
    assert bucket(core, "available", 1, 1) == 0
    assert core.check_invariants()


def test_all_or_nothing_reserve_holds_nothing_when_a_line_is_short():
    core = stocked()
    cmd = reserve(core, [(0, 0, 4), (0, 1, 11)], SECOND_NS)
    assert cmd.result == COMMAND_RESULT["INSUFFICIENT_STOCK"]
    assert cmd.status.tolist() == [ITEM_STATUS["NOT_APPLIED"], ITEM_STATUS["INSUFFICIENT_STOCK"]]
    assert cmd.filled.tolist() == [0, 0]
    assert cmd.available_after.tolist() == [10, 10]
    assert core.reservation_count == 0
    assert core.bucket_array("held").sum() == 0


def test_partial_reserve_holds_what_there_is():
    core = stocked()
    cmd = reserve(core, [(0, 0, 4), (0, 1, 15), (-1, 0, 1)], SECOND_NS, partial=True)
    assert cmd.result == COMMAND_RESULT["OK"]
    assert cmd.status.tolist() == [ITEM_STATUS["OK"], ITEM_STATUS["PARTIALLY_FILLED"], ITEM_STATUS["SKU_NOT_FOUND"]]
    assert cmd.filled.tolist() == [4, 10, 0]
    state, _, sku, node, quantity, _, _ = core.reservation(cmd.reservation)
    assert list(zip(sku.tolist(), node.tolist(), quantity.tolist())) == [(0, 0, 4), (0, 1, 10)]


def test_same_position_twice_draws_from_one_pool():
    core = stocked()
    cmd = reserve(core, [(0, 0, 6), (0, 0, 6)], SECOND_NS)
    assert cmd.result == COMMAND_RESULT["INSUFFICIENT_STOCK"]
    assert bucket(core, "held", 0, 0) == 0


def test_no_reserve_on_a_drained_node():
    drain = _core.NODE_STATUS["DRAIN"]
    core = stocked(node_status=[_core.NODE_STATUS["ENABLED"], drain])
    cmd = reserve(core, [(0, 1, 1)], SECOND_NS)
    assert cmd.status.tolist() == [ITEM_STATUS["NODE_NOT_SELLABLE"]]
    assert cmd.result == COMMAND_RESULT["INSUFFICIENT_STOCK"]


def test_commit_moves_held_to_allocated_once():
    core = stocked()
    r = reserve(core, [(0, 0, 3)], SECOND_NS).reservation
    assert resolve(core, "COMMIT", r, 2 * SECOND_NS).result == COMMAND_RESULT["OK"]
    assert (bucket(core, "held", 0, 0), bucket(core, "allocated", 0, 0), bucket(core, "available", 0, 0)) == (0, 3, 7)
    assert resolve(core, "COMMIT", r, 3 * SECOND_NS).result == COMMAND_RESULT["RESERVATION_COMMITTED"]
    assert bucket(core, "allocated", 0, 0) == 3
    assert core.reservation(r)[0] == RESERVATION_STATE["COMMITTED"]


def test_release_frees_a_hold_and_a_commitment():
    core = stocked()
    held = reserve(core, [(0, 0, 3)], SECOND_NS).reservation
    committed = reserve(core, [(0, 0, 2)], SECOND_NS).reservation
    resolve(core, "COMMIT", committed, SECOND_NS)
    assert resolve(core, "RELEASE", held, 2 * SECOND_NS).result == COMMAND_RESULT["OK"]
    assert resolve(core, "RELEASE", committed, 2 * SECOND_NS).result == COMMAND_RESULT["OK"]
    assert bucket(core, "available", 0, 0) == 10
    assert resolve(core, "RELEASE", held, 3 * SECOND_NS).result == COMMAND_RESULT["RESERVATION_RELEASED"]
    assert resolve(core, "COMMIT", held, 3 * SECOND_NS).result == COMMAND_RESULT["RESERVATION_RELEASED"]
    assert core.check_invariants()


def test_hold_expires_by_the_log_clock_exactly_once():
    core = stocked()
    r = reserve(core, [(0, 0, 5)], 0, ttl_ns=10 * SECOND_NS).reservation
    resolve(core, "TICK", -1, 10 * SECOND_NS - 1)
    assert core.reservation(r)[0] == RESERVATION_STATE["HELD"]
    resolve(core, "TICK", -1, 10 * SECOND_NS)
    assert core.reservation(r)[0] == RESERVATION_STATE["EXPIRED"]
    assert bucket(core, "held", 0, 0) == 0
    assert resolve(core, "COMMIT", r, 11 * SECOND_NS).result == COMMAND_RESULT["RESERVATION_EXPIRED"]
    assert resolve(core, "RELEASE", r, 11 * SECOND_NS).result == COMMAND_RESULT["RESERVATION_EXPIRED"]
    assert bucket(core, "available", 0, 0) == 10
    assert core.check_invariants()


def test_any_command_expires_due_holds_before_it_applies():
    core = stocked(quantity=5)
    reserve(core, [(0, 0, 5)], 0, ttl_ns=SECOND_NS)
    # At its expiry, a new reserve of the same units succeeds.
    cmd = reserve(core, [(0, 0, 5)], SECOND_NS)
    assert cmd.result == COMMAND_RESULT["OK"]


def test_extend_moves_expiry_and_old_deadline_does_not_expire_it():
    core = stocked()
    r = reserve(core, [(0, 0, 5)], 0, ttl_ns=10 * SECOND_NS).reservation
    assert resolve(core, "EXTEND", r, SECOND_NS, deadline_ns=30 * SECOND_NS).result == COMMAND_RESULT["OK"]
    resolve(core, "TICK", -1, 20 * SECOND_NS)
    assert core.reservation(r)[0] == RESERVATION_STATE["HELD"]
    resolve(core, "TICK", -1, 30 * SECOND_NS)
    assert core.reservation(r)[0] == RESERVATION_STATE["EXPIRED"]
    assert (
        resolve(core, "EXTEND", r, 31 * SECOND_NS, deadline_ns=40 * SECOND_NS).result
        == COMMAND_RESULT["RESERVATION_EXPIRED"]
    )


def test_unknown_reservation_is_not_found():
    core = stocked()
    for kind in ("COMMIT", "RELEASE"):
        assert resolve(core, kind, 7, SECOND_NS).result == COMMAND_RESULT["RESERVATION_NOT_FOUND"]
    assert (
        resolve(core, "EXTEND", -1, SECOND_NS, deadline_ns=2 * SECOND_NS).result
        == COMMAND_RESULT["RESERVATION_NOT_FOUND"]
    )


def test_tables_grow_past_their_initial_capacity():
    core = stocked(nodes=1, skus=1, quantity=5000)
    for i in range(3000):
        assert reserve(core, [(0, 0, 1)], i, ttl_ns=10**15).result == COMMAND_RESULT["OK"]
    assert core.reservation_count == 3000
    assert bucket(core, "held", 0, 0) == 3000
    assert core.check_invariants()


def test_expiry_order_is_by_deadline_not_by_placement():
    core = stocked(nodes=1, skus=1, quantity=100)
    deadlines = [50, 10, 40, 20, 30]
    ids = [reserve(core, [(0, 0, 1)], 0, ttl_ns=d).reservation for d in deadlines]
    resolve(core, "TICK", -1, 25)
    states = [core.reservation(r)[0] for r in ids]
    expired = RESERVATION_STATE["EXPIRED"]
    assert [s == expired for s in states] == [d <= 25 for d in deadlines]


def test_malformed_commands_change_nothing_but_the_clock():
    core = stocked()
    before = core.export_state()
    malformed = [
        Command(COMMAND_KIND["RESERVE"], SECOND_NS, [0], [0], [0], deadline_ns=2 * SECOND_NS),  # quantity 0
        Command(COMMAND_KIND["RESERVE"], SECOND_NS, [0], [0], [1], deadline_ns=SECOND_NS),  # expires at once
        Command(COMMAND_KIND["RESERVE"], SECOND_NS, deadline_ns=2 * SECOND_NS),  # no lines
        Command(COMMAND_KIND["UPDATE_ON_HAND"], SECOND_NS, [0], [0], [1], [7]),  # unknown op
        Command(COMMAND_KIND["RETURN"], SECOND_NS, [0], [0], [1], [9]),  # unknown disposition
        Command(COMMAND_KIND["SET_NODE_STATUS"], SECOND_NS, [0], [0], [0], [4]),  # unknown status
        Command(99, SECOND_NS),  # unknown kind
    ]
    for command in malformed:
        core.apply(command)
        assert command.result == COMMAND_RESULT["MALFORMED"]
        assert set(command.status.tolist()) <= {ITEM_STATUS["MALFORMED"]}
    after = core.export_state()
    for name in ("on_hand", "held", "available", "reservation_state", "node_status"):
        assert (after[name] == before[name]).all()
    assert core.log_position == before["clock"][0] + len(malformed)


def test_node_status_command_changes_what_sells():
    core = stocked()
    command = Command(
        COMMAND_KIND["SET_NODE_STATUS"],
        SECOND_NS,
        [0, 0],
        [1, 5],
        [0, 0],
        [_core.NODE_STATUS["DRAIN"], _core.NODE_STATUS["ENABLED"]],
    )
    core.apply(command)
    assert command.status.tolist() == [ITEM_STATUS["OK"], ITEM_STATUS["NODE_NOT_FOUND"]]
    assert core.sellable_nodes().tolist() == [0]
    assert reserve(core, [(0, 1, 1)], 2 * SECOND_NS).status.tolist() == [ITEM_STATUS["NODE_NOT_SELLABLE"]]


def change_lines(core, kind, reservation, items, at_ns) -> Command:
    lines, quantities = zip(*items)
    command = Command(
        COMMAND_KIND[kind], at_ns, [0] * len(items), [0] * len(items), quantities, reservation=reservation, line=lines
    )
    core.apply(command)
    return command


def test_ship_takes_stock_out_of_allocated_and_on_hand_line_by_line():
    core = stocked()
    r = reserve(core, [(0, 0, 4), (1, 1, 3)], SECOND_NS).reservation
    assert change_lines(core, "SHIP", r, [(0, 1)], SECOND_NS).result == COMMAND_RESULT["RESERVATION_NOT_COMMITTED"]
    resolve(core, "COMMIT", r, SECOND_NS)
    cmd = change_lines(core, "SHIP", r, [(0, 3), (1, 3)], 2 * SECOND_NS)
    assert cmd.result == COMMAND_RESULT["OK"]
    assert (bucket(core, "on_hand", 0, 0), bucket(core, "allocated", 0, 0), bucket(core, "available", 0, 0)) == (
        7,
        1,
        6,
    )
    state, _, _, _, open_quantity, shipped, _ = core.reservation(r)
    assert state == RESERVATION_STATE["COMMITTED"]
    assert open_quantity.tolist() == [1, 0] and shipped.tolist() == [3, 3]
    change_lines(core, "SHIP", r, [(0, 1)], 3 * SECOND_NS)
    assert core.reservation(r)[0] == RESERVATION_STATE["SHIPPED"]
    assert resolve(core, "RELEASE", r, 4 * SECOND_NS).result == COMMAND_RESULT["RESERVATION_SHIPPED"]
    assert core.check_invariants()


def test_ship_or_cancel_beyond_the_open_quantity_applies_nothing():
    core = stocked()
    r = reserve(core, [(0, 0, 4)], SECOND_NS).reservation
    resolve(core, "COMMIT", r, SECOND_NS)
    before = core.export_state()["allocated"].copy()
    cmd = change_lines(core, "SHIP", r, [(0, 2), (0, 3), (5, 1)], 2 * SECOND_NS)
    assert cmd.result == COMMAND_RESULT["INVALID_LINES"]
    assert cmd.status.tolist() == [
        ITEM_STATUS["NOT_APPLIED"],
        ITEM_STATUS["EXCEEDS_OPEN_QUANTITY"],
        ITEM_STATUS["LINE_NOT_FOUND"],
    ]
    assert (core.export_state()["allocated"] == before).all()


def test_cancel_lines_frees_holds_and_all_cancelled_is_released():
    core = stocked()
    r = reserve(core, [(0, 0, 4), (0, 1, 2)], SECOND_NS).reservation
    assert change_lines(core, "CANCEL_LINES", r, [(0, 1)], SECOND_NS).result == COMMAND_RESULT["OK"]
    assert bucket(core, "held", 0, 0) == 3
    change_lines(core, "CANCEL_LINES", r, [(0, 3), (1, 2)], SECOND_NS)
    assert core.reservation(r)[0] == RESERVATION_STATE["RELEASED"]
    assert core.bucket_array("held").sum() == 0
    assert core.check_invariants()


def test_returns_restock_sellable_or_quarantined():
    core = stocked()
    disposition = _core.RETURN_DISPOSITION
    cmd = Command(
        COMMAND_KIND["RETURN"],
        SECOND_NS,
        [0, 0, -1],
        [0, 1, 0],
        [2, 5, 1],
        [disposition["SELLABLE"], disposition["QUARANTINE"], disposition["SELLABLE"]],
    )
    core.apply(cmd)
    assert cmd.status.tolist() == [ITEM_STATUS["OK"], ITEM_STATUS["OK"], ITEM_STATUS["SKU_NOT_FOUND"]]
    assert (bucket(core, "on_hand", 0, 0), bucket(core, "available", 0, 0)) == (12, 12)
    assert (bucket(core, "on_hand", 0, 1), bucket(core, "unavailable", 0, 1), bucket(core, "available", 0, 1)) == (
        15,
        5,
        10,
    )
    assert core.check_invariants()
