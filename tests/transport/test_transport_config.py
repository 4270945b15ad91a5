"""The `transport:` section of the network config: loading, errors with path:line: field, round trips."""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from scenarios import NETWORK_YAML, local, scenario_network, when

from dompromise import limits
from dompromise.config import ConfigError, dump_network, parse_network
from dompromise.config import transport as config_transport
from dompromise.model.transport import Departure, LocalTime, PostalRange, at
from dompromise.promise.edt import EdtCalculator

HEAD = textwrap.dedent("""\
    version: 1
    nodes:
      - {id: WH-1, type: warehouse, timezone: Europe/Paris}
      - {id: ST-1, type: store, timezone: Europe/Paris}
    skus:
      - id: S1
    transport:
    """)

# A valid section; each error test changes one line of it (marked with a comment).
SECTION = """\
  calendars:
    - id: work
      weekdays: [mon, tue, wed, thu, fri]
      hours: {opens: "07:00", closes: "19:00"}
      holidays: [2026-05-01]
  zones:
    - id: Z-59
      timezone: Europe/Paris
      calendar: work
      postal_prefixes: ["59"]
  node_shipping:
    - node: WH-1
      calendar: work
      cutoffs: {parcel: "16:00"}
    - {node: ST-1, calendar: work}
  lanes:
    - from: WH-1
      to_zone: Z-59
      service: route7
      departures:
        - {days: [mon, tue], leaves: "14:00", cutoff: "13:45", arrives: "08:00", arrival_day_offset: 1}
    - from: WH-1
      to_zone: Z-59
      service: parcel
      pickup: "17:00"
      transit_working_days: 1
"""


def network_text(section: str = SECTION) -> str:
    return HEAD + section


def changed(old: str, new: str) -> str:
    assert SECTION.count(old) == 1, old
    return network_text(SECTION.replace(old, new))


def appended(lines: str) -> str:
    return network_text(SECTION + textwrap.indent(textwrap.dedent(lines), "    "))


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_network(text, "net.yaml")
    return [(problem.line, problem.field, problem.message) for problem in caught.value.problems]


