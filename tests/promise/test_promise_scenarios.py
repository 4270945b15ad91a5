"""Promise scenarios as tables: stock, clock and order -> the expected best option.

Times are Paris local. Each row names the order, when it is placed, and what
the best option must be: its nodes and services, and the delivery's local
earliest time. See scenario_network.py for the network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from scenario_network import PARIS, paris, stocked_engine

from dompromise.promise.edt import EdtCalculator
from dompromise.promise.edt_tables import local_datetime
from dompromise.promise.engine import PromiseEngine
from dompromise.promise.types import FillPolicy, Method, PromiseRequest, Reason, Sourcing

STOCK = {
    ("PAD", "WH"): 10,
    ("PAD", "DC"): 40,
    ("OIL", "DC"): 20,
    ("DISC", "DC"): 5,
    ("BULB", "SUP"): 50,
    ("PAD", "OFF"): 99,
    ("OIL", "ST"): 3,
    ("PAD", "ST"): 2,
}


@dataclass(frozen=True)
class Row:
    name: str
    lines: tuple[tuple[str, int], ...]
    at: tuple[int, int, int, int, int]  # local Paris (y, m, d, h, min)
    want: tuple[tuple[str, str, str], ...]  # best option's shipments: (node, service, via/source node or "")
    earliest: str  # local "YYYY-MM-DD HH:MM" of the best option's earliest delivery
    zone: str = "Z59"
    pickup: str = ""
    options: dict = field(default_factory=dict)
    stock: dict = field(default_factory=dict)  # changes to STOCK for this row


ROWS = [
    Row(
        "cut-off made: the 14:00 round delivers this afternoon",
        (("PAD", 2),),
        (2026, 11, 24, 13, 44),
        (("WH", "route7", ""),),
        "2026-11-24 16:30",
    ),
    Row(
        "cut-off just missed: the 18:00 run, delivered next morning",
        (("PAD", 2),),
        (2026, 11, 24, 13, 46),
        (("WH", "route7", ""),),
        "2026-11-25 08:00",
    ),
    Row(
        "after the last cut-off on Friday: Monday's afternoon round",
        (("PAD", 2),),
        (2026, 11, 27, 17, 50),
        (("WH", "route7", ""),),
        "2026-11-30 16:30",
    ),
    Row(
        "Christmas Eve evening: Friday is a holiday, Monday it is",
        (("PAD", 2),),
        (2026, 12, 24, 17, 50),
        (("WH", "route7", ""),),
        "2026-12-28 16:30",
    ),
    Row(
        "over the spring DST change: 08:00 local on Monday, not 09:00 or 07:00",
        (("PAD", 2),),
        (2027, 3, 26, 17, 30),
        (("WH", "route7", ""),),
        "2027-03-29 08:00",
    ),
    Row(
        "the warehouse is short: the DC's stock goes through the night trunk and route 7",
        (("PAD", 12),),
        (2026, 11, 24, 10, 0),
        (("DC", "route7", "WH"),),
        "2026-11-25 16:30",
    ),
    Row(
        "consolidation: the warehouse ships its pads and the DC's oil transferred in",
        (("PAD", 2), ("OIL", 1)),
        (2026, 11, 24, 10, 0),
        (("WH", "route7", "DC"),),
        "2026-11-25 16:30",
        options={"fill_policy": FillPolicy.SHIP_COMPLETE},
        stock={("PAD", "DC"): 0},
    ),
    Row(
        "only the supplier has it: drop-ship, two working days",
        (("BULB", 1),),
        (2026, 11, 24, 10, 0),
        (("SUP", "dropship", ""),),
        "2026-11-26 09:00",
    ),
    Row(
        "the gold tier gets the courier",
        (("OIL", 1),),
        (2026, 11, 24, 10, 0),
        (("DC", "courier", ""),),
        "2026-11-24 13:00",
        zone="Z69",
        options={"customer_tier": "gold"},
    ),
    Row(
        "everyone else gets the parcel",
        (("OIL", 1),),
        (2026, 11, 24, 10, 0),
        (("DC", "parcel", ""),),
        "2026-11-25 09:00",
        zone="Z69",
    ),
    Row(
        "line-level: each line from its best node, two shipments",
        (("PAD", 2), ("OIL", 1)),
        (2026, 11, 24, 10, 0),
        (("WH", "route7", ""), ("DC", "route7", "WH")),
        "2026-11-25 16:30",
        options={"sourcing": Sourcing.LINE_LEVEL, "max_shipments": 2, "fill_policy": FillPolicy.FILL_OR_KILL},
    ),
    Row(
        "duplicate SKU lines are summed: 6 + 6 pads is more than the warehouse has",
        (("PAD", 6), ("PAD", 6)),
        (2026, 11, 24, 10, 0),
        (("DC", "route7", "WH"),),
        "2026-11-25 16:30",
    ),
    Row(
        "click-and-collect from the store's own stock",
        (("OIL", 2),),
        (2026, 11, 24, 10, 0),
        (("ST", "collect", ""),),
        "2026-11-24 10:00",
        zone="",
        pickup="ST",
    ),
    Row(
        "click-and-collect of what the store lacks: the morning shuttle brings it",
        (("PAD", 5),),
        (2026, 11, 24, 10, 0),
        (("WH", "collect", "ST"),),
        "2026-11-25 08:30",
        zone="",
        pickup="ST",
    ),
]


def promise(row: Row, stock=STOCK, supplies=()):
    engine = stocked_engine(stock, supplies)
    promiser = PromiseEngine(engine, EdtCalculator(engine.network))
    request = PromiseRequest(
        tuple(sku for sku, _ in row.lines),
        tuple(quantity for _, quantity in row.lines),
        paris(*row.at),
        zone_id=row.zone or None,
        pickup_node_id=row.pickup or None,
        **{"max_shipments": 3, **row.options},
    )
    return promiser.promise(request)


def shipment_key(shipment) -> tuple[str, str, str]:
    sources = {line.source_node_id for line in shipment.lines if line.source_node_id}
    return shipment.node_id, shipment.service, shipment.via_node_id or (sources.pop() if sources else "")


def local(ns: int) -> str:
    return local_datetime(ns, PARIS).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_best_option(row):
    answer = promise(row, {**STOCK, **row.stock})
    assert answer.options, [c for c in answer.candidates]
    best = answer.options[0]
    assert tuple(shipment_key(s) for s in best.shipments) == row.want
    assert local(best.earliest_ns) == row.earliest
    assert best.fill_percent == 100.0


def test_the_disabled_warehouse_is_explained_and_never_used():
    answer = promise(ROWS[0])
    reasons = {c.node_id: c.reason for c in answer.candidates}
    assert reasons["OFF"] == Reason.NODE_NOT_SELLABLE
    assert all(s.node_id != "OFF" for option in answer.options for s in option.shipments)
    assert set(reasons) == {"DC", "WH", "ST", "SUP", "OFF"}


def test_why_nodes_lost_is_explained():
    answer = promise(Row("", (("PAD", 2),), (2026, 11, 24, 10, 0), (), ""))
    reasons = {c.node_id: c.reason for c in answer.candidates}
    assert reasons["WH"] == Reason.USED
    assert reasons["SUP"] == Reason.SHORT
    assert reasons["ST"] == Reason.NO_LANE


def test_a_purchase_order_competes_with_a_transfer():
    """DISC: none at the warehouse but a PO due tomorrow 06:00; the DC has 5 and the night trunk."""
    eta = paris(2026, 11, 25, 6, 0)
    stock = dict(STOCK)
    answer = promise(
        Row("", (("DISC", 3),), (2026, 11, 24, 10, 0), (), ""), stock, supplies=[("PO-1", "DISC", "WH", 10, eta)]
    )
    plans = {shipment_key(o.shipments[0]): o for o in answer.options}
    from_po, by_trunk = plans[("WH", "route7", "")], plans[("DC", "route7", "WH")]
    assert from_po.shipments[0].lines[0].ready_ns == eta
    assert local(from_po.earliest_ns) == local(by_trunk.earliest_ns) == "2026-11-25 16:30"
    assert answer.options[0] is from_po  # as fast, and no trunk to pay for


def test_fill_or_kill_against_partial():
    lines = (("PAD", 5), ("RARE", 5))  # nobody has RARE
    kill = promise(Row("", lines, (2026, 11, 24, 10, 0), (), ""))
    assert kill.options == ()
    partial = promise(
        Row(
            "",
            lines,
            (2026, 11, 24, 10, 0),
            (),
            "",
            options={"fill_policy": FillPolicy.PARTIAL, "min_fill_percent": 50},
        )
    )
    best = partial.options[0]
    assert best.fill_percent == 50.0
    assert best.short_lines == (("RARE", 5),)
    too_little = promise(
        Row(
            "",
            lines,
            (2026, 11, 24, 10, 0),
            (),
            "",
            options={"fill_policy": FillPolicy.PARTIAL, "min_fill_percent": 60},
        )
    )
    assert too_little.options == ()


def test_order_level_prefers_one_node_over_a_split():
    lines = (("PAD", 2), ("OIL", 1))
    answer = promise(Row("", lines, (2026, 11, 24, 10, 0), (), "", options={"max_shipments": 2}))
    assert all(len(option.shipments) == 1 for option in answer.options)


def test_a_late_delivery_window_drops_options_and_says_so():
    answer = promise(
        Row(
            "", (("PAD", 2),), (2026, 11, 24, 13, 46), (), "", options={"deliver_before_ns": paris(2026, 11, 24, 20, 0)}
        )
    )
    assert answer.options == ()
    assert {c.node_id: c.reason for c in answer.candidates}["WH"] == Reason.TOO_LATE


def test_only_allowed_methods():
    answer = promise(
        Row("", (("BULB", 1),), (2026, 11, 24, 10, 0), (), "", options={"methods": frozenset({Method.SHIP})})
    )
    assert answer.options == ()
    assert {c.node_id: c.reason for c in answer.candidates}["SUP"] == Reason.NO_LANE


def test_stock_on_hand_only_ignores_supply():
    eta = paris(2026, 11, 25, 6, 0)
    answer = promise(
        Row("", (("DISC", 8),), (2026, 11, 24, 10, 0), (), "", options={"allow_future_supply": False}),
        supplies=[("PO-1", "DISC", "WH", 10, eta)],
    )
    assert answer.options == ()
    with_supply = promise(
        Row("", (("DISC", 8),), (2026, 11, 24, 10, 0), (), ""), supplies=[("PO-1", "DISC", "WH", 10, eta)]
    )
    assert with_supply.options and with_supply.options[0].shipments[0].node_id == "WH"


def test_as_of_in_the_local_evening_is_the_same_instant_everywhere():
    row = ROWS[1]
    assert local(paris(*row.at)) == "2026-11-24 13:46"
    assert dt.datetime.fromtimestamp(paris(*row.at) / 1e9, dt.UTC).hour == 12
