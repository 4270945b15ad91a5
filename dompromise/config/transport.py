"""The `transport:` section of the network config: calendars, zones, lanes.

Read by `config.parse_network` (one call from `_read_network`) with the same
rules and messages as the rest of the file: every problem is reported as
``path:line: field: message`` with the real line, all at once. Written back
by `dump_transport` so `dump_network` round-trips. `docs/config.md`
("Transport") documents the section with a full example.

    transport:
      currency: EUR                      # optional, ISO 4217, default EUR
      calendars:
        - id: fr-warehouse               # unique among calendars
          weekdays: [mon, tue, wed, thu, fri]      # optional, default mon-fri
          hours: {opens: "07:00", closes: "19:00"} # optional, default whole days
          holidays: [2026-01-01, 2026-04-06]        # optional dates
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
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from dompromise.config.network import (
    _as_choice,
    _as_country,
    _as_degrees,
    _as_id,
    _as_int,
    _as_list,
    _as_mapping,
    _as_str,
    _as_timezone,
    _check_keys,
    _check_unique_ids,
    _describe_type,
    _FlowList,
    _FlowMapping,
    _items,
    _join,
    _MarkedMapping,
    _member,
    _optional,
    _Problems,
    _Value,
)
from dompromise.limits import (
    ARRIVAL_DAY_OFFSET_MAX,
    CALENDARS_MAX,
    COST_MINOR_MAX,
    CUTOFFS_PER_NODE_MAX,
    DAILY_CAPACITY_ORDERS_MAX,
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
    MINUTES_PER_DAY,
    WEEKDAY_NAMES,
    WEEKDAY_SPELLINGS,
    WORKWEEK,
    Calendar,
    Centroid,
    Departure,
    Lane,
    LocalTime,
    NodeShipping,
    PostalRange,
    TransportNetwork,
    Zone,
)

_SECTION = "transport"
_SECTION_KEYS = ("currency", "calendars", "zones", "node_shipping", "lanes")
_CALENDAR_KEYS = ("id", "name", "weekdays", "hours", "holidays")
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
_SHIPPING_KEYS = ("node", "calendar", "processing_minutes", "cutoffs", "daily_capacity_orders", "click_and_collect")
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
)
_TIMETABLE_EXCLUDES = ("pickup", "transit_hours", "transit_working_days", "arrives")
_DEPARTURE_KEYS = ("days", "leaves", "cutoff", "arrives", "arrival_day_offset")

_CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")
_POSTAL_PATTERN = re.compile(rf"[A-Z0-9]{{1,{POSTAL_CODE_LENGTH_MAX}}}")
_DEFAULT_CURRENCY = "EUR"


@dataclass(frozen=True)
class _Read:
    """A value read from the file and where its references were written."""

    value: object
    where: dict[str, _Value]


# --------------------------------------------------------------------------
# Entry point


def read_transport(top: _MarkedMapping, nodes: list[Node], problems: _Problems) -> TransportNetwork | None:
    """The `transport:` section of a network file, or None when absent or wrong.

    `nodes` are the file's valid nodes: lanes and shipping settings must
    name one of them.
    """
    member = _member(top, _SECTION, "")
    if member is None:
        return None
    section = _as_mapping(member, problems)
    if section is None:
        return None
    before = problems.count()
    _check_keys(section, _SECTION, _SECTION_KEYS, (), problems)
    currency = _optional(section, "currency", _SECTION, _DEFAULT_CURRENCY, lambda v: _as_currency(v, problems))
    calendars = _read_list(section, "calendars", CALENDARS_MAX, _read_calendar, problems)
    zones = _read_list(section, "zones", ZONES_MAX, _read_zone, problems)
    shipping = _read_list(section, "node_shipping", NODES_MAX, _read_shipping, problems)
    lanes = _read_list(section, "lanes", LANES_MAX, _read_lane, problems)
    _check_unique_ids([(read.value.calendar_id, read.where["id"]) for read in calendars], "calendar", problems)
    _check_unique_ids([(read.value.zone_id, read.where["id"]) for read in zones], "zone", problems)
    _check_unique_ids([(read.value.node_id, read.where["node"]) for read in shipping], "node_shipping node", problems)
    # References are checked against every id written, valid entry or not:
    # one bad zone should be one problem, not one more per lane that names it.
    declared = {
        "calendar": _declared_ids(section, "calendars", "id"),
        "zone": _declared_ids(section, "zones", "id"),
        "node": {node.node_id for node in nodes} | _declared_ids(top, "nodes", "id"),
        "shipping": _declared_ids(section, "node_shipping", "node"),
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
        currency=currency,
    )


def _declared_ids(mapping: _MarkedMapping, key: str, id_key: str) -> set[str]:
    """Every string written as `id_key` in the entries of the list under `key`."""
    entries = mapping.get(key)
    if not isinstance(entries, list):
        return set()
    return {entry[id_key] for entry in entries if isinstance(entry, dict) and isinstance(entry.get(id_key), str)}


def _read_list(section: _MarkedMapping, key: str, count_max: int, read_entry, problems: _Problems) -> list[_Read]:
    """One optional list of the section: the valid entries, each with where it was."""
    member = _member(section, key, _SECTION)
    if member is None:
        return []
    entries = _as_list(member, problems)
    if entries is None:
        return []
    if len(entries) > count_max:
        problems.add(member.line, member.field, f"{len(entries)} entries, more than the limit of {count_max}")
        return []
    results = [read_entry(item, problems) for item in _items(entries, member.field)]
    return [result for result in results if result is not None]


# --------------------------------------------------------------------------
# Scalars


def _as_currency(item: _Value, problems: _Problems) -> str | None:
    text = _as_str(item, problems)
    if text is None:
        return None
    if not _CURRENCY_PATTERN.fullmatch(text):
        problems.add(item.line, item.field, f"{text!r} is not an ISO 4217 currency code like EUR")
        return None
    return text


def _as_time(item: _Value, problems: _Problems, end_of_day: bool = False) -> LocalTime | None:
    """A local time of day "HH:MM"; 24:00 only where `end_of_day` (a closing time)."""
    text = _as_str(item, problems)
    if text is None:
        return None
    try:
        time = LocalTime.parse(text)
    except ValueError:
        time = None
    if time is None or (time.minute_of_day == MINUTES_PER_DAY and not end_of_day):
        allowed = "00:00 to 24:00" if end_of_day else "00:00 to 23:59"
        problems.add(item.line, item.field, f"{text!r} is not a time of day HH:MM ({allowed})")
        return None
    return time


def _as_bool(item: _Value, problems: _Problems) -> bool | None:
    if isinstance(item.value, bool):
        return item.value
    problems.add(item.line, item.field, f"expected true or false, got {_describe_type(item.value)}")
    return None


def _as_date(item: _Value, problems: _Problems) -> dt.date | None:
    """A date: unquoted YAML 2026-05-01, or the string "2026-05-01" (JSON)."""
    value = item.value
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:  # fromisoformat would also take 20260501
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
        problems.add(item.line, item.field, f"{value!r} is not a date YYYY-MM-DD")
        return None
    problems.add(item.line, item.field, f"expected a date YYYY-MM-DD, got {_describe_type(value)}")
    return None


def _as_weekdays(item: _Value, problems: _Problems) -> tuple[int, ...] | None:
    """A non-empty list of mon..sun, no repeats, returned in week order."""
    entries = _as_list(item, problems)
    if entries is None:
        return None
    if not entries:
        problems.add(item.line, item.field, "must list at least one weekday")
        return None
    before = problems.count()
    days: dict[int, int] = {}
    for day_item in _items(entries, item.field):
        day = _as_choice(day_item, WEEKDAY_NAMES, problems)
        if day is None:
            continue
        if day in days:
            problems.add(
                day_item.line,
                day_item.field,
                f"duplicate weekday {WEEKDAY_SPELLINGS[day]!r} (first on line {days[day]})",
            )
            continue
        days[day] = day_item.line
    if problems.count() > before:
        return None
    return tuple(sorted(days))


def _as_postal(item: _Value, problems: _Problems) -> str | None:
    text = _as_str(item, problems)
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


def _required(entry: _MarkedMapping, key: str, field: str, read):
    """`read` the value under a required key (its absence is reported by _check_keys)."""
    item = _member(entry, key, field)
    return None if item is None else read(item)


# --------------------------------------------------------------------------
# Calendars


def _read_calendar(item: _Value, problems: _Problems) -> _Read | None:
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _CALENDAR_KEYS, ("id",), problems)
    id_item = _member(entry, "id", item.field)
    calendar_id = _as_id(id_item, problems) if id_item else None
    name = _optional(entry, "name", item.field, "", lambda v: _as_str(v, problems))
    weekdays = _optional(entry, "weekdays", item.field, WORKWEEK, lambda v: _as_weekdays(v, problems))
    hours = _optional(entry, "hours", item.field, (None, None), lambda v: _read_hours(v, problems))
    holidays = _optional(entry, "holidays", item.field, (), lambda v: _read_holidays(v, problems))
    if problems.count() > before:
        return None
    opens, closes = hours
    calendar = Calendar(calendar_id, weekdays, holidays, opens, closes, name)
    return _Read(calendar, {"id": id_item})


def _read_hours(item: _Value, problems: _Problems):
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _HOURS_KEYS, _HOURS_KEYS, problems)
    opens = _required(entry, "opens", item.field, lambda v: _as_time(v, problems))
    closes_item = _member(entry, "closes", item.field)
    closes = _as_time(closes_item, problems, end_of_day=True) if closes_item else None
    if problems.count() > before:
        return None
    if closes <= opens:
        problems.add(
            closes_item.line,
            closes_item.field,
            f"closes at {closes}, not after it opens at {opens} (a day cannot run past midnight)",
        )
        return None
    return opens, closes


def _read_holidays(item: _Value, problems: _Problems) -> tuple[dt.date, ...] | None:
    entries = _as_list(item, problems)
    if entries is None:
        return None
    if len(entries) > HOLIDAYS_PER_CALENDAR_MAX:
        problems.add(
            item.line, item.field, f"{len(entries)} holidays, more than the limit of {HOLIDAYS_PER_CALENDAR_MAX}"
        )
        return None
    before = problems.count()
    first_lines: dict[dt.date, int] = {}
    for day_item in _items(entries, item.field):
        day = _as_date(day_item, problems)
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


def _read_zone(item: _Value, problems: _Problems) -> _Read | None:
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _ZONE_KEYS, ("id", "timezone", "calendar"), problems)
    id_item = _member(entry, "id", item.field)
    zone_id = _as_id(id_item, problems) if id_item else None
    name = _optional(entry, "name", item.field, "", lambda v: _as_str(v, problems))
    country = _optional(entry, "country", item.field, "", lambda v: _as_country(v, problems))
    timezone = _required(entry, "timezone", item.field, lambda v: _as_timezone(v, problems))
    calendar_item = _member(entry, "calendar", item.field)
    calendar_id = _as_id(calendar_item, problems) if calendar_item else None
    prefixes_item = _member(entry, "postal_prefixes", item.field)
    prefixes = _read_strings(prefixes_item, "postal prefix", _as_postal, problems) if prefixes_item else ()
    ranges = _optional(entry, "postal_ranges", item.field, (), lambda v: _read_ranges(v, problems))
    regions = _optional(entry, "regions", item.field, (), lambda v: _read_strings(v, "region", _as_region, problems))
    location = _optional(entry, "location", item.field, None, lambda v: _read_centroid(v, problems))
    if problems.count() > before:
        return None
    matcher_count = len(prefixes) + len(ranges) + len(regions)
    if matcher_count > ZONE_MATCHERS_MAX:
        problems.add(
            item.line,
            item.field,
            f"{matcher_count} postal prefixes, ranges and regions, more than the limit of {ZONE_MATCHERS_MAX}",
        )
        return None
    zone = Zone(zone_id, timezone, calendar_id, name, country, prefixes, ranges, regions, location)
    where = {"id": id_item, "calendar": calendar_item}
    for index, prefix in enumerate(prefixes):
        where[f"prefix:{prefix}"] = _items(prefixes_item.value, prefixes_item.field)[index]
    return _Read(zone, where)


def _read_centroid(item: _Value, problems: _Problems) -> Centroid | None:
    """A zone's `location`: {latitude, longitude} in degrees, both required."""
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _CENTROID_KEYS, _CENTROID_KEYS, problems)
    latitude_item = _member(entry, "latitude", item.field)
    latitude = _as_degrees(latitude_item, 90.0, problems) if latitude_item else None
    longitude_item = _member(entry, "longitude", item.field)
    longitude = _as_degrees(longitude_item, 180.0, problems) if longitude_item else None
    if problems.count() > before:
        return None
    return Centroid(latitude, longitude)


