"""Pure-Python types of the transport network: calendars, zones, lanes.

What a promise needs to turn "these goods are ready at node N at time T"
into "they arrive in zone Z between E and L": when each node works and
stops taking orders, where each delivery zone is and when it receives, and
which lanes (node -> zone, node -> node) each carrier service runs, with
their transit time, cost and, for fixed routes, their timetable.

No I/O and no clock here. `config/transport.py` builds these from the
network file, `demo/transport.py` in code; `promise/edt.py` expands them into
the dense tables of `_core/transport.pyx`. Times of day are local wall-clock times in
the timezone of whoever keeps them (the node, or the zone).

Dated rules: a calendar, a lane, a node's cut-off or its daily capacity
may carry a `Validity` (valid_from / valid_to, local wall-clock time of the
keeper). Several versions of one rule share its key (calendar id, lane key,
(node, service), node); `Versions` picks the one in force at a local
instant: the dated version whose window holds it, else the undated one
(the default), else none. Windows of one key never overlap (config checks).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

# Date.weekday() numbering, Monday first; the config spells them `mon`..`sun`.
WEEKDAY_NAMES = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
WEEKDAY_SPELLINGS = {number: name for name, number in WEEKDAY_NAMES.items()}
WORKWEEK = (0, 1, 2, 3, 4)

MINUTES_PER_DAY = 24 * 60

_TIME_PATTERN = re.compile(r"([0-9]{2}):([0-9]{2})")


@dataclass(frozen=True, order=True)
class LocalTime:
    """A wall-clock time of day, minutes after local midnight.

    24:00 (`MINUTES_PER_DAY`) exists only as a closing time: the end of the day.
    """

    minute_of_day: int

    def __post_init__(self) -> None:
        assert 0 <= self.minute_of_day <= MINUTES_PER_DAY, self.minute_of_day

    @classmethod
    def parse(cls, text: str) -> LocalTime:
        """`HH:MM` with 00:00 <= time <= 24:00; ValueError otherwise."""
        match = _TIME_PATTERN.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not a time of day HH:MM")
        hours, minutes = int(match[1]), int(match[2])
        if minutes >= 60 or hours * 60 + minutes > MINUTES_PER_DAY:
            raise ValueError(f"{text!r} is not a time of day HH:MM (00:00 to 23:59, or 24:00 to close)")
        return cls(hours * 60 + minutes)

    def __str__(self) -> str:
        return f"{self.minute_of_day // 60:02d}:{self.minute_of_day % 60:02d}"


def at(text: str) -> LocalTime:
    """Shorthand for `LocalTime.parse`, for code-built networks."""
    return LocalTime.parse(text)


# --------------------------------------------------------------------------
# Dated rules


@dataclass(frozen=True)
class Validity:
    """When a dated rule is in force, in local wall-clock time of its keeper.

    `valid_from` is inclusive: a date means from its 00:00, a datetime from
    that minute. `valid_to` is inclusive for a date (the whole day is in:
    the rule stops at 00:00 the day after) and exclusive for a datetime (the
    rule stops at that minute). None on a side: open on that side. Both
    None (`ALWAYS`): an undated rule, the default outside every dated
    version. Stored as written, so a dump writes it back the same.
    """

    valid_from: date | None = None  # a date, or a datetime (a subclass of date)
    valid_to: date | None = None

    @property
    def dated(self) -> bool:
        return self.valid_from is not None or self.valid_to is not None

    def start(self) -> datetime:
        """The first local instant in force (datetime.min when open)."""
        return _local_start(self.valid_from) if self.valid_from is not None else datetime.min

    def end(self) -> datetime:
        """The first local instant no longer in force (datetime.max when open)."""
        if self.valid_to is None:
            return datetime.max
        if isinstance(self.valid_to, datetime):
            return self.valid_to
        return _local_start(self.valid_to) + timedelta(days=1)

    def contains(self, local: datetime) -> bool:
        return self.start() <= local < self.end()

    def overlaps(self, other: Validity) -> bool:
        return self.start() < other.end() and other.start() < self.end()

    def __str__(self) -> str:
        return f"{_spelled(self.valid_from, 'always')} to {_spelled(self.valid_to, 'for ever')}"


ALWAYS = Validity()


def _local_start(day: date) -> datetime:
    if isinstance(day, datetime):
        return day
    return datetime(day.year, day.month, day.day)


def _spelled(day: date | None, open_text: str) -> str:
    if day is None:
        return open_text
    return day.isoformat(sep=" ", timespec="minutes") if isinstance(day, datetime) else day.isoformat()


_Rule = TypeVar("_Rule")


class Versions(Generic[_Rule]):
    """The versions of one rule: the undated default (if any) and dated overrides.

    `at(local)` is the version in force at a local instant; `pieces(start,
    end)` splits [start, end) into the versions in force over it. Both are
    O(log k) in the number of dated versions (one, the default, in almost
    every network: then they answer at once).
    """

    __slots__ = ("default", "_dated", "_starts")

    def __init__(self, rules: Sequence[_Rule], validity_of: Callable[[_Rule], Validity]):
        undated = [rule for rule in rules if not validity_of(rule).dated]
        assert len(undated) <= 1, "one undated version per key (config checks)"
        self.default: _Rule | None = undated[0] if undated else None
        dated = sorted(
            ((validity_of(rule).start(), validity_of(rule).end(), rule) for rule in rules if validity_of(rule).dated),
            key=lambda piece: piece[0],
        )
        self._dated: list[tuple[datetime, datetime, _Rule]] = dated
        self._starts = [piece[0] for piece in dated]

    @property
    def dated(self) -> bool:
        return bool(self._dated)

    def all(self) -> list[_Rule]:
        """Every version: the default first, then the dated ones by start."""
        return ([] if self.default is None else [self.default]) + [piece[2] for piece in self._dated]

    def at(self, local: datetime) -> _Rule | None:
        if not self._dated:
            return self.default
        index = bisect.bisect_right(self._starts, local) - 1
        if index >= 0 and local < self._dated[index][1]:
            return self._dated[index][2]
        return self.default

    def pieces(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime, _Rule | None]]:
        """[start, end) cut where the version in force changes: (from, to, version or None where none is)."""
        if not self._dated:
            return [(start, end, self.default)]
        found: list[tuple[datetime, datetime, _Rule | None]] = []
        cursor = start
        index = max(bisect.bisect_right(self._starts, start) - 1, 0)
        for piece_start, piece_end, rule in self._dated[index:]:
            if piece_start >= end:
                break
            if piece_end <= cursor:
                continue
            if cursor < piece_start:
                found.append((cursor, piece_start, self.default))
            found.append((max(cursor, piece_start), min(piece_end, end), rule))
            cursor = min(piece_end, end)
        if cursor < end:
            found.append((cursor, end, self.default))
        return found


# --------------------------------------------------------------------------
# Calendars, zones, lanes


@dataclass(frozen=True)
class Calendar:
    """When a node works or a zone receives: weekdays, holidays, hours.

    Without `opens`/`closes` a working day is the whole local day. Holidays
    are dates in the keeper's timezone; a date outside the listed years is
    simply not a holiday, so list the years the service will run in.
    Several calendars may share an id with different `validity` windows
    (a summer closure, the Christmas weeks): see `Versions`.
    """

    calendar_id: str
    weekdays: tuple[int, ...] = WORKWEEK
    holidays: tuple[date, ...] = ()
    opens: LocalTime | None = None
    closes: LocalTime | None = None
    name: str = ""
    validity: Validity = ALWAYS

    def __post_init__(self) -> None:
        assert (self.opens is None) == (self.closes is None), "opens and closes go together"
        if self.opens is not None and self.closes is not None:
            assert self.opens < self.closes, "opens before closes"

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self._holiday_set()

    def _holiday_set(self) -> frozenset[date]:
        # Cached on first use: a frozen dataclass cannot assign normally.
        cached = self.__dict__.get("_holidays_cached")
        if cached is None:
            cached = frozenset(self.holidays)
            object.__setattr__(self, "_holidays_cached", cached)
        return cached

    def opening_minutes(self) -> tuple[int, int]:
        """(opens, closes) in minutes after midnight; the whole day without hours."""
        if self.opens is None or self.closes is None:
            return 0, MINUTES_PER_DAY
        return self.opens.minute_of_day, self.closes.minute_of_day


@dataclass(frozen=True)
class PostalRange:
    """Postal codes from `low` to `high` inclusive, compared as equal-length strings."""

    low: str
    high: str

    def __post_init__(self) -> None:
        assert len(self.low) == len(self.high) and self.low <= self.high, (self.low, self.high)

    def contains(self, postal_code: str) -> bool:
        return len(postal_code) == len(self.low) and self.low <= postal_code <= self.high


@dataclass(frozen=True)
class Centroid:
    """A zone's representative point, WGS84 degrees: where distances to it are measured."""

    latitude_degrees: float
    longitude_degrees: float


