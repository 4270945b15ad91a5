"""Properties of every promise: no plan exceeds what its nodes can promise, and no
delivery is before the order or before its goods are ready."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_network import NODES, SKUS, paris, stocked_engine

from dompromise import limits
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.engine import PromiseEngine
from dompromise.promise.types import FillPolicy, Method, PromiseRequest, Sourcing

DAY_NS = 86_400 * 10**9
START = paris(2026, 11, 23, 0, 0)

stock = st.dictionaries(st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES)), st.integers(0, 30), max_size=12)
supplies = st.lists(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(NODES), st.integers(1, 30), st.integers(1, 40 * 24)), max_size=4
)
orders = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 25)), min_size=1, max_size=4)
requests = st.fixed_dictionaries(
    {
        "as_of_hours": st.integers(0, 130 * 24),
        "zone": st.sampled_from(["Z59", "Z69", None]),
        "fill_policy": st.sampled_from(list(FillPolicy)),
        "sourcing": st.sampled_from(list(Sourcing)),
        "max_shipments": st.integers(1, 3),
        "min_fill_percent": st.integers(1, 100),
        "methods": st.sets(st.sampled_from(list(Method)), min_size=1),
        "tier": st.sampled_from(["", "gold"]),
        "split_lines": st.booleans(),
    }
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stock, supplies, orders, requests)
def test_no_plan_exceeds_what_can_be_promised_and_no_delivery_is_early(stock_, supplies_, order, options):
    as_of = START + options["as_of_hours"] * 3_600 * 10**9
    supply_rows = [
        (f"PO-{i}", sku, node, quantity, as_of + hours * 3_600 * 10**9)
        for i, (sku, node, quantity, hours) in enumerate(supplies_)
    ]
    engine = stocked_engine({key: value for key, value in stock_.items() if value}, supply_rows)
    zone = options["zone"]
    request = PromiseRequest(
        tuple(sku for sku, _ in order),
        tuple(quantity for _, quantity in order),
        as_of,
        zone_id=zone,
        pickup_node_id=None if zone else "ST",
        methods=frozenset(options["methods"]),
        fill_policy=options["fill_policy"],
        min_fill_percent=options["min_fill_percent"],
        max_shipments=options["max_shipments"],
        sourcing=options["sourcing"],
        customer_tier=options["tier"],
        split_lines=options["split_lines"],
    )
    answer = PromiseEngine(engine, EdtCalculator(engine.network)).promise(request)

    ordered = defaultdict(int)
    for sku, quantity in order:
        ordered[sku] += quantity
    assert answer.sku_ids == tuple(ordered)  # duplicates summed, first position kept
    available_now = engine.core.bucket_array("available")
    horizon = np.array([as_of + limits.PROMISE_HORIZON_DAYS * DAY_NS], dtype=np.int64)
    all_nodes = np.arange(len(NODES), dtype=np.int32)
    phased = engine.phased_availability(engine.sku_indices(list(SKUS)), all_nodes, horizon).cells[:, :, 0]
    for option in answer.options:
        planned, planned_now = defaultdict(int), defaultdict(int)
        for shipment in option.shipments:
            assert shipment.earliest_ns >= as_of and shipment.latest_ns >= shipment.earliest_ns
            assert engine.node(shipment.node_id).status == 1, "a disabled node never ships"
            for line in shipment.lines:
                assert shipment.earliest_ns >= line.ready_ns >= as_of
                source = line.source_node_id or shipment.node_id
                source_ready = line.source_ready_ns if line.source_node_id else line.ready_ns
                planned[line.sku_id, source] += line.quantity
                if source_ready == as_of:
                    planned_now[line.sku_id, source] += line.quantity
        for (sku, node), quantity in planned.items():
            s, n = SKUS.index(sku), NODES.index(node)
            assert quantity <= phased[s, n], (sku, node, quantity)
        for (sku, node), quantity in planned_now.items():
            assert quantity <= available_now[SKUS.index(sku), NODES.index(node)], (sku, node, quantity)
        by_sku = defaultdict(int)
        for (sku, _), quantity in planned.items():
            by_sku[sku] += quantity
        assert all(by_sku[sku] <= ordered[sku] for sku in by_sku)
        if options["fill_policy"] != FillPolicy.PARTIAL:
            assert option.fill_percent == 100.0 and dict(by_sku) == dict(ordered)
        else:
            assert option.fill_percent >= options["min_fill_percent"]
        if options["fill_policy"] == FillPolicy.SHIP_COMPLETE:
            assert len(option.shipments) == 1
        assert len(option.shipments) <= max(options["max_shipments"], 1)
        assert all(s.method in options["methods"] for s in option.shipments)
