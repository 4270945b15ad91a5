"""The `transport:` section of the network config: calendars, zones, lanes.

Read by `parse_network` (one call from `network._read_network`) with the
same rules and messages as the rest of the file: every problem is reported
as ``path:line: field: message`` with the real line, all at once. Written
back by `dump.dump_transport` so `dump_network` round-trips. `docs/config.md`
("Transport") documents the section with a full example.

    transport:
      currency: EUR                      # optional, ISO 4217, default EUR
      calendars:
        - id: fr-warehouse               # unique among calendars
          weekdays: [mon, tue, wed, thu, fri]      # optional, default mon-fri
          hours: {opens: "07:00", closes: "19:00"} # optional, default whole days
          holidays: [2026-01-01, 2026-04-06]        # optional dates
          valid_from: 2026-12-21         # optional window (a dated version of the id): see Validity
          valid_to: 2027-01-03
      zones:
        - id: FR-59
          timezone: Europe/Paris         # required
          calendar: fr-garages           # required: the receiving calendar
          country: FR
          postal_prefixes: ["59"]
          postal_ranges: [{from: "59000", to: "59999"}]
          regions: [Nord]
          location: {latitude: 50.63, longitude: 3.06}   # optional centroid, for ranking by distance
      node_shipping:
        - node: WH-NORTH
          calendar: fr-warehouse
          processing_minutes: 10
          cutoffs: {route7: "13:45", parcel: "16:30"}
          daily_capacity_orders: 4000
          click_and_collect: false
          dated_cutoffs:                 # optional: override cutoffs[service] in a window
            - {service: parcel, time: "12:00", valid_from: 2026-11-23, valid_to: 2026-11-30}
          dated_capacities:              # optional: override daily_capacity_orders in a window
            - {orders: 6000, valid_from: 2026-11-23, valid_to: 2026-11-30}
      lanes:
        - from: WH-NORTH
          to_zone: FR-59                 # or to_node: a node with node_shipping
          service: route7
          cost_minor: 450
          departures:
            - {days: [mon, tue, wed, thu, fri], leaves: "14:00", cutoff: "13:45",
               arrives: "08:00", arrival_day_offset: 1}
        - from: WH-NORTH
          to_zone: FR-75
          service: parcel
          pickup: "17:00"
          transit_working_days: 1
          arrives: "09:00"
          transit_spread_hours: 9
          valid_from: 2026-12-21         # optional: a dated version of the lane

Dated rules: calendars and lanes may share their key (calendar id; from, to,
service) when their `valid_from` / `valid_to` windows do not overlap, and at
most one version is undated (the default outside every window). Windows are
local dates or datetimes of the keeper (`model.transport.Validity` says which
end is inclusive).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from dompromise.config.marked import MarkedList, MarkedMapping
from dompromise.config.problems import (
    Problems,
    Value,
    as_bool,
    as_country,
    as_date,
    as_degrees,
    as_id,
    as_int,
    as_list,
    as_mapping,
    as_str,
    as_time,
    as_timezone,
    as_weekdays,
    check_keys,
    check_unique_ids,
    checked,
    declared_ids,
    items,
    join,
    member,
    optional,
    read_strings,
    required,
)
from dompromise.limits import (
    ARRIVAL_DAY_OFFSET_MAX,
    CALENDARS_MAX,
    COST_MINOR_MAX,
    CUTOFFS_PER_NODE_MAX,
    DAILY_CAPACITY_ORDERS_MAX,
    DATED_RULES_PER_NODE_MAX,
    DEPARTURES_PER_WEEK_MAX,
    DEPARTURES_PER_WEEK_TOTAL_MAX,
    HOLIDAYS_PER_CALENDAR_MAX,
    LANES_MAX,
    NODES_MAX,
    POSTAL_CODE_LENGTH_MAX,
    PROCESSING_MINUTES_MAX,
    TRANSIT_HOURS_MAX,
    TRANSIT_SPREAD_HOURS_MAX,
    TRANSIT_WORKING_DAYS_MAX,
    ZONE_MATCHERS_MAX,
    ZONES_MAX,
)
from dompromise.model.network import Node
from dompromise.model.transport import (
    ALWAYS,
    WEEKDAY_SPELLINGS,
    WORKWEEK,
    Calendar,
    Centroid,
    DatedCapacity,
    DatedCutoff,
    Departure,
    Lane,
    LocalTime,
    NodeShipping,
    PostalRange,
    TransportNetwork,
    Validity,
    Zone,
)

_SECTION = "transport"
_SECTION_KEYS = ("currency", "calendars", "zones", "node_shipping", "lanes")
_VALIDITY_KEYS = ("valid_from", "valid_to")
_CALENDAR_KEYS = ("id", "name", "weekdays", "hours", "holidays", *_VALIDITY_KEYS)
_HOURS_KEYS = ("opens", "closes")
_ZONE_KEYS = (
    "id",
    "name",
    "country",
    "timezone",
    "calendar",
    "postal_prefixes",
    "postal_ranges",
    "regions",
    "location",
)
_CENTROID_KEYS = ("latitude", "longitude")
_RANGE_KEYS = ("from", "to")
_SHIPPING_KEYS = (
    "node",
    "calendar",
    "processing_minutes",
    "cutoffs",
    "daily_capacity_orders",
    "click_and_collect",
    "dated_cutoffs",
    "dated_capacities",
)
_DATED_CUTOFF_KEYS = ("service", "time", *_VALIDITY_KEYS)
_DATED_CAPACITY_KEYS = ("orders", *_VALIDITY_KEYS)
_LANE_KEYS = (
    "from",
    "to_zone",
    "to_node",
    "service",
    "name",
    "cost_minor",
    "departures",
    "pickup",
    "transit_hours",
    "transit_working_days",
    "arrives",
    "transit_spread_hours",
    "tiers",
    *_VALIDITY_KEYS,
)
_TIMETABLE_EXCLUDES = ("pickup", "transit_hours", "transit_working_days", "arrives")
_DEPARTURE_KEYS = ("days", "leaves", "cutoff", "arrives", "arrival_day_offset")

_CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
_POSTAL_PATTERN = re.compile(rf"[A-Z0-9]{{1,{POSTAL_CODE_LENGTH_MAX}}}")
DEFAULT_CURRENCY = "EUR"


_Entry = TypeVar("_Entry", Calendar, Zone, NodeShipping, Lane, Departure, DatedCutoff, DatedCapacity)
# (departures, pickup, transit_hours, transit_working_days, arrives) of a lane.
_LaneTiming = tuple[tuple[Departure, ...] | None, LocalTime | None, int | None, int | None, LocalTime | None]


@dataclass(frozen=True)
class _Read(Generic[_Entry]):
    """A value read from the file and where its references were written."""

    value: _Entry
    where: dict[str, Value]


# --------------------------------------------------------------------------
# Entry point


def read_transport(top: MarkedMapping, nodes: list[Node], problems: Problems) -> TransportNetwork | None:
    """The `transport:` section of a network file, or None when absent or wrong.

    `nodes` are the file's valid nodes: lanes and shipping settings must
    name one of them.
    """
    section_item = member(top, _SECTION, "")
    if section_item is None:
        return None
    section = as_mapping(section_item, problems)
    if section is None:
        return None
    before = problems.count()
    check_keys(section, _SECTION, _SECTION_KEYS, (), problems)
    currency = optional(section, "currency", _SECTION, DEFAULT_CURRENCY, lambda v: _as_currency(v, problems))
    calendars = _read_list(section, "calendars", CALENDARS_MAX, _read_calendar, problems)
    zones = _read_list(section, "zones", ZONES_MAX, _read_zone, problems)
    shipping = _read_list(section, "node_shipping", NODES_MAX, _read_shipping, problems)
    lanes = _read_list(section, "lanes", LANES_MAX, _read_lane, problems)
    undated_calendars = [read for read in calendars if not read.value.validity.dated]
    check_unique_ids([(read.value.calendar_id, read.where["id"]) for read in undated_calendars], "calendar", problems)
    _check_overlaps([(read.value.calendar_id, read.value.validity, read.where) for read in calendars], problems)
    check_unique_ids([(read.value.zone_id, read.where["id"]) for read in zones], "zone", problems)
    check_unique_ids([(read.value.node_id, read.where["node"]) for read in shipping], "node_shipping node", problems)
    # References are checked against every id written, valid entry or not:
    # one bad zone should be one problem, not one more per lane that names it.
    declared = {
        "calendar": declared_ids(section, "calendars", "id"),
        "zone": declared_ids(section, "zones", "id"),
        "node": {node.node_id for node in nodes} | declared_ids(top, "nodes", "id"),
        "shipping": declared_ids(section, "node_shipping", "node"),
    }
    _check_references(calendars, zones, shipping, lanes, declared, problems)
    _check_postal_prefixes(zones, problems)
    _check_lane_keys(lanes, problems)
    _check_departures_total(lanes, section, problems)
    if problems.count() > before:
        return None
    return TransportNetwork(
        calendars=tuple(read.value for read in calendars),
        zones=tuple(read.value for read in zones),
        node_shipping=tuple(read.value for read in shipping),
        lanes=tuple(read.value for read in lanes),
        currency=checked(currency),
    )


def _read_list(
    section: MarkedMapping,
    key: str,
    count_max: int,
    read_entry: Callable[[Value, Problems], _Read[_Entry] | None],
    problems: Problems,
) -> list[_Read[_Entry]]:
    """One optional list of the section: the valid entries, each with where it was."""
    list_item = member(section, key, _SECTION)
    if list_item is None:
        return []
    entries = as_list(list_item, problems)
    if entries is None:
        return []
    if len(entries) > count_max:
        problems.add(list_item.line, list_item.field, f"{len(entries)} entries, more than the limit of {count_max}")
        return []
    results = [read_entry(item, problems) for item in items(entries, list_item.field)]
    return [result for result in results if result is not None]


# --------------------------------------------------------------------------
# Scalars


def _as_currency(item: Value, problems: Problems) -> str | None:
    text = as_str(item, problems)
    if text is None:
        return None
    if not _CURRENCY_PATTERN.fullmatch(text):
        problems.add(item.line, item.field, f"{text!r} is not an ISO 4217 currency code like EUR")
        return None
    return text


def _as_postal(item: Value, problems: Problems) -> str | None:
    text = as_str(item, problems)
    if text is None:
        return None
    if not _POSTAL_PATTERN.fullmatch(text):
        problems.add(
            item.line,
            item.field,
            f"{text!r} is not a postal code or prefix (1 to {POSTAL_CODE_LENGTH_MAX} capital letters "
            "or digits, no spaces)",
        )
        return None
    return text


# --------------------------------------------------------------------------
# Validity windows (dated rules)


def _as_local_instant(item: Value, problems: Problems) -> dt.date | None:
    """A local date (2026-12-21) or date and time to the minute ("2026-12-21T14:00"), no UTC offset."""
    value = item.value
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value) if len(value) > 10 else dt.date.fromisoformat(value)
        except ValueError:
            value = None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            problems.add(item.line, item.field, "a local time in the keeper's timezone takes no UTC offset")
            return None
        if value.second or value.microsecond:
            problems.add(item.line, item.field, "windows start and end on a whole minute")
            return None
        return value
    if isinstance(value, dt.date):
        return value
    problems.add(
        item.line, item.field, f"{item.value!r} is not a date YYYY-MM-DD or a local date and time YYYY-MM-DDTHH:MM"
    )
    return None


def _read_validity(entry: MarkedMapping, field: str, problems: Problems) -> tuple[Validity, dict[str, Value]] | None:
    """`valid_from` / `valid_to` of an entry (ALWAYS without them) and where they were written."""
    where: dict[str, Value] = {}
    values: dict[str, dt.date] = {}
    before = problems.count()
    for key in _VALIDITY_KEYS:
        key_item = member(entry, key, field)
        if key_item is None:
            continue
        where[key] = key_item
        found = _as_local_instant(key_item, problems)
        if found is not None:
            values[key] = found
    if problems.count() > before:
        return None
    validity = Validity(values.get("valid_from"), values.get("valid_to"))
    if validity.dated and validity.end() <= validity.start():
        to_item = where["valid_to"]
        problems.add(
            to_item.line,
            to_item.field,
            f"valid_to {validity.valid_to} is before valid_from {validity.valid_from}: the window is empty",
        )
        return None
    return (validity, where) if validity.dated else (ALWAYS, where)


def _validity_where(where: dict[str, Value], fallback: Value) -> Value:
    return where.get("valid_from") or where.get("valid_to") or fallback


def _check_overlaps(versions: list[tuple[object, Validity, dict[str, Value]]], problems: Problems) -> None:
    """Dated versions of one key may not overlap (the undated one is the default around them)."""
    by_key: dict[object, list[tuple[Validity, dict[str, Value]]]] = {}
    for key, validity, where in versions:
        if validity.dated:
            by_key.setdefault(key, []).append((validity, where))
    for key, dated in by_key.items():
        dated.sort(key=lambda version: version[0].start())
        # Against the version reaching furthest so far: a long window overlaps every later one it covers.
        reach, reach_where = dated[0]
        for later, later_where in dated[1:]:
            if later.start() < reach.end():
                first = _validity_where(reach_where, reach_where["entry"])
                at = _validity_where(later_where, later_where["entry"])
                problems.add(
                    at.line,
                    at.field,
                    f"{_describe_key(key)} valid {later} overlaps its version valid {reach} "
                    f"(line {first.line}): windows of one rule may not overlap",
                )
            if later.end() > reach.end():
                reach, reach_where = later, later_where


def _describe_key(key: object) -> str:
    if isinstance(key, str):
        return f"calendar {key!r}"
    assert isinstance(key, tuple), key
    if len(key) == 4:
        origin, kind, destination, service = key
        return f"lane {origin} -> {kind} {destination} by {service}"
    if len(key) == 2:
        return f"cut-off of {key[1]} at node {key[0]}"
    return f"daily capacity of node {key[0]}"


# --------------------------------------------------------------------------
# Calendars


def _read_calendar(item: Value, problems: Problems) -> _Read[Calendar] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _CALENDAR_KEYS, ("id",), problems)
    id_item = member(entry, "id", item.field)
    calendar_id = as_id(id_item, problems) if id_item else None
    name = optional(entry, "name", item.field, "", lambda v: as_str(v, problems))
    window = _read_validity(entry, item.field, problems)
    closure = window is not None and window[0].dated and entry.get("weekdays") == []
    # A dated version with no weekdays is a closure: nothing works in its window.
    weekdays = () if closure else optional(entry, "weekdays", item.field, WORKWEEK, lambda v: as_weekdays(v, problems))
    hours = optional(entry, "hours", item.field, (None, None), lambda v: _read_hours(v, problems))
    holidays = optional(entry, "holidays", item.field, (), lambda v: _read_holidays(v, problems))
    if problems.count() > before:
        return None
    opens, closes = checked(hours)
    validity, where = checked(window)
    calendar = Calendar(
        checked(calendar_id), checked(weekdays), checked(holidays), opens, closes, checked(name), validity
    )
    return _Read(calendar, {"id": checked(id_item), "entry": item, **where})


def _read_hours(item: Value, problems: Problems) -> tuple[LocalTime, LocalTime] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _HOURS_KEYS, _HOURS_KEYS, problems)
    opens = required(entry, "opens", item.field, lambda v: as_time(v, problems))
    closes_item = member(entry, "closes", item.field)
    closes = as_time(closes_item, problems, end_of_day=True) if closes_item else None
    if problems.count() > before:
        return None
    opens, closes, closes_item = checked(opens), checked(closes), checked(closes_item)
    if closes <= opens:
        problems.add(
            closes_item.line,
            closes_item.field,
            f"closes at {closes}, not after it opens at {opens} (a day cannot run past midnight)",
        )
        return None
    return opens, closes


def _read_holidays(item: Value, problems: Problems) -> tuple[dt.date, ...] | None:
    entries = as_list(item, problems)
    if entries is None:
        return None
    if len(entries) > HOLIDAYS_PER_CALENDAR_MAX:
        problems.add(
            item.line, item.field, f"{len(entries)} holidays, more than the limit of {HOLIDAYS_PER_CALENDAR_MAX}"
        )
        return None
    before = problems.count()
    first_lines: dict[dt.date, int] = {}
    for day_item in items(entries, item.field):
        day = as_date(day_item, problems)
        if day is None:
            continue
        if day in first_lines:
            problems.add(day_item.line, day_item.field, f"duplicate holiday {day} (first on line {first_lines[day]})")
            continue
        first_lines[day] = day_item.line
    if problems.count() > before:
        return None
    # Sorted, so the same set of dates always makes an equal Calendar.
    return tuple(sorted(first_lines))


# --------------------------------------------------------------------------
# Zones


def _read_zone(item: Value, problems: Problems) -> _Read[Zone] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _ZONE_KEYS, ("id", "timezone", "calendar"), problems)
    id_item = member(entry, "id", item.field)
    zone_id = as_id(id_item, problems) if id_item else None
    name = optional(entry, "name", item.field, "", lambda v: as_str(v, problems))
    country = optional(entry, "country", item.field, "", lambda v: as_country(v, problems))
    timezone = required(entry, "timezone", item.field, lambda v: as_timezone(v, problems))
    calendar_item = member(entry, "calendar", item.field)
    calendar_id = as_id(calendar_item, problems) if calendar_item else None
    prefixes_item = member(entry, "postal_prefixes", item.field)
    prefixes = read_strings(prefixes_item, "postal prefix", _as_postal, problems) if prefixes_item else ()
    ranges = optional(entry, "postal_ranges", item.field, (), lambda v: _read_ranges(v, problems))
    regions = optional(entry, "regions", item.field, (), lambda v: read_strings(v, "region", _as_region, problems))
    location = optional(entry, "location", item.field, None, lambda v: _read_centroid(v, problems))
    if problems.count() > before:
        return None
    prefixes, ranges, regions = checked(prefixes), checked(ranges), checked(regions)
    matcher_count = len(prefixes) + len(ranges) + len(regions)
    if matcher_count > ZONE_MATCHERS_MAX:
        problems.add(
            item.line,
            item.field,
            f"{matcher_count} postal prefixes, ranges and regions, more than the limit of {ZONE_MATCHERS_MAX}",
        )
        return None
    zone = Zone(
        checked(zone_id),
        checked(timezone),
        checked(calendar_id),
        checked(name),
        checked(country),
        prefixes,
        ranges,
        regions,
        location,
    )
    where = {"id": checked(id_item), "calendar": checked(calendar_item)}
    if prefixes_item is not None:
        assert isinstance(prefixes_item.value, MarkedList), "read as a list above"
        for prefix, prefix_item in zip(prefixes, items(prefixes_item.value, prefixes_item.field)):
            where[f"prefix:{prefix}"] = prefix_item
    return _Read(zone, where)


def _read_centroid(item: Value, problems: Problems) -> Centroid | None:
    """A zone's `location`: {latitude, longitude} in degrees, both required."""
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _CENTROID_KEYS, _CENTROID_KEYS, problems)
    latitude_item = member(entry, "latitude", item.field)
    latitude = as_degrees(latitude_item, 90.0, problems) if latitude_item else None
    longitude_item = member(entry, "longitude", item.field)
    longitude = as_degrees(longitude_item, 180.0, problems) if longitude_item else None
    if problems.count() > before:
        return None
    return Centroid(checked(latitude), checked(longitude))


