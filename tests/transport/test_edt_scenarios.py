"""EDT scenario tables over scenarios.NETWORK_YAML: each row is one promise a person could check.

Columns: what happens, the as-of clock (Paris), the supply ETA if any, the
node, service and destination, then the expected departure and earliest /
latest delivery, in the destination's local time.
"""

from __future__ import annotations

import pytest
from scenarios import local, scenario_calculator, when

from dompromise.promise.edt import EdtStatus


@pytest.fixture(scope="module")
def calculator():
    return scenario_calculator()


ZONE_ROWS = [
    # what, as of, supply ETA, node, service, zone, departure, earliest, latest
    (
        "route 7 cut-off made",
        "2026-06-10 13:40",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-10 14:00",
        "2026-06-11 08:00",
        "2026-06-11 08:00",
    ),
    (
        "cut-off exactly on time",
        "2026-06-10 13:45",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-10 14:00",
        "2026-06-11 08:00",
        "2026-06-11 08:00",
    ),
    (
        "13:46 misses the 14:00 and takes the 18:00",
        "2026-06-10 13:46",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-10 18:00",
        "2026-06-11 08:00",
        "2026-06-11 08:00",
    ),
    (
        "13:46 without an 18:00 run: next day's 14:00",
        "2026-06-10 13:46",
        None,
        "WH-NORTH",
        "route7-once",
        "FR-59",
        "2026-06-11 14:00",
        "2026-06-12 08:00",
        "2026-06-12 08:00",
    ),
    (
        "Friday 13:46: the 18:00 run arrives Monday",
        "2026-06-12 13:46",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-12 18:00",
        "2026-06-15 08:00",
        "2026-06-15 08:00",
    ),
    (
        "Friday after the last cut-off: Monday's 14:00",
        "2026-06-12 17:50",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-15 14:00",
        "2026-06-16 08:00",
        "2026-06-16 08:00",
    ),
    (
        "Saturday order: Monday's first run",
        "2026-06-13 10:00",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-15 14:00",
        "2026-06-16 08:00",
        "2026-06-16 08:00",
    ),
    (
        "processing spills over closing time into the next day",
        "2026-06-10 18:55",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-11 14:00",
        "2026-06-12 08:00",
        "2026-06-12 08:00",
    ),
    (
        "public holiday at the node: 1 May is skipped",
        "2026-04-30 17:50",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-05-04 14:00",
        "2026-05-05 08:00",
        "2026-05-05 08:00",
    ),
    (
        "public holiday at the destination: arrival after 8 May",
        "2026-05-07 13:00",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-05-07 14:00",
        "2026-05-11 08:00",
        "2026-05-11 08:00",
    ),
    (
        "Ascension Thursday: no departure, Friday's instead",
        "2026-05-13 18:30",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-05-15 14:00",
        "2026-05-18 08:00",
        "2026-05-18 08:00",
    ),
    (
        "DST spring: Friday run arrives Monday 08:00 summer time",
        "2026-03-27 13:00",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-03-27 14:00",
        "2026-03-30 08:00",
        "2026-03-30 08:00",
    ),
    (
        "DST spring: 48 elapsed hours over the short night",
        "2026-03-27 10:00",
        None,
        "WH-NORTH",
        "van",
        "FR-62",
        "2026-03-27 10:10",
        "2026-03-29 11:10",
        "2026-03-29 11:10",
    ),
    (
        "DST autumn: 48 elapsed hours over the long night",
        "2026-10-23 10:00",
        None,
        "WH-NORTH",
        "van",
        "FR-62",
        "2026-10-23 10:10",
        "2026-10-25 09:10",
        "2026-10-25 09:10",
    ),
    (
        "DST autumn: Friday run arrives Monday 08:00 winter time",
        "2026-10-23 13:00",
        None,
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-10-23 14:00",
        "2026-10-26 08:00",
        "2026-10-26 08:00",
    ),
    (
        "arrives Saturday: a home zone receives it",
        "2026-06-11 10:00",
        None,
        "WH-NORTH",
        "van",
        "FR-62",
        "2026-06-11 10:10",
        "2026-06-13 10:10",
        "2026-06-13 10:10",
    ),
    (
        "arrives Saturday: a garage does not, Monday 08:00",
        "2026-06-11 10:00",
        None,
        "WH-NORTH",
        "van",
        "FR-59",
        "2026-06-11 10:10",
        "2026-06-15 08:00",
        "2026-06-15 08:00",
    ),
    (
        "supply ETA later than now decides",
        "2026-06-08 09:00",
        "2026-06-10 13:00",
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-10 14:00",
        "2026-06-11 08:00",
        "2026-06-11 08:00",
    ),
    (
        "supply ETA in the past is ignored",
        "2026-06-10 13:00",
        "2026-06-01 08:00",
        "WH-NORTH",
        "route7",
        "FR-59",
        "2026-06-10 14:00",
        "2026-06-11 08:00",
        "2026-06-11 08:00",
    ),
    (
        "parcel: daily pickup, next working day, delivered within the day",
        "2026-06-10 15:00",
        None,
        "WH-NORTH",
        "parcel",
        "FR-59",
        "2026-06-10 17:00",
        "2026-06-11 09:00",
        "2026-06-11 18:00",
    ),
    (
        "parcel after the node's parcel cut-off: tomorrow's pickup",
        "2026-06-10 16:05",
        None,
        "WH-NORTH",
        "parcel",
        "FR-59",
        "2026-06-11 17:00",
        "2026-06-12 09:00",
        "2026-06-12 18:00",
    ),
    (
        "parcel Friday: window ends before the weekend",
        "2026-06-12 15:00",
        None,
        "WH-NORTH",
        "parcel",
        "FR-59",
        "2026-06-12 17:00",
        "2026-06-15 09:00",
        "2026-06-15 18:00",
    ),
    (
        "drop-ship from Germany: two working days",
        "2026-06-12 11:00",
        None,
        "SUP-DE",
        "dropship",
        "FR-59",
        "2026-06-12 15:00",
        "2026-06-16 09:00",
        "2026-06-16 18:00",
    ),
    (
        "drop-ship after the supplier's cut-off",
        "2026-06-12 12:30",
        None,
        "SUP-DE",
        "dropship",
        "FR-59",
        "2026-06-15 15:00",
        "2026-06-17 09:00",
        "2026-06-17 18:00",
    ),
    (
        "drop-ship over a German holiday only",
        "2026-06-03 13:00",
        None,
        "SUP-DE",
        "dropship",
        "FR-59",
        "2026-06-05 15:00",
        "2026-06-09 09:00",
        "2026-06-09 18:00",
    ),
]


