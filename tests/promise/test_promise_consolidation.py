"""Consolidation at a hub in the kernel (_core/promise_consolidation.pxi) against the Python
planner it replaced (MultiNodeOptions._consolidated_options, kept for the hubs the kernel
hands back): the same options, field for field, over random stock, supply, orders and
requests, on a network whose hubs have several feeders (two lanes from one of them)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_network import NODES, SKUS, network, paris, stock_records

from benchmarks.grpc_ceiling import promise_request
from dompromise._core.promise import HUB_FIELD, HUB_STATUS_CODE, Consolidations, PromiseScan, TransferTable
from dompromise.demo import network as demo
from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.model.transport import Departure, Lane, at
from dompromise.promise.call import CODE_PARTIAL, INFO_CODE
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.engine import PromiseEngine
from dompromise.promise.multi_node import MultiNodeOptions
from dompromise.promise.token import TokenSigner
from dompromise.promise.types import FillPolicy, Method, Option, PromiseRequest, Sourcing
from dompromise.replica.bootstrap import stock_records as demo_stock_records
from dompromise.replica.local import Replica
from dompromise.service.promise import Promiser

HOUR_NS = 3_600 * 10**9
START = paris(2026, 11, 23, 0, 0)
STATUS = HUB_FIELD["STATUS"]


def hubs_network():
    """The scenario network with more transfer lanes: WH fed by DC (two lanes: the cheaper one's
    cost is what a transfer adds), SUP and ST; ST fed by WH and DC."""
    base = network()
    assert base.transport is not None
    extra = (
        Lane("DC", "express", to_node_id="WH", cost_minor=2_500, transit_hours=5),
        Lane("SUP", "trunk", to_node_id="WH", cost_minor=700, transit_hours=30),
        Lane("ST", "back", to_node_id="WH", cost_minor=200, transit_hours=20),
        Lane(
            "DC",
            "night",
            to_node_id="ST",
            cost_minor=1_000,
            departures=(Departure((0, 2, 4), at("22:00"), at("06:00"), 1, at("21:00")),),
        ),
    )
    transport = dataclasses.replace(base.transport, lanes=base.transport.lanes + extra)
    return dataclasses.replace(base, transport=transport)


def stocked(stock: dict[tuple[str, str], int], supplies=()) -> Engine:
    engine = Engine(hubs_network())
    for position, record in enumerate(stock_records(stock, supplies), start=1):
        outcome = engine.apply_record(record, position)
        assert all(status == 1 for status in outcome.item_status), outcome.item_status
    return engine


def in_python(multi: MultiNodeOptions, call, codes: list[int]) -> list[Option]:
    """Every hub's consolidation as the Python planner makes it."""
    plans = multi._plans(call, codes)
    by_node = {plan.node_id: plan for plan in plans}
    return [option for plan in plans if not plan.full for option in multi._consolidated_options(call, plan, by_node)]