def _as_region(item: Value, problems: Problems) -> str | None:
    text = as_str(item, problems)
    if text is not None and not text.strip():
        problems.add(item.line, item.field, "a region name cannot be empty")
        return None
    return text


def _read_ranges(item: Value, problems: Problems) -> tuple[PostalRange, ...] | None:
    entries = as_list(item, problems)
    if entries is None:
        return None
    before = problems.count()
    ranges = []
    for range_item in items(entries, item.field):
        entry = as_mapping(range_item, problems)
        if entry is None:
            continue
        check_keys(entry, range_item.field, _RANGE_KEYS, _RANGE_KEYS, problems)
        low = required(entry, "from", range_item.field, lambda v: _as_postal(v, problems))
        high_item = member(entry, "to", range_item.field)
        high = _as_postal(high_item, problems) if high_item else None
        if low is None or high is None or high_item is None:
            continue
        if len(low) != len(high) or low > high:
            problems.add(
                high_item.line,
                high_item.field,
                f"{high!r} must have as many characters as {low!r} and not sort before it",
            )
            continue
        ranges.append(PostalRange(low, high))
    if problems.count() > before:
        return None
    return tuple(ranges)


# --------------------------------------------------------------------------
# Node shipping settings


def _read_shipping(item: Value, problems: Problems) -> _Read[NodeShipping] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _SHIPPING_KEYS, ("node", "calendar"), problems)
    node_item = member(entry, "node", item.field)
    node_id = as_id(node_item, problems) if node_item else None
    calendar_item = member(entry, "calendar", item.field)
    calendar_id = as_id(calendar_item, problems) if calendar_item else None
    processing = optional(
        entry, "processing_minutes", item.field, 0, lambda v: as_int(v, 0, PROCESSING_MINUTES_MAX, problems)
    )
    cutoffs_item = member(entry, "cutoffs", item.field)
    cutoffs = _read_cutoffs(cutoffs_item, problems) if cutoffs_item else {}
    capacity = optional(
        entry, "daily_capacity_orders", item.field, None, lambda v: as_int(v, 1, DAILY_CAPACITY_ORDERS_MAX, problems)
    )
    click_and_collect = optional(entry, "click_and_collect", item.field, False, lambda v: as_bool(v, problems))
    dated_cutoffs = _read_dated_list(entry, "dated_cutoffs", item.field, _read_dated_cutoff, problems)
    dated_capacities = _read_dated_list(entry, "dated_capacities", item.field, _read_dated_capacity, problems)
    if problems.count() > before:
        return None
    cutoffs = checked(cutoffs)
    shipping = NodeShipping(
        checked(node_id),
        checked(calendar_id),
        checked(processing),
        cutoffs,
        capacity,
        checked(click_and_collect),
        tuple(read.value for read in dated_cutoffs),
        tuple(read.value for read in dated_capacities),
    )
    where = {"node": checked(node_item), "calendar": checked(calendar_item)}
    if cutoffs_item is not None:
        assert isinstance(cutoffs_item.value, MarkedMapping), "read as a mapping above"
        for service in cutoffs:
            where[f"cutoff:{service}"] = checked(member(cutoffs_item.value, service, cutoffs_item.field))
    for index, read in enumerate(dated_cutoffs):
        where[f"dated_cutoff:{index}"] = read.where["time"]
    node = shipping.node_id
    _check_overlaps([((node, read.value.service), read.value.validity, read.where) for read in dated_cutoffs], problems)
    _check_overlaps([((node,), read.value.validity, read.where) for read in dated_capacities], problems)
    return _Read(shipping, where)


