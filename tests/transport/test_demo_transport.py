"""The demo network's transport: the reference scenario's routes, holidays and carriers."""

from __future__ import annotations

import datetime as dt

import pytest
from scenarios import local, when

from dompromise.demo.network import demo_network
from dompromise.demo.transport import BADEN_WURTTEMBERG_HOLIDAYS, BELGIAN_HOLIDAYS, FRENCH_HOLIDAYS, easter_sunday
from dompromise.model.network import NodeType
from dompromise.promise.edt import EdtCalculator

NETWORK = demo_network()


@pytest.fixture(scope="module")
def calculator():
    return EdtCalculator(NETWORK)


def test_easter_and_the_holidays_it_moves():
    assert [easter_sunday(year) for year in (2024, 2025, 2026, 2027)] == [
        dt.date(2024, 3, 31),
        dt.date(2025, 4, 20),
        dt.date(2026, 4, 5),
        dt.date(2027, 3, 28),
    ]
    # Easter Monday, Ascension, Whit Monday in 2026 and 2027.
    for day in ("2026-04-06", "2026-05-14", "2026-05-25", "2027-03-29", "2027-05-06", "2027-05-17"):
        assert dt.date.fromisoformat(day) in FRENCH_HOLIDAYS
    assert len(FRENCH_HOLIDAYS) == 22
    assert dt.date(2026, 4, 3) in BADEN_WURTTEMBERG_HOLIDAYS  # Good Friday
    assert dt.date(2026, 6, 4) in BADEN_WURTTEMBERG_HOLIDAYS  # Corpus Christi
    assert dt.date(2027, 7, 21) in BELGIAN_HOLIDAYS and dt.date(2027, 7, 14) not in BELGIAN_HOLIDAYS


def test_every_node_ships_and_every_store_offers_collect():
    shipping = {s.node_id: s for s in NETWORK.transport.node_shipping}

    assert set(shipping) == {node.node_id for node in NETWORK.nodes}
    for node in NETWORK.nodes:
        assert shipping[node.node_id].click_and_collect == (node.node_type == NodeType.STORE)


def test_each_french_node_postal_code_has_a_zone(calculator):
    for node in NETWORK.nodes:
        if node.location.country_code == "FR":
            assert calculator.zone_for_postal_code(node.location.postal_code, "FR") is not None, node.node_id


SEED_ROWS = [
    # what, as of (Paris), node, service, zone, earliest delivery
    (
        "garage order before route 7's cut-off: this afternoon",
        "2026-06-10 13:40",
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-10 16:30",
    ),
    (
        "garage order at 13:55 misses the 14:00 run: 08:00 tomorrow",
        "2026-06-10 13:55",
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-11 08:00",
    ),
    ("Friday 13:55: Monday 08:00", "2026-06-12 13:55", "WH-NORTH", "route7", "FR-59", "2026-06-15 08:00"),
    (
        "Thursday before Ascension: the night run lands Friday",
        "2026-05-13 15:00",
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-05-15 08:00",
    ),
    (
        "drop-ship from Stuttgart: two working days",
        "2026-06-10 10:00",
        "SUP-BREMSTAL",
        "dropship",
        "FR-59",
        "2026-06-12 09:00",
    ),
    (
        "drop-ship from Antwerp after its cut-off",
        "2026-06-10 13:30",
        "SUP-LUBRINOR",
        "dropship",
        "FR-IDF",
        "2026-06-15 09:00",
    ),
    ("parcel from the DC to the rest of France", "2026-06-10 10:00", "DC-NAT", "parcel", "FR-REST", "2026-06-12 09:00"),
    ("courier into Lyon, on demand", "2026-06-10 10:00", "DC-NAT", "courier", "FR-LYON", "2026-06-10 13:45"),
]


@pytest.mark.parametrize("row", SEED_ROWS, ids=[row[0] for row in SEED_ROWS])
def test_reference_scenario(calculator, row):
    _, as_of, node_id, service, zone_id, earliest = row

    edt = calculator.edt(node_id, service, zone_id=zone_id, as_of_ns=when(as_of))

    assert local(edt.earliest_ns) == earliest


def test_dc_stock_reaches_a_lille_garage_by_trunk_then_route_7(calculator):
    edt = calculator.edt_via(
        "DC-NAT", "trunk", "WH-NORTH", "route7", zone_id="FR-59", as_of_ns=when("2026-06-10 17:00")
    )

    # Trunk 21:00, at Lesquin 07:00, route 7's 14:00 run, delivered 16:30.
    assert [local(leg.earliest_ns) for leg in edt.legs] == ["2026-06-11 07:00", "2026-06-11 16:30"]
    assert edt.cost_minor == 1_800 + 450


def test_click_and_collect_after_the_morning_shuttle(calculator):
    shuttle = calculator.edt("WH-NORTH", "shuttle", to_node_id="ST-PARIS", as_of_ns=when("2026-06-10 16:00"))
    collect = calculator.collect_edt("ST-PARIS", as_of_ns=when("2026-06-10 16:00"), supply_eta_ns=shuttle.earliest_ns)

    assert local(shuttle.departure_ns) == "2026-06-11 04:00"
    assert local(collect.earliest_ns) == "2026-06-11 08:50"