def _as_region(item: _Value, problems: _Problems) -> str | None:
    text = _as_str(item, problems)
    if text is not None and not text.strip():
        problems.add(item.line, item.field, "a region name cannot be empty")
        return None
    return text


def _read_strings(item: _Value, kind: str, read_one, problems: _Problems) -> tuple[str, ...] | None:
    """A list of strings, each checked by `read_one`, no repeats."""
    entries = _as_list(item, problems)
    if entries is None:
        return None
    before = problems.count()
    first_lines: dict[str, int] = {}
    for text_item in _items(entries, item.field):
        text = read_one(text_item, problems)
        if text is None:
            continue
        if text in first_lines:
            problems.add(
                text_item.line, text_item.field, f"duplicate {kind} {text!r} (first on line {first_lines[text]})"
            )
            continue
        first_lines[text] = text_item.line
    if problems.count() > before:
        return None
    return tuple(first_lines)


def _read_ranges(item: _Value, problems: _Problems) -> tuple[PostalRange, ...] | None:
    entries = _as_list(item, problems)
    if entries is None:
        return None
    before = problems.count()
    ranges = []
    for range_item in _items(entries, item.field):
        entry = _as_mapping(range_item, problems)
        if entry is None:
            continue
        _check_keys(entry, range_item.field, _RANGE_KEYS, _RANGE_KEYS, problems)
        low = _required(entry, "from", range_item.field, lambda v: _as_postal(v, problems))
        high_item = _member(entry, "to", range_item.field)
        high = _as_postal(high_item, problems) if high_item else None
        if low is None or high is None:
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