def _read_dated_list(
    entry: MarkedMapping,
    key: str,
    field: str,
    read_entry: Callable[[Value, Problems], _Read[_Entry] | None],
    problems: Problems,
) -> list[_Read[_Entry]]:
    """`dated_cutoffs` or `dated_capacities` of a node: the valid entries, each with where it was."""
    list_item = member(entry, key, field)
    if list_item is None:
        return []
    entries = as_list(list_item, problems)
    if entries is None:
        return []
    if len(entries) > DATED_RULES_PER_NODE_MAX:
        problems.add(
            list_item.line,
            list_item.field,
            f"{len(entries)} entries, more than the limit of {DATED_RULES_PER_NODE_MAX}",
        )
        return []
    results = [read_entry(dated_item, problems) for dated_item in items(entries, list_item.field)]
    return [result for result in results if result is not None]


def _read_dated_window(
    entry: MarkedMapping, item: Value, problems: Problems
) -> tuple[Validity, dict[str, Value]] | None:
    """The window of a dated cut-off or capacity: at least one end (undated ones are written without `dated_`)."""
    window = _read_validity(entry, item.field, problems)
    if window is not None and not window[0].dated:
        problems.add(item.line, item.field, "needs valid_from or valid_to (or both): this is a dated rule")
        return None
    return window


