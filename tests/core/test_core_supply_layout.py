"""Where the core keeps its supply records is its own business: a restore (or
lay_out_supplies) moves them into list order, position after position, and
no answer, digest or export may change because of it."""

import numpy as np

from dompromise._core import COMMAND_KIND, SUPPLY_ALL_KINDS, Command, Core

DAY_NS = 86_400 * 10**9
T0 = 1_000 * DAY_NS
NODES, SKUS = 3, 4


def upsert(core, now, refs, skus, nodes, quantities, etas, kinds):
    command = Command(COMMAND_KIND["UPSERT_SUPPLY"], now, skus, nodes, quantities, kinds, time_ns=etas, ref=refs)
    core.apply(command)
    return command


def scrambled_core() -> Core:
    """Supplies created in an order unlike their positions' and ETAs', some closed."""
    core = Core(NODES, SKUS)
    rng = np.random.default_rng(7)
    count = 40
    position = rng.integers(0, NODES * SKUS, size=count)
    etas = T0 + rng.integers(1, 6, size=count) * DAY_NS  # ties on purpose
    quantities = np.where(rng.random(count) < 0.25, 0, rng.integers(1, 50, size=count))
    command = upsert(
        core,
        T0,
        np.arange(count),
        position // NODES,
        position % NODES,
        quantities,
        etas,
        rng.integers(1, 4, size=count).astype(np.int8),
    )
    assert command.applied_count == count
    core.check_invariants()
    return core


