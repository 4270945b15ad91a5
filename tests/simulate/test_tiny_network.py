"""Every metric of `dompromise simulate`, on a network small enough to work out by hand.

Two nodes ship to one zone Z (postal codes 59...), in UTC, every day a working day:

  NEAR (5 km from Z):   parcel, order by 17:00, leaves 18:00, arrives 08:00 the next day
  FAR  (500 km from Z): parcel, order by 19:30, leaves 20:00, arrives 12:00 the next day

Stock on hand: NEAR  A 3;  FAR  A 5, B 5, D 3, E 1.  One purchase order of E x1 at NEAR,
due day 1 06:00; its slip (to day 2 06:00) is announced on day 0 at 12:00.

The orders, day 0 (Monday 2026-11-23):
  09:50 O0  E x1, checkout abandoned: held at FAR (the only E on hand), expires 10:10,
            freed by the 11:00 tick                                  -> holds_expired 1
  10:00 O1  A x2                      ours: NEAR, day 1 08:00 (lead 22 h)
  10:00 O5  E x1                      ours: FAR's E is held, so NEAR's purchase order
            (backorder): ready day 1 06:00, leaves 18:00, day 2 08:00 (lead 46 h).
            The slip puts it AT_RISK at 12:00; FAR's E is free again by then, so a
            re-promise would have delivered it day 1 12:00: saved. The goods arrive day 2
            06:00 (BACK_ON_TRACK: recovered), leave 18:00, arrive day 3 08:00: late.
  11:00 O2  A x1 + B x1               ours: both from FAR, one shipment, day 1 12:00 (25 h);
            greedy nearest: A from NEAR (the nearer), B from FAR: split
  13:00 O4  D x5 (3 exist)            ours: 3 from FAR, partial, day 1 12:00 (23 h);
            greedy nearest: no node has 5: nothing

Ours: 4 orders promised of 4; kept 3 (O5 late) = 0.75; fill (2+1+2+3)/(2+1+2+5) = 0.8;
split 0; mean lead (22+46+25+23)/4 = 29 h; AT_RISK 1, recovered 1, a re-promise saves 1.
Greedy nearest: promised O1 and O2 only; kept 2/2; fill (2+2)/10 = 0.4; split 1/2;
lead (22+25)/2 = 23.5 h. Nothing oversold by either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dompromise.model.network import Location, Network, Node, NodeType, Sku, StockRow
from dompromise.model.transport import Calendar, Centroid, Departure, Lane, NodeShipping, TransportNetwork, Zone, at
from dompromise.simulate import report
from dompromise.simulate.demand import NS_PER_DAY, NS_PER_HOUR, Order, PurchaseOrder, World
from dompromise.simulate.world import RunOptions, run_policy

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
START_NS = int(dt.datetime(2026, 11, 23, tzinfo=dt.UTC).timestamp()) * 10**9  # a Monday, 00:00 UTC
MINUTE_NS = 60 * 10**9


def tiny_network() -> Network:
    calendars = (Calendar("all", EVERY_DAY),)
    zones = (Zone("Z", "UTC", "all", postal_prefixes=("59",), location=Centroid(50.63, 3.06)),)
    shipping = (
        NodeShipping("NEAR", "all", 0, {"parcel": at("17:00")}),
        NodeShipping("FAR", "all", 0, {"parcel": at("19:30")}),
    )
    lanes = (
        Lane("NEAR", "parcel", to_zone_id="Z", departures=(Departure(EVERY_DAY, at("18:00"), at("08:00"), 1),)),
        Lane("FAR", "parcel", to_zone_id="Z", departures=(Departure(EVERY_DAY, at("20:00"), at("12:00"), 1),)),
    )
    nodes = (
        Node("NEAR", NodeType.WAREHOUSE, location=Location(50.66, 3.09)),
        Node("FAR", NodeType.DISTRIBUTION_CENTER, location=Location(46.16, -1.15)),
    )
    skus = tuple(Sku(sku) for sku in "ABDE")
    return Network(nodes=nodes, skus=skus, transport=TransportNetwork(calendars, zones, shipping, lanes))


STOCK = [
    StockRow("A", "NEAR", 3),
    StockRow("A", "FAR", 5),
    StockRow("B", "FAR", 5),
    StockRow("D", "FAR", 3),
    StockRow("E", "FAR", 1),
]


def at_day_0(hour: int, minute: int = 0) -> int:
    return START_NS + hour * NS_PER_HOUR + minute * MINUTE_NS


def order(number: int, hour: int, minute: int, lines: dict[str, int], abandoned: bool = False) -> Order:
    return Order(
        f"O{number}", at_day_0(hour, minute), "b2c", "59000", "", tuple(lines), tuple(lines.values()), abandoned
    )


def tiny_world() -> World:
    orders = (
        order(0, 9, 50, {"E": 1}, abandoned=True),
        order(1, 10, 0, {"A": 2}),
        order(5, 10, 0, {"E": 1}),
        order(2, 11, 0, {"A": 1, "B": 1}),
        order(4, 13, 0, {"D": 5}),
    )
    due_ns = START_NS + NS_PER_DAY + 6 * NS_PER_HOUR
    slipping = PurchaseOrder("PO-E", "E", "NEAR", 1, due_ns, due_ns + NS_PER_DAY, at_day_0(12))
    return World(orders, (slipping,), (), START_NS, START_NS + NS_PER_DAY)


def simulated(policy: str) -> dict:
    world = tiny_world()
    result = run_policy(tiny_network(), list(STOCK), world, policy, RunOptions())
    return report.metrics(result, [o.time_ns for o in world.orders])


def test_our_metrics_match_the_hand_computed_values():
    metrics = simulated("promise")
    assert (metrics["orders"], metrics["orders_promised"]) == (4, 4)
    assert metrics["promise_kept_rate"] == 0.75
    assert metrics["fill_rate"] == 0.8
    assert metrics["split_rate"] == 0.0
    assert metrics["mean_promised_lead_time_hours"] == 29.0
    assert metrics["oversold_units"] == 0
    assert metrics["holds_expired"] == 1
    assert (metrics["at_risk_lines"], metrics["at_risk_recovered"], metrics["repromise_would_save"]) == (1, 1, 1)


def test_greedy_nearest_splits_what_ours_ships_whole_and_fills_less():
    metrics = simulated("greedy_nearest")
    assert (metrics["orders"], metrics["orders_promised"]) == (4, 2)
    assert metrics["promise_kept_rate"] == 1.0
    assert metrics["fill_rate"] == 0.4
    assert metrics["split_rate"] == 0.5
    assert metrics["mean_promised_lead_time_hours"] == 23.5
    assert (metrics["oversold_units"], metrics["holds_expired"]) == (0, 1)
    assert metrics["at_risk_lines"] == 0  # it never promises future supply


@pytest.mark.parametrize("policy", ["first_with_stock", "on_hand_only"])
def test_the_other_baselines_never_beat_ours_on_this_network(policy):
    ours, theirs = simulated("promise"), simulated(policy)
    assert theirs["orders"] == ours["orders"] == 4
    assert theirs["fill_rate"] <= ours["fill_rate"]
    assert theirs["split_rate"] >= ours["split_rate"]
    assert theirs["oversold_units"] == 0
    assert theirs["at_risk_lines"] == 0  # neither promises future supply


def test_a_slip_no_re_promise_can_save_is_at_risk_and_late_but_not_saved():
    """O0 commits instead of leaving: FAR's only E is gone, so when the slip is announced no
    node has E to send in O5's window; O5 is still late, and recovers when the goods arrive."""
    world = tiny_world()
    committed = dataclasses.replace(world.orders[0], abandoned=False)
    world = dataclasses.replace(world, orders=(committed, *world.orders[1:]))
    result = run_policy(tiny_network(), list(STOCK), world, "promise", RunOptions())
    metrics = report.metrics(result, [o.time_ns for o in world.orders])
    assert (metrics["at_risk_lines"], metrics["at_risk_recovered"], metrics["repromise_would_save"]) == (1, 1, 0)
    assert metrics["promise_kept_rate"] == 0.8  # 5 promised, O5 late
    assert metrics["holds_expired"] == 0 and metrics["oversold_units"] == 0