def _read_dated_cutoff(item: Value, problems: Problems) -> _Read[DatedCutoff] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _DATED_CUTOFF_KEYS, ("service", "time"), problems)
    service = required(entry, "service", item.field, lambda v: as_id(v, problems))
    time_item = member(entry, "time", item.field)
    time = as_time(time_item, problems) if time_item else None
    window = _read_dated_window(entry, item, problems)
    if problems.count() > before:
        return None
    validity, where = checked(window)
    return _Read(
        DatedCutoff(checked(service), checked(time), validity), {"time": checked(time_item), "entry": item, **where}
    )


def _read_dated_capacity(item: Value, problems: Problems) -> _Read[DatedCapacity] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _DATED_CAPACITY_KEYS, ("orders",), problems)
    orders = required(entry, "orders", item.field, lambda v: as_int(v, 1, DAILY_CAPACITY_ORDERS_MAX, problems))
    window = _read_dated_window(entry, item, problems)
    if problems.count() > before:
        return None
    validity, where = checked(window)
    return _Read(DatedCapacity(checked(orders), validity), {"entry": item, **where})


def _read_cutoffs(item: Value, problems: Problems) -> dict[str, LocalTime] | None:
    """Carrier service -> local order cut-off time."""
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    for key, line, first_line in entry.duplicate_keys:
        problems.add(line, join(item.field, key), f"duplicate key (first on line {first_line})")
    if len(entry) > CUTOFFS_PER_NODE_MAX:
        problems.add(item.line, item.field, f"{len(entry)} cut-offs, more than the limit of {CUTOFFS_PER_NODE_MAX}")
    cutoffs: dict[str, LocalTime] = {}
    for key in entry:
        service = as_id(Value(key, entry.key_lines[key], join(item.field, key)), problems)
        time = as_time(checked(member(entry, key, item.field)), problems)
        if service is not None and time is not None:
            cutoffs[service] = time
    if problems.count() > before:
        return None
    return cutoffs