stock = st.dictionaries(st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES)), st.integers(0, 30), max_size=14)
supplies = st.lists(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES), st.integers(1, 30), st.integers(1, 100 * 24)), max_size=5
)
orders = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 25)), min_size=1, max_size=5)
requests = st.fixed_dictionaries(
    {
        # Up to 500 days: as-of times near the end of a table window, ready times past it.
        "as_of_hours": st.integers(0, 500 * 24),
        "destination": st.sampled_from(["Z59", "Z69", "ST"]),
        "sourcing": st.sampled_from(list(Sourcing)),
        "methods": st.sets(st.sampled_from(list(Method)), min_size=1),
        "tier": st.sampled_from(["", "gold"]),
        "future": st.booleans(),
        "split_lines": st.booleans(),
        "penalty": st.one_of(st.none(), st.lists(st.floats(-50, 50), min_size=len(NODES), max_size=len(NODES))),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stock, supplies, orders, requests)
def test_the_kernel_consolidates_as_the_python_planner(stock_, supplies_, order, options):
    as_of = START + options["as_of_hours"] * HOUR_NS
    supply_rows = [
        (f"PO-{i}", sku, node, quantity, as_of + hours * HOUR_NS)
        for i, (sku, node, quantity, hours) in enumerate(supplies_)
    ]
    engine = stocked({key: value for key, value in stock_.items() if value}, supply_rows)
    destination = options["destination"]
    request = PromiseRequest(
        tuple(sku for sku, _ in order),
        tuple(quantity for _, quantity in order),
        as_of,
        zone_id=destination if destination != "ST" else None,
        pickup_node_id="ST" if destination == "ST" else None,
        methods=frozenset(options["methods"]),
        fill_policy=FillPolicy.PARTIAL,
        min_fill_percent=1,
        max_shipments=3,
        sourcing=options["sourcing"],
        allow_future_supply=options["future"],
        customer_tier=options["tier"],
        split_lines=options["split_lines"],
    )
    penalty = None if options["penalty"] is None else np.array(options["penalty"])
    promise = PromiseEngine(engine, EdtCalculator(engine.network))
    call, _, _ = promise._call(request, penalty)
    multi = promise._multi_node
    codes = call.scan.info[:, INFO_CODE].tolist()
    assert multi.consolidations(call, codes)[0] == in_python(multi, call, codes)


def split_case(split_lines: bool) -> tuple[MultiNodeOptions, object, list[int]]:
    """WH (a hub) has 2 of the 10 PAD ordered; DC and SUP 5 each: no one feeder has the line whole."""
    engine = stocked({("PAD", "WH"): 2, ("DISC", "WH"): 1, ("PAD", "DC"): 5, ("PAD", "SUP"): 5})
    request = PromiseRequest(
        ("PAD", "DISC"), (10, 1), START + 10 * HOUR_NS, zone_id="Z59", max_shipments=3, split_lines=split_lines
    )
    promise = PromiseEngine(engine, EdtCalculator(engine.network))
    call, _, _ = promise._call(request, None)
    return promise._multi_node, call, call.scan.info[:, INFO_CODE].tolist()


def test_a_line_split_over_feeders_is_handed_to_python():
    multi, call, codes = split_case(split_lines=True)
    found = Consolidations(call.scan, multi._transfers, True)
    assert found.run() == 0
    assert found.count == 1 and found.plans[0, STATUS] == HUB_STATUS_CODE["SPLIT"]
    options = multi.consolidations(call, codes)[0]
    assert options == in_python(multi, call, codes)
    assert [sum(line.quantity for line in option.shipments[0].lines) for option in options] == [11]


def test_without_split_lines_a_hub_short_of_whole_feeders_has_no_option():
    multi, call, codes = split_case(split_lines=False)
    found = Consolidations(call.scan, multi._transfers, False)
    assert found.run() == 0
    assert found.count == 0
    assert multi.consolidations(call, codes)[0] == [] == in_python(multi, call, codes)


def test_the_demo_orders_consolidations_are_planned_in_the_kernel():
    network = demo.demo_network()
    replica = Replica(Engine(network), MemoryLog())
    replica.bootstrap(list(demo_stock_records(demo.demo_stock(network))))
    promiser = Promiser(replica.engine, TokenSigner(), replica.now_ns)
    request = promiser.request_of(promise_request(10))
    promise = PromiseEngine(replica.engine, EdtCalculator(network))
    call, _, _ = promise._call(request, None)
    multi = promise._multi_node
    found = Consolidations(call.scan, multi._transfers, request.split_lines)
    assert found.run() == 0
    assert found.plans[: found.count, STATUS].tolist() == [HUB_STATUS_CODE["OPTION"]] * 2
    codes = call.scan.info[:, INFO_CODE].tolist()
    options = multi.consolidations(call, codes)[0]
    assert options == in_python(multi, call, codes)
    assert [option.shipments[0].node_id for option in options] == ["WH-SOUTH", "WH-WEST"]


def test_a_transfer_table_checks_its_arrays():
    TransferTable([0, 1, 1], [1], [0], [10], 1)  # node 0 fed by node 1 through lane 0
    with pytest.raises(ValueError, match="start"):
        TransferTable([1, 1, 1], [1], [0], [10], 1)
    with pytest.raises(ValueError, match="feeder"):
        TransferTable([0, 1, 1], [2], [0], [10], 1)
    with pytest.raises(ValueError, match="lane"):
        TransferTable([0, 1, 1], [1], [1], [10], 1)
    with pytest.raises(ValueError, match="cost"):
        TransferTable([0, 1, 1], [1], [0], [], 1)


def test_consolidations_refuse_a_table_of_another_network():
    multi, call, _ = split_case(split_lines=True)
    with pytest.raises(ValueError, match="network"):
        Consolidations(call.scan, TransferTable([0, 0], [], [], [], multi._transfers.lane_count), True)
    with pytest.raises(ValueError, match="lanes"):
        Consolidations(call.scan, TransferTable([0] * (len(NODES) + 1), [], [], [], 1), True)


def test_consolidations_refuse_a_scan_whose_hubs_grew_since_they_were_made():
    """The plans are sized by the hubs of the scan as it was when Consolidations was made: a column made PARTIAL
    afterwards (scan.info is a writeable array) is refused, never planned past the arrays' end."""
    engine = stocked({("PAD", "WH"): 10, ("PAD", "DC"): 10, ("PAD", "SUP"): 10})
    request = PromiseRequest(("PAD",), (10,), START + 10 * HOUR_NS, zone_id="Z59", max_shipments=3)
    promise = PromiseEngine(engine, EdtCalculator(engine.network))
    call, _, _ = promise._call(request, None)
    found = Consolidations(call.scan, promise._multi_node._transfers, False)
    assert found.plans.shape[0] == 0  # every column FULL: no hub
    wh = call.columns.index(NODES.index("WH"))
    call.scan.info[wh, INFO_CODE] = CODE_PARTIAL
    with pytest.raises(ValueError, match="changed"):
        found.run()
    assert found.count == 0


def test_consolidations_made_without_init_or_of_a_scan_never_made_refuse_to_run():
    with pytest.raises(ValueError, match="initialised"):
        Consolidations.__new__(Consolidations).run()
    with pytest.raises(ValueError, match="PromiseKernel.scan"):
        Consolidations(PromiseScan(), TransferTable([0], [], [], [], 0), False)
