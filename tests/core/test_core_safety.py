"""Safety stock in the core: rules per SKU x node, per SKU and per node, the most
specific winning; and reserve floors (stock a line must leave for others)."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dompromise._core import (
    COMMAND_KIND,
    COMMAND_RESULT,
    ITEM_STATUS,
    ON_HAND_OP,
    SAFETY_STOCK_CLEAR,
    SAFETY_STOCK_SCOPE,
    SUPPLY_KIND,
    Command,
    Core,
)

POSITION, SKU, NODE = (SAFETY_STOCK_SCOPE[name] for name in ("POSITION", "SKU", "NODE"))
CLEAR = SAFETY_STOCK_CLEAR
OK = ITEM_STATUS["OK"]
DAY_NS = 86_400 * 10**9


class Clock:
    def __init__(self):
        self.now = 1_000 * DAY_NS

    def tick(self) -> int:
        self.now += 1
        return self.now


def stocked(on_hand: int = 100, nodes: int = 3, skus: int = 3) -> tuple[Core, Clock]:
    """Every position with `on_hand` units."""
    core, clock = Core(nodes, skus), Clock()
    sku = np.repeat(np.arange(skus), nodes)
    node = np.tile(np.arange(nodes), skus)
    core.apply(
        Command(
            COMMAND_KIND["UPDATE_ON_HAND"],
            clock.tick(),
            sku,
            node,
            [on_hand] * len(sku),
            [ON_HAND_OP["SET"]] * len(sku),
        )
    )
    core.take_changed_skus()
    return core, clock


def set_rules(core: Core, clock: Clock, *rules, all_or_nothing=False) -> Command:
    """rules: (scope, sku, node, quantity); the index a scope does not use is ignored (pass -1)."""
    scope, sku, node, quantity = zip(*rules)
    command = Command(
        COMMAND_KIND["SET_SAFETY_STOCK"], clock.tick(), sku, node, quantity, scope, all_or_nothing=all_or_nothing
    )
    core.apply(command)
    core.check_invariants()
    return command


def safety(core: Core) -> list[list[int]]:
    return core.bucket_array("safety_stock").tolist()


def available(core: Core) -> list[list[int]]:
    return core.bucket_array("available").tolist()


def test_the_most_specific_rule_wins_sku_by_node_then_sku_then_node():
    core, clock = stocked()
    set_rules(core, clock, (NODE, -1, 1, 5))  # node 1: 5 of every SKU
    set_rules(core, clock, (SKU, 2, -1, 7))  # SKU 2: 7 at every node
    set_rules(core, clock, (POSITION, 2, 1, 9))  # SKU 2 at node 1: 9
    assert safety(core) == [[0, 5, 0], [0, 5, 0], [7, 9, 7]]
    assert available(core) == [[100, 95, 100], [100, 95, 100], [93, 91, 93]]


def test_a_rule_of_zero_is_a_rule_not_an_absence():
    core, clock = stocked()
    set_rules(core, clock, (SKU, 0, -1, 8), (POSITION, 0, 2, 0))
    assert safety(core)[0] == [8, 8, 0]  # the position's own 0 beats its SKU's 8


def test_clearing_a_rule_falls_back_to_the_next_level():
    core, clock = stocked()
    set_rules(core, clock, (NODE, -1, 0, 3), (SKU, 1, -1, 6), (POSITION, 1, 0, 10))
    assert safety(core)[1] == [10, 6, 6]
    set_rules(core, clock, (POSITION, 1, 0, CLEAR))
    assert safety(core)[1] == [6, 6, 6]
    set_rules(core, clock, (SKU, 1, -1, CLEAR))
    assert safety(core)[1] == [3, 0, 0]
    set_rules(core, clock, (NODE, -1, 0, CLEAR))
    assert safety(core) == [[0, 0, 0]] * 3
    assert available(core) == [[100, 100, 100]] * 3


def test_safety_stock_above_net_on_hand_leaves_nothing_available():
    core, clock = stocked(on_hand=4)
    set_rules(core, clock, (POSITION, 0, 0, 6))
    assert available(core)[0][0] == 0
    assert core.net_on_hand(0, 0) == -2


def test_unknown_indices_are_per_item_statuses_and_all_or_nothing_applies_none():
    core, clock = stocked()
    command = set_rules(core, clock, (SKU, 9, -1, 1), (NODE, -1, 7, 1), (POSITION, 0, 0, 2))
    assert command.status.tolist() == [ITEM_STATUS["SKU_NOT_FOUND"], ITEM_STATUS["NODE_NOT_FOUND"], OK]
    assert command.available_after.tolist()[2] == 98
    assert command.applied_count == 1
    command = set_rules(core, clock, (POSITION, 1, 1, 2), (SKU, -1, -1, 3), all_or_nothing=True)
    assert command.status.tolist() == [ITEM_STATUS["NOT_APPLIED"], ITEM_STATUS["SKU_NOT_FOUND"]]
    assert command.result == COMMAND_RESULT["INVALID_LINES"]
    assert safety(core)[1][1] == 0


def test_a_rule_item_out_of_range_makes_the_command_malformed_and_changes_nothing():
    core, clock = stocked()
    before = core.digest()
    for scope, quantity in ((4, 1), (POSITION, -2)):
        command = Command(COMMAND_KIND["SET_SAFETY_STOCK"], clock.tick(), [0], [0], [quantity], [scope])
        core.apply(command)
        assert command.result == COMMAND_RESULT["MALFORMED"]
    assert safety(core)[0][0] == 0
    assert core.digest() != before  # the clock moved ...
    assert core.bucket_array("available").tolist() == [[100] * 3] * 3  # ... nothing else


def test_a_node_rule_wakes_only_the_skus_whose_safety_stock_moved():
    core, clock = stocked()
    set_rules(core, clock, (SKU, 1, -1, 4))
    core.take_changed_skus()
    set_rules(core, clock, (NODE, -1, 2, 4))  # SKU 1 already keeps 4 there by its own rule
    assert sorted(core.take_changed_skus().tolist()) == [0, 2]


def test_rules_survive_export_and_their_digest_counts_them():
    core, clock = stocked()
    set_rules(core, clock, (NODE, -1, 0, 3), (SKU, 1, -1, 6), (POSITION, 2, 2, 1))
    copy = Core.from_state(core.export_state())
    assert copy.digest() == core.digest()
    copy.check_invariants()
    # The rules are state: the same effective figures from other rules differ.
    other, other_clock = stocked()
    other_clock.now = clock.now - 1
    set_rules(
        other,
        other_clock,
        (POSITION, 0, 0, 3),
        (POSITION, 1, 0, 6),
        (POSITION, 1, 1, 6),
        (POSITION, 1, 2, 6),
        (POSITION, 2, 0, 3),
        (POSITION, 2, 2, 1),
    )
    assert safety(other) == safety(core)
    assert other.log_time_ns == core.log_time_ns and other.log_position == core.log_position
    assert other.digest() != core.digest()
    # After that, a new SKU rule reaches the positions that inherit, in both.
    set_rules(core, clock, (SKU, 2, -1, 5))
    assert safety(core)[2] == [5, 5, 1]


def test_a_snapshot_from_before_rules_loads_with_every_rule_unset():
    core, clock = stocked()
    state = core.export_state()
    for name in ("safety_stock_rule", "sku_safety_stock_rule", "node_safety_stock_rule"):
        del state[name]
    old = Core.from_state(state)
    assert old.check_invariants()
    set_rules(old, clock, (SKU, 0, -1, 2))
    assert safety(old)[0] == [2, 2, 2]


# ---- reserve floors ----------------------------------------------------------


def reserve(core, clock, quantities, floors, all_or_nothing=True, due_ns=None, node=0):
    now = clock.tick()
    count = len(quantities)
    command = Command(
        COMMAND_KIND["RESERVE"],
        now,
        [0] * count,
        [node] * count,
        quantities,
        all_or_nothing=all_or_nothing,
        deadline_ns=now + DAY_NS,
        floor=floors,
        time_ns=due_ns,
    )
    core.apply(command)
    core.check_invariants()
    return command


def test_a_line_takes_only_what_is_above_its_floor():
    core, clock = stocked(on_hand=20)
    command = reserve(core, clock, [16], [5])
    assert command.status.tolist() == [ITEM_STATUS["INSUFFICIENT_STOCK"]]
    assert command.available_after.tolist() == [15]  # what this requester could have had
    command = reserve(core, clock, [15], [5])
    assert command.status.tolist() == [OK]
    assert available(core)[0][0] == 5  # the floor is still there, for those it is kept for
    command = reserve(core, clock, [5], [0])
    assert command.status.tolist() == [OK]


def test_a_partial_fill_stops_at_the_floor_and_the_floor_adds_to_safety_stock():
    core, clock = stocked(on_hand=20)
    set_rules(core, clock, (POSITION, 0, 0, 4))
    command = reserve(core, clock, [30], [6], all_or_nothing=False)
    assert command.status.tolist() == [ITEM_STATUS["PARTIALLY_FILLED"]]
    assert command.filled.tolist() == [10]  # 20 - 4 safety - 6 floor
    assert command.available_after.tolist() == [0]
    assert available(core)[0][0] == 6


def test_a_floor_above_available_reports_nothing_available_not_a_negative():
    core, clock = stocked(on_hand=3)
    command = reserve(core, clock, [1], [10])
    assert command.status.tolist() == [ITEM_STATUS["INSUFFICIENT_STOCK"]]
    assert command.available_after.tolist() == [0]


def test_a_backorder_keeps_the_floor_at_its_date_too():
    core, clock = stocked(on_hand=2)
    upsert = Command(
        COMMAND_KIND["UPSERT_SUPPLY"],
        clock.tick(),
        [0],
        [0],
        [10],
        [SUPPLY_KIND["PURCHASE_ORDER"]],
        time_ns=[clock.now + 2 * DAY_NS],
        ref=[0],
    )
    core.apply(upsert)
    due = [clock.now + 3 * DAY_NS]
    assert reserve(core, clock, [9], [4], due_ns=due).status.tolist() == [ITEM_STATUS["INSUFFICIENT_STOCK"]]
    assert reserve(core, clock, [8], [4], due_ns=due).status.tolist() == [OK]  # 2 + 10 - 4


def test_a_negative_floor_is_malformed():
    core, clock = stocked()
    command = reserve(core, clock, [1], [-1])
    assert command.result == COMMAND_RESULT["MALFORMED"]
    assert available(core)[0][0] == 100


# ---- against a plain model -------------------------------------------------------

NODES, SKUS = 3, 4


class SafetyStockMatchesModel(RuleBasedStateMachine):
    """Random rules, stock counts and holds; every position's safety stock and
    available against a dictionary model of the precedence."""

    def __init__(self):
        super().__init__()
        self.core, self.clock = stocked(on_hand=0, nodes=NODES, skus=SKUS)
        self.position_rule: dict[tuple[int, int], int] = {}
        self.sku_rule: dict[int, int] = {}
        self.node_rule: dict[int, int] = {}
        self.on_hand = {(s, n): 0 for s in range(SKUS) for n in range(NODES)}
        self.held = dict.fromkeys(self.on_hand, 0)

    def effective(self, sku: int, node: int) -> int:
        for table, key in ((self.position_rule, (sku, node)), (self.sku_rule, sku), (self.node_rule, node)):
            if key in table:
                return table[key]
        return 0

    def expected_available(self, sku: int, node: int) -> int:
        return max(0, self.on_hand[(sku, node)] - self.held[(sku, node)] - self.effective(sku, node))

    @rule(
        scope=st.sampled_from([POSITION, SKU, NODE]),
        sku=st.integers(0, SKUS - 1),
        node=st.integers(0, NODES - 1),
        quantity=st.one_of(st.just(CLEAR), st.integers(0, 30)),
    )
    def set_rule(self, scope, sku, node, quantity):
        set_rules(self.core, self.clock, (scope, sku, node, quantity))
        table, key = {
            POSITION: (self.position_rule, (sku, node)),
            SKU: (self.sku_rule, sku),
            NODE: (self.node_rule, node),
        }[scope]
        if quantity == CLEAR:
            table.pop(key, None)
        else:
            table[key] = quantity

    @rule(sku=st.integers(0, SKUS - 1), node=st.integers(0, NODES - 1), quantity=st.integers(0, 60))
    def count_stock(self, sku, node, quantity):
        self.core.apply(
            Command(COMMAND_KIND["UPDATE_ON_HAND"], self.clock.tick(), [sku], [node], [quantity], [ON_HAND_OP["SET"]])
        )
        self.on_hand[(sku, node)] = quantity

    @rule(
        sku=st.integers(0, SKUS - 1),
        node=st.integers(0, NODES - 1),
        quantity=st.integers(1, 20),
        floor=st.integers(0, 20),
    )
    def hold(self, sku, node, quantity, floor):
        now = self.clock.tick()
        command = Command(
            COMMAND_KIND["RESERVE"],
            now,
            [sku],
            [node],
            [quantity],
            all_or_nothing=True,
            deadline_ns=now + 100 * DAY_NS,
            floor=[floor],
        )
        expected_ok = self.expected_available(sku, node) - floor >= quantity
        self.core.apply(command)
        assert (command.status.tolist() == [OK]) == expected_ok
        if expected_ok:
            self.held[(sku, node)] += quantity

    @invariant()
    def positions_match(self):
        expected_safety = [[self.effective(s, n) for n in range(NODES)] for s in range(SKUS)]
        expected_available = [[self.expected_available(s, n) for n in range(NODES)] for s in range(SKUS)]
        assert safety(self.core) == expected_safety
        assert available(self.core) == expected_available
        assert self.core.check_invariants()


SafetyStockMatchesModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestSafetyStockMatchesModel = SafetyStockMatchesModel.TestCase