# --------------------------------------------------------------------------
# Lanes


def _read_lane(item: Value, problems: Problems) -> _Read[Lane] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _LANE_KEYS, ("from", "service"), problems)
    found = {key: member(entry, key, item.field) for key in ("from", "to_zone", "to_node", "service")}
    from_node = as_id(found["from"], problems) if found["from"] else None
    service = as_id(found["service"], problems) if found["service"] else None
    to_zone = as_id(found["to_zone"], problems) if found["to_zone"] else None
    to_node = as_id(found["to_node"], problems) if found["to_node"] else None
    if (found["to_zone"] is None) == (found["to_node"] is None):
        problems.add(item.line, item.field, "needs exactly one of to_zone and to_node")
    name = optional(entry, "name", item.field, "", lambda v: as_str(v, problems))
    cost = optional(entry, "cost_minor", item.field, 0, lambda v: as_int(v, 0, COST_MINOR_MAX, problems))
    spread = optional(
        entry, "transit_spread_hours", item.field, 0, lambda v: as_int(v, 0, TRANSIT_SPREAD_HOURS_MAX, problems)
    )
    tiers = optional(entry, "tiers", item.field, (), lambda v: _read_tiers(v, problems))
    timing = _read_lane_timing(entry, item, problems)
    window = _read_validity(entry, item.field, problems)
    if problems.count() > before:
        return None
    departures, pickup, transit_hours, transit_days, arrives = timing
    validity, window_where = checked(window)
    lane = Lane(
        checked(from_node),
        checked(service),
        to_zone,
        to_node,
        checked(name),
        checked(cost),
        checked(departures),
        pickup,
        transit_hours,
        transit_days,
        arrives,
        checked(spread),
        tiers or (),
        validity,
    )
    where = {key: value for key, value in found.items() if value is not None}
    where["entry"] = item
    where.update(window_where)
    return _Read(lane, where)