def _read_shipping(item: _Value, problems: _Problems) -> _Read | None:
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _SHIPPING_KEYS, ("node", "calendar"), problems)
    node_item = _member(entry, "node", item.field)
    node_id = _as_id(node_item, problems) if node_item else None
    calendar_item = _member(entry, "calendar", item.field)
    calendar_id = _as_id(calendar_item, problems) if calendar_item else None
    processing = _optional(
        entry, "processing_minutes", item.field, 0, lambda v: _as_int(v, 0, PROCESSING_MINUTES_MAX, problems)
    )
    cutoffs_item = _member(entry, "cutoffs", item.field)
    cutoffs = _read_cutoffs(cutoffs_item, problems) if cutoffs_item else {}
    capacity = _optional(
        entry, "daily_capacity_orders", item.field, None, lambda v: _as_int(v, 1, DAILY_CAPACITY_ORDERS_MAX, problems)
    )
    click_and_collect = _optional(entry, "click_and_collect", item.field, False, lambda v: _as_bool(v, problems))
    if problems.count() > before:
        return None
    shipping = NodeShipping(node_id, calendar_id, processing, cutoffs, capacity, click_and_collect)
    where = {"node": node_item, "calendar": calendar_item}
    for service in cutoffs:
        where[f"cutoff:{service}"] = _member(cutoffs_item.value, service, cutoffs_item.field)
    return _Read(shipping, where)