@dataclass(frozen=True)
class Zone:
    """A delivery zone: where it is (postal codes, regions) and when it receives.

    `location`, when known, is the point promise ranking measures a shipping
    node's distance to (ranking.py); without it the distance term is 0.
    """

    zone_id: str
    timezone: str
    calendar_id: str  # the receiving calendar: no deliveries outside it
    name: str = ""
    country_code: str = ""  # ISO 3166 alpha-2; empty matches any country
    postal_prefixes: tuple[str, ...] = ()
    postal_ranges: tuple[PostalRange, ...] = ()
    regions: tuple[str, ...] = ()
    location: Centroid | None = None


@dataclass(frozen=True)
class DatedCutoff:
    """A node's order cut-off for `service` while `validity` holds (a peak cut-off)."""

    service: str
    time: LocalTime
    validity: Validity


@dataclass(frozen=True)
class DatedCapacity:
    """A node's daily capacity while `validity` holds; the day's start decides which applies."""

    orders: int
    validity: Validity


@dataclass(frozen=True)
class NodeShipping:
    """How a node ships: its working calendar, lead time and order cut-offs.

    `cutoffs` maps a carrier service to the local time after which an order
    is taken the next working day (orders before it are accepted at once).
    `daily_capacity_orders` caps the orders the node ships per local day:
    the engine counts them (capacity.py) and the promise moves a full
    day's ready time on; the EDT calculator itself does not count orders.
    `dated_cutoffs` and `dated_capacities` override `cutoffs[service]` and
    `daily_capacity_orders` inside their windows (see `Versions`).
    """

    node_id: str
    calendar_id: str
    processing_minutes: int = 0
    cutoffs: dict[str, LocalTime] = field(default_factory=dict)
    daily_capacity_orders: int | None = None
    click_and_collect: bool = False
    dated_cutoffs: tuple[DatedCutoff, ...] = ()
    dated_capacities: tuple[DatedCapacity, ...] = ()

    def cutoff_versions(self, service: str) -> Versions[LocalTime | None]:
        """The cut-offs of `service` over time (None: no cut-off, orders taken while the node works)."""
        rules: list[tuple[LocalTime | None, Validity]] = [(self.cutoffs.get(service), ALWAYS)]
        rules += [(dated.time, dated.validity) for dated in self.dated_cutoffs if dated.service == service]
        versions = Versions(rules, lambda rule: rule[1])
        return _map_versions(versions, lambda rule: rule[0])

    def capacity_versions(self) -> Versions[int | None]:
        """The daily capacities over time (None: no limit)."""
        rules: list[tuple[int | None, Validity]] = [(self.daily_capacity_orders, ALWAYS)]
        rules += [(dated.orders, dated.validity) for dated in self.dated_capacities]
        return _map_versions(Versions(rules, lambda rule: rule[1]), lambda rule: rule[0])