def _read_tiers(item: Value, problems: Problems) -> tuple[str, ...] | None:
    """A list of customer tier ids: the lane is offered to these tiers only."""
    values = as_list(item, problems)
    if values is None:
        return None
    tiers = [as_id(value, problems) for value in items(values, item.field)]
    if not tiers:
        problems.add(item.line, item.field, "an empty list: leave tiers out to offer the lane to everyone")
        return None
    valid_tiers = tuple(tier for tier in tiers if tier is not None)
    return valid_tiers if len(valid_tiers) == len(tiers) else None


def _read_lane_timing(entry: MarkedMapping, item: Value, problems: Problems) -> _LaneTiming:
    """(departures, pickup, transit_hours, transit_working_days, arrives): one way to leave and arrive."""
    field = item.field
    departures_item = member(entry, "departures", field)
    departures = _read_departures(departures_item, entry.key_lines["departures"], problems) if departures_item else ()
    pickup = optional(entry, "pickup", field, None, lambda v: as_time(v, problems))
    hours = optional(entry, "transit_hours", field, None, lambda v: as_int(v, 0, TRANSIT_HOURS_MAX, problems))
    days_item = member(entry, "transit_working_days", field)
    days = as_int(days_item, 0, TRANSIT_WORKING_DAYS_MAX, problems) if days_item else None
    arrives_item = member(entry, "arrives", field)
    arrives = as_time(arrives_item, problems) if arrives_item else None
    if departures_item is not None:
        for key in _TIMETABLE_EXCLUDES:
            if key in entry:
                problems.add(
                    entry.key_lines[key],
                    join(field, key),
                    "not allowed with departures (each departure gives its own arrival)",
                )
        return departures, None, None, None, None
    if ("transit_hours" in entry) == (days_item is not None):
        problems.add(item.line, field, "needs departures, or exactly one of transit_hours and transit_working_days")
    if days_item is not None and pickup is None and "pickup" not in entry:
        problems.add(
            days_item.line, days_item.field, 'working days need a daily pickup time to count from (add pickup: "HH:MM")'
        )
    if arrives_item is not None and days_item is None:
        problems.add(arrives_item.line, arrives_item.field, "only used with transit_working_days")
    return (), pickup, hours, days, arrives


