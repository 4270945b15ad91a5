"""The promise kernel (dompromise/_core/promise.pyx) and the engine built on it.

Two kinds of test: the kernel's edge cases one by one, and the whole engine
against the pure-Python engine it replaced (reference_promise.py, kept
verbatim), answer for answer, over random stock, supply, orders and options.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_promise import ReferencePromiseEngine
from scenario_network import NODES, SKUS, paris, stock_records, stocked_engine

from dompromise._core.promise import COLUMN_CODE, INFO_FIELD, PromiseKernel, RouteTable, round3
from dompromise.inventory.engine import EARLIEST_NEVER, EARLIEST_NOW, Engine
from dompromise.model.network import Network, Node, NodeType, Sku
from dompromise.model.transport import WORKWEEK, Calendar, Departure, Lane, NodeShipping, TransportNetwork, Zone, at
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.edt_tables import build_tables, instant_ns
from dompromise.promise.engine import PromiseEngine
from dompromise.promise.types import FillPolicy, Method, PromiseRequest, Reason, Sourcing

DAY_NS = 86_400 * 10**9
HOUR_NS = 3_600 * 10**9
START = paris(2026, 11, 23, 0, 0)


# ---- the engine against the reference -----------------------------------------


def both(engine: Engine, request: PromiseRequest):
    edt = EdtCalculator(engine.network)
    return PromiseEngine(engine, edt).promise(request), ReferencePromiseEngine(engine, edt).promise(request)


stock = st.dictionaries(st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES)), st.integers(0, 30), max_size=14)
supplies = st.lists(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES), st.integers(1, 30), st.integers(1, 100 * 24)), max_size=5
)
orders = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 25)), min_size=1, max_size=5)
requests = st.fixed_dictionaries(
    {
        # Up to 500 days: as-of times near the end of a table window, ready times past it.
        "as_of_hours": st.integers(0, 500 * 24),
        "destination": st.sampled_from(["Z59", "Z69", "ST", "Z00"]),
        "fill_policy": st.sampled_from(list(FillPolicy)),
        "sourcing": st.sampled_from(list(Sourcing)),
        "max_shipments": st.integers(1, 3),
        "min_fill_percent": st.integers(1, 100),
        "methods": st.sets(st.sampled_from(list(Method)), min_size=1),
        "tier": st.sampled_from(["", "gold", "silver"]),
        "future": st.booleans(),
        "before_hours": st.one_of(st.just(0), st.integers(1, 24 * 10)),
        "max_options": st.integers(1, 6),
    }
)


def request_of(order: list[tuple[str, int]], options: dict[str, Any]) -> PromiseRequest:
    """The PromiseRequest of a drawn order and request options (`requests`)."""
    destination = options["destination"]
    as_of = START + options["as_of_hours"] * HOUR_NS
    return PromiseRequest(
        tuple(sku for sku, _ in order),
        tuple(quantity for _, quantity in order),
        as_of,
        zone_id=None if destination == "ST" else destination,
        pickup_node_id="ST" if destination == "ST" else None,
        methods=frozenset(options["methods"]),
        fill_policy=options["fill_policy"],
        min_fill_percent=options["min_fill_percent"],
        max_shipments=options["max_shipments"],
        sourcing=options["sourcing"],
        customer_tier=options["tier"],
        allow_future_supply=options["future"],
        deliver_before_ns=as_of + options["before_hours"] * HOUR_NS if options["before_hours"] else 0,
        max_options=options["max_options"],
    )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stock, supplies, orders, requests)
def test_the_engine_answers_exactly_as_the_pure_python_one(stock_, supplies_, order, options):
    as_of = START + options["as_of_hours"] * HOUR_NS
    supply_rows = [
        (f"PO-{i}", sku, node, quantity, as_of + hours * HOUR_NS)
        for i, (sku, node, quantity, hours) in enumerate(supplies_)
    ]
    engine = stocked_engine({key: value for key, value in stock_.items() if value}, supply_rows)
    ours, reference = both(engine, request_of(order, options))
    assert ours == reference


def wide_network(node_count: int) -> Network:
    """Many nodes, each with two lanes to zone Z (parcel; every third a timed route, every
    fourth an express that costs more), transfer lanes into hub N0 and a second, slower
    transfer lane into it from N1: routes that tie, hubs to consolidate at."""
    calendar = Calendar("work", WORKWEEK, (), at("06:00"), at("20:00"))
    zone = Zone("Z", "Europe/Paris", "work", "everywhere", "FR", ("",))
    nodes = tuple(
        Node(f"N{i}", NodeType.SUPPLIER_DROP_SHIP if i % 7 == 6 else NodeType.WAREHOUSE, timezone="Europe/Paris")
        for i in range(node_count)
    )
    shipping = tuple(NodeShipping(node.node_id, "work", 30, {"parcel": at("17:00")}) for node in nodes)
    lanes = [
        Lane(
            node.node_id,
            "parcel",
            to_zone_id="Z",
            cost_minor=800 + 10 * (i % 3),
            pickup=at("18:00"),
            transit_working_days=1,
            arrives=at("10:00"),
        )
        for i, node in enumerate(nodes)
    ]
    lanes += [
        Lane(
            node.node_id,
            "route",
            to_zone_id="Z",
            cost_minor=800,
            departures=(Departure(WORKWEEK, at("14:00"), at("17:00"), 0, at("13:30")),),
        )
        for node in nodes[::3]
    ]
    lanes += [
        Lane(node.node_id, "express", to_zone_id="Z", cost_minor=2_000, transit_hours=4, tiers=("gold",))
        for node in nodes[::4]
    ]
    lanes += [
        Lane(
            node.node_id,
            "trunk",
            to_node_id="N0",
            cost_minor=300,
            departures=(Departure(WORKWEEK, at("21:00"), at("07:00"), 1, at("19:30")),),
        )
        for node in nodes[1::2]
    ]
    lanes.append(
        Lane(
            "N1",
            "slowtrunk",
            to_node_id="N0",
            cost_minor=100,
            transit_working_days=1,
            pickup=at("21:00"),
            arrives=at("07:00"),
        )
    )
    skus = tuple(Sku(f"S{i}") for i in range(12))
    return Network(nodes, skus, transport=TransportNetwork((calendar,), (zone,), shipping, tuple(lanes), "EUR"))


WIDE = wide_network(15)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_engine_answers_exactly_as_the_pure_python_one_on_a_wide_network(data):
    skus = [sku.sku_id for sku in WIDE.skus]
    nodes = [node.node_id for node in WIDE.nodes]
    engine = Engine(WIDE)
    cells = data.draw(
        st.dictionaries(st.tuples(st.sampled_from(skus), st.sampled_from(nodes)), st.integers(1, 9), max_size=60)
    )
    if cells:
        for position, record in enumerate(stock_records(cells), start=1):
            engine.apply_record(record, position)
    lines = data.draw(st.lists(st.tuples(st.sampled_from(skus), st.integers(1, 6)), min_size=1, max_size=8))
    as_of = START + data.draw(st.integers(0, 30 * 24)) * HOUR_NS + data.draw(st.sampled_from([0, 17 * 60 * 10**9]))
    request = PromiseRequest(
        tuple(s for s, _ in lines),
        tuple(q for _, q in lines),
        as_of,
        zone_id="Z",
        fill_policy=data.draw(st.sampled_from(list(FillPolicy))),
        max_shipments=data.draw(st.integers(1, 4)),
        min_fill_percent=data.draw(st.integers(1, 100)),
        sourcing=data.draw(st.sampled_from(list(Sourcing))),
        customer_tier=data.draw(st.sampled_from(["", "gold"])),
        max_options=data.draw(st.integers(1, 8)),
        methods=frozenset(data.draw(st.sets(st.sampled_from(list(Method)), min_size=1))),
    )
    ours, reference = both(engine, request)
    assert ours == reference


def test_answers_match_with_a_node_penalty_of_zero_and_move_with_one():
    engine = stocked_engine({("PAD", "WH"): 10, ("PAD", "DC"): 40, ("PAD", "SUP"): 5})
    request = PromiseRequest(("PAD",), (2,), paris(2026, 11, 24, 10, 0), zone_id="Z59", max_options=10)
    promiser = PromiseEngine(engine, EdtCalculator(engine.network))
    plain = promiser.promise(request)
    assert promiser.promise(request, node_penalty=np.zeros(len(NODES))) == plain
    scores = {o.shipments[0].node_id: o.score for o in plain.options}
    penalty = np.zeros(len(NODES))
    penalty[NODES.index("WH")] = 100.25
    moved = promiser.promise(request, node_penalty=penalty)
    assert {o.shipments[0].node_id: o.score for o in moved.options} == {
        node: round(score + (100.25 if node == "WH" else 0.0), 3) for node, score in scores.items()
    }
    assert moved.options[0].shipments[0].node_id != "WH" and plain.options[0].shipments[0].node_id == "WH"
    with pytest.raises(ValueError):
        promiser.promise(request, node_penalty=np.zeros(len(NODES) + 1))


def test_a_node_penalty_counts_once_per_shipment_in_a_split():
    engine = stocked_engine({("PAD", "WH"): 10, ("OIL", "DC"): 10})
    request = PromiseRequest(
        ("PAD", "OIL"),
        (1, 1),
        paris(2026, 11, 24, 10, 0),
        zone_id="Z59",
        max_shipments=2,
        sourcing=Sourcing.LINE_LEVEL,
        max_options=10,
    )
    promiser = PromiseEngine(engine, EdtCalculator(engine.network))

    def by_plan(answer):
        return {tuple((s.node_id, s.service) for s in o.shipments): o.score for o in answer.options}

    plain = by_plan(promiser.promise(request))
    assert any(len(plan) == 2 for plan in plain)
    penalised = by_plan(promiser.promise(request, node_penalty=np.full(len(NODES), 1.5)))
    assert penalised == {plan: round(score + 1.5 * len(plan), 3) for plan, score in plain.items()}


# ---- the kernel's edge cases ------------------------------------------------------


def small_network(node_count: int, lanes: list[Lane]) -> Network:
    calendar = Calendar("work", WORKWEEK, (), at("06:00"), at("20:00"))
    zone = Zone("Z", "Europe/Paris", "work", "everywhere", "FR", ("",))
    nodes = tuple(Node(f"N{i}", NodeType.WAREHOUSE, timezone="Europe/Paris") for i in range(node_count))
    shipping = tuple(NodeShipping(node.node_id, "work", 0, {}) for node in nodes)
    return Network(
        nodes, (Sku("A"), Sku("B")), transport=TransportNetwork((calendar,), (zone,), shipping, tuple(lanes), "EUR")
    )


AS_OF = instant_ns(dt.date(2026, 11, 24), 10 * 60, "Europe/Paris")


def kernel_for(network: Network) -> tuple[PromiseKernel, tuple]:
    edt = EdtCalculator(network)
    kernel = PromiseKernel(
        [lane.cost_minor for lane in edt.lanes], 1.0, 0.2, 12.0, 2.0, 6.0, EARLIEST_NOW, EARLIEST_NEVER
    )
    return kernel, (edt.tables_for(AS_OF),)


def table(routes_by_node: list[list[tuple[int, int, int]]], lane_count: int) -> RouteTable:
    """routes: (lane, onward, method) per node."""
    flat = [route for routes in routes_by_node for route in routes]
    starts = np.cumsum([0] + [len(routes) for routes in routes_by_node])
    return RouteTable(
        starts,
        [r[0] for r in flat],
        [r[1] for r in flat],
        [r[2] for r in flat],
        [r[0] for r in flat],
        [-1] * len(flat),
        lane_count,
    )


def scan(kernel, tables, routes, now, wanted, *, earliest=None, allowed=None, penalty=None):
    now = np.ascontiguousarray(now, dtype=np.int64)
    wanted = np.asarray(wanted, dtype=np.int64)
    columns = np.arange(now.shape[1], dtype=np.int32)
    allowed = np.ones(routes.route_count, dtype=np.uint8) if allowed is None else np.asarray(allowed, np.uint8)
    if earliest is not None:
        earliest = np.ascontiguousarray(earliest, dtype=np.int64).reshape(-1)
    result = kernel.scan(
        routes, allowed, tables, columns, now.reshape(-1), earliest, wanted, AS_OF, earliest is not None, penalty
    )
    assert result.full_options() == 0
    return result


def codes(result) -> list[int]:
    return result.info[:, INFO_FIELD["CODE"]].tolist()


PARCEL = dict(cost_minor=800, pickup=at("18:00"), transit_working_days=1, arrives=at("10:00"))


def test_a_node_without_routes_is_no_lane_even_with_stock():
    network = small_network(2, [Lane("N0", "parcel", to_zone_id="Z", **PARCEL)])
    kernel, tables = kernel_for(network)
    result = scan(kernel, tables, table([[(0, -1, 1)], []], 1), [[5, 5]], [1])
    assert codes(result) == [COLUMN_CODE["FULL"], COLUMN_CODE["NO_LANE"]]
    assert result.row_count == 1 and result.rows[0, 0] == 0


def test_all_short():
    network = small_network(2, [Lane(f"N{i}", "parcel", to_zone_id="Z", **PARCEL) for i in range(2)])
    kernel, tables = kernel_for(network)
    result = scan(kernel, tables, table([[(0, -1, 1)], [(1, -1, 1)]], 2), [[0, 1], [0, 0]], [2, 3])
    assert codes(result) == [COLUMN_CODE["SHORT_NONE"], COLUMN_CODE["PARTIAL"]]
    assert result.row_count == 0
    assert result.short_lines[1].tolist()[:4] == [0, 1, 1, 0]  # (line, filled) of each short line
    assert result.partial_options(50) == 0 and result.row_count == 0  # 1 of 5 units: 20%
    assert result.partial_options(20) == 0 and result.row_count == 1
    assert result.score[0] == round(24.0 + 0.2 * 800 / 100 + 2.0 * 80.0, 3)


def test_tier_and_method_filtering_is_the_allowed_mask():
    network = small_network(
        1,
        [
            Lane("N0", "parcel", to_zone_id="Z", **PARCEL),
            Lane("N0", "express", to_zone_id="Z", cost_minor=3_000, transit_hours=2),
        ],
    )
    kernel, tables = kernel_for(network)
    routes = table([[(0, -1, 1), (1, -1, 1)]], 2)
    both_routes = scan(kernel, tables, routes, [[1]], [1])
    assert both_routes.row_count == 2  # the fastest (express) and the cheapest (parcel)
    assert both_routes.rows[:2, 1].tolist() == [1, 0]
    parcel_only = scan(kernel, tables, routes, [[1]], [1], allowed=[1, 0])
    assert parcel_only.row_count == 1 and parcel_only.rows[0, 1] == 0
    none = scan(kernel, tables, routes, [[1]], [1], allowed=[0, 0])
    assert codes(none) == [COLUMN_CODE["NO_LANE"]]


def test_ties_go_to_the_earlier_route_and_rank_stably():
    # Two identical lanes per node: same earliest and cost, so one row each, the first lane.
    lanes = [Lane(f"N{i}", service, to_zone_id="Z", **PARCEL) for i in range(2) for service in ("p1", "p2")]
    network = small_network(2, lanes)
    kernel, tables = kernel_for(network)
    routes = table([[(0, -1, 1), (1, -1, 1)], [(2, -1, 1), (3, -1, 1)]], 4)
    result = scan(kernel, tables, routes, [[1, 1]], [1])
    assert result.row_count == 2
    assert result.rows[:2, 1].tolist() == [0, 2]
    assert result.score[0] == result.score[1]
    assert result.rank(0, 5) == 2
    assert result.order.tolist() == [0, 1]  # equal keys: node order


def test_rank_drops_late_rows_and_repeats_and_slices_like_python():
    network = small_network(3, [Lane(f"N{i}", "parcel", to_zone_id="Z", **PARCEL) for i in range(3)])
    kernel, tables = kernel_for(network)
    routes = table([[(0, -1, 1)], [(1, -1, 1)], [(2, -1, 1)]], 3)
    result = scan(kernel, tables, routes, [[1, 1, 1]], [1])
    assert result.rank(0, -1) == 2  # [:-1]
    assert result.rank(AS_OF + HOUR_NS, 5) == 0  # nothing delivers within the hour
    outcome = result.info[:, INFO_FIELD["OUTCOME"]].tolist()
    assert outcome == [7, 7, 7]


def test_future_supply_ready_times():
    network = small_network(2, [Lane(f"N{i}", "parcel", to_zone_id="Z", **PARCEL) for i in range(2)])
    kernel, tables = kernel_for(network)
    routes = table([[(0, -1, 1)], [(1, -1, 1)]], 2)
    eta = AS_OF + 3 * DAY_NS
    # Line 0: N0 has it now; N1 gets it by a PO. Line 1: N0 never, N1 has 1 of 2 now and the rest by the PO.
    now = [[1, 0], [0, 1]]
    earliest = [[EARLIEST_NOW, eta], [EARLIEST_NEVER, eta + DAY_NS]]
    result = scan(kernel, tables, routes, now, [1, 2], earliest=earliest)
    assert result.filled.tolist() == [[1, 1], [0, 2]]
    assert result.ready_ns.tolist() == [[AS_OF, eta], [AS_OF, eta + DAY_NS]]
    assert codes(result) == [COLUMN_CODE["PARTIAL"], COLUMN_CODE["FULL"]]
    assert result.info[1, INFO_FIELD["READY_MAX"]] == eta + DAY_NS
    assert result.rows[0, 2] > eta + DAY_NS  # delivered after the later line is ready
    # An ETA before as-of (overdue) counts from as-of.
    overdue = scan(kernel, tables, routes, [[0, 0]], [1], earliest=[[AS_OF - DAY_NS, EARLIEST_NEVER]])
    assert overdue.ready_ns.tolist() == [[AS_OF, AS_OF]]


def test_a_ready_time_past_the_tables_asks_for_more():
    network = small_network(1, [Lane("N0", "parcel", to_zone_id="Z", **PARCEL)])
    edt = EdtCalculator(network)
    kernel, tables = kernel_for(network)
    far = tables[0].ready_end_ns + DAY_NS
    now = np.zeros(1, dtype=np.int64)
    result = kernel.scan(
        table([[(0, -1, 1)]], 1),
        np.ones(1, np.uint8),
        tables,
        np.zeros(1, np.int32),
        now,
        np.array([far], np.int64),
        np.ones(1, np.int64),
        AS_OF,
        True,
        None,
    )
    assert result.full_options() == 1 and result.missing_ns == far
    result.add_tables(edt.tables_for(far))
    assert result.full_options() == 0 and result.row_count == 1
    assert result.rows[0, 2] == edt.edt_lane(0, as_of_ns=AS_OF, supply_eta_ns=far).earliest_ns


def test_the_kernel_checks_its_arrays():
    network = small_network(1, [Lane("N0", "parcel", to_zone_id="Z", **PARCEL)])
    kernel, tables = kernel_for(network)
    routes = table([[(0, -1, 1)]], 1)
    with pytest.raises(TypeError):
        kernel.scan(
            routes,
            np.ones(1, np.uint8),
            tables,
            np.zeros(1, np.int64),
            np.zeros(1, np.int64),
            None,
            np.ones(1, np.int64),
            AS_OF,
            False,
            None,
        )
    with pytest.raises(ValueError):
        kernel.scan(
            routes,
            np.ones(2, np.uint8),
            tables,
            np.zeros(1, np.int32),
            np.zeros(1, np.int64),
            None,
            np.ones(1, np.int64),
            AS_OF,
            False,
            None,
        )
    with pytest.raises(IndexError):
        kernel.scan(
            routes,
            np.ones(1, np.uint8),
            tables,
            np.ones(1, np.int32),
            np.zeros(1, np.int64),
            None,
            np.ones(1, np.int64),
            AS_OF,
            False,
            None,
        )
    with pytest.raises(ValueError):
        RouteTable([0, 1], [5], [-1], [1], [0], [-1], 1)


@given(st.floats(min_value=-1e9, max_value=1e12, allow_nan=False))
def test_round3_is_pythons_round(x):
    assert round3(x) == round(x, 3)


@pytest.mark.parametrize("x", [0.0005, 0.0015, 1.0005, 2.675, 1234.5675, 0.1 + 0.2, 1e15 + 0.3, -0.0004, 5e-324])
def test_round3_near_half_way(x):
    assert round3(x) == round(x, 3)


def test_tables_build_is_unchanged_for_the_kernel():
    # The kernel reads the same TransportTables the EDT calculator answers from.
    network = small_network(1, [Lane("N0", "parcel", to_zone_id="Z", **PARCEL)])
    tables = build_tables(network, dt.date(2026, 11, 1))
    assert tables.lane_count == 1


def test_reasons_of_the_kernel_path_are_the_old_ones():
    engine = stocked_engine({("PAD", "WH"): 10, ("OIL", "DC"): 1})
    request = PromiseRequest(("PAD", "OIL"), (2, 5), paris(2026, 11, 24, 10, 0), zone_id="Z59")
    ours, reference = both(engine, request)
    assert ours == reference
    assert {c.node_id: c.reason for c in ours.candidates}["WH"] == Reason.SHORT


def test_fastest_routes_for_the_split():
    network = small_network(
        2,
        [
            Lane("N0", "parcel", to_zone_id="Z", **PARCEL),
            Lane("N0", "express", to_zone_id="Z", cost_minor=3_000, transit_hours=2),
            Lane("N1", "parcel", to_zone_id="Z", **PARCEL),
        ],
    )
    kernel, tables = kernel_for(network)
    routes = table([[(0, -1, 1), (1, -1, 1)], [(2, -1, 1)]], 3)
    result = scan(kernel, tables, routes, [[1, 0]], [1], allowed=[1, 1, 0])
    out = np.empty((3, 5), dtype=np.int64)
    later = AS_OF + 2 * DAY_NS
    assert result.fastest_routes(np.array([0, 0, 1]), np.array([AS_OF, later, AS_OF]), out) == 0
    edt = EdtCalculator(network)
    express_now = edt.edt_lane(1, as_of_ns=AS_OF)
    express_later = edt.edt_lane(1, as_of_ns=AS_OF, supply_eta_ns=later)
    assert out[0].tolist() == [1, express_now.earliest_ns, express_now.latest_ns, express_now.departure_ns, 3_000]
    assert out[1, :3].tolist() == [1, express_later.earliest_ns, express_later.latest_ns]
    assert out[2, 0] == -1  # N1's only route is not allowed


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=1, max_size=4),
    st.lists(st.sampled_from([EARLIEST_NOW, EARLIEST_NEVER, AS_OF - DAY_NS, AS_OF + 2 * DAY_NS, AS_OF + 3 * DAY_NS])),
    st.integers(1, 3),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=6),
    st.integers(0, 5),
)
def test_the_kernels_lists_are_what_its_arrays_say(now, earliest, wanted, limited, max_options):
    """filled_ready lists (column, node, the distinct ready times of its filled lines in line order) of the
    given columns that fill some line (FULL or PARTIAL); final_codes is each column's outcome after rank(),
    else its code."""
    network = small_network(4, [Lane(f"N{i}", "parcel", to_zone_id="Z", **PARCEL) for i in range(3)])
    kernel, tables = kernel_for(network)
    routes = table([[(0, -1, 1)], [(1, -1, 1)], [(2, -1, 1)], []], 3)
    earliest = [
        [earliest[(4 * line + c) % len(earliest)] if earliest else EARLIEST_NEVER for c in range(4)]
        for line in range(len(now))
    ]
    result = scan(kernel, tables, routes, now, [wanted] * len(now), earliest=earliest)
    info, filled, ready = result.info.tolist(), result.filled.T.tolist(), result.ready_ns.T.tolist()
    code, outcome = INFO_FIELD["CODE"], INFO_FIELD["OUTCOME"]
    filling = (COLUMN_CODE["FULL"], COLUMN_CODE["PARTIAL"])
    assert result.filled_ready(limited) == [
        (column, node, list(dict.fromkeys(at for f, at in zip(filled[column], ready[column]) if f > 0)))
        for column, node in limited
        if info[column][code] in filling
    ]
    result.rank(0, max_options)
    assert result.final_codes() == [row[outcome] or row[code] for row in result.info.tolist()]
    with pytest.raises(IndexError):
        result.filled_ready([(4, 0)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stock, supplies, st.lists(st.tuples(orders, requests), min_size=2, max_size=8))
def test_an_engine_kept_across_promises_answers_as_a_fresh_one(stock_, supplies_, calls):
    """What a PromiseEngine keeps between calls (the candidates of each destination and set of reasons, the
    capacity step's columns, the node terms) never leaks from one promise into the next: a kept engine
    answers a sequence of orders, and the same order again, as a fresh engine does, and changing an answer's
    candidates list changes no later answer."""
    engine = stocked_engine({key: value for key, value in stock_.items() if value}, supplies_and_start(supplies_))
    edt = EdtCalculator(engine.network)
    kept = PromiseEngine(engine, edt)
    for order, options in calls + calls[:1]:
        request = request_of(order, options)
        rows = kept.promise_rows(request)
        assert rows.candidates == list(PromiseEngine(engine, edt).promise(request).candidates)
        rows.candidates.clear()  # a caller's list: the next answer's is its own
        assert kept.promise(request) == PromiseEngine(engine, edt).promise(request)


def supplies_and_start(supplies_):
    return [
        (f"PO-{i}", sku, node, quantity, START + hours * HOUR_NS)
        for i, (sku, node, quantity, hours) in enumerate(supplies_)
    ]