@pytest.mark.parametrize("row", ZONE_ROWS, ids=[row[0] for row in ZONE_ROWS])
def test_edt_to_a_zone(calculator, row):
    _, as_of, eta, node_id, service, zone_id, departure, earliest, latest = row

    edt = calculator.edt(
        node_id, service, zone_id=zone_id, as_of_ns=when(as_of), supply_eta_ns=None if eta is None else when(eta)
    )

    assert edt.status == EdtStatus.OK
    assert (local(edt.departure_ns), local(edt.earliest_ns), local(edt.latest_ns)) == (departure, earliest, latest)
    assert edt.earliest_local_date.isoformat() == earliest[:10]
    assert edt.latest_local_date.isoformat() == latest[:10]


CUTOFF_ROWS = [
    # as of, service, order cut-off missed, departure cut-off missed
    ("2026-06-10 13:40", "route7", False, False),
    ("2026-06-10 13:46", "route7", False, True),  # the departure's own cut-off
    ("2026-06-10 16:05", "parcel", True, False),  # the node's daily cut-off for parcels
    ("2026-06-13 10:00", "route7", False, False),  # a closed day is not a missed cut-off
]


@pytest.mark.parametrize("as_of, service, order_missed, departure_missed", CUTOFF_ROWS)
def test_explains_which_cutoff_was_missed(calculator, as_of, service, order_missed, departure_missed):
    edt = calculator.edt("WH-NORTH", service, zone_id="FR-59", as_of_ns=when(as_of))

    assert (edt.order_cutoff_missed, edt.departure_cutoff_missed) == (order_missed, departure_missed)