def _read_departures(item: Value, key_line: int, problems: Problems) -> tuple[Departure, ...] | None:
    entries = as_list(item, problems)
    if entries is None:
        return None
    if not entries:
        problems.add(item.line, item.field, "must list at least one departure")
        return None
    before = problems.count()
    departures: list[_Read[Departure]] = []
    seen: dict[tuple[int, int], Value] = {}
    for departure_item in items(entries, item.field):
        read = _read_departure(departure_item, problems)
        if read is None:
            continue
        departures.append(read)
        for weekday in read.value.weekdays:
            key = (weekday, read.value.leaves.minute_of_day)
            if key in seen:
                problems.add(
                    read.where["leaves"].line,
                    read.where["leaves"].field,
                    f"a departure on {WEEKDAY_SPELLINGS[weekday]} at {read.value.leaves} is already listed "
                    f"(line {seen[key].line})",
                )
            seen[key] = read.where["leaves"]
    weekly_count = sum(len(read.value.weekdays) for read in departures)
    if weekly_count > DEPARTURES_PER_WEEK_MAX:
        problems.add(
            key_line, item.field, f"{weekly_count} departures a week, more than the limit of {DEPARTURES_PER_WEEK_MAX}"
        )
    _check_cutoff_order(departures, problems)
    if problems.count() > before:
        return None
    return tuple(read.value for read in departures)


def _read_departure(item: Value, problems: Problems) -> _Read[Departure] | None:
    entry = as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    check_keys(entry, item.field, _DEPARTURE_KEYS, ("days", "leaves", "arrives"), problems)
    days = required(entry, "days", item.field, lambda v: as_weekdays(v, problems))
    leaves_item = member(entry, "leaves", item.field)
    leaves = as_time(leaves_item, problems) if leaves_item else None
    cutoff_item = member(entry, "cutoff", item.field)
    cutoff = as_time(cutoff_item, problems) if cutoff_item else None
    arrives_item = member(entry, "arrives", item.field)
    arrives = as_time(arrives_item, problems) if arrives_item else None
    offset = optional(
        entry, "arrival_day_offset", item.field, 0, lambda v: as_int(v, 0, ARRIVAL_DAY_OFFSET_MAX, problems)
    )
    if problems.count() > before:
        return None
    leaves_item, arrives_item = checked(leaves_item), checked(arrives_item)
    leaves, arrives = checked(leaves), checked(arrives)
    if cutoff is not None and cutoff > leaves:
        cutoff_item = checked(cutoff_item)
        problems.add(cutoff_item.line, cutoff_item.field, f"cut-off {cutoff} is after the departure at {leaves}")
        return None
    if offset == 0 and arrives < leaves:
        problems.add(
            arrives_item.line,
            arrives_item.field,
            f"arrives at {arrives}, before it leaves at {leaves} the same day (set arrival_day_offset)",
        )
        return None
    where = {"leaves": leaves_item}
    if cutoff_item is not None:
        where["cutoff"] = cutoff_item
    return _Read(Departure(checked(days), leaves, arrives, checked(offset), cutoff), where)


def _check_cutoff_order(departures: list[_Read[Departure]], problems: Problems) -> None:
    """On each weekday, a later departure may not close to orders before an earlier one.

    The core finds a departure by binary search over both departure and
    cut-off times, which needs them in the same order.
    """
    for weekday in range(7):
        day = sorted(
            (read for read in departures if weekday in read.value.weekdays), key=lambda read: read.value.leaves
        )
        for earlier, later in zip(day, day[1:]):
            earlier_cutoff = earlier.value.cutoff or earlier.value.leaves
            later_cutoff = later.value.cutoff or later.value.leaves
            if later_cutoff < earlier_cutoff:
                where = later.where.get("cutoff") or later.where["leaves"]
                problems.add(
                    where.line,
                    where.field,
                    f"cut-off {later_cutoff} of the {later.value.leaves} departure is before the "
                    f"{earlier_cutoff} cut-off of the {earlier.value.leaves} one on "
                    f"{WEEKDAY_SPELLINGS[weekday]}: cut-offs must follow departure order",
                )


# --------------------------------------------------------------------------
# Checks across entries


def _check_references(
    calendars: list[_Read[Calendar]],
    zones: list[_Read[Zone]],
    shipping: list[_Read[NodeShipping]],
    lanes: list[_Read[Lane]],
    declared: dict[str, set[str]],
    problems: Problems,
) -> None:
    """Every calendar, zone and node an entry names exists (and ships, for lane ends)."""
    calendars_by_id: dict[str, list[Calendar]] = {}
    for read in calendars:
        calendars_by_id.setdefault(read.value.calendar_id, []).append(read.value)
    for zone in zones:
        _check_known(zone.where["calendar"], declared["calendar"], "calendar", problems)
    for node_shipping in shipping:
        _check_known(node_shipping.where["node"], declared["node"], "node", problems)
        _check_known(node_shipping.where["calendar"], declared["calendar"], "calendar", problems)
        _check_cutoffs_open(node_shipping, calendars_by_id.get(node_shipping.value.calendar_id, []), problems)
    for lane in lanes:
        if _check_known(lane.where["from"], declared["node"], "node", problems):
            _check_ships(lane.where["from"], declared["shipping"], problems)
        if lane.value.to_zone_id is not None:
            _check_known(lane.where["to_zone"], declared["zone"], "zone", problems)
        elif _check_known(lane.where["to_node"], declared["node"], "node", problems):
            _check_ships(lane.where["to_node"], declared["shipping"], problems)


