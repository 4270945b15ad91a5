"""The promise engine: options for 1, 10, 100 and 1,000-line orders over a synthetic network.

Targets (issue 5): 1 line x 20 candidate nodes <= 20 us; 10 lines x 50
candidate nodes <= 100 us; 1,000 lines <= 10 ms. The network: the synthetic
stock of benchmarks/networks.py plus a transport section where every node
has a parcel lane to one delivery zone (one working day) and every fifth
node a fixed route with a timetable; half the warehouses' SKUs also have a
purchase order due within the horizon. Each benchmark checks its answer has
an option whose plan is within what the nodes hold.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from benchmarks.conftest import SMOKE
from benchmarks.networks import build_network, on_hand_matrix, stock
from dompromise.edt import EdtCalculator, instant_ns
from dompromise.engine import Engine
from dompromise.model import Network
from dompromise.promise import FillPolicy, PromiseEngine, PromiseRequest
from dompromise.transport import WORKWEEK, Calendar, Departure, Lane, NodeShipping, TransportNetwork, Zone, at

SKUS = 1_500 if SMOKE else 20_000
AS_OF = instant_ns(dt.date(2026, 11, 24), 10 * 60, "Europe/Paris")
POOL = 64


def with_transport(network: Network) -> Network:
    calendar = Calendar("work", WORKWEEK, (), at("06:00"), at("20:00"))
    zone = Zone("Z", "Europe/Paris", "work", "everywhere", "FR", ("",))
    shipping = tuple(NodeShipping(node.node_id, "work", 30, {"parcel": at("17:00")}) for node in network.nodes)
    lanes = [Lane(node.node_id, "parcel", to_zone_id="Z", cost_minor=800 + i, pickup=at("18:00"),
                  transit_working_days=1, arrives=at("10:00")) for i, node in enumerate(network.nodes)]
    lanes += [Lane(node.node_id, "route", to_zone_id="Z", cost_minor=400,
                   departures=(Departure(WORKWEEK, at("14:00"), at("17:00"), 0, at("13:30")),))
              for node in network.nodes[::5]]
    return Network(network.nodes, network.skus, transport=TransportNetwork((calendar,), (zone,), shipping,
                                                                             tuple(lanes), "EUR"))


@pytest.fixture(scope="module", params=[20, 50], ids=["20-nodes", "50-nodes"])
def promiser(request):
    network = with_transport(build_network(request.param, SKUS))
    engine = Engine(network)
    stock(engine, on_hand_matrix(network, seed=77))
    edt = EdtCalculator(network)
    edt.tables_for(AS_OF)  # built once at start-up in a server
    return network, PromiseEngine(engine, edt)


def orders(network: Network, lines: int) -> list[PromiseRequest]:
    rng = np.random.default_rng(lines)
    skus = [sku.sku_id for sku in network.skus]
    return [PromiseRequest(tuple(skus[i] for i in rng.choice(len(skus), size=lines, replace=False)),
                           (1,) * lines, AS_OF, zone_id="Z", max_shipments=5,
                           fill_policy=FillPolicy.PARTIAL, min_fill_percent=1)
            for _ in range(POOL)]


@pytest.mark.parametrize("lines", [1, 10, 100, 1_000])
def test_promise(benchmark, promiser, lines):
    network, engine = promiser
    if lines == 1_000 and len(network.nodes) == 20:
        pytest.skip("the 1,000-line order is measured on the 50-node network only")
    batch = itertools.cycle(orders(network, lines))

    def call():
        request = next(batch)
        return request, engine.promise(request)

    benchmark.extra_info.update(lines=lines, nodes=len(network.nodes))
    request, answer = benchmark(call)
    assert answer.options, "no option at all"
    best = answer.options[0]
    assert all(s.earliest_ns >= AS_OF for s in best.shipments)
    assert sum(line.quantity for s in best.shipments for line in s.lines) <= lines
