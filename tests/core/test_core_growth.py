"""Core.add_skus: SKU rows appended at run time (attribute variants) keep every
bucket, list, rule, feed sequence and invariant, and growth is invisible: a core
grown to N rows holds exactly what one built with N rows does."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise._core import (
    COMMAND_KIND,
    SAFETY_STOCK_SCOPE,
    SUPPLY_KIND,
    UNAVAILABLE_REASON,
    Command,
    Core,
)

NODES = 3
T0 = 10**18


def test_new_rows_are_empty_and_old_rows_keep_everything():
    core = Core(NODES, 2)
    now = T0
    core.apply(
        Command(COMMAND_KIND["UPDATE_ON_HAND"], now + 1, [0, 1], [0, 2], [10, 20], [1, 1], ref=[0, 0], time_ns=[5, 6])
    )
    core.apply(Command(COMMAND_KIND["SET_SAFETY_STOCK"], now + 2, [0], [0], [2], [SAFETY_STOCK_SCOPE["SKU"]]))
    core.apply(Command(COMMAND_KIND["SET_SAFETY_STOCK"], now + 3, [0], [1], [1], [SAFETY_STOCK_SCOPE["NODE"]]))
    core.apply(
        Command(
            COMMAND_KIND["UPSERT_SUPPLY"],
            now + 4,
            [1],
            [2],
            [7],
            [SUPPLY_KIND["PURCHASE_ORDER"]],
            time_ns=[now + 10**12],
            ref=[0],
        )
    )
    core.apply(Command(COMMAND_KIND["RESERVE"], now + 5, [1], [2], [4], deadline_ns=now + 10**12))
    core.apply(Command(COMMAND_KIND["SET_UNAVAILABLE"], now + 6, [0], [0], [3], [UNAVAILABLE_REASON["DAMAGED"]]))
    before = {name: core.bucket_array(name).copy() for name in ("on_hand", "held", "unavailable", "available")}
    assert core.add_skus(1) == 2 and core.sku_count == 3
    for _ in range(40):  # past the first room: the tables are regrown
        core.add_skus(1)
    assert core.sku_count == 43 and core.sku_capacity >= 43
    assert core.check_invariants()
    for name, old in before.items():
        assert (core.bucket_array(name)[:2] == old).all(), name
        assert not core.bucket_array(name)[2:].any(), name
    # A node rule covers the new rows like any SKU; the old SKU rule does not.
    assert core.bucket_array("safety_stock")[2:, 1].tolist() == [1] * 41
    assert core.bucket_array("safety_stock")[0].tolist() == [2, 2, 2]
    assert core.position_plan(1, 2)[0][0][3] == 7  # the supply list survived
    # The new rows take commands, feed sequences included.
    core.take_changed_skus()
    command = Command(
        COMMAND_KIND["UPDATE_ON_HAND"], now + 7, [42, 1], [1, 2], [5, 21], [1, 1], ref=[0, 0], time_ns=[1, 6]
    )
    core.apply(command)
    assert command.status.tolist() == [1, 15]  # OK; STALE (the old row's sequence was kept)
    assert core.take_changed_skus().tolist() == [42]
    assert core.check_invariants()


def test_a_grown_core_round_trips_through_a_snapshot():
    core = Core(NODES, 1)
    core.add_skus(5)
    core.apply(Command(COMMAND_KIND["UPDATE_ON_HAND"], T0, [5], [2], [9], [1], ref=[1], time_ns=[3]))
    state = core.export_state()
    assert state["on_hand"].shape == (6 * NODES,) and state["feed_sequence"].shape == (2, 6 * NODES)
    restored = Core.from_state(state)
    assert restored.digest() == core.digest() and restored.check_invariants()
    restored.add_skus(1)
    assert restored.bucket_array("on_hand")[5, 2] == 9 and restored.check_invariants()


# A random mix of writes over SKU rows that exist in both cores.
operations = st.lists(
    st.tuples(
        st.sampled_from(["on_hand", "reserve", "unavailable", "grow"]),
        st.integers(0, 11),
        st.integers(0, NODES - 1),
        st.integers(1, 30),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(operations, st.integers(1, 4))
def test_growth_is_invisible(steps, first_rows):
    """A core grown row by row ends with exactly the state of one built with all its rows."""
    grown = Core(NODES, first_rows)
    rows_added = sum(1 for step in steps if step[0] == "grow")
    built = Core(NODES, first_rows + rows_added)
    used = first_rows
    for time_ns, (kind, sku, node, quantity) in enumerate(steps, start=T0):
        if kind == "grow":
            grown.add_skus(1)
            used += 1
            continue
        sku %= used
        if kind == "on_hand":
            commands = [
                Command(
                    COMMAND_KIND["UPDATE_ON_HAND"], time_ns, [sku], [node], [quantity], [1], ref=[0], time_ns=[time_ns]
                )
                for _ in range(2)
            ]
        elif kind == "reserve":
            commands = [
                Command(COMMAND_KIND["RESERVE"], time_ns, [sku], [node], [quantity], deadline_ns=time_ns + 5)
                for _ in range(2)
            ]
        else:
            commands = [
                Command(
                    COMMAND_KIND["SET_UNAVAILABLE"],
                    time_ns,
                    [sku],
                    [node],
                    [quantity % 4],
                    [UNAVAILABLE_REASON["INSPECTION"]],
                )
                for _ in range(2)
            ]
        grown.apply(commands[0])
        built.apply(commands[1])
        assert commands[0].status.tolist() == commands[1].status.tolist()
    assert grown.check_invariants()
    grown_state, built_state = grown.export_state(), built.export_state()
    assert grown_state.keys() == built_state.keys()
    for name in grown_state:
        assert np.array_equal(grown_state[name], built_state[name]), name
    assert grown.digest() == built.digest()
