"""EDT micro-benchmarks: next-departure lookups inside the core, and one EDT.

Targets (DESIGN.md, "Promise: EDT"): a next-departure lookup is a binary
search, O(log k), <= 200 ns measured in a loop inside Cython; one EDT from
Python a few microseconds. Lookups are timed in batches of LOOKUPS inside one
`next_departures` call and reported per lookup (`ns_per_lookup` in
extra_info), so the Python call overhead is spread out. Nothing asserts a
time; every benchmark checks its answers, so `--benchmark-disable` (one
call each, BENCH_SMOKE=1) is a correctness test.

Lanes: demo route 7 (two runs a working day, ~570 departures in the 400-day
window) and a busy synthetic lane at DEPARTURES_PER_WEEK_MAX (~11,000).
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from benchmarks.conftest import SMOKE
from dompromise.demo.network import demo_network
from dompromise.limits import DEPARTURES_PER_WEEK_MAX
from dompromise.model.network import Network, Node, NodeType, Sku
from dompromise.model.transport import Calendar, Departure, Lane, LocalTime, NodeShipping, TransportNetwork, Zone
from dompromise.promise.edt import EdtCalculator, EdtStatus
from dompromise.promise.edt_tables import NS_PER_DAY, instant_ns

LOOKUPS = 10_000 if SMOKE else 1_000_000
EDT_POOL = 1_024  # distinct ready times cycled through
AS_OF_NS = instant_ns(dt.date(2026, 6, 10), 9 * 60, "Europe/Paris")
SPAN_NS = 300 * NS_PER_DAY  # ready times spread over most of one window


def busy_network() -> Network:
    """One lane with DEPARTURES_PER_WEEK_MAX departures a week, every day, all day."""
    runs_per_day = DEPARTURES_PER_WEEK_MAX // 7
    every_day = tuple(range(7))
    departures = tuple(
        Departure(every_day, LocalTime(minute), LocalTime(min(minute + 60, 23 * 60 + 59)))
        for minute in range(0, 24 * 60, 24 * 60 // runs_per_day)[:runs_per_day]
    )
    transport = TransportNetwork(
        calendars=(Calendar("always", every_day),),
        zones=(Zone("Z", "Europe/Paris", "always"),),
        node_shipping=(NodeShipping("N", "always"),),
        lanes=(Lane("N", "shuttle", to_zone_id="Z", departures=departures),),
    )
    return Network((Node("N", NodeType.WAREHOUSE, timezone="Europe/Paris"),), (Sku("S"),), transport)


@pytest.fixture(scope="module")
def demo_calculator():
    return EdtCalculator(demo_network())


@pytest.fixture(scope="module", params=["route7", "busy"])
def lane(request, demo_calculator):
    """(calculator, lane index, tables) for one benchmarked lane."""
    if request.param == "route7":
        calculator = demo_calculator
        index = calculator.lane_index("WH-NORTH", "route7", zone_id="FR-59")
    else:
        calculator = EdtCalculator(busy_network())
        index = 0
    return request.param, calculator, index, calculator.tables_for(AS_OF_NS)


def ready_times(count: int, seed: int, tables) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.sort(rng.integers(tables.ready_start_ns, tables.ready_start_ns + SPAN_NS, size=count, dtype=np.int64))


def test_next_departure_lookup(benchmark, lane):
    """LOOKUPS binary searches in one core call; extra_info has ns per lookup."""
    name, _, index, tables = lane
    at_ns = np.random.default_rng(1).permutation(ready_times(LOOKUPS, 1, tables))  # random order: no cache help
    out = np.empty(LOOKUPS, dtype=np.int32)
    departures, _, _ = tables.departures(index)

    benchmark.extra_info.update(lane=name, departures=len(departures), lookups=LOOKUPS)
    benchmark(tables.next_departures, index, at_ns, out)

    expected = np.searchsorted(departures, at_ns, side="left")
    assert np.array_equal(out, np.where(expected == len(departures), -1, expected))
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["ns_per_lookup"] = round(benchmark.stats.stats.median / LOOKUPS * 1e9, 1)


def test_edt_core_call(benchmark, lane):
    """One EDT through the compiled tables' Python entry point (tuple out)."""
    name, calculator, index, tables = lane
    ready = itertools.cycle(ready_times(EDT_POOL, 2, tables).tolist())
    edt = tables.edt

    def call():
        at_ns = next(ready)
        return at_ns, edt(index, at_ns)

    benchmark.extra_info.update(lane=name)
    at_ns, answer = benchmark(call)
    assert answer == calculator.tables_for(at_ns).edt(index, at_ns)
    assert answer[0] == EdtStatus.OK and answer[6] >= at_ns


def test_edt_calculator(benchmark, lane):
    """One EDT through EdtCalculator.edt_lane: window check, answer dataclass."""
    name, calculator, index, tables = lane
    ready = itertools.cycle(ready_times(EDT_POOL, 3, tables).tolist())

    def call():
        return calculator.edt_lane(index, as_of_ns=next(ready))

    benchmark.extra_info.update(lane=name)
    answer = benchmark(call)
    assert answer.status == EdtStatus.OK and answer.earliest_ns >= answer.ready_ns


def test_edt_batch(benchmark, demo_calculator):
    """EDTs of every demo lane for 100 ready times in one core call; extra_info has ns per EDT."""
    tables = demo_calculator.tables_for(AS_OF_NS)
    lane_count = len(demo_calculator.lanes)
    lanes = np.tile(np.arange(lane_count, dtype=np.int32), 100)
    ready = np.repeat(ready_times(100, 4, tables), lane_count)
    outs = [np.empty(len(lanes), np.int8), np.empty(len(lanes), np.int8)] + [
        np.empty(len(lanes), np.int64) for _ in range(3)
    ]

    benchmark.extra_info.update(edts=len(lanes))
    benchmark(tables.edt_many, lanes, ready, *outs)

    assert (outs[0] == EdtStatus.OK).all()
    for i in range(0, len(lanes), 97):
        assert outs[3][i] == tables.edt(int(lanes[i]), int(ready[i]))[6]
    if benchmark.stats is not None:
        benchmark.extra_info["ns_per_edt"] = round(benchmark.stats.stats.median / len(lanes) * 1e9, 1)