TRANSFER_ROWS = [
    # what, as of, transfer arrival at WH-NORTH, final earliest delivery
    ("trunk tonight, route 7 tomorrow", "2026-06-10 18:00", "2026-06-11 07:00", "2026-06-12 08:00"),
    ("DC trunk cut-off missed: a day later", "2026-06-10 19:45", "2026-06-12 07:00", "2026-06-15 08:00"),
    ("Friday trunk arrives Monday", "2026-06-12 12:00", "2026-06-15 07:00", "2026-06-16 08:00"),
]


@pytest.mark.parametrize("row", TRANSFER_ROWS, ids=[row[0] for row in TRANSFER_ROWS])
def test_transfer_lane_then_onward(calculator, row):
    _, as_of, at_hub, earliest = row

    edt = calculator.edt_via("DC-NAT", "trunk", "WH-NORTH", "route7", zone_id="FR-59", as_of_ns=when(as_of))

    transfer, onward = edt.legs
    assert local(transfer.earliest_ns) == at_hub
    assert local(edt.earliest_ns) == local(onward.earliest_ns) == earliest
    assert edt.latest_ns >= edt.earliest_ns
    assert edt.departure_ns == transfer.departure_ns  # the first truck the goods take


def test_transfer_to_a_node_alone(calculator):
    edt = calculator.edt("WH-NORTH", "shuttle", to_node_id="ST-LILLE", as_of_ns=when("2026-06-10 15:00"))

    # Picked today, on tomorrow's 05:30 shuttle, received when the store opens.
    assert (local(edt.departure_ns), local(edt.earliest_ns)) == ("2026-06-11 05:30", "2026-06-11 08:30")


COLLECT_ROWS = [
    # what, as of, supply ETA, ready to collect
    ("in stock, store open", "2026-06-13 11:00", None, "2026-06-13 11:20"),
    ("after the collect cut-off on Saturday: Monday morning", "2026-06-13 18:15", None, "2026-06-15 08:50"),
    ("Sunday: the store is closed", "2026-06-14 12:00", None, "2026-06-15 08:50"),
]


@pytest.mark.parametrize("row", COLLECT_ROWS, ids=[row[0] for row in COLLECT_ROWS])
def test_click_and_collect(calculator, row):
    _, as_of, eta, ready = row

    edt = calculator.collect_edt("ST-LILLE", as_of_ns=when(as_of), supply_eta_ns=None if eta is None else when(eta))

    assert local(edt.earliest_ns) == ready
    assert edt.cost_minor == 0


def test_collect_after_a_shuttle_from_the_warehouse(calculator):
    shuttle = calculator.edt("WH-NORTH", "shuttle", to_node_id="ST-LILLE", as_of_ns=when("2026-06-10 15:00"))

    edt = calculator.collect_edt("ST-LILLE", as_of_ns=when("2026-06-10 15:00"), supply_eta_ns=shuttle.earliest_ns)

    assert local(edt.earliest_ns) == "2026-06-11 08:50"


POSTAL_ROWS = [
    ("59000", "FR", "FR-59"),
    ("59810", "", "FR-59"),
    ("62 100", "FR", "FR-62"),  # spaces are ignored
    ("33000", "FR", "FR-REST"),  # no prefix: the range
    ("97400", "FR", None),  # overseas: outside every zone
    ("59000", "DE", None),  # a German 59000 is not in a French zone
    ("1", "FR", None),
]


@pytest.mark.parametrize("postal_code, country, zone_id", POSTAL_ROWS)
def test_zone_lookup_by_postal_code(calculator, postal_code, country, zone_id):
    assert calculator.zone_for_postal_code(postal_code, country) == zone_id


def test_zone_lookup_by_region(calculator):
    assert calculator.zone_for_region("pas-de-calais", "FR") == "FR-62"
    assert calculator.zone_for_region("Bretagne") is None


def test_postal_code_to_promise(calculator):
    zone_id = calculator.zone_for_postal_code("59650", "FR")

    edt = calculator.edt("WH-NORTH", "route7", zone_id=zone_id, as_of_ns=when("2026-06-10 13:55"))

    assert local(edt.earliest_ns) == "2026-06-11 08:00"


def test_unknown_lane_is_a_key_error(calculator):
    with pytest.raises(KeyError):
        calculator.edt("WH-NORTH", "route7", zone_id="FR-62", as_of_ns=when("2026-06-10 13:55"))
    with pytest.raises(ValueError):
        calculator.lane_index("WH-NORTH", "route7")