@dataclass(frozen=True)
class Departure:
    """One line of a fixed-route timetable: leaves on `weekdays` at `leaves`.

    It arrives at `arrives` (destination local time) on the departure date
    when `arrival_day_offset` is 0, else on the N-th working day of the
    destination calendar after it. `cutoff`, when set, is the last local
    time on the departure date an order may be accepted for this departure.
    """

    weekdays: tuple[int, ...]
    leaves: LocalTime
    arrives: LocalTime
    arrival_day_offset: int = 0
    cutoff: LocalTime | None = None


@dataclass(frozen=True)
class Lane:
    """A carrier service from a node to a zone or to another node.

    Exactly one way to depart: a timetable (`departures`, which also give
    the arrivals), a daily `pickup` time on the node's working days, or
    neither (on demand: it leaves as soon as the goods are ready). Without a
    timetable the transit is `transit_hours` (elapsed) or
    `transit_working_days` (destination calendar, arriving at `arrives`
    local time, midnight if unset; needs a pickup time to count days from).
    `transit_spread_hours` widens the delivery window: latest = earliest
    arrival + spread, moved into the receiving calendar. `tiers`, when set,
    makes the lane an exclusive delivery option: offered only to customers
    of those tiers (e.g. a same-day courier for gold dealers).
    """

    from_node_id: str
    service: str
    to_zone_id: str | None = None
    to_node_id: str | None = None
    name: str = ""
    cost_minor: int = 0
    departures: tuple[Departure, ...] = ()
    pickup: LocalTime | None = None
    transit_hours: int | None = None
    transit_working_days: int | None = None
    arrives: LocalTime | None = None
    transit_spread_hours: int = 0
    tiers: tuple[str, ...] = ()
    validity: Validity = ALWAYS

    def __post_init__(self) -> None:
        assert (self.to_zone_id is None) != (self.to_node_id is None), "a lane goes to a zone or a node"

    @property
    def key(self) -> tuple[str, str, str, str]:
        """(from node, "zone" | "node", destination id, service): unique per network and validity window."""
        if self.to_zone_id is not None:
            return (self.from_node_id, "zone", self.to_zone_id, self.service)
        assert self.to_node_id is not None, "a lane goes to a zone or a node"
        return (self.from_node_id, "node", self.to_node_id, self.service)

    @property
    def is_timetabled(self) -> bool:
        return bool(self.departures)

    def departures_per_week(self) -> int:
        if self.departures:
            return sum(len(departure.weekdays) for departure in self.departures)
        return 7 if self.pickup is not None else 0


