"""A small distributor for promise scenarios: a DC, a regional warehouse with a
fixed route, a store, a drop-ship supplier, a disabled warehouse.

  DC  --trunk 21:00 -> 07:00 next working day-->  WH  --route7-->  zone Z59
  DC  --parcel, 1 working day-->  zone Z69;  DC --courier 3 h (gold tier only)--> Z69
  WH  --shuttle 05:30 -> 06:30-->  ST (click-and-collect)
  SUP --drop-ship, 2 working days--> Z59 and Z69
  OFF --route9--> Z59, but OFF is disabled

route7 leaves WH at 14:00 (order cut-off 13:45, arrives 16:30) and 18:00
(cut-off 17:45, arrives 08:00 the next working day). French holidays on
2026-12-25 and 2027-01-01; Paris time (DST on 2027-03-28).
"""

from __future__ import annotations

import datetime as dt

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.model.network import Network, Node, NodeStatus, NodeType, Sku
from dompromise.model.transport import WORKWEEK, Calendar, Departure, Lane, NodeShipping, TransportNetwork, Zone, at
from dompromise.promise.edt_tables import instant_ns

PARIS = "Europe/Paris"
HOLIDAYS = (dt.date(2026, 12, 25), dt.date(2027, 1, 1))
NODES = ("DC", "WH", "ST", "SUP", "OFF")
SKUS = ("PAD", "DISC", "OIL", "BULB", "RARE")


def transport() -> TransportNetwork:
    calendars = (
        Calendar("work", WORKWEEK, HOLIDAYS, at("06:00"), at("20:00")),
        Calendar("store", (0, 1, 2, 3, 4, 5), HOLIDAYS, at("08:30"), at("19:00")),
        Calendar("garage", WORKWEEK, HOLIDAYS, at("08:00"), at("18:00")),
    )
    zones = (
        Zone("Z59", PARIS, "garage", "Lille", "FR", ("59",)),
        Zone("Z69", PARIS, "garage", "Lyon", "FR", ("69",)),
    )
    shipping = (
        NodeShipping("DC", "work", 0, {"parcel": at("17:00"), "trunk": at("19:30")}),
        NodeShipping("WH", "work", 0, {}),
        NodeShipping("ST", "store", 0, {"collect": at("18:30")}, click_and_collect=True),
        NodeShipping("SUP", "work", 0, {"dropship": at("12:00")}),
        NodeShipping("OFF", "work", 0, {}),
    )
    route7 = (
        Departure(WORKWEEK, at("14:00"), at("16:30"), 0, at("13:45")),
        Departure(WORKWEEK, at("18:00"), at("08:00"), 1, at("17:45")),
    )
    lanes = (
        Lane("WH", "route7", to_zone_id="Z59", cost_minor=450, departures=route7),
        Lane(
            "DC",
            "trunk",
            to_node_id="WH",
            cost_minor=1_800,
            departures=(Departure(WORKWEEK, at("21:00"), at("07:00"), 1, at("19:30")),),
        ),
        Lane(
            "DC",
            "parcel",
            to_zone_id="Z69",
            cost_minor=890,
            pickup=at("18:00"),
            transit_working_days=1,
            arrives=at("09:00"),
        ),
        Lane("DC", "courier", to_zone_id="Z69", cost_minor=4_500, transit_hours=3, tiers=("gold",)),
        Lane(
            "WH",
            "shuttle",
            to_node_id="ST",
            cost_minor=600,
            departures=(Departure(WORKWEEK, at("05:30"), at("06:30")),),
        ),
        *(
            Lane(
                "SUP",
                "dropship",
                to_zone_id=zone,
                cost_minor=1_490,
                pickup=at("15:00"),
                transit_working_days=2,
                arrives=at("09:00"),
            )
            for zone in ("Z59", "Z69")
        ),
        Lane(
            "OFF",
            "route9",
            to_zone_id="Z59",
            cost_minor=300,
            departures=(Departure(WORKWEEK, at("14:00"), at("16:00"), 0, at("13:00")),),
        ),
    )
    return TransportNetwork(calendars, zones, shipping, lanes, "EUR")


def network() -> Network:
    nodes = (
        Node("DC", NodeType.DISTRIBUTION_CENTER, timezone=PARIS),
        Node("WH", NodeType.WAREHOUSE, timezone=PARIS),
        Node("ST", NodeType.STORE, timezone=PARIS),
        Node("SUP", NodeType.SUPPLIER_DROP_SHIP, timezone=PARIS),
        Node("OFF", NodeType.WAREHOUSE, status=NodeStatus.DISABLED, timezone=PARIS),
    )
    return Network(nodes=nodes, skus=tuple(Sku(sku) for sku in SKUS), transport=transport())


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return instant_ns(dt.date(year, month, day), hour * 60 + minute, PARIS)


def stocked_engine(stock: dict[tuple[str, str], int], supplies=()) -> Engine:
    """An engine of network() with on hand `stock` and supplies (id, sku, node, quantity, eta_ns)."""
    engine = Engine(network())
    for position, record in enumerate(stock_records(stock, supplies), start=1):
        outcome = engine.apply_record(record, position)
        assert all(status == 1 for status in outcome.item_status), outcome.item_status
    return engine


def stock_records(stock: dict[tuple[str, str], int], supplies=()) -> list[log_pb2.LogRecord]:
    """The log records that set on hand `stock` and add the supplies."""
    items = list(stock.items())
    records = [
        log_pb2.LogRecord(
            log_time_ns=1,
            update_on_hand=log_pb2.UpdateOnHand(
                sku_ids=[sku for (sku, _), _ in items],
                node_ids=[node for (_, node), _ in items],
                ops=[1] * len(items),
                quantities=[quantity for _, quantity in items],
            ),
        )
    ]
    if supplies:
        records.append(
            log_pb2.LogRecord(
                log_time_ns=2,
                upsert_supply=log_pb2.UpsertSupply(
                    supply_ids=[s[0] for s in supplies],
                    sku_ids=[s[1] for s in supplies],
                    node_ids=[s[2] for s in supplies],
                    kinds=[2] * len(supplies),
                    quantities=[s[3] for s in supplies],
                    eta_ns=[s[4] for s in supplies],
                ),
            )
        )
    return records
