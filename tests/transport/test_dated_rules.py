"""Dated rules: calendars, lanes, cut-offs and capacities with a validity window.

A small network (one warehouse, one garage zone, Europe/Paris) with a summer
closure of the warehouse, a Christmas timetable on route 7, a peak cut-off
on the parcel service and a peak capacity. Every expected EDT is worked out
by hand in the comment beside it (the undated rules are in the docstring of
NETWORK). Errors are `path:line: field: message` like every config error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from scenarios import local, when

from dompromise.config import ConfigError, dump_network, parse_network
from dompromise.inventory.capacity import CapacityCounts
from dompromise.model.transport import Validity
from dompromise.promise.edt import EdtCalculator

# Undated: the warehouse works Mon-Fri 07:00-19:00; route 7 leaves Mon-Fri
# 14:00 (cut-off 13:45), arrives 08:00 the next garage working day; parcel
# is picked up at 17:00 (order cut-off 16:00) and arrives 09:00 the next
# working day; the garage receives Mon-Fri 08:00-18:00. 2026-12-25 and
# 2027-01-01 are holidays of both.
# Dated: the warehouse is closed 2026-08-03 (Mon) to 2026-08-14 (Fri); route
# 7 runs a Christmas timetable 2026-12-21 to 2026-12-31 (Mon, Wed, Thu at
# 20:00, arriving 08:00 the next working day); parcel's cut-off is 12:00 from
# 2026-12-14 to 2026-12-18; capacity is 2 orders a day then, 5 otherwise.
NETWORK = textwrap.dedent("""\
    version: 1
    nodes:
      - {id: WH, type: warehouse, timezone: Europe/Paris}
    skus:
      - id: S1
    transport:
      calendars:
        - id: wh
          hours: {opens: "07:00", closes: "19:00"}
          holidays: [2026-12-25, 2027-01-01]
        - id: wh                          # summer closure
          weekdays: []
          valid_from: 2026-08-03
          valid_to: 2026-08-14
        - id: garage
          hours: {opens: "08:00", closes: "18:00"}
          holidays: [2026-12-25, 2027-01-01]
      zones:
        - {id: Z, timezone: Europe/Paris, calendar: garage, postal_prefixes: ["59"]}
      node_shipping:
        - node: WH
          calendar: wh
          cutoffs: {parcel: "16:00"}
          daily_capacity_orders: 5
          dated_cutoffs:
            - {service: parcel, time: "12:00", valid_from: 2026-12-14, valid_to: 2026-12-18}
          dated_capacities:
            - {orders: 2, valid_from: 2026-12-14, valid_to: 2026-12-18}
      lanes:
        - from: WH
          to_zone: Z
          service: route7
          cost_minor: 450
          departures:
            - {days: [mon, tue, wed, thu, fri], leaves: "14:00", cutoff: "13:45", arrives: "08:00",
               arrival_day_offset: 1}
        - from: WH                        # the Christmas timetable
          to_zone: Z
          service: route7
          cost_minor: 450
          valid_from: 2026-12-21
          valid_to: 2026-12-31
          departures:
            - {days: [mon, wed, thu], leaves: "20:00", arrives: "08:00", arrival_day_offset: 1}
        - from: WH
          to_zone: Z
          service: parcel
          pickup: "17:00"
          transit_working_days: 1
          arrives: "09:00"
    """)


@pytest.fixture(scope="module")
def calculator() -> EdtCalculator:
    return EdtCalculator(parse_network(NETWORK, "dated.yaml"))


def route(calculator: EdtCalculator, service: str, as_of: str) -> tuple[str | None, str | None]:
    """(departure, earliest delivery) in Paris time of goods at WH now, to zone Z."""
    edt = calculator.edt("WH", service, zone_id="Z", as_of_ns=when(as_of))
    assert edt.ok, edt
    return local(edt.departure_ns), local(edt.earliest_ns)


# (as of, departure, earliest delivery) for route 7.
CHRISTMAS = [
    # Before the window: the ordinary 14:00 run, next morning.
    ("2026-12-16 10:00", "2026-12-16 14:00", "2026-12-17 08:00"),
    # Friday before: ordinary Friday run; it arrives on Monday, inside the window (arrival times are the run's).
    ("2026-12-18 10:00", "2026-12-18 14:00", "2026-12-21 08:00"),
    # Inside: no Tuesday run at Christmas (ordinary: Tue 14:00); Wednesday 20:00, Thursday 08:00.
    ("2026-12-22 10:00", "2026-12-23 20:00", "2026-12-24 08:00"),
    # Thursday 24th after 14:00: the Christmas 20:00 run; the 25th is a holiday, so Monday.
    ("2026-12-24 15:00", "2026-12-24 20:00", "2026-12-28 08:00"),
    # The window's last day (valid_to is inclusive): its 20:00 run leaves before midnight and arrives
    # after the window, on the next garage working day (1 January is a holiday): Monday 4th.
    # The ordinary timetable would have left at 14:00, already gone at 15:00.
    ("2026-12-31 15:00", "2026-12-31 20:00", "2027-01-04 08:00"),
    # After: ordinary again; Monday 15:00 misses 13:45, so Tuesday 14:00 (Christmas would run Monday 20:00).
    ("2027-01-04 15:00", "2027-01-05 14:00", "2027-01-06 08:00"),
]


@pytest.mark.parametrize(("as_of", "departure", "earliest"), CHRISTMAS)
def test_christmas_timetable_by_as_of_date(calculator, as_of, departure, earliest):
    assert route(calculator, "route7", as_of) == (departure, earliest)


SUMMER = [
    # Before: Friday's 14:00 run; it arrives Monday the 3rd (the garage is not closed, only the warehouse).
    ("2026-07-31 10:00", "2026-07-31 14:00", "2026-08-03 08:00"),
    # Friday after the run: nothing leaves a closed warehouse, so Monday 17th, two weeks later.
    ("2026-07-31 15:00", "2026-08-17 14:00", "2026-08-18 08:00"),
    # Inside: the order waits for the reopening.
    ("2026-08-05 10:00", "2026-08-17 14:00", "2026-08-18 08:00"),
    # After: ordinary.
    ("2026-08-18 10:00", "2026-08-18 14:00", "2026-08-19 08:00"),
]


@pytest.mark.parametrize(("as_of", "departure", "earliest"), SUMMER)
def test_summer_closure_by_as_of_date(calculator, as_of, departure, earliest):
    assert route(calculator, "route7", as_of) == (departure, earliest)


def test_order_during_closure_is_accepted_when_the_warehouse_reopens(calculator):
    edt = calculator.edt("WH", "route7", zone_id="Z", as_of_ns=when("2026-08-05 10:00"))

    assert local(edt.accepted_ns) == "2026-08-17 07:00"


PEAK_CUTOFF = [
    # Before the peak: 13:00 is before the 16:00 cut-off, so today's 17:00 pickup.
    ("2026-12-09 13:00", "2026-12-09 17:00", "2026-12-10 09:00"),
    # Peak: the cut-off is 12:00, so 13:00 is taken tomorrow.
    ("2026-12-16 13:00", "2026-12-17 17:00", "2026-12-18 09:00"),
    ("2026-12-16 11:59", "2026-12-16 17:00", "2026-12-17 09:00"),
    # After: 16:00 again.
    ("2026-12-21 13:00", "2026-12-21 17:00", "2026-12-22 09:00"),
]


@pytest.mark.parametrize(("as_of", "departure", "earliest"), PEAK_CUTOFF)
def test_peak_cutoff_by_as_of_date(calculator, as_of, departure, earliest):
    assert route(calculator, "parcel", as_of) == (departure, earliest)


def test_peak_cutoff_marks_the_missed_order_cutoff(calculator):
    edt = calculator.edt("WH", "parcel", zone_id="Z", as_of_ns=when("2026-12-16 13:00"))

    assert edt.order_cutoff_missed


def test_dated_capacity_applies_by_local_day():
    counts = CapacityCounts(parse_network(NETWORK, "dated.yaml"))

    assert counts.cap(0, dt.date(2026, 12, 11)) == 5
    assert counts.cap(0, dt.date(2026, 12, 14)) == 2
    assert counts.cap(0, dt.date(2026, 12, 18)) == 2  # valid_to is inclusive for a date
    assert counts.cap(0, dt.date(2026, 12, 19)) == 5


def test_answers_do_not_depend_on_the_tables_window(calculator):
    """A fresh calculator asked about the window edge first gives the same as one that built other tables."""
    fresh = EdtCalculator(parse_network(NETWORK, "dated.yaml"))

    assert route(fresh, "route7", "2026-12-31 15:00") == route(calculator, "route7", "2026-12-31 15:00")


# --------------------------------------------------------------------------
# Datetime windows: the minute a rule starts


def test_datetime_window_splits_a_day_at_its_minute():
    """From 2026-12-21T15:00 the Christmas timetable is in force: Monday's 14:00 run is still the
    ordinary one, the 20:00 run the Christmas one, the same day."""
    text = NETWORK.replace("valid_from: 2026-12-21\n", 'valid_from: "2026-12-21T15:00"\n')
    calculator = EdtCalculator(parse_network(text, "dated.yaml"))

    assert route(calculator, "route7", "2026-12-21 10:00") == ("2026-12-21 14:00", "2026-12-22 08:00")
    assert route(calculator, "route7", "2026-12-21 14:30") == ("2026-12-21 20:00", "2026-12-22 08:00")


def test_datetime_valid_to_is_exclusive():
    """A peak cut-off valid to 2026-12-16T12:00 no longer applies at 12:00 that day."""
    text = NETWORK.replace("valid_to: 2026-12-18}\n", 'valid_to: "2026-12-16T12:00"}\n', 1)
    network = parse_network(text, "dated.yaml")
    calculator = EdtCalculator(network)

    assert network.transport.node_shipping[0].dated_cutoffs[0].validity == Validity(
        dt.date(2026, 12, 14), dt.datetime(2026, 12, 16, 12, 0)
    )
    # 11:00 on the 16th: the peak cut-off (12:00) holds until 12:00, so the order is in time for 17:00.
    assert route(calculator, "parcel", "2026-12-16 11:00") == ("2026-12-16 17:00", "2026-12-17 09:00")
    # 13:00 on the 16th: past the window, the ordinary 16:00 cut-off applies.
    assert route(calculator, "parcel", "2026-12-16 13:00") == ("2026-12-16 17:00", "2026-12-17 09:00")
    # 13:00 on the 15th: the peak cut-off was 12:00, so the next day.
    assert route(calculator, "parcel", "2026-12-15 13:00") == ("2026-12-16 17:00", "2026-12-17 09:00")


# --------------------------------------------------------------------------
# Round trips


def test_dump_round_trips_the_windows():
    network = parse_network(NETWORK, "dated.yaml")

    text = dump_network(network)

    assert parse_network(text, "dumped.yaml") == network
    assert "valid_from: 2026-12-21" in text and "dated_cutoffs:" in text and "dated_capacities:" in text


def test_dump_round_trips_datetime_windows_through_json():
    text = NETWORK.replace("valid_from: 2026-12-21\n", 'valid_from: "2026-12-21T15:00"\n')
    network = parse_network(text, "dated.yaml")

    dumped = json.dumps(yaml.safe_load(dump_network(network)), default=str)

    assert parse_network(dumped, "dumped.json") == network


# --------------------------------------------------------------------------
# Errors


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_network(text, "dated.yaml")
    return [(problem.line, problem.field, problem.message) for problem in caught.value.problems]


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """The 1-based line of the occurrence-th line containing `fragment`."""
    found = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[occurrence - 1]


def test_overlapping_lane_versions_are_an_error_with_file_line():
    text = NETWORK.replace(
        "    - from: WH\n      to_zone: Z\n      service: parcel\n",
        "    - from: WH\n      to_zone: Z\n      service: route7\n      cost_minor: 450\n"
        "      valid_from: 2026-12-30\n"
        "      departures:\n"
        '            - {days: [mon], leaves: "09:00", arrives: "12:00"}\n'
        "    - from: WH\n      to_zone: Z\n      service: parcel\n",
    )

    (found,) = problems(text)

    line, field, message = found
    assert line == line_of(text, "valid_from: 2026-12-30")
    assert field == "transport.lanes[2].valid_from"
    assert "lane WH -> zone Z by route7 valid 2026-12-30 to for ever overlaps" in message
    assert f"(line {line_of(text, 'valid_from: 2026-12-21')})" in message


def test_overlapping_calendar_versions_are_an_error():
    text = NETWORK.replace(
        "    - id: garage\n",
        "    - {id: wh, weekdays: [mon], valid_from: 2026-08-14, valid_to: 2026-08-20}\n    - id: garage\n",
    )

    (found,) = problems(text)

    assert found[0] == line_of(text, "valid_from: 2026-08-14")
    assert found[1] == "transport.calendars[2].valid_from"
    assert (
        "calendar 'wh' valid 2026-08-14 to 2026-08-20 overlaps its version valid 2026-08-03 to 2026-08-14" in (found[2])
    )


def test_overlapping_dated_cutoffs_of_one_service_are_an_error():
    text = NETWORK.replace(
        '        - {service: parcel, time: "12:00", valid_from: 2026-12-14, valid_to: 2026-12-18}\n',
        '        - {service: parcel, time: "12:00", valid_from: 2026-12-14, valid_to: 2026-12-18}\n'
        '        - {service: parcel, time: "11:00", valid_from: 2026-12-18, valid_to: 2026-12-20}\n'
        '        - {service: route7, time: "11:00", valid_from: 2026-12-18, valid_to: 2026-12-20}\n',
    )

    (found,) = problems(text)

    assert found[0] == line_of(text, '"11:00", valid_from: 2026-12-18')
    assert found[1] == "transport.node_shipping[0].dated_cutoffs[1].valid_from"
    assert "cut-off of parcel at node WH" in found[2]


def test_overlapping_dated_capacities_are_an_error():
    text = NETWORK.replace(
        "        - {orders: 2, valid_from: 2026-12-14, valid_to: 2026-12-18}\n",
        "        - {orders: 2, valid_from: 2026-12-14, valid_to: 2026-12-18}\n"
        "        - {orders: 3, valid_from: 2026-12-10, valid_to: 2026-12-14}\n",
    )

    (found,) = problems(text)

    assert found[0] == line_of(text, "orders: 2,")
    assert "daily capacity of node WH" in found[2]


def test_valid_from_after_valid_to_is_an_error_on_valid_to():
    text = NETWORK.replace("      valid_to: 2026-12-31\n", "      valid_to: 2026-12-20\n")

    (found,) = problems(text)

    assert found == (
        line_of(text, "valid_to: 2026-12-20"),
        "transport.lanes[1].valid_to",
        "valid_to 2026-12-20 is before valid_from 2026-12-21: the window is empty",
    )


def test_an_equal_datetime_window_is_empty():
    text = NETWORK.replace(
        "valid_from: 2026-12-21\n      valid_to: 2026-12-31\n",
        'valid_from: "2026-12-21T10:00"\n      valid_to: "2026-12-21T10:00"\n',
    )

    (found,) = problems(text)

    assert found[1] == "transport.lanes[1].valid_to" and "the window is empty" in found[2]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"21/12/2026"', "is not a date YYYY-MM-DD or a local date and time YYYY-MM-DDTHH:MM"),
        ('"2026-12-21T10:00+01:00"', "takes no UTC offset"),
        ('"2026-12-21T10:00:30"', "whole minute"),
    ],
)
def test_bad_window_values(written, message):
    text = NETWORK.replace("valid_from: 2026-12-21\n", f"valid_from: {written}\n")

    (found,) = problems(text)

    assert found[:2] == (line_of(text, f"valid_from: {written}"), "transport.lanes[1].valid_from")
    assert message in found[2]


def test_versions_of_a_lane_differ_in_timing_only():
    text = NETWORK.replace("      cost_minor: 450\n      valid_from", "      cost_minor: 900\n      valid_from")

    (found,) = problems(text)

    assert found[1] == "transport.lanes[1].cost_minor"
    assert "900 differs from 450" in found[2]


def test_an_on_demand_lane_cannot_be_dated():
    text = NETWORK.replace(
        '      pickup: "17:00"\n      transit_working_days: 1\n      arrives: "09:00"\n',
        "      transit_hours: 24\n      valid_to: 2026-12-31\n",
    )

    (found,) = problems(text)

    assert found[:2] == (line_of(text, "valid_to: 2026-12-31", 2), "transport.lanes[2].valid_to")
    assert "on-demand lane" in found[2]


def test_a_dated_cutoff_needs_a_window():
    text = NETWORK.replace(
        '{service: parcel, time: "12:00", valid_from: 2026-12-14, valid_to: 2026-12-18}',
        '{service: parcel, time: "12:00"}',
    )

    (found,) = problems(text)

    assert found[1] == "transport.node_shipping[0].dated_cutoffs[0]"
    assert "needs valid_from or valid_to" in found[2]


def test_two_undated_versions_are_still_a_duplicate():
    text = NETWORK.replace("    - id: wh                          # summer closure\n", "    - id: wh\n").replace(
        "      weekdays: []\n      valid_from: 2026-08-03\n      valid_to: 2026-08-14\n", ""
    )

    (found,) = problems(text)

    assert "duplicate calendar id 'wh'" in found[2]


def test_an_empty_weekday_list_is_a_closure_only_when_dated():
    text = NETWORK.replace(
        "      weekdays: []\n      valid_from: 2026-08-03\n      valid_to: 2026-08-14\n", "      weekdays: []\n"
    )

    found = problems(text)

    assert any("must list at least one weekday" in message for _, _, message in found)


# --------------------------------------------------------------------------
# The docs' example


def test_docs_example_promises_like_it_says():
    """docs/config.md, "Dated rules": its `yml` block, with the garage zone it names, gives its EDTs."""
    docs = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    section = docs[docs.index("#### Dated rules") :]
    document = yaml.safe_load(re.search(r"```yml\n(.*?)```", section, re.DOTALL)[1])
    transport = document["transport"]
    transport["calendars"].append(
        {"id": "garage", "hours": {"opens": "08:00", "closes": "18:00"}, "holidays": [dt.date(2027, 1, 1)]}
    )
    transport["zones"] = [{"id": "FR-59", "timezone": "Europe/Paris", "calendar": "garage"}]
    network = {
        "version": 1,
        "nodes": [{"id": "WH-NORTH", "type": "warehouse", "timezone": "Europe/Paris"}],
        "skus": [{"id": "S1"}],
        "transport": transport,
    }
    calculator = EdtCalculator(parse_network(yaml.safe_dump(network), "docs.yaml"))

    def edt(as_of: str) -> tuple[str | None, str | None]:
        found = calculator.edt("WH-NORTH", "route7", zone_id="FR-59", as_of_ns=when(as_of))
        return local(found.departure_ns), local(found.earliest_ns)

    assert edt("2026-12-16 10:00") == ("2026-12-16 14:00", "2026-12-17 08:00")
    assert edt("2026-12-22 10:00") == ("2026-12-23 20:00", "2026-12-24 08:00")
    assert edt("2026-12-31 15:00") == ("2026-12-31 20:00", "2027-01-04 08:00")
    assert edt("2027-01-04 15:00") == ("2027-01-05 14:00", "2027-01-06 08:00")
    assert edt("2026-07-31 15:00") == ("2026-08-17 14:00", "2026-08-18 08:00")


def test_a_dated_cutoff_before_the_calendar_opens_is_an_error():
    text = NETWORK.replace('{service: parcel, time: "12:00", valid_from', '{service: parcel, time: "06:30", valid_from')

    (found,) = problems(text)

    assert found[:2] == (line_of(text, 'time: "06:30"'), "transport.node_shipping[0].dated_cutoffs[0].time")
    assert "cut-off 06:30 is not after calendar 'wh' opens at 07:00" in found[2]


def test_a_cutoff_is_checked_only_against_calendar_versions_its_window_meets():
    """August hours from 13:00 do not make December's 12:00 peak cut-off invalid; in August they would."""
    text = NETWORK.replace("      weekdays: []\n", '      hours: {opens: "13:00", closes: "19:00"}\n')

    network = parse_network(text, "dated.yaml")
    in_august = text.replace(
        "valid_from: 2026-12-14, valid_to: 2026-12-18}", "valid_from: 2026-08-10, valid_to: 2026-08-12}", 1
    )

    assert str(network.transport.calendars[1].opens) == "13:00"
    assert "cut-off 12:00 is not after calendar 'wh' opens at 13:00" in problems(in_august)[0][2]
