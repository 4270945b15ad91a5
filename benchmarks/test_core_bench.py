"""Core micro-benchmarks: gathers and on-hand applies, called from Python.

Targets (DESIGN.md, "Performance"): 1 SKU x 200 nodes <= 1 us per call,
100 SKUs x 200 nodes <= 30 us, >= 200k commands/s applied. Nothing here
asserts a time (the machine is shared and noisy); BENCHMARKS.md records the
figures. Every benchmark checks its answer against numpy on the same cells,
so `--benchmark-disable` (one call each) is a correctness test.

SKU indices are random with a fixed seed: on the large network each SKU's
row is 1.6 kB of a 160 MB array, so random rows are mostly cache misses.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dompromise._core import Command
from dompromise.inventory.engine import ITEM_OK, ON_HAND_ADJUST, UPDATE_ON_HAND

POOL = 256  # distinct inputs cycled through, so successive calls hit different rows
APPLY_ITEMS = 10_000


def random_skus(synthetic, rows: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, len(synthetic.network.skus), size=(rows, width), dtype=np.int32)


def all_nodes(synthetic) -> np.ndarray:
    return np.arange(len(synthetic.network.nodes), dtype=np.int32)


def expected(synthetic, sku: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cells, totals) computed by numpy from the core's own available bucket."""
    cells = synthetic.engine.core.bucket_array("available")[np.ix_(sku, nodes)]
    return cells.ravel(), cells.sum(axis=1)


def label(benchmark, synthetic, skus: int) -> None:
    nodes = len(synthetic.network.nodes)
    benchmark.extra_info.update(skus=skus, nodes=nodes, network_skus=len(synthetic.network.skus))


# ---- core.gather_available --------------------------------------------------


@pytest.mark.parametrize("skus", [1, 100])
def test_gather_hot(benchmark, large, skus):
    """The same SKUs every call (cache-hot rows), fixed arguments: no wrapper."""
    core, nodes = large.engine.core, all_nodes(large)
    sku = random_skus(large, 1, skus, seed=1)[0]
    cells, totals = np.empty(skus * len(nodes), dtype=np.int64), np.empty(skus, dtype=np.int64)
    label(benchmark, large, skus)
    benchmark(core.gather_available, sku, nodes, cells, totals)
    want_cells, want_totals = expected(large, sku, nodes)
    assert np.array_equal(cells, want_cells) and np.array_equal(totals, want_totals)


@pytest.mark.parametrize("skus", [1, 100, 1_000])
def test_gather_random_skus(benchmark, large, skus):
    """A different random batch each call; includes ~0.1 us of Python wrapper."""
    gather_random(benchmark, large, skus, with_cells=True)


def test_gather_random_skus_totals_only(benchmark, large):
    """The TOTALS view: `cells` empty, no per-node values written."""
    gather_random(benchmark, large, 1_000, with_cells=False)


def gather_random(benchmark, synthetic, skus: int, with_cells: bool) -> None:
    core, nodes = synthetic.engine.core, all_nodes(synthetic)
    batches = list(random_skus(synthetic, POOL, skus, seed=skus))
    cells = np.empty(skus * len(nodes) if with_cells else 0, dtype=np.int64)
    totals = np.empty(skus, dtype=np.int64)
    gather, batch_cycle = core.gather_available, itertools.cycle(batches)

    def call():
        sku = next(batch_cycle)
        gather(sku, nodes, cells, totals)
        return sku

    label(benchmark, synthetic, skus)
    last = benchmark(call)
    want_cells, want_totals = expected(synthetic, last, nodes)
    assert np.array_equal(totals, want_totals) and totals.sum() > 0, "wrong or empty totals"
    assert not with_cells or np.array_equal(cells, want_cells)


# ---- Engine.availability (ids interned, answer allocated) -----------------


@pytest.mark.parametrize("skus", [1, 100])
def test_engine_availability(benchmark, network, skus):
    engine = network.engine
    nodes = engine.node_selection()
    assert len(nodes) == len(network.network.nodes), "every synthetic node sells"
    ids = [[network.network.skus[i].sku_id for i in row] for row in random_skus(network, POOL, skus, seed=11)]
    id_cycle = itertools.cycle(ids)
    availability = engine.availability

    def call():
        return availability(next(id_cycle), nodes)

    label(benchmark, network, skus)
    answer = benchmark(call)
    want_cells, want_totals = expected(network, answer.sku_index, nodes)
    assert (answer.sku_index >= 0).all()
    assert np.array_equal(answer.cells, want_cells) and np.array_equal(answer.totals, want_totals)


# ---- core.apply: on-hand write throughput ---------------------------------
# 10,000 items (one full UpdateStock batch) gives updates/s; 1 item gives
# commands/s, the DESIGN's ">= 200k commands/s" for the state machine.


def adjust_commands(synthetic, count: int, items: int, seed: int) -> list[Command]:
    """Commands of `items` distinct positions, ADJUST by 0 or +1: they never fail."""
    rng = np.random.default_rng(seed)
    node_count = len(synthetic.network.nodes)
    positions_total = node_count * len(synthetic.network.skus)
    commands = []
    for _ in range(count):
        position = np.sort(rng.choice(positions_total, size=items, replace=False))
        commands.append(
            Command(
                UPDATE_ON_HAND,
                synthetic.engine.core.log_time_ns,
                (position // node_count).astype(np.int32),
                (position % node_count).astype(np.int32),
                rng.integers(0, 2, size=items, dtype=np.int64),
                np.full(items, ON_HAND_ADJUST, np.int8),
            )
        )
    return commands


def check_applied(synthetic, command: Command) -> None:
    core = synthetic.engine.core
    assert command.applied_count == len(command)
    assert (np.asarray(command.status) == ITEM_OK).all()
    sku, node = np.asarray(command.sku), np.asarray(command.node)
    assert np.array_equal(command.on_hand_after, core.bucket_array("on_hand")[sku, node])
    assert np.array_equal(command.available_after, core.bucket_array("available")[sku, node])


def report_rate(benchmark, items: int) -> None:
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["commands_per_s"] = round(1 / benchmark.stats.stats.median)
        benchmark.extra_info["updates_per_s"] = round(items / benchmark.stats.stats.median)


@pytest.mark.parametrize("items", [1, APPLY_ITEMS])
def test_core_apply_adjust(benchmark, large, items):
    """core.apply of prebuilt commands: the state machine alone."""
    commands = itertools.cycle(adjust_commands(large, POOL if items == 1 else 8, items, seed=3))
    apply = large.engine.core.apply

    def call():
        command = next(commands)
        apply(command)
        return command

    label(benchmark, large, items)
    check_applied(large, benchmark(call))
    report_rate(benchmark, items)


@pytest.mark.parametrize("items", [1, APPLY_ITEMS])
def test_engine_apply_adjust(benchmark, large, items):
    """Engine.apply: builds the Command (column copies, result arrays), stamps and applies it."""
    engine = large.engine
    columns = [(c.sku, c.node, c.quantity, c.op) for c in adjust_commands(large, 8, items, seed=4)]
    column_cycle = itertools.cycle(columns)

    def call():
        return engine.apply(UPDATE_ON_HAND, *next(column_cycle))

    label(benchmark, large, items)
    check_applied(large, benchmark(call))
    report_rate(benchmark, items)