@dataclass(frozen=True)
class TransportNetwork:
    """Calendars, zones, node shipping settings and lanes, in file order."""

    calendars: tuple[Calendar, ...] = ()
    zones: tuple[Zone, ...] = ()
    node_shipping: tuple[NodeShipping, ...] = ()
    lanes: tuple[Lane, ...] = ()
    currency: str = "EUR"  # ISO 4217, the unit of every lane's cost_minor

    def calendar_versions(self) -> dict[str, Versions[Calendar]]:
        """Calendar id -> its versions over time."""
        grouped: dict[str, list[Calendar]] = {}
        for calendar in self.calendars:
            grouped.setdefault(calendar.calendar_id, []).append(calendar)
        return {calendar_id: Versions(found, _validity) for calendar_id, found in grouped.items()}

    def lane_versions(self) -> dict[tuple[str, str, str, str], Versions[Lane]]:
        """Lane key -> its versions over time, keys in file order of their first version."""
        grouped: dict[tuple[str, str, str, str], list[Lane]] = {}
        for lane in self.lanes:
            grouped.setdefault(lane.key, []).append(lane)
        return {key: Versions(found, _validity) for key, found in grouped.items()}


def _validity(rule: Calendar | Lane) -> Validity:
    return rule.validity


_Mapped = TypeVar("_Mapped")


def _map_versions(versions: Versions[_Rule], convert: Callable[[_Rule], _Mapped]) -> Versions[_Mapped]:
    """The same windows holding converted rules."""
    mapped: Versions[_Mapped] = Versions.__new__(Versions)
    mapped.default = None if versions.default is None else convert(versions.default)
    mapped._dated = [(start, end, convert(rule)) for start, end, rule in versions._dated]
    mapped._starts = list(versions._starts)
    return mapped


# --------------------------------------------------------------------------
# Zone lookup


class ZoneIndex:
    """Finds the delivery zone of a postal code or a region name.

    The longest matching postal prefix wins; a code no prefix matches falls
    to the first zone (in file order) with a range holding it. Given a
    country, only zones of that country or of none match; without one,
    every zone does (the first in file order wins a tie).
    """

    def __init__(self, zones: tuple[Zone, ...]):
        # country ("" = zones without one) -> {prefix: zone id}; "*" = every zone.
        self._prefixes: dict[str, dict[str, str]] = {"*": {}, "": {}}
        self._regions: dict[str, dict[str, str]] = {"*": {}, "": {}}
        self._ranges: list[tuple[str, PostalRange, str]] = []
        for zone in zones:
            for table, keys in (
                (self._prefixes, zone.postal_prefixes),
                (self._regions, [region.casefold() for region in zone.regions]),
            ):
                for key in keys:
                    table.setdefault(zone.country_code, {}).setdefault(key, zone.zone_id)
                    table["*"].setdefault(key, zone.zone_id)
            self._ranges += [(zone.country_code, postal_range, zone.zone_id) for postal_range in zone.postal_ranges]
        self._prefix_lengths = sorted({len(prefix) for prefix in self._prefixes["*"]}, reverse=True)

    def zone_for_postal_code(self, postal_code: str, country_code: str = "") -> str | None:
        code = postal_code.replace(" ", "").upper()
        tables = self._tables(self._prefixes, country_code)
        for length in self._prefix_lengths:
            for table in tables:
                zone_id = table.get(code[:length]) if length <= len(code) else None
                if zone_id is not None:
                    return zone_id
        for zone_country, postal_range, zone_id in self._ranges:
            if (not country_code or zone_country in (country_code, "")) and postal_range.contains(code):
                return zone_id
        return None

    def zone_for_region(self, region: str, country_code: str = "") -> str | None:
        for table in self._tables(self._regions, country_code):
            zone_id = table.get(region.casefold())
            if zone_id is not None:
                return zone_id
        return None

    @staticmethod
    def _tables(by_country: dict[str, dict[str, str]], country_code: str) -> list[dict[str, str]]:
        if not country_code:
            return [by_country["*"]]
        return [by_country.get(country_code, {}), by_country[""]]
