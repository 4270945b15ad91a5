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