def _read_cutoffs(item: _Value, problems: _Problems) -> dict[str, LocalTime] | None:
    """Carrier service -> local order cut-off time."""
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    for key, line, first_line in entry.duplicate_keys:
        problems.add(line, _join(item.field, key), f"duplicate key (first on line {first_line})")
    if len(entry) > CUTOFFS_PER_NODE_MAX:
        problems.add(item.line, item.field, f"{len(entry)} cut-offs, more than the limit of {CUTOFFS_PER_NODE_MAX}")
    cutoffs: dict[str, LocalTime] = {}
    for key in entry:
        service = _as_id(_Value(key, entry.key_lines[key], _join(item.field, key)), problems)
        time = _as_time(_member(entry, key, item.field), problems)
        if service is not None and time is not None:
            cutoffs[service] = time
    if problems.count() > before:
        return None
    return cutoffs


# --------------------------------------------------------------------------
# Lanes


def _read_lane(item: _Value, problems: _Problems) -> _Read | None:
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _LANE_KEYS, ("from", "service"), problems)
    where = {key: _member(entry, key, item.field) for key in ("from", "to_zone", "to_node", "service")}
    from_node = _as_id(where["from"], problems) if where["from"] else None
    service = _as_id(where["service"], problems) if where["service"] else None
    to_zone = _as_id(where["to_zone"], problems) if where["to_zone"] else None
    to_node = _as_id(where["to_node"], problems) if where["to_node"] else None
    if (where["to_zone"] is None) == (where["to_node"] is None):
        problems.add(item.line, item.field, "needs exactly one of to_zone and to_node")
    name = _optional(entry, "name", item.field, "", lambda v: _as_str(v, problems))
    cost = _optional(entry, "cost_minor", item.field, 0, lambda v: _as_int(v, 0, COST_MINOR_MAX, problems))
    spread = _optional(
        entry, "transit_spread_hours", item.field, 0, lambda v: _as_int(v, 0, TRANSIT_SPREAD_HOURS_MAX, problems)
    )
    tiers = _optional(entry, "tiers", item.field, (), lambda v: _read_tiers(v, problems))
    timing = _read_lane_timing(entry, item, problems)
    if problems.count() > before:
        return None
    departures, pickup, transit_hours, transit_days, arrives = timing
    lane = Lane(
        from_node,
        service,
        to_zone,
        to_node,
        name,
        cost,
        departures,
        pickup,
        transit_hours,
        transit_days,
        arrives,
        spread,
        tiers or (),
    )
    where["entry"] = item
    return _Read(lane, where)


