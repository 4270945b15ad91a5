"""The promise engine: options for 1, 10, 100 and 1,000-line orders over a synthetic network.

Targets (issue 5): 1 line x 20 candidate nodes <= 20 us; 10 lines x 50
candidate nodes <= 100 us; 1,000 lines <= 10 ms. The network: the synthetic
stock of benchmarks/networks.py plus a transport section where every node
has a parcel lane to one delivery zone (one working day) and every fifth
node a fixed route with a timetable; half the warehouses' SKUs also have a
purchase order due within the horizon. Each benchmark checks its answer has
an option whose plan is within what the nodes hold.

Two figures per case:
- test_promise: `PromiseEngine.promise(request)`, all of it: summing the
  lines, the availability and future-supply gathers, the kernel, the
  Python-only plans (splits, consolidation) when the order needs them, and
  the answer's dataclasses: every returned Option with its Shipments and
  PlannedLines, and a Candidate with its explanation for every node.
- test_promise_kernel: the compiled kernel alone (dompromise/_core/promise.pyx:
  scan, full-node options, partial fills when no node has it all, ranking)
  over matrices gathered beforehand; no dataclasses, no candidates, and not
  the Python split an order with no full node also gets.
"""

from __future__ import annotations

import datetime as dt
import itertools
import pathlib
import sys

import numpy as np
import pytest

from benchmarks.conftest import SMOKE
from benchmarks.networks import build_network, on_hand_matrix, stock
from dompromise import limits
from dompromise.inventory.engine import Engine
from dompromise.model.network import Network
from dompromise.model.transport import WORKWEEK, Calendar, Departure, Lane, NodeShipping, TransportNetwork, Zone, at
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.edt_tables import instant_ns
from dompromise.promise.engine import PromiseEngine, _summed
from dompromise.promise.types import NS_PER_HOUR, FillPolicy, PromiseRequest

SKUS = 1_500 if SMOKE else 20_000
AS_OF = instant_ns(dt.date(2026, 11, 24), 10 * 60, "Europe/Paris")
POOL = 64


def with_transport(network: Network) -> Network:
    calendar = Calendar("work", WORKWEEK, (), at("06:00"), at("20:00"))
    zone = Zone("Z", "Europe/Paris", "work", "everywhere", "FR", ("",))
    shipping = tuple(NodeShipping(node.node_id, "work", 30, {"parcel": at("17:00")}) for node in network.nodes)
    lanes = [
        Lane(
            node.node_id,
            "parcel",
            to_zone_id="Z",
            cost_minor=800 + i,
            pickup=at("18:00"),
            transit_working_days=1,
            arrives=at("10:00"),
        )
        for i, node in enumerate(network.nodes)
    ]
    lanes += [
        Lane(
            node.node_id,
            "route",
            to_zone_id="Z",
            cost_minor=400,
            departures=(Departure(WORKWEEK, at("14:00"), at("17:00"), 0, at("13:30")),),
        )
        for node in network.nodes[::5]
    ]
    return Network(
        network.nodes, network.skus, transport=TransportNetwork((calendar,), (zone,), shipping, tuple(lanes), "EUR")
    )


# (candidate nodes, order lines): the 1,000-line order on the 50-node network only.
CASES = [(20, 1), (20, 10), (20, 100), (50, 1), (50, 10), (50, 100), (50, 1_000)]
CASE_IDS = [f"{nodes}-nodes-{lines}" for nodes, lines in CASES]
_promisers: dict[int, tuple] = {}


def promiser_for(node_count: int):
    """(network, PromiseEngine) over `node_count` stocked nodes, built once per module run."""
    if node_count not in _promisers:
        network = with_transport(build_network(node_count, SKUS))
        engine = Engine(network)
        stock(engine, on_hand_matrix(network, seed=77))
        edt = EdtCalculator(network)
        edt.tables_for(AS_OF)  # built once at start-up in a server
        _promisers[node_count] = network, PromiseEngine(engine, edt)
    return _promisers[node_count]


