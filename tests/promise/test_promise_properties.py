"""Properties of every promise: no plan exceeds what its nodes can promise, and no
delivery is before the order or before its goods are ready."""

from __future__ import annotations

import dataclasses
from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_network import NODES, SKUS, network, paris, stocked_engine

from dompromise import limits
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
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


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stock,
    supplies,
    st.lists(st.sampled_from([*SKUS, "UNKNOWN"]), min_size=1, max_size=5, unique=True),
    st.lists(st.integers(0, 40), min_size=5, max_size=5),
    st.lists(st.sampled_from(range(len(NODES))), min_size=1, max_size=len(NODES), unique=True),
    st.integers(0, 130 * 24),
    st.booleans(),
)
def test_the_promise_gathers_in_one_call_equal_the_two_reads(stock_, supplies_, sku_ids, wanted_, nodes, hours, future):
    """Engine.promise_cells (the promise's plain path) answers what availability() and phased_availability()
    answer: the cells, and each (SKU, node)'s earliest time for the wanted units by the horizon."""
    as_of = START + hours * 3_600 * 10**9
    supply_rows = [
        (f"PO-{i}", sku, node, quantity, as_of + offset * 3_600 * 10**9)
        for i, (sku, node, quantity, offset) in enumerate(supplies_)
    ]
    engine = stocked_engine({key: value for key, value in stock_.items() if value}, supply_rows)
    node_index = np.array(nodes, dtype=np.int32)
    wanted = np.array(wanted_[: len(sku_ids)], dtype=np.int64)
    horizon_ns = as_of + limits.PROMISE_HORIZON_DAYS * DAY_NS
    found = engine.promise_cells(sku_ids, node_index, wanted, horizon_ns if future else None)
    assert found is not None, "no variants in the scenario network"
    cells, earliest = found
    answer = engine.availability(sku_ids, node_index)
    assert cells.tolist() == answer.cells.tolist()
    if not future:
        assert earliest is None
        return
    phased = engine.phased_availability(
        answer.sku_index, node_index, np.array([horizon_ns], dtype=np.int64), wanted=wanted, with_cells=False
    )
    assert earliest is not None and earliest.tolist() == phased.earliest_ns.reshape(-1).tolist()


def test_a_sku_with_lots_is_promised_from_them_and_its_plain_stock():
    """A SKU with variants (lots) has no plain gather (promise_cells is None): the promise reads the sum of its
    rows, as availability() does, now and from future supply."""
    net = dataclasses.replace(network(), attributes=("lot",))
    engine = Engine(net)
    rows = [("PAD", "WH", 1, ()), ("PAD", "WH", 2, (("lot", "L1"),)), ("PAD", "DC", 3, (("lot", "L2"),))]
    feed = log_pb2.UpdateOnHand(
        sku_ids=[sku for sku, _, _, _ in rows],
        node_ids=[node for _, node, _, _ in rows],
        ops=[1] * len(rows),
        quantities=[quantity for _, _, quantity, _ in rows],
        attributes=[
            log_pb2.AttributeSet(keys=[k for k, _ in values], values=[v for _, v in values]) for _, _, _, values in rows
        ],
    )
    engine.apply_record(log_pb2.LogRecord(log_time_ns=1, update_on_hand=feed), 1)
    node_index = np.arange(len(net.nodes), dtype=np.int32)
    assert engine.promise_cells(["PAD"], node_index, np.array([3], dtype=np.int64), None) is None
    as_of = paris(2026, 11, 24, 9)
    for future in (False, True):
        answer = PromiseEngine(engine, EdtCalculator(net)).promise(
            PromiseRequest(("PAD",), (3,), as_of, zone_id="Z59", allow_future_supply=future)
        )
        assert answer.options, "3 at WH (1 plain, 2 of lot L1) and 3 at DC (lot L2)"
        assert {s.node_id for option in answer.options for s in option.shipments} == {"WH", "DC"}