def _read_tiers(item: _Value, problems: _Problems) -> tuple[str, ...] | None:
    """A list of customer tier ids: the lane is offered to these tiers only."""
    values = _as_list(item, problems)
    if values is None:
        return None
    tiers = [_as_id(value, problems) for value in _items(values, item.field)]
    if not tiers:
        problems.add(item.line, item.field, "an empty list: leave tiers out to offer the lane to everyone")
        return None
    return None if None in tiers else tuple(tiers)


def _read_lane_timing(entry: _MarkedMapping, item: _Value, problems: _Problems):
    """(departures, pickup, transit_hours, transit_working_days, arrives): one way to leave and arrive."""
    field = item.field
    departures_item = _member(entry, "departures", field)
    departures = (
        _read_departures(departures_item, entry.key_lines.get("departures"), problems) if departures_item else ()
    )
    pickup = _optional(entry, "pickup", field, None, lambda v: _as_time(v, problems))
    hours = _optional(entry, "transit_hours", field, None, lambda v: _as_int(v, 0, TRANSIT_HOURS_MAX, problems))
    days_item = _member(entry, "transit_working_days", field)
    days = _as_int(days_item, 0, TRANSIT_WORKING_DAYS_MAX, problems) if days_item else None
    arrives_item = _member(entry, "arrives", field)
    arrives = _as_time(arrives_item, problems) if arrives_item else None
    if departures_item is not None:
        for key in _TIMETABLE_EXCLUDES:
            if key in entry:
                problems.add(
                    entry.key_lines[key],
                    _join(field, key),
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


def _read_departures(item: _Value, key_line: int, problems: _Problems) -> tuple[Departure, ...] | None:
    entries = _as_list(item, problems)
    if entries is None:
        return None
    if not entries:
        problems.add(item.line, item.field, "must list at least one departure")
        return None
    before = problems.count()
    departures = []
    seen: dict[tuple[int, int], _Value] = {}
    for departure_item in _items(entries, item.field):
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


def _read_departure(item: _Value, problems: _Problems) -> _Read | None:
    entry = _as_mapping(item, problems)
    if entry is None:
        return None
    before = problems.count()
    _check_keys(entry, item.field, _DEPARTURE_KEYS, ("days", "leaves", "arrives"), problems)
    days = _required(entry, "days", item.field, lambda v: _as_weekdays(v, problems))
    leaves_item = _member(entry, "leaves", item.field)
    leaves = _as_time(leaves_item, problems) if leaves_item else None
    cutoff_item = _member(entry, "cutoff", item.field)
    cutoff = _as_time(cutoff_item, problems) if cutoff_item else None
    arrives_item = _member(entry, "arrives", item.field)
    arrives = _as_time(arrives_item, problems) if arrives_item else None
    offset = _optional(
        entry, "arrival_day_offset", item.field, 0, lambda v: _as_int(v, 0, ARRIVAL_DAY_OFFSET_MAX, problems)
    )
    if problems.count() > before:
        return None
    if cutoff is not None and cutoff > leaves:
        problems.add(cutoff_item.line, cutoff_item.field, f"cut-off {cutoff} is after the departure at {leaves}")
        return None
    if offset == 0 and arrives < leaves:
        problems.add(
            arrives_item.line,
            arrives_item.field,
            f"arrives at {arrives}, before it leaves at {leaves} the same day (set arrival_day_offset)",
        )
        return None
    return _Read(Departure(days, leaves, arrives, offset, cutoff), {"leaves": leaves_item, "cutoff": cutoff_item})


def _check_cutoff_order(departures: list[_Read], problems: _Problems) -> None:
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
                where = later.where["cutoff"] or later.where["leaves"]
                problems.add(
                    where.line,
                    where.field,
                    f"cut-off {later_cutoff} of the {later.value.leaves} departure is before the "
                    f"{earlier_cutoff} cut-off of the {earlier.value.leaves} one on "
                    f"{WEEKDAY_SPELLINGS[weekday]}: cut-offs must follow departure order",
                )


# --------------------------------------------------------------------------
# Checks across entries


def _check_references(calendars, zones, shipping, lanes, declared: dict[str, set[str]], problems: _Problems) -> None:
    """Every calendar, zone and node an entry names exists (and ships, for lane ends)."""
    calendars_by_id = {read.value.calendar_id: read.value for read in calendars}
    for read in zones:
        _check_known(read.where["calendar"], declared["calendar"], "calendar", problems)
    for read in shipping:
        _check_known(read.where["node"], declared["node"], "node", problems)
        _check_known(read.where["calendar"], declared["calendar"], "calendar", problems)
        if read.value.calendar_id in calendars_by_id:
            _check_cutoffs_open(read, calendars_by_id[read.value.calendar_id], problems)
    for read in lanes:
        lane = read.value
        if _check_known(read.where["from"], declared["node"], "node", problems):
            _check_ships(read.where["from"], declared["shipping"], problems)
        if lane.to_zone_id is not None:
            _check_known(read.where["to_zone"], declared["zone"], "zone", problems)
        elif _check_known(read.where["to_node"], declared["node"], "node", problems):
            _check_ships(read.where["to_node"], declared["shipping"], problems)


def _check_known(item: _Value | None, known, kind: str, problems: _Problems) -> bool:
    if item is None:
        return False
    if item.value not in known:
        problems.add(item.line, item.field, f"unknown {kind} {item.value!r}")
        return False
    return True


def _check_ships(item: _Value, shipping_nodes: set[str], problems: _Problems) -> None:
    if item.value not in shipping_nodes:
        problems.add(item.line, item.field, f"node {item.value!r} has no node_shipping entry (calendar, lead time)")


def _check_cutoffs_open(read: _Read, calendar: Calendar, problems: _Problems) -> None:
    """A cut-off at or before opening time would never accept an order."""
    opens_minute, _ = calendar.opening_minutes()
    for service, cutoff in read.value.cutoffs.items():
        if cutoff.minute_of_day <= opens_minute:
            where = read.where[f"cutoff:{service}"]
            problems.add(
                where.line,
                where.field,
                f"cut-off {cutoff} is not after calendar {calendar.calendar_id!r} opens at "
                f"{calendar.opens}: no order would ever be accepted",
            )


def _check_postal_prefixes(zones: list[_Read], problems: _Problems) -> None:
    """A (country, prefix) pair belongs to one zone, or lookups would be ambiguous."""
    first: dict[tuple[str, str], _Value] = {}
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


def _check_lane_keys(lanes: list[_Read], problems: _Problems) -> None:
    first_lines: dict[tuple, int] = {}
    for read in lanes:
        lane, entry = read.value, read.where["entry"]
        if lane.key in first_lines:
            origin, kind, destination, service = lane.key
            problems.add(
                entry.line,
                entry.field,
                f"duplicate lane {origin} -> {kind} {destination} by {service} (first on line {first_lines[lane.key]})",
            )
        else:
            first_lines[lane.key] = entry.line


def _check_departures_total(lanes: list[_Read], section: _MarkedMapping, problems: _Problems) -> None:
    weekly_count = sum(read.value.departures_per_week() for read in lanes)
    if weekly_count > DEPARTURES_PER_WEEK_TOTAL_MAX:
        problems.add(
            section.key_lines["lanes"],
            _join(_SECTION, "lanes"),
            f"{weekly_count} departures a week over all lanes, more than the limit of {DEPARTURES_PER_WEEK_TOTAL_MAX}",
        )


# --------------------------------------------------------------------------
# Writing back


def dump_transport(transport: TransportNetwork) -> dict:
    """The section as a plain document; `read_transport` reads it back equal."""
    document: dict = {}
    if transport.currency != _DEFAULT_CURRENCY:
        document["currency"] = transport.currency
    document["calendars"] = [_calendar_document(calendar) for calendar in transport.calendars]
    document["zones"] = [_zone_document(zone) for zone in transport.zones]
    document["node_shipping"] = [_shipping_document(shipping) for shipping in transport.node_shipping]
    document["lanes"] = [_lane_document(lane) for lane in transport.lanes]
    return document


def _weekdays_document(weekdays: tuple[int, ...]) -> _FlowList:
    return _FlowList(WEEKDAY_SPELLINGS[day] for day in weekdays)


def _calendar_document(calendar: Calendar) -> dict:
    document: dict = {"id": calendar.calendar_id}
    if calendar.name:
        document["name"] = calendar.name
    if calendar.weekdays != WORKWEEK:
        document["weekdays"] = _weekdays_document(calendar.weekdays)
    if calendar.opens is not None:
        document["hours"] = _FlowMapping(opens=str(calendar.opens), closes=str(calendar.closes))
    if calendar.holidays:
        document["holidays"] = _FlowList(calendar.holidays)
    return document


def _zone_document(zone: Zone) -> dict:
    document: dict = {"id": zone.zone_id}
    if zone.name:
        document["name"] = zone.name
    if zone.country_code:
        document["country"] = zone.country_code
    document["timezone"] = zone.timezone
    document["calendar"] = zone.calendar_id
    if zone.postal_prefixes:
        document["postal_prefixes"] = _FlowList(zone.postal_prefixes)
    if zone.postal_ranges:
        document["postal_ranges"] = [_FlowMapping({"from": r.low, "to": r.high}) for r in zone.postal_ranges]
    if zone.regions:
        document["regions"] = _FlowList(zone.regions)
    if zone.location is not None:
        document["location"] = _FlowMapping(
            latitude=zone.location.latitude_degrees, longitude=zone.location.longitude_degrees
        )
    return document


def _shipping_document(shipping: NodeShipping) -> dict:
    document: dict = {"node": shipping.node_id, "calendar": shipping.calendar_id}
    if shipping.processing_minutes:
        document["processing_minutes"] = shipping.processing_minutes
    if shipping.cutoffs:
        document["cutoffs"] = _FlowMapping({service: str(time) for service, time in shipping.cutoffs.items()})
    if shipping.daily_capacity_orders is not None:
        document["daily_capacity_orders"] = shipping.daily_capacity_orders
    if shipping.click_and_collect:
        document["click_and_collect"] = True
    return document


def _lane_document(lane: Lane) -> dict:
    document: dict = {"from": lane.from_node_id}
    if lane.to_zone_id is not None:
        document["to_zone"] = lane.to_zone_id
    else:
        document["to_node"] = lane.to_node_id
    document["service"] = lane.service
    if lane.name:
        document["name"] = lane.name
    if lane.cost_minor:
        document["cost_minor"] = lane.cost_minor
    if lane.departures:
        document["departures"] = [_departure_document(departure) for departure in lane.departures]
    for key, value in (
        ("pickup", lane.pickup),
        ("transit_hours", lane.transit_hours),
        ("transit_working_days", lane.transit_working_days),
        ("arrives", lane.arrives),
    ):
        if value is not None:
            document[key] = str(value) if isinstance(value, LocalTime) else value
    if lane.transit_spread_hours:
        document["transit_spread_hours"] = lane.transit_spread_hours
    if lane.tiers:
        document["tiers"] = _FlowList(lane.tiers)
    return document


def _departure_document(departure: Departure) -> _FlowMapping:
    document = _FlowMapping(days=_weekdays_document(departure.weekdays), leaves=str(departure.leaves))
    if departure.cutoff is not None:
        document["cutoff"] = str(departure.cutoff)
    document["arrives"] = str(departure.arrives)
    if departure.arrival_day_offset:
        document["arrival_day_offset"] = departure.arrival_day_offset
    return document