def only_problem(text: str) -> tuple[int, str, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `fragment`."""
    lines = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    return lines[occurrence - 1]


# --------------------------------------------------------------------------
# Valid sections


def test_valid_section_loads():
    transport = parse_network(network_text()).transport

    (calendar,) = transport.calendars
    assert calendar.holidays == (dt.date(2026, 5, 1),) and calendar.opens == at("07:00")
    assert transport.zones[0].postal_prefixes == ("59",)
    assert transport.node_shipping[0].cutoffs == {"parcel": LocalTime(16 * 60)}
    route, parcel = transport.lanes
    assert route.departures == (Departure((0, 1), at("14:00"), at("08:00"), 1, at("13:45")),)
    assert (parcel.pickup, parcel.transit_working_days, parcel.transit_hours) == (at("17:00"), 1, None)
    assert transport.currency == "EUR"


def test_no_section_means_no_transport():
    text = HEAD.removesuffix("transport:\n")

    assert parse_network(text).transport is None


def test_empty_lists_load():
    transport = parse_network(network_text("  calendars: []\n  lanes: []\n")).transport

    assert transport.calendars == () and transport.lanes == ()


def test_scenario_network_loads_with_ranges_and_regions():
    transport = scenario_network().transport

    zones = {zone.zone_id: zone for zone in transport.zones}
    assert zones["FR-REST"].postal_ranges == (PostalRange("01000", "95999"),)
    assert zones["FR-62"].regions == ("Pas-de-Calais",)
    assert next(s for s in transport.node_shipping if s.node_id == "ST-LILLE").click_and_collect


def test_dump_then_parse_round_trips():
    network = scenario_network()

    text = dump_network(network)

    assert parse_network(text) == network
    assert "\ntransport:\n" in text


def test_json_with_date_strings_loads_like_yaml():
    document = yaml.safe_load(network_text())
    text = json.dumps(document, default=str, indent=1)

    assert parse_network(text, "net.json") == parse_network(network_text())


# --------------------------------------------------------------------------
# Errors: each names the line and field at fault


def test_unknown_section_key_suggests_the_close_one():
    text = network_text(SECTION + "  lanse: []\n")

    assert only_problem(text) == (
        line_of(text, "lanse"),
        "transport.lanse",
        "unknown key 'lanse' (did you mean 'lanes'?)",
    )


@pytest.mark.parametrize(
    "old, new, field, message",
    [
        (
            'leaves: "14:00"',
            'leaves: "25:00"',
            "transport.lanes[0].departures[0].leaves",
            "'25:00' is not a time of day HH:MM (00:00 to 23:59)",
        ),
        (
            'leaves: "14:00"',
            'leaves: "14:60"',
            "transport.lanes[0].departures[0].leaves",
            "'14:60' is not a time of day HH:MM (00:00 to 23:59)",
        ),
        (
            'leaves: "14:00"',
            'leaves: "2pm"',
            "transport.lanes[0].departures[0].leaves",
            "'2pm' is not a time of day HH:MM (00:00 to 23:59)",
        ),
        (
            'leaves: "14:00"',
            "leaves: 14:00",
            "transport.lanes[0].departures[0].leaves",
            'expected a string, got an integer; write it in quotes: "14:00"',
        ),
        (
            'pickup: "17:00"',
            'pickup: "24:00"',
            "transport.lanes[1].pickup",
            "'24:00' is not a time of day HH:MM (00:00 to 23:59)",
        ),
        (
            "days: [mon, tue]",
            "days: [mon, fry]",
            "transport.lanes[0].departures[0].days[1]",
            "unknown value 'fry' (expected one of: mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            "days: [mon, tue]",
            "days: [mon, mon]",
            "transport.lanes[0].departures[0].days[1]",
            "duplicate weekday 'mon' (first on line {line})",
        ),
        ("days: [mon, tue]", "days: []", "transport.lanes[0].departures[0].days", "must list at least one weekday"),
        (
            "timezone: Europe/Paris",
            "timezone: Europe/Parls",
            "transport.zones[0].timezone",
            "'Europe/Parls' is not a known IANA time zone",
        ),
        (
            "transit_working_days: 1",
            "transit_working_days: -1",
            "transport.lanes[1].transit_working_days",
            "-1 is outside [0, 30]",
        ),
        (
            "holidays: [2026-05-01]",
            'holidays: ["2026-02-30"]',
            "transport.calendars[0].holidays[0]",
            "'2026-02-30' is not a date YYYY-MM-DD",
        ),
        (
            "holidays: [2026-05-01]",
            "holidays: [2026-05-01, 2026-05-01]",
            "transport.calendars[0].holidays[1]",
            "duplicate holiday 2026-05-01 (first on line {line})",
        ),
        (
            'closes: "19:00"',
            'closes: "06:00"',
            "transport.calendars[0].hours.closes",
            "closes at 06:00, not after it opens at 07:00 (a day cannot run past midnight)",
        ),
        (
            "calendar: work\n      postal",
            "calendar: wrok\n      postal",
            "transport.zones[0].calendar",
            "unknown calendar 'wrok'",
        ),
        (
            "    - {node: ST-1, calendar: work}",
            "    - {node: ST-9, calendar: work}",
            "transport.node_shipping[1].node",
            "unknown node 'ST-9'",
        ),
        (
            "      to_zone: Z-59\n      service: route7",
            "      to_zone: Z-60\n      service: route7",
            "transport.lanes[0].to_zone",
            "unknown zone 'Z-60'",
        ),
        (
            'cutoff: "13:45"',
            'cutoff: "14:15"',
            "transport.lanes[0].departures[0].cutoff",
            "cut-off 14:15 is after the departure at 14:00",
        ),
        (
            "arrival_day_offset: 1",
            "arrival_day_offset: 0",
            "transport.lanes[0].departures[0].arrives",
            "arrives at 08:00, before it leaves at 14:00 the same day (set arrival_day_offset)",
        ),
        (
            'cutoffs: {parcel: "16:00"}',
            'cutoffs: {parcel: "06:30"}',
            "transport.node_shipping[0].cutoffs.parcel",
            "cut-off 06:30 is not after calendar 'work' opens at 07:00: no order would ever be accepted",
        ),
        (
            'postal_prefixes: ["59"]',
            'postal_prefixes: ["59 0"]',
            "transport.zones[0].postal_prefixes[0]",
            "'59 0' is not a postal code or prefix (1 to 16 capital letters or digits, no spaces)",
        ),
    ],
)
def test_field_errors(old, new, field, message):
    text = changed(old, new)
    bad_line = line_of(text, new.splitlines()[0])

    assert only_problem(text) == (bad_line, field, message.format(line=bad_line))


def test_unquoted_date_and_string_date_are_both_dates():
    text = changed("holidays: [2026-05-01]", 'holidays: ["2026-05-01", 2026-12-25]')

    assert parse_network(text).transport.calendars[0].holidays == (dt.date(2026, 5, 1), dt.date(2026, 12, 25))


def test_duplicate_node_shipping_names_the_first_line():
    text = changed(
        "    - {node: ST-1, calendar: work}", "    - {node: ST-1, calendar: work}\n    - {node: WH-1, calendar: work}"
    )
    first = line_of(text, "- node: WH-1")
    second = line_of(text, "{node: WH-1, calendar: work}")

    assert only_problem(text) == (
        second,
        "transport.node_shipping[2].node",
        f"duplicate node_shipping node id 'WH-1' (first defined on line {first})",
    )


def test_duplicate_calendar_and_zone_ids():
    second_zone = '      postal_prefixes: ["59"]\n    - {id: Z-59, timezone: UTC, calendar: work}\n'
    text = network_text(
        SECTION.replace("  zones:\n", "    - {id: work}\n  zones:\n").replace(
            '      postal_prefixes: ["59"]\n', second_zone
        )
    )

    found = problems(text)

    assert (
        line_of(text, "{id: work}"),
        "transport.calendars[1].id",
        f"duplicate calendar id 'work' (first defined on line {line_of(text, '- id: work')})",
    ) in found
    assert (
        line_of(text, "{id: Z-59"),
        "transport.zones[1].id",
        f"duplicate zone id 'Z-59' (first defined on line {line_of(text, '- id: Z-59')})",
    ) in found


def test_duplicate_postal_prefix_across_zones():
    text = changed(
        '      postal_prefixes: ["59"]\n',
        '      postal_prefixes: ["59"]\n    - {id: Z-2, timezone: UTC, calendar: work, postal_prefixes: ["59"]}\n',
    )

    first = line_of(text, 'postal_prefixes: ["59"]')

    assert only_problem(text) == (
        line_of(text, "Z-2"),
        "transport.zones[1].postal_prefixes[0]",
        f"postal prefix '59' already belongs to another zone (line {first})",
    )


def test_duplicate_lane():
    text = appended("""\
        - {from: WH-1, to_zone: Z-59, service: parcel, transit_hours: 2}
    """)

    assert only_problem(text) == (
        line_of(text, "service: parcel, transit_hours"),
        "transport.lanes[2]",
        f"duplicate lane WH-1 -> zone Z-59 by parcel (first on line {line_of(text, '- from: WH-1', 2)})",
    )


@pytest.mark.parametrize(
    "lane, field, message",
    [
        (
            "{from: WH-1, service: s, transit_hours: 1}",
            "transport.lanes[2]",
            "needs exactly one of to_zone and to_node",
        ),
        (
            "{from: WH-1, to_zone: Z-59, to_node: ST-1, service: s, transit_hours: 1}",
            "transport.lanes[2]",
            "needs exactly one of to_zone and to_node",
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s}",
            "transport.lanes[2]",
            "needs departures, or exactly one of transit_hours and transit_working_days",
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s, transit_hours: 1, transit_working_days: 1, pickup: '17:00'}",
            "transport.lanes[2]",
            "needs departures, or exactly one of transit_hours and transit_working_days",
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s, transit_working_days: 1}",
            "transport.lanes[2].transit_working_days",
            'working days need a daily pickup time to count from (add pickup: "HH:MM")',
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s, transit_hours: 3, arrives: '09:00'}",
            "transport.lanes[2].arrives",
            "only used with transit_working_days",
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s, transit_hours: -3}",
            "transport.lanes[2].transit_hours",
            "-3 is outside [0, 720]",
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s, transit_hours: 3, transit_spread_hours: -1}",
            "transport.lanes[2].transit_spread_hours",
            "-1 is outside [0, 336]",
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s, transit_hours: 3, cost_minor: 1.5}",
            "transport.lanes[2].cost_minor",
            "expected an integer, got a number",
        ),
        (
            "{from: WH-1, to_zone: Z-59, service: s, transit_hours: 1, departures: [{days: [mon], leaves: '10:00', "
            "arrives: '11:00'}]}",
            "transport.lanes[2].transit_hours",
            "not allowed with departures (each departure gives its own arrival)",
        ),
        ("{from: WH-9, to_zone: Z-59, service: s, transit_hours: 1}", "transport.lanes[2].from", "unknown node 'WH-9'"),
        (
            "{from: WH-1, to_node: ST-7, service: s, transit_hours: 1}",
            "transport.lanes[2].to_node",
            "unknown node 'ST-7'",
        ),
    ],
)
def test_lane_errors(lane, field, message):
    text = appended(f"- {lane}\n")

    assert only_problem(text) == (line_of(text, lane[:30]), field, message)


def test_lane_from_a_node_without_shipping_settings():
    text = changed("    - {node: ST-1, calendar: work}\n", "")
    text += "    - {from: ST-1, to_zone: Z-59, service: s, transit_hours: 1}\n"

    assert only_problem(text) == (
        line_of(text, "from: ST-1"),
        "transport.lanes[2].from",
        "node 'ST-1' has no node_shipping entry (calendar, lead time)",
    )


def test_departure_cutoffs_must_follow_departure_order():
    text = appended("""\
        - from: WH-1
          to_zone: Z-59
          service: two-runs
          departures:
            - {days: [mon], leaves: "10:00", cutoff: "09:30", arrives: "12:00"}
            - {days: [mon, tue], leaves: "11:00", cutoff: "09:00", arrives: "13:00"}
    """)

    assert only_problem(text) == (
        line_of(text, 'cutoff: "09:00"'),
        "transport.lanes[2].departures[1].cutoff",
        "cut-off 09:00 of the 11:00 departure is before the 09:30 cut-off of the 10:00 "
        "one on mon: cut-offs must follow departure order",
    )


def test_same_departure_twice():
    text = appended("""\
        - from: WH-1
          to_zone: Z-59
          service: twice
          departures:
            - {days: [mon, tue], leaves: "10:00", arrives: "12:00"}
            - {days: [tue], leaves: "10:00", arrives: "13:00"}
    """)
    first = line_of(text, '{days: [mon, tue], leaves: "10:00"')

    assert only_problem(text) == (
        line_of(text, '{days: [tue], leaves: "10:00"'),
        "transport.lanes[2].departures[1].leaves",
        f"a departure on tue at 10:00 is already listed (line {first})",
    )


def test_shipping_errors_each_on_their_line():
    text = changed(
        "    - {node: ST-1, calendar: work}",
        "    - node: ST-1\n"
        "      calendar: work\n"
        "      processing_minutes: -5\n"
        "      daily_capacity_orders: 0\n"
        "      click_and_collect: yes please\n"
        '      cutoffs: {collect: "18:00", bad id: "10:00"}',
    )

    assert problems(text) == [
        (
            line_of(text, "processing_minutes"),
            "transport.node_shipping[1].processing_minutes",
            "-5 is outside [0, 20160]",
        ),
        (
            line_of(text, "daily_capacity"),
            "transport.node_shipping[1].daily_capacity_orders",
            "0 is outside [1, 1000000000]",
        ),
        (
            line_of(text, "click_and_collect"),
            "transport.node_shipping[1].click_and_collect",
            "expected true or false, got a string",
        ),
        (
            line_of(text, "bad id"),
            "transport.node_shipping[1].cutoffs.bad id",
            "'bad id' is not a valid id (letters, digits and . _ : / -, starting with a letter or digit)",
        ),
    ]


def test_departures_per_week_limit(monkeypatch):
    monkeypatch.setattr(config_transport, "DEPARTURES_PER_WEEK_MAX", 1)
    text = network_text()

    assert only_problem(text) == (
        line_of(text, "departures:"),
        "transport.lanes[0].departures",
        "2 departures a week, more than the limit of 1",
    )


def test_total_departures_limit(monkeypatch):
    monkeypatch.setattr(config_transport, "DEPARTURES_PER_WEEK_TOTAL_MAX", 8)
    text = network_text()

    # route7: 2 a week; parcel: a daily pickup counts 7.
    assert only_problem(text) == (
        line_of(text, "  lanes:"),
        "transport.lanes",
        "9 departures a week over all lanes, more than the limit of 8",
    )


def test_many_problems_in_one_pass_in_line_order():
    text = changed('leaves: "14:00"', 'leaves: "25:00"').replace(
        "timezone: Europe/Paris\n      calendar", "timezone: Mars/Olympus\n      calendar"
    )

    found = problems(text)

    assert [field for _, field, _ in found] == [
        "transport.zones[0].timezone",
        "transport.lanes[0].departures[0].leaves",
    ]
    assert [line for line, _, _ in found] == sorted(line for line, _, _ in found)
    assert str(ConfigError([])) == ""


def test_section_must_be_a_mapping():
    text = HEAD.replace("transport:\n", "transport: [1, 2]\n")

    assert only_problem(text) == (line_of(text, "transport:"), "transport", "expected a mapping, got a list")


def test_scenario_yaml_is_the_documented_shape():
    # The scenario file carries comments and flow mappings; it must stay loadable.
    assert parse_network(NETWORK_YAML).transport is not None


def test_docs_example_promises_like_it_says():
    docs = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")
    network = parse_network(dict(re.findall(r"```(yaml|json|csv)\n(.*?)```", docs, re.DOTALL))["yaml"], "docs.yaml")
    calculator = EdtCalculator(network)

    # 13:55 misses the 14:00 run (cut-off 13:45) and rides the 18:00 one.
    route = calculator.edt(
        "WH-NORTH", "route7", zone_id=calculator.zone_for_postal_code("59000", "FR"), as_of_ns=when("2026-06-10 13:55")
    )
    assert (local(route.departure_ns), local(route.earliest_ns)) == ("2026-06-10 18:00", "2026-06-11 08:00")
    assert calculator.zone_for_region("toulouse") == "FR-31"
    collect = calculator.collect_edt("ST-TOULOUSE", as_of_ns=when("2026-06-13 18:45"))
    assert local(collect.earliest_ns) == "2026-06-15 08:50"


TRANSPORT_LIMITS = (
    "CALENDARS_MAX",
    "HOLIDAYS_PER_CALENDAR_MAX",
    "ZONES_MAX",
    "ZONE_MATCHERS_MAX",
    "POSTAL_CODE_LENGTH_MAX",
    "LANES_MAX",
    "DEPARTURES_PER_WEEK_MAX",
    "DEPARTURES_PER_WEEK_TOTAL_MAX",
    "CUTOFFS_PER_NODE_MAX",
    "DATED_RULES_PER_NODE_MAX",
    "PROCESSING_MINUTES_MAX",
    "TRANSIT_HOURS_MAX",
    "TRANSIT_WORKING_DAYS_MAX",
    "TRANSIT_SPREAD_HOURS_MAX",
    "ARRIVAL_DAY_OFFSET_MAX",
    "TRANSPORT_WINDOW_DAYS",
    "TRANSPORT_HORIZON_DAYS",
)


@pytest.mark.parametrize("name", TRANSPORT_LIMITS)
def test_transport_limits_are_documented_with_their_value(name):
    docs = (Path(__file__).parents[2] / "docs" / "config.md").read_text(encoding="utf-8")

    assert f"`{name}` ({getattr(limits, name):,}" in docs
