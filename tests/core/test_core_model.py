"""Hypothesis: the core against a plain-Python reference model, command by command."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dompromise import _core, limits
from dompromise._core import ITEM_STATUS, Command, Core

NODES, SKUS = 3, 4
UPDATE = _core.COMMAND_KIND["UPDATE_ON_HAND"]
SET = _core.ON_HAND_OP["SET"]
ADJUST = _core.ON_HAND_OP["ADJUST"]

items = st.lists(
    st.tuples(
        st.integers(-1, SKUS),  # -1 and SKUS are unknown indices
        st.integers(-1, NODES),
        st.sampled_from([SET, ADJUST]),
        st.one_of(st.integers(-50, 50), st.sampled_from([limits.QUANTITY_MAX, -limits.QUANTITY_MAX])),
    ),
    min_size=1,
    max_size=8,
)


def model_apply(state: dict, batch, all_or_nothing: bool):
    """Reference semantics, written the obvious way. Returns per-item statuses."""
    trial = dict(state)
    statuses = []
    for sku, node, op, quantity in batch:
        if not 0 <= sku < SKUS:
            statuses.append(ITEM_STATUS["SKU_NOT_FOUND"])
            continue
        if not 0 <= node < NODES:
            statuses.append(ITEM_STATUS["NODE_NOT_FOUND"])
            continue
        target = quantity if op == SET else trial[(sku, node)] + quantity
        if target < 0:
            statuses.append(ITEM_STATUS["NEGATIVE_QUANTITY"])
        elif target > limits.QUANTITY_MAX:
            statuses.append(ITEM_STATUS["QUANTITY_TOO_LARGE"])
        else:
            trial[(sku, node)] = target
            statuses.append(ITEM_STATUS["OK"])
    failed = any(s != ITEM_STATUS["OK"] for s in statuses)
    if all_or_nothing and failed:
        return [ITEM_STATUS["NOT_APPLIED"] if s == ITEM_STATUS["OK"] else s for s in statuses]
    state.update(trial)
    return statuses


class CoreMatchesModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.core = Core(NODES, SKUS)
        self.model = {(s, n): 0 for s in range(SKUS) for n in range(NODES)}
        self.time_ns = 0

    @rule(batch=items, all_or_nothing=st.booleans(), step_ns=st.integers(0, 10))
    def update(self, batch, all_or_nothing, step_ns):
        self.time_ns += step_ns
        sku, node, op, quantity = zip(*batch)
        command = Command(UPDATE, self.time_ns, sku, node, quantity, op, all_or_nothing)
        self.core.apply(command)
        assert command.status.tolist() == model_apply(self.model, batch, all_or_nothing)

    @invariant()
    def same_state(self):
        on_hand = self.core.bucket_array("on_hand")
        for (sku, node), quantity in self.model.items():
            assert on_hand[sku, node] == quantity

    @invariant()
    def invariants_hold(self):
        assert self.core.check_invariants()


CoreMatchesModel.TestCase.settings = settings(max_examples=150, stateful_step_count=20, deadline=None)
test_core_matches_model = CoreMatchesModel.TestCase


# ---- reservations -----------------------------------------------------------

R = _core.COMMAND_RESULT
STATE = _core.RESERVATION_STATE
reserve_lines = st.lists(
    st.tuples(st.integers(-1, SKUS - 1), st.integers(0, NODES - 1), st.integers(1, 30)), min_size=1, max_size=4
)


class ReservationModel:
    """Plain-Python reference of holds, commitments and expiry."""

    def __init__(self):
        self.on_hand = {(s, n): 0 for s in range(SKUS) for n in range(NODES)}
        self.held = dict.fromkeys(self.on_hand, 0)
        self.allocated = dict.fromkeys(self.on_hand, 0)
        self.reservations = []  # [state, expire_ns, [[sku, node, open qty, shipped qty]]]

    def available(self, position):
        return max(0, self.on_hand[position] - self.held[position] - self.allocated[position])

    def expire(self, now_ns):
        for reservation in self.reservations:
            if reservation[0] == STATE["HELD"] and reservation[1] <= now_ns:
                for sku, node, quantity, _ in reservation[2]:
                    self.held[(sku, node)] -= quantity
                reservation[0] = STATE["EXPIRED"]

    def reserve(self, lines, partial, deadline_ns):
        taken = []
        for sku, node, quantity in lines:
            if not 0 <= sku < SKUS:
                taken.append(0)
                continue
            free = self.available((sku, node))
            take = quantity if free >= quantity else (free if partial else 0)
            self.held[(sku, node)] += take
            taken.append(take)
        failed = any(t < q for t, (_, _, q) in zip(taken, lines))
        if (failed and not partial) or sum(taken) == 0:
            for take, (sku, node, _) in zip(taken, lines):
                if take:
                    self.held[(sku, node)] -= take
            return R["INSUFFICIENT_STOCK"], [0] * len(lines)
        held_lines = [[s, n, t, 0] for t, (s, n, _) in zip(taken, lines) if t > 0]
        self.reservations.append([STATE["HELD"], deadline_ns, held_lines])
        return R["OK"], taken

    def resolve(self, kind, index):
        if not 0 <= index < len(self.reservations):
            return R["RESERVATION_NOT_FOUND"]
        reservation = self.reservations[index]
        state = reservation[0]
        if state == STATE["EXPIRED"]:
            return R["RESERVATION_EXPIRED"]
        if state == STATE["RELEASED"]:
            return R["RESERVATION_RELEASED"]
        if state == STATE["SHIPPED"]:
            return R["RESERVATION_SHIPPED"]
        if kind == "COMMIT" and state == STATE["COMMITTED"]:
            return R["RESERVATION_COMMITTED"]
        source = self.allocated if state == STATE["COMMITTED"] else self.held
        for sku, node, quantity, _ in reservation[2]:
            source[(sku, node)] -= quantity
            if kind == "COMMIT":
                self.allocated[(sku, node)] += quantity
        reservation[0] = STATE["COMMITTED"] if kind == "COMMIT" else STATE["RELEASED"]
        return R["OK"]

    def change_lines(self, ship, index, items):
        if not 0 <= index < len(self.reservations):
            return R["RESERVATION_NOT_FOUND"]
        reservation = self.reservations[index]
        state = reservation[0]
        refusals = {
            STATE["EXPIRED"]: "RESERVATION_EXPIRED",
            STATE["RELEASED"]: "RESERVATION_RELEASED",
            STATE["SHIPPED"]: "RESERVATION_SHIPPED",
        }
        if state in refusals:
            return R[refusals[state]]
        if ship and state != STATE["COMMITTED"]:
            return R["RESERVATION_NOT_COMMITTED"]
        lines = reservation[2]
        wanted = [0] * len(lines)
        for line, quantity in items:
            if not 0 <= line < len(lines):
                return R["INVALID_LINES"]
            wanted[line] += quantity
            if wanted[line] > lines[line][2]:
                return R["INVALID_LINES"]
        source = self.allocated if state == STATE["COMMITTED"] else self.held
        for line, quantity in items:
            sku, node = lines[line][0], lines[line][1]
            lines[line][2] -= quantity
            source[(sku, node)] -= quantity
            if ship:
                lines[line][3] += quantity
                self.on_hand[(sku, node)] -= min(quantity, self.on_hand[(sku, node)])
        if all(line[2] == 0 for line in lines):
            reservation[0] = STATE["SHIPPED"] if any(line[3] for line in lines) else STATE["RELEASED"]
        return R["OK"]


class ReservationsMatchModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.core = Core(NODES, SKUS)
        self.model = ReservationModel()
        self.time_ns = 0

    def _advance(self, step_ns):
        self.time_ns += step_ns
        self.model.expire(self.time_ns)

    @rule(
        sku=st.integers(0, SKUS - 1),
        node=st.integers(0, NODES - 1),
        quantity=st.integers(0, 40),
        step_ns=st.integers(0, 5),
    )
    def set_on_hand(self, sku, node, quantity, step_ns):
        self._advance(step_ns)
        self.core.apply(Command(UPDATE, self.time_ns, [sku], [node], [quantity], [SET]))
        self.model.on_hand[(sku, node)] = quantity

    @rule(lines=reserve_lines, partial=st.booleans(), ttl_ns=st.integers(1, 30), step_ns=st.integers(0, 5))
    def reserve(self, lines, partial, ttl_ns, step_ns):
        self._advance(step_ns)
        sku, node, quantity = zip(*lines)
        command = Command(
            _core.COMMAND_KIND["RESERVE"],
            self.time_ns,
            sku,
            node,
            quantity,
            all_or_nothing=not partial,
            deadline_ns=self.time_ns + ttl_ns,
        )
        self.core.apply(command)
        result, taken = self.model.reserve(lines, partial, self.time_ns + ttl_ns)
        assert command.result == result
        assert command.filled.tolist() == taken
        if result == R["OK"]:
            assert command.reservation == len(self.model.reservations) - 1

    @rule(kind=st.sampled_from(["COMMIT", "RELEASE"]), index=st.integers(-1, 12), step_ns=st.integers(0, 5))
    def resolve(self, kind, index, step_ns):
        self._advance(step_ns)
        command = Command(_core.COMMAND_KIND[kind], self.time_ns, reservation=index)
        self.core.apply(command)
        assert command.result == self.model.resolve(kind, index)

    @rule(index=st.integers(0, 12), ttl_ns=st.integers(1, 30), step_ns=st.integers(0, 5))
    def extend(self, index, ttl_ns, step_ns):
        self._advance(step_ns)
        command = Command(
            _core.COMMAND_KIND["EXTEND"], self.time_ns, reservation=index, deadline_ns=self.time_ns + ttl_ns
        )
        self.core.apply(command)
        if index < len(self.model.reservations) and self.model.reservations[index][0] == STATE["HELD"]:
            assert command.result == R["OK"]
            self.model.reservations[index][1] = self.time_ns + ttl_ns
        else:
            assert command.result != R["OK"]

    @rule(
        ship=st.booleans(),
        index=st.integers(-1, 12),
        items=st.lists(st.tuples(st.integers(-1, 4), st.integers(1, 8)), min_size=1, max_size=3),
        step_ns=st.integers(0, 5),
    )
    def change_lines(self, ship, index, items, step_ns):
        self._advance(step_ns)
        lines, quantities = zip(*items)
        command = Command(
            _core.COMMAND_KIND["SHIP" if ship else "CANCEL_LINES"],
            self.time_ns,
            [0] * len(items),
            [0] * len(items),
            quantities,
            reservation=index,
            line=lines,
        )
        self.core.apply(command)
        assert command.result == self.model.change_lines(ship, index, items)

    @invariant()
    def same_buckets(self):
        for name, expected in (
            ("on_hand", self.model.on_hand),
            ("held", self.model.held),
            ("allocated", self.model.allocated),
        ):
            actual = self.core.bucket_array(name)
            for (sku, node), quantity in expected.items():
                assert actual[sku, node] == quantity, (name, sku, node)

    @invariant()
    def same_reservation_states(self):
        for index, (state, _, lines) in enumerate(self.model.reservations):
            core_state, _, _, _, open_quantity, shipped, _ = self.core.reservation(index)
            assert core_state == state
            assert open_quantity.tolist() == [line[2] for line in lines]
            assert shipped.tolist() == [line[3] for line in lines]

    @invariant()
    def nothing_negative_and_derived_state_consistent(self):
        assert self.core.check_invariants()


ReservationsMatchModel.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_reservations_match_model = ReservationsMatchModel.TestCase