def orders(network: Network, lines: int) -> list[PromiseRequest]:
    rng = np.random.default_rng(lines)
    skus = [sku.sku_id for sku in network.skus]
    return [
        PromiseRequest(
            tuple(skus[i] for i in rng.choice(len(skus), size=lines, replace=False)),
            (1,) * lines,
            AS_OF,
            zone_id="Z",
            max_shipments=5,
            fill_policy=FillPolicy.PARTIAL,
            min_fill_percent=1,
        )
        for _ in range(POOL)
    ]


def record_p99(benchmark) -> None:
    """p99 of the rounds into extra_info (the JSON); a round of a call under ~100 us
    times several calls, so for those it is the p99 of round means."""
    if benchmark.stats:
        data = sorted(benchmark.stats.stats.data)
        benchmark.extra_info["p99_us"] = round(data[min(len(data) - 1, int(len(data) * 0.99))] * 1e6, 2)
        benchmark.extra_info["rounds"] = len(data)


@pytest.mark.parametrize(("nodes", "lines"), CASES, ids=CASE_IDS)
def test_promise(benchmark, nodes, lines):
    network, engine = promiser_for(nodes)
    batch = itertools.cycle(orders(network, lines))

    def call():
        request = next(batch)
        return request, engine.promise(request)

    benchmark.extra_info.update(lines=lines, nodes=len(network.nodes), part="PromiseEngine.promise, answer built")
    request, answer = benchmark(call)
    record_p99(benchmark)
    assert answer.options, "no option at all"
    best = answer.options[0]
    assert all(s.earliest_ns >= AS_OF for s in best.shipments)
    assert sum(line.quantity for s in best.shipments for line in s.lines) <= lines


def kernel_inputs(engine: Engine, promiser: PromiseEngine, request: PromiseRequest) -> tuple:
    """What PromiseEngine._scan hands the kernel, gathered once (not timed)."""
    sku_ids, quantities = _summed(request.sku_ids, request.quantities)
    wanted = np.array(quantities, dtype=np.int64)
    sellable = engine.node_selection()
    destination = promiser._routes.destination(request)
    answer = engine.availability(sku_ids, sellable)
    horizon = np.array([request.as_of_ns + limits.PROMISE_HORIZON_DAYS * 24 * NS_PER_HOUR], np.int64)
    earliest = engine.phased_availability(
        answer.sku_index, sellable, horizon, wanted=wanted, with_cells=False
    ).earliest_ns.reshape(-1)
    return (
        destination.table,
        destination.allowed(request.methods, request.customer_tier),
        (promiser._edt.tables_for(request.as_of_ns),),
        sellable,
        answer.cells,
        earliest,
        wanted,
        request.as_of_ns,
        True,
        None,
    )


@pytest.mark.parametrize(("nodes", "lines"), CASES, ids=CASE_IDS)
def test_promise_kernel(benchmark, nodes, lines):
    network, engine = promiser_for(nodes)
    kernel = engine._kernel
    pool = [(request, kernel_inputs(engine._engine, engine, request)) for request in orders(network, lines)]
    batch = itertools.cycle(pool)

    def call():
        request, inputs = next(batch)
        scan = kernel.scan(*inputs)
        assert scan.full_options() == 0, "the as-of tables cover every ready time here"
        if scan.full_row_count == 0:
            assert scan.partial_options(request.min_fill_percent) == 0
        return scan, scan.rank(request.deliver_before_ns, request.max_options)

    benchmark.extra_info.update(lines=lines, nodes=len(network.nodes), part="kernel only")
    scan, kept = benchmark(call)
    record_p99(benchmark)
    assert kept > 0 or scan.row_count == 0


@pytest.mark.parametrize(("nodes", "lines"), CASES, ids=CASE_IDS)
def test_promise_reference(benchmark, nodes, lines):
    """The pure-Python engine the kernel replaced (tests/promise/reference_promise.py),
    same network and orders: the before figure, measured in the same run."""
    network, engine = promiser_for(nodes)
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "tests" / "promise"))
    from reference_promise import ReferencePromiseEngine

    reference = ReferencePromiseEngine(engine._engine, engine._edt)
    batch = itertools.cycle(orders(network, lines))

    def call():
        request = next(batch)
        return request, reference.promise(request)

    benchmark.extra_info.update(lines=lines, nodes=len(network.nodes), part="reference pure-Python promise")
    request, answer = benchmark(call)
    record_p99(benchmark)
    assert answer == engine.promise(request)