def phased(core: Core) -> tuple[list, list, list]:
    skus, nodes = np.arange(SKUS, dtype=np.int32), np.arange(NODES, dtype=np.int32)
    boundaries = np.array([T0 + k * DAY_NS // 2 for k in range(1, 14)], dtype=np.int64)
    cells = np.empty(SKUS * NODES * boundaries.size, np.int64)
    totals = np.empty(SKUS * boundaries.size, np.int64)
    earliest = np.empty(SKUS * NODES, np.int64)
    core.gather_phased(skus, nodes, boundaries, SUPPLY_ALL_KINDS, np.full(SKUS, 30, np.int64), cells, totals, earliest)
    return cells.tolist(), totals.tolist(), earliest.tolist()


def test_a_restore_lays_records_out_by_position_in_list_order():
    core = scrambled_core()
    count = core.supply_count
    assert (core.supply_layout() == np.arange(count)).all(), "records are created in index order"
    restored = Core.from_state(core.export_state())
    restored.check_invariants()
    assert restored.digest() == core.digest()
    slots = restored.supply_layout()
    supplies = [restored.supply(i) for i in range(count)]
    # Open supplies first, by position, then in their list's (ETA, index) order; closed ones after.
    expected = sorted(
        range(count), key=lambda i: (supplies[i][4] == 0, supplies[i][0] * NODES + supplies[i][1], supplies[i][3], i)
    )
    assert slots[expected].tolist() == list(range(count))
    assert not (slots == np.arange(count)).all(), "the scrambled order moved"
    for sku in range(SKUS):
        for node in range(NODES):
            assert restored.position_plan(sku, node) == core.position_plan(sku, node)
    assert phased(restored) == phased(core)


def test_supplies_created_after_a_restore_join_their_lists():
    core = scrambled_core()
    restored = Core.from_state(core.export_state())
    new, (sku_3, node_3), (sku_5, node_5) = core.supply_count, core.supply(3)[:2], core.supply(5)[:2]
    for target in (core, restored):
        command = upsert(
            target,
            T0 + 1,
            [new, 3, 5],
            [1, sku_3, sku_5],
            [2, node_3, node_5],
            [5, 0, 8],
            [T0 + 2 * DAY_NS, T0 + DAY_NS, T0 + 9 * DAY_NS],
            np.array([1, 2, 3], np.int8),
        )
        assert command.applied_count == 3
        target.check_invariants()
    assert restored.digest() == core.digest()
    assert phased(restored) == phased(core)


def test_laying_out_again_changes_no_answer():
    core = scrambled_core()
    before = (core.digest(), phased(core), {k: v.tolist() for k, v in core.export_state().items()})
    core.lay_out_supplies()
    core.check_invariants()
    assert (core.digest(), phased(core), {k: v.tolist() for k, v in core.export_state().items()}) == before


def test_an_empty_supply_table_restores():
    core = Core(NODES, SKUS)
    restored = Core.from_state(core.export_state())
    assert restored.supply_count == 0 and restored.digest() == core.digest()
    restored.lay_out_supplies()
    upsert(restored, T0, [0], [0], [0], [4], [T0 + DAY_NS], np.array([2], np.int8))
    restored.check_invariants()
    assert restored.supply(0)[3:] == (T0 + DAY_NS, 4, 0)


def test_live_restored_and_relaid_cores_stay_alike_under_random_commands():
    """Three cores with one state and different record layouts take the same random
    supply, receipt and backorder commands: every answer and digest agrees."""
    rng = np.random.default_rng(11)
    live = scrambled_core()
    restored = Core.from_state(live.export_state())
    relaid = Core.from_state(live.export_state())
    now, applied = T0 + 10, 0
    for step in range(300):
        now += int(rng.integers(1, DAY_NS // 8))
        n = int(rng.integers(1, 4))
        if step % 3 == 0:
            refs, skus, nodes = [], [], []
            for _ in range(n):
                if rng.random() < 0.6:
                    ref = int(rng.integers(0, live.supply_count))
                    sku, node = live.supply(ref)[:2]
                else:
                    ref = live.supply_count + sum(1 for r in refs if r >= live.supply_count)
                    sku, node = int(rng.integers(0, SKUS)), int(rng.integers(0, NODES))
                if ref in refs:
                    continue
                refs.append(ref)
                skus.append(sku)
                nodes.append(node)
            n = len(refs)
            make = lambda: Command(  # noqa: E731
                COMMAND_KIND["UPSERT_SUPPLY"], now, skus, nodes, quantities, kinds, time_ns=etas, ref=refs
            )
            quantities = np.where(rng.random(n) < 0.2, 0, rng.integers(1, 30, size=n))
            etas = now + rng.integers(1, 12, size=n) * (DAY_NS // 2)
            kinds = rng.integers(1, 4, size=n).astype(np.int8)
        elif step % 3 == 1:
            refs = rng.integers(0, live.supply_count, size=n)
            quantities = rng.integers(1, 20, size=n)
            make = lambda: Command(  # noqa: E731
                COMMAND_KIND["RECEIVE_SUPPLY"], now, np.zeros(n), np.zeros(n), quantities, np.ones(n), ref=refs
            )
        else:
            skus, nodes = rng.integers(0, SKUS, size=n), rng.integers(0, NODES, size=n)
            quantities = rng.integers(1, 15, size=n)
            due = now + rng.integers(1, 12, size=n) * (DAY_NS // 2)
            make = lambda: Command(  # noqa: E731
                COMMAND_KIND["RESERVE"], now, skus, nodes, quantities, deadline_ns=now + DAY_NS, time_ns=due
            )
        answers = []
        for core in (live, restored, relaid):
            command = make()
            core.apply(command)
            answers.append(
                (
                    command.status.tolist(),
                    command.available_after.tolist(),
                    command.filled.tolist(),
                    command.result,
                    core.digest(),
                    phased(core),
                )
            )
        assert answers[0] == answers[1] == answers[2], f"step {step}"
        applied += command.applied_count
        if step % 25 == 0:
            relaid.lay_out_supplies()
        if step % 60 == 59:
            for core in (live, restored, relaid):
                core.check_invariants()
            restored = Core.from_state(restored.export_state())
    assert applied > 300 and live.supply_count > 60 and live.reservation_count > 30, "the commands did little"