def _check_known(item: Value, known: set[str], kind: str, problems: Problems) -> bool:
    if item.value not in known:
        problems.add(item.line, item.field, f"unknown {kind} {item.value!r}")
        return False
    return True


def _check_ships(item: Value, shipping_nodes: set[str], problems: Problems) -> None:
    if item.value not in shipping_nodes:
        problems.add(item.line, item.field, f"node {item.value!r} has no node_shipping entry (calendar, lead time)")


def _check_cutoffs_open(read: _Read[NodeShipping], calendars: list[Calendar], problems: Problems) -> None:
    """A cut-off at or before opening time would never accept an order (checked against
    each version of the calendar whose window meets the cut-off's; reported once per cut-off)."""
    cutoffs = [(read.where[f"cutoff:{service}"], cutoff, ALWAYS) for service, cutoff in read.value.cutoffs.items()]
    cutoffs += [
        (read.where[f"dated_cutoff:{index}"], dated.time, dated.validity)
        for index, dated in enumerate(read.value.dated_cutoffs)
    ]
    for where, cutoff, validity in cutoffs:
        for calendar in calendars:
            opens_minute, _ = calendar.opening_minutes()
            if cutoff.minute_of_day <= opens_minute and validity.overlaps(calendar.validity):
                problems.add(
                    where.line,
                    where.field,
                    f"cut-off {cutoff} is not after calendar {calendar.calendar_id!r} opens at "
                    f"{calendar.opens}: no order would ever be accepted",
                )
                break


def _check_postal_prefixes(zones: list[_Read[Zone]], problems: Problems) -> None:
    """A (country, prefix) pair belongs to one zone, or lookups would be ambiguous."""
    first: dict[tuple[str, str], Value] = {}
    for read in zones:
        zone = read.value
        for prefix in zone.postal_prefixes:
            key = (zone.country_code, prefix)
            where = read.where[f"prefix:{prefix}"]
            if key in first:
                problems.add(
                    where.line,
                    where.field,
                    f"postal prefix {prefix!r} already belongs to another zone (line {first[key].line})",
                )
            else:
                first[key] = where


def _check_lane_keys(lanes: list[_Read[Lane]], problems: Problems) -> None:
    """One undated lane per key; dated versions beside it do not overlap and differ in timing only."""
    first_lines: dict[tuple[str, str, str, str], int] = {}
    _check_overlaps([(read.value.key, read.value.validity, read.where) for read in lanes], problems)
    _check_lane_versions(lanes, problems)
    for read in lanes:
        lane, entry = read.value, read.where["entry"]
        if lane.validity.dated:
            continue
        if lane.key in first_lines:
            origin, kind, destination, service = lane.key
            problems.add(
                entry.line,
                entry.field,
                f"duplicate lane {origin} -> {kind} {destination} by {service} (first on line {first_lines[lane.key]})",
            )
        else:
            first_lines[lane.key] = entry.line


def _check_lane_versions(lanes: list[_Read[Lane]], problems: Problems) -> None:
    """What the core keeps once per lane is the same in all its versions; on-demand lanes have no dates.

    The core tables hold one cost, spread and on-demand transit per lane: the
    versions of a lane are timetables (departures, pickup, transit days).
    """
    first: dict[tuple[str, str, str, str], _Read[Lane]] = {}
    for read in lanes:
        lane, entry = read.value, read.where["entry"]
        on_demand = not lane.departures and lane.pickup is None
        if on_demand and lane.validity.dated:
            where = _validity_where(read.where, entry)
            problems.add(
                where.line,
                where.field,
                "an on-demand lane (no departures, no pickup) cannot be dated: give it a pickup time or a timetable",
            )
            continue
        earlier = first.setdefault(lane.key, read)
        if earlier is read:
            continue
        other = earlier.value
        if not (lane.validity.dated or other.validity.dated):
            continue  # two undated versions: a duplicate lane, reported as one
        if on_demand or (not other.departures and other.pickup is None):
            problems.add(entry.line, entry.field, "an on-demand lane has one version: it cannot be dated")
        for name in ("cost_minor", "tiers", "transit_spread_hours"):
            if getattr(lane, name) != getattr(other, name):
                problems.add(
                    entry.line,
                    join(entry.field, name),
                    f"{getattr(lane, name)!r} differs from {getattr(other, name)!r} in the lane's version on line "
                    f"{earlier.where['entry'].line}: versions of a lane differ in their timing only",
                )


def _check_departures_total(lanes: list[_Read[Lane]], section: MarkedMapping, problems: Problems) -> None:
    weekly_count = sum(read.value.departures_per_week() for read in lanes)
    if weekly_count > DEPARTURES_PER_WEEK_TOTAL_MAX:
        problems.add(
            section.key_lines["lanes"],
            join(_SECTION, "lanes"),
            f"{weekly_count} departures a week over all lanes, more than the limit of {DEPARTURES_PER_WEEK_TOTAL_MAX}",
        )
