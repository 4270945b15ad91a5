"""Time-phased availability with future supply: the core's gather_phased.

Target (issue 4): one SKU across 200 nodes over 30 daily buckets <= 3 us.
The network carries open supply on a fifth of its positions (1 to 3 each:
purchase orders, in transit, transfers) and backorders on some of them, so
the lists are walked as they would be in a distributor's network. Every
benchmark checks its last answer against a plain-Python model.

Each read runs on two cores with the same state: `live`, the one the
supplies were applied to (records in creation order, which here is random
position order), and `restored`, the same state through a snapshot
(Core.from_state, as after a restart: records in position and list order).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.conftest import SMOKE
from benchmarks.networks import synthetic_network
from dompromise._core import COMMAND_KIND, SUPPLY_ALL_KINDS, Command, Core

DAY_NS = 86_400 * 10**9
BUCKETS = 30
SHAPE = (20, 500) if SMOKE else (200, 10_000)
SUPPLIED_FRACTION = 0.2
POOL = 256


@pytest.fixture(scope="module")
def supplied():
    synthetic = synthetic_network(*SHAPE, seed=404)
    core = synthetic.engine.core
    rng = np.random.default_rng(405)
    node_count, positions = SHAPE[0], SHAPE[0] * SHAPE[1]
    now = core.log_time_ns + 1
    chosen = rng.choice(positions, size=int(positions * SUPPLIED_FRACTION), replace=False)
    per_position = rng.integers(1, 4, size=chosen.size)
    position = np.repeat(chosen, per_position)
    count = position.size
    command = Command(
        COMMAND_KIND["UPSERT_SUPPLY"],
        now,
        (position // node_count).astype(np.int32),
        (position % node_count).astype(np.int32),
        rng.integers(1, 200, size=count),
        rng.integers(1, 4, size=count).astype(np.int8),
        time_ns=now + rng.integers(1, 40 * DAY_NS, size=count),
        ref=np.arange(count, dtype=np.int64),
    )
    core.apply(command)
    assert command.applied_count == count
    # Backorders on a tenth of the supplied positions, due within the horizon.
    backordered = chosen[: chosen.size // 10]
    for start in range(0, backordered.size, 1_000):
        part = backordered[start : start + 1_000]
        reserve = Command(
            COMMAND_KIND["RESERVE"],
            now + 1,
            (part // node_count).astype(np.int32),
            (part % node_count).astype(np.int32),
            np.full(part.size, 5, np.int64),
            deadline_ns=now + 100 * DAY_NS,
            time_ns=np.full(part.size, now + 35 * DAY_NS, np.int64),
        )
        core.apply(reserve)
    return synthetic, now


@pytest.fixture(scope="module")
def restored(supplied):
    synthetic, _ = supplied
    return Core.from_state(synthetic.engine.core.export_state())


def layout_core(request, supplied, layout: str):
    return supplied[0].engine.core if layout == "live" else request.getfixturevalue("restored")


def model(core, sku: int, node: int, boundaries: list[int]) -> list[int]:
    """The lowest cumulative balance at or after each boundary, clamped at zero."""
    supplies, backorders = core.position_plan(sku, node)
    events = sorted(
        [(eta, 0, quantity) for _, _, eta, quantity in supplies]
        + [(due, 1, -quantity) for _, due, quantity in backorders]
    )
    net = core.net_on_hand(sku, node)
    answer = []
    for boundary in boundaries:
        balance = net + sum(change for time_ns, _, change in events if time_ns <= boundary)
        lowest = balance
        for time_ns, _, change in events:
            if time_ns > boundary:
                balance += change
                lowest = min(lowest, balance)
        answer.append(max(lowest, 0))
    return answer


@pytest.mark.parametrize("layout", ["live", "restored"])
@pytest.mark.parametrize("with_cells", [True, False], ids=["cells", "totals"])
@pytest.mark.parametrize("skus", [1, 100])
def test_gather_phased(benchmark, request, supplied, skus, with_cells, layout):
    _, now = supplied
    core = layout_core(request, supplied, layout)
    nodes = np.arange(SHAPE[0], dtype=np.int32)
    boundaries = np.array([now + (k + 1) * DAY_NS for k in range(BUCKETS)], dtype=np.int64)
    rng = np.random.default_rng(skus)
    batches = itertools.cycle(list(rng.integers(0, SHAPE[1], size=(POOL, skus), dtype=np.int32)))
    wanted = np.full(skus, 50, dtype=np.int64)
    cells = np.empty(skus * SHAPE[0] * BUCKETS if with_cells else 0, dtype=np.int64)
    totals = np.empty(skus * BUCKETS, dtype=np.int64)
    earliest = np.empty(skus * SHAPE[0], dtype=np.int64)
    gather = core.gather_phased

    def call():
        sku = next(batches)
        gather(sku, nodes, boundaries, SUPPLY_ALL_KINDS, wanted, cells, totals, earliest)
        return sku

    benchmark.extra_info.update(
        skus=skus, nodes=SHAPE[0], buckets=BUCKETS, supplies=core.supply_count, with_cells=with_cells, layout=layout
    )
    last = benchmark(call)
    for row in range(min(skus, 3)):
        expected = [model(core, int(last[row]), node, boundaries.tolist()) for node in range(SHAPE[0])]
        if with_cells:
            assert cells.reshape(skus, SHAPE[0], BUCKETS)[row].tolist() == expected
        assert totals.reshape(skus, BUCKETS)[row].tolist() == np.sum(expected, axis=0).tolist()
    assert totals.sum() > 0


@pytest.mark.parametrize("layout", ["live", "restored"])
def test_gather_phased_hot(benchmark, request, supplied, layout):
    """The same supplied SKU every call, totals only: the walk without cache misses."""
    _, now = supplied
    core = layout_core(request, supplied, layout)
    nodes = np.arange(SHAPE[0], dtype=np.int32)
    boundaries = np.array([now + (k + 1) * DAY_NS for k in range(BUCKETS)], dtype=np.int64)
    plans = [core.position_plan(s, n)[0] for s in range(50) for n in range(SHAPE[0])]
    sku = np.array(
        [next(s for s in range(50) if any(core.position_plan(s, n)[0] for n in range(SHAPE[0])))], dtype=np.int32
    )
    assert any(plans)
    wanted, totals = np.full(1, 50, dtype=np.int64), np.empty(BUCKETS, dtype=np.int64)
    earliest = np.empty(SHAPE[0], dtype=np.int64)
    benchmark(
        core.gather_phased, sku, nodes, boundaries, SUPPLY_ALL_KINDS, wanted, np.empty(0, np.int64), totals, earliest
    )
    expected = [model(core, int(sku[0]), node, boundaries.tolist()) for node in range(SHAPE[0])]
    assert totals.tolist() == np.sum(expected, axis=0).tolist()


def reschedule_commands(core, now: int, count: int, items: int, seed: int) -> list[Command]:
    """UPSERT_SUPPLY commands moving `items` distinct open supplies each to a new ETA and
    quantity (never 0: the lists keep their length), so each item unlinks and re-inserts."""
    rng = np.random.default_rng(seed)
    node_count, commands = SHAPE[0], []
    for _ in range(count):
        ref = rng.choice(core.supply_count, size=items, replace=False).astype(np.int64)
        plans = [core.supply(int(r)) for r in ref]
        commands.append(
            Command(
                COMMAND_KIND["UPSERT_SUPPLY"],
                now,
                np.array([p[0] for p in plans], np.int32),
                np.array([p[1] for p in plans], np.int32),
                rng.integers(1, 200, size=items),
                np.array([p[2] for p in plans], np.int8),
                time_ns=now + rng.integers(1, 40 * DAY_NS, size=items),
                ref=ref,
            )
        )
        assert all(p[1] < node_count for p in plans)
    return commands


@pytest.mark.parametrize("items", [1, 1_000])
def test_core_apply_upsert_supply(benchmark, supplied, items):
    """core.apply of prebuilt UPSERT_SUPPLY commands that reschedule open supplies."""
    synthetic, now = supplied
    core = synthetic.engine.core
    commands = itertools.cycle(reschedule_commands(core, core.log_time_ns, POOL if items == 1 else 8, items, 406))

    def call():
        command = next(commands)
        core.apply(command)
        return command

    benchmark.extra_info.update(items=items, supplies=core.supply_count)
    last = benchmark(call)
    assert last.applied_count == items
    for i in range(min(items, 20)):
        _, _, _, eta_ns, quantity, _ = core.supply(int(last.ref[i]))
        assert (eta_ns, quantity) == (last.time_ns[i], last.quantity[i])
        supplies, _ = core.position_plan(int(last.sku[i]), int(last.node[i]))
        assert any(entry[0] == last.ref[i] for entry in supplies)
        assert [entry[2] for entry in supplies] == sorted(entry[2] for entry in supplies)
