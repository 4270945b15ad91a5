"""The EDT tables: a network's calendars, cut-offs and timetables expanded for the core.

`TableLayout(network).build(base_date)` expands them into sorted int64
UTC-ns arrays for a window of TRANSPORT_WINDOW_DAYS (resolving time zones,
DST and holidays with zoneinfo, here and only here), which
`_core/transport.pyx` answers each EDT from with a few binary searches (see
edt.py for the steps of one EDT). The answers never depend on where the
window starts (see `TableLayout.build`).

Dated rules (calendars, lanes, cut-offs with a `Validity`) are resolved
here while expanding, so the core never sees them and its lookups stay
O(log k): a working or accepting interval belongs to the calendar and
cut-off versions in force over it (cut where a window starts or ends); a
departure to the lane version in force at the local minute it leaves (its
arrival is that version's, even past the window's end); a day-level
question (does the node work that day, so does a route leave; which days
count as transit working days) to the calendar version in force at the
start of that local day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dompromise._core.transport import NEVER, TransportTables
from dompromise.limits import TRANSIT_SPREAD_HOURS_MAX, TRANSPORT_HORIZON_DAYS, TRANSPORT_WINDOW_DAYS
from dompromise.model.network import Network
from dompromise.model.transport import ALWAYS, Calendar, Lane, LocalTime, NodeShipping, TransportNetwork, Versions

NS_PER_MINUTE = 60 * 10**9
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR

# The service name of click-and-collect: its cut-off (if any) is
# `node_shipping[].cutoffs.collect`.
COLLECT_SERVICE = "collect"

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_ONE_DAY = dt.timedelta(days=1)
_MICROSECOND = dt.timedelta(microseconds=1)
# Local dates expanded around the window: a day either side covers every UTC
# offset; the spread margin lets `latest` be found for any ready time.
_EDGE_DAYS = 2
_SPREAD_MARGIN_DAYS = -(-TRANSIT_SPREAD_HOURS_MAX // 24)
_ONE_MINUTE = dt.timedelta(minutes=1)


# --------------------------------------------------------------------------
# Local time <-> UTC ns


def instant_ns(day: dt.date, time: LocalTime | int, timezone: str) -> int:
    """UTC ns of a local wall-clock time (LocalTime, or minutes after midnight).

    A time a DST change skips (02:30 on the last Sunday of March in Paris)
    reads with the offset before the change, so it lands an hour later in
    wall time; a time that happens twice is its first occurrence.
    """
    minute_of_day = time.minute_of_day if isinstance(time, LocalTime) else time
    day_offset, minute_of_day = divmod(minute_of_day, 24 * 60)
    day = day + dt.timedelta(days=day_offset)
    local = dt.datetime(
        day.year, day.month, day.day, minute_of_day // 60, minute_of_day % 60, tzinfo=zoneinfo.ZoneInfo(timezone)
    )
    return (local - _EPOCH) // _MICROSECOND * 1000


def local_datetime(at_ns: int, timezone: str) -> dt.datetime:
    """The local wall-clock time of a UTC ns instant (microsecond precision)."""
    return (_EPOCH + dt.timedelta(microseconds=at_ns // 1000)).astimezone(zoneinfo.ZoneInfo(timezone))


def window_base_date(ready_ns: int) -> dt.date:
    """The base date of the tables that serve `ready_ns`.

    Windows sit on a fixed grid of (window - horizon) days from 1970-01-01,
    so every ready time has one window and neighbouring queries share it.
    """
    step_days = TRANSPORT_WINDOW_DAYS - TRANSPORT_HORIZON_DAYS
    days = (ready_ns // NS_PER_DAY) // step_days * step_days
    return _EPOCH.date() + dt.timedelta(days=days)


class _BuildCache:
    """Memos for one build: each (zone, date, minute) converted and each
    calendar day looked up once, however many lanes share them."""

    def __init__(self) -> None:
        self._instants: dict[tuple[str, int, int], int] = {}
        self._working: dict[tuple[str, int], bool] = {}
        self._later_days: dict[tuple[str, int, int], dt.date | None] = {}

    def at(self, day: dt.date, minute_of_day: int, timezone: str) -> int:
        key = (timezone, day.toordinal(), minute_of_day)
        found = self._instants.get(key)
        if found is None:
            found = self._instants[key] = instant_ns(day, minute_of_day, timezone)
        return found

    def is_working_day(self, calendar: _CalendarRule, day: dt.date) -> bool:
        """Whether `day` works by the calendar version in force at its local 00:00."""
        key = (calendar.calendar_id, day.toordinal())
        found = self._working.get(key)
        if found is None:
            version = calendar.versions.at(dt.datetime(day.year, day.month, day.day))
            found = self._working[key] = version is not None and version.is_working_day(day)
        return found

    def nth_working_day_after(self, calendar: _CalendarRule, day: dt.date, count: int) -> dt.date | None:
        """The count-th working day after `day` (`day` itself for 0); None past the horizon."""
        key = (calendar.calendar_id, day.toordinal(), count)
        if key not in self._later_days:
            found, remaining = day, count
            for _ in range(TRANSPORT_HORIZON_DAYS + 1):
                if remaining == 0:
                    break
                found += _ONE_DAY
                remaining -= self.is_working_day(calendar, found)
            self._later_days[key] = found if remaining == 0 else None
        return self._later_days[key]


# --------------------------------------------------------------------------
# The layout: which core lanes and interval sets a network has (no dates yet)


@dataclass(frozen=True)
class _CalendarRule:
    """A calendar id and its versions over time (one undated version in most networks)."""

    calendar_id: str
    versions: Versions[Calendar]


@dataclass(frozen=True)
class _IntervalSet:
    """Working time of `calendar` in `timezone`, each day cut at the cut-off in force (if any)."""

    calendar: _CalendarRule
    timezone: str
    cutoff: Versions[LocalTime | None]


@dataclass(frozen=True)
class _Destination:
    """Where a lane delivers: its receiving calendar and timezone."""

    calendar: _CalendarRule
    timezone: str
    receive_set: int


@dataclass(frozen=True)
class CoreLane:
    """One lane of the core tables: a configured lane, or a node's click-and-collect."""

    index: int
    # None: click-and-collect at `node_id`. A lane with dated versions: its
    # undated one, else its earliest (they agree on destination, cost, tiers).
    lane: Lane | None
    node_id: str
    service: str
    timezone: str  # the destination's: local dates of answers are in it
    cost_minor: int  # per shipment; 0 for click-and-collect


class TableLayout:
    """Core lanes and interval sets of a network, in a stable order; builds tables for a window."""

    def __init__(self, network: Network):
        transport = network.transport
        assert transport is not None, "the network has no transport section"
        self.transport: TransportNetwork = transport
        self._calendars = {
            calendar_id: _CalendarRule(calendar_id, versions)
            for calendar_id, versions in transport.calendar_versions().items()
        }
        self._shipping = {shipping.node_id: shipping for shipping in transport.node_shipping}
        self._node_timezones = {node.node_id: node.timezone for node in network.nodes}
        self._zones = {zone.zone_id: zone for zone in transport.zones}
        self.sets: list[_IntervalSet] = []
        self._set_index: dict[tuple[str, str, object], int] = {}
        self.lanes: list[CoreLane] = []
        self.lane_by_key: dict[tuple[str, str, str, str], int] = {}
        self.collect_lane_by_node: dict[str, int] = {}
        # Per core lane: (work set, accept set, destination, processing minutes).
        self._plans: list[tuple[int, int, _Destination, int]] = []
        # Per core lane: its versions (None for click-and-collect).
        self._lane_versions: list[Versions[Lane] | None] = []
        for versions in transport.lane_versions().values():
            self._add_lane(versions)
        for shipping in transport.node_shipping:
            if shipping.click_and_collect:
                self._add_collect_lane(shipping)

    # ---- layout ---------------------------------------------------------

    def _interval_set(self, calendar: _CalendarRule, timezone: str, cutoff: Versions[LocalTime | None]) -> int:
        key = (calendar.calendar_id, timezone, _cutoff_key(cutoff))
        index = self._set_index.get(key)
        if index is None:
            index = self._set_index[key] = len(self.sets)
            self.sets.append(_IntervalSet(calendar, timezone, cutoff))
        return index

    def _origin_sets(self, shipping: NodeShipping, service: str) -> tuple[int, int]:
        calendar = self._calendars[shipping.calendar_id]
        timezone = self._node_timezones[shipping.node_id]
        work_set = self._interval_set(calendar, timezone, _NO_CUTOFF)
        cutoff = shipping.cutoff_versions(service)
        accept_set = work_set if _cutoff_key(cutoff) is None else self._interval_set(calendar, timezone, cutoff)
        return work_set, accept_set

    def _node_destination(self, node_id: str) -> _Destination:
        shipping = self._shipping[node_id]
        calendar = self._calendars[shipping.calendar_id]
        timezone = self._node_timezones[node_id]
        return _Destination(calendar, timezone, self._interval_set(calendar, timezone, _NO_CUTOFF))

    def _add_lane(self, versions: Versions[Lane]) -> None:
        lane = versions.all()[0]
        shipping = self._shipping[lane.from_node_id]
        work_set, accept_set = self._origin_sets(shipping, lane.service)
        if lane.to_zone_id is not None:
            zone = self._zones[lane.to_zone_id]
            calendar = self._calendars[zone.calendar_id]
            destination = _Destination(calendar, zone.timezone, self._interval_set(calendar, zone.timezone, _NO_CUTOFF))
        else:
            assert lane.to_node_id is not None, "a lane goes to a zone or to a node"
            destination = self._node_destination(lane.to_node_id)
        self.lane_by_key[lane.key] = len(self.lanes)
        self.lanes.append(
            CoreLane(len(self.lanes), lane, lane.from_node_id, lane.service, destination.timezone, lane.cost_minor)
        )
        self._plans.append((work_set, accept_set, destination, shipping.processing_minutes))
        self._lane_versions.append(versions)

    def _add_collect_lane(self, shipping: NodeShipping) -> None:
        # The customer collects at the node during its working time: an
        # on-demand lane from the node to itself with no transit.
        work_set, accept_set = self._origin_sets(shipping, COLLECT_SERVICE)
        destination = self._node_destination(shipping.node_id)
        self.collect_lane_by_node[shipping.node_id] = len(self.lanes)
        self.lanes.append(CoreLane(len(self.lanes), None, shipping.node_id, COLLECT_SERVICE, destination.timezone, 0))
        self._plans.append((work_set, accept_set, destination, shipping.processing_minutes))
        self._lane_versions.append(None)

    # ---- tables for one window ------------------------------------------

    def build(self, base_date: dt.date) -> TransportTables:
        """Tables for ready times from `base_date` 00:00 UTC, for the window less the horizon.

        Ready times are at most window - horizon days after the base, and no
        answer looks more than the horizon (plus the spread) past its ready
        time, so every instant an answer needs is inside these arrays: the
        same query gives the same answer whatever base the tables have.
        """
        cache = _BuildCache()
        ready_start_ns = instant_ns(base_date, 0, "UTC")
        ready_end_ns = ready_start_ns + (TRANSPORT_WINDOW_DAYS - TRANSPORT_HORIZON_DAYS) * NS_PER_DAY
        interval_days = _dates(
            base_date - _EDGE_DAYS * _ONE_DAY, TRANSPORT_WINDOW_DAYS + _SPREAD_MARGIN_DAYS + 2 * _EDGE_DAYS
        )
        departure_days = _dates(base_date - _EDGE_DAYS * _ONE_DAY, TRANSPORT_WINDOW_DAYS + 2 * _EDGE_DAYS)
        open_ns, close_ns, set_start = self._intervals(interval_days, cache)
        departure_ns, cutoff_ns, arrival_ns, departure_start = self._departures(departure_days, cache)
        lane_count = len(self.lanes)
        transit_ns = np.full(lane_count, -1, dtype=np.int64)
        spread_ns = np.zeros(lane_count, dtype=np.int64)
        for core_lane in self.lanes:
            lane = core_lane.lane
            if lane is None:
                transit_ns[core_lane.index] = 0
                continue
            if not lane.departures and lane.pickup is None:
                transit_ns[core_lane.index] = (lane.transit_hours or 0) * NS_PER_HOUR
            spread_ns[core_lane.index] = lane.transit_spread_hours * NS_PER_HOUR
        return TransportTables(
            ready_start_ns,
            ready_end_ns,
            TRANSPORT_HORIZON_DAYS * NS_PER_DAY,
            open_ns=open_ns,
            close_ns=close_ns,
            set_start=set_start,
            lane_work_set=[plan[0] for plan in self._plans],
            lane_accept_set=[plan[1] for plan in self._plans],
            lane_receive_set=[plan[2].receive_set for plan in self._plans],
            lane_processing_ns=[plan[3] * NS_PER_MINUTE for plan in self._plans],
            lane_transit_ns=transit_ns,
            lane_spread_ns=spread_ns,
            departure_start=departure_start,
            departure_ns=departure_ns,
            cutoff_ns=cutoff_ns,
            arrival_ns=arrival_ns,
        )

    def _intervals(self, days: list[dt.date], cache: _BuildCache) -> tuple[list[int], list[int], list[int]]:
        open_ns: list[int] = []
        close_ns: list[int] = []
        set_start = [0]
        for interval_set in self.sets:
            for opens_ns, closes_ns in _set_intervals(interval_set, days, cache):
                if len(open_ns) > set_start[-1] and opens_ns <= close_ns[-1]:
                    close_ns[-1] = max(close_ns[-1], closes_ns)  # whole days touch: one interval
                else:
                    open_ns.append(opens_ns)
                    close_ns.append(closes_ns)
            set_start.append(len(open_ns))
        return open_ns, close_ns, set_start

    def _departures(self, days: list[dt.date], cache: _BuildCache) -> tuple[list[int], list[int], list[int], list[int]]:
        departure_ns: list[int] = []
        cutoff_ns: list[int] = []
        arrival_ns: list[int] = []
        departure_start = [0]
        for versions, plan in zip(self._lane_versions, self._plans):
            rows = [] if versions is None else self._lane_departures(versions, plan[2], days, cache)
            rows.sort()
            # A DST change can put a skipped-hour cut-off after a later
            # departure's: tighten, never promise a departure that cannot be made.
            for i in range(len(rows) - 2, -1, -1):
                if rows[i][1] > rows[i + 1][1]:
                    rows[i] = (rows[i][0], rows[i + 1][1], rows[i][2])
            departure_ns += [row[0] for row in rows]
            cutoff_ns += [row[1] for row in rows]
            arrival_ns += [row[2] for row in rows]
            departure_start.append(len(departure_ns))
        return departure_ns, cutoff_ns, arrival_ns, departure_start

    def _lane_departures(
        self, versions: Versions[Lane], destination: _Destination, days: list[dt.date], cache: _BuildCache
    ) -> list[tuple[int, int, int]]:
        """(departure, cut-off, arrival) ns of every departure on the node's working days.

        Each departure is the lane version's in force at the local minute it leaves.
        """
        some_lane = versions.all()[0]
        shipping = self._shipping[some_lane.from_node_id]
        calendar = self._calendars[shipping.calendar_id]
        timezone = self._node_timezones[some_lane.from_node_id]
        rows: list[tuple[int, int, int]] = []
        for day in days:
            if not cache.is_working_day(calendar, day):
                continue  # nothing leaves a closed node, not even a fixed route
            if not versions.dated:
                assert versions.default is not None, "an undated lane is its own default"
                _day_departures(versions.default, day, 0, _MINUTES_PER_DAY, destination, timezone, cache, rows)
                continue
            day_start = dt.datetime(day.year, day.month, day.day)
            for piece_start, piece_end, lane in versions.pieces(day_start, day_start + _ONE_DAY):
                if lane is not None:
                    first_minute = (piece_start - day_start) // _ONE_MINUTE
                    end_minute = (piece_end - day_start) // _ONE_MINUTE
                    _day_departures(lane, day, first_minute, end_minute, destination, timezone, cache, rows)
        return rows


def _day_departures(
    lane: Lane,
    day: dt.date,
    first_minute: int,
    end_minute: int,
    destination: _Destination,
    timezone: str,
    cache: _BuildCache,
    rows: list[tuple[int, int, int]],
) -> None:
    """Appends the lane's departures of `day` leaving at local minutes [first_minute, end_minute)."""
    if lane.departures:
        for departure in lane.departures:
            leaves_minute = departure.leaves.minute_of_day
            if day.weekday() in departure.weekdays and first_minute <= leaves_minute < end_minute:
                leaves_ns = cache.at(day, leaves_minute, timezone)
                cutoff = departure.cutoff
                cutoff_ns = leaves_ns if cutoff is None else cache.at(day, cutoff.minute_of_day, timezone)
                arrival_ns = _arrival_ns(day, departure.arrival_day_offset, departure.arrives, destination, cache)
                rows.append((leaves_ns, min(cutoff_ns, leaves_ns), max(arrival_ns, leaves_ns)))
    elif lane.pickup is not None and first_minute <= lane.pickup.minute_of_day < end_minute:
        leaves_ns = cache.at(day, lane.pickup.minute_of_day, timezone)
        if lane.transit_working_days is not None:
            arrival_ns = _arrival_ns(day, lane.transit_working_days, lane.arrives or LocalTime(0), destination, cache)
        else:
            arrival_ns = leaves_ns + (lane.transit_hours or 0) * NS_PER_HOUR
        rows.append((leaves_ns, leaves_ns, max(arrival_ns, leaves_ns)))


def build_tables(network: Network, base_date: dt.date) -> TransportTables:
    """The core tables of a network's transport for ready times from `base_date` 00:00 UTC.

    `EdtCalculator` builds and swaps these itself; this is for tools and tests.
    """
    return TableLayout(network).build(base_date)


def _dates(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range(count)]


def _set_intervals(interval_set: _IntervalSet, days: list[dt.date], cache: _BuildCache) -> Iterator[tuple[int, int]]:
    """(open, close) ns of each working day of the set, cut at its cut-off."""
    calendar, timezone, cutoff = interval_set.calendar.versions, interval_set.timezone, interval_set.cutoff
    if calendar.dated or cutoff.dated:
        for day in days:
            for opens_minute, closes_minute in _dated_day_intervals(calendar, cutoff, day):
                opens_ns = cache.at(day, opens_minute, timezone)
                closes_ns = cache.at(day, closes_minute, timezone)
                if opens_ns < closes_ns:
                    yield opens_ns, closes_ns
        return
    assert calendar.default is not None, "an undated calendar is its own default"
    opens_minute, closes_minute = calendar.default.opening_minutes()
    if cutoff.default is not None:
        closes_minute = min(closes_minute, cutoff.default.minute_of_day)
    if closes_minute <= opens_minute:
        return
    for day in days:
        if cache.is_working_day(interval_set.calendar, day):
            opens_ns = cache.at(day, opens_minute, timezone)
            closes_ns = cache.at(day, closes_minute, timezone)
            if opens_ns < closes_ns:  # an hour DST skipped can swallow a short day
                yield opens_ns, closes_ns


def _dated_day_intervals(
    calendar: Versions[Calendar], cutoff: Versions[LocalTime | None], day: dt.date
) -> Iterator[tuple[int, int]]:
    """(opens, closes) local minutes of `day`: each calendar version's hours over the part of
    the day it is in force, each cut at the cut-off in force over it."""
    day_start = dt.datetime(day.year, day.month, day.day)
    for piece_start, piece_end, version in calendar.pieces(day_start, day_start + _ONE_DAY):
        if version is None or not version.is_working_day(day):
            continue
        opens_minute, closes_minute = version.opening_minutes()
        low = max(day_start + opens_minute * _ONE_MINUTE, piece_start)
        high = min(day_start + closes_minute * _ONE_MINUTE, piece_end)
        if low >= high:
            continue
        for cut_start, cut_end, cut in cutoff.pieces(low, high):
            top = cut_end if cut is None else min(cut_end, day_start + cut.minute_of_day * _ONE_MINUTE)
            if cut_start < top:
                yield (cut_start - day_start) // _ONE_MINUTE, (top - day_start) // _ONE_MINUTE


_NO_CUTOFF: Versions[LocalTime | None] = Versions([None], lambda _: ALWAYS)
_MINUTES_PER_DAY = 24 * 60


def _cutoff_key(cutoff: Versions[LocalTime | None]) -> object:
    """What makes two accept sets equal: None without any cut-off."""
    if not cutoff.dated:
        return None if cutoff.default is None else cutoff.default.minute_of_day
    pieces = cutoff.pieces(dt.datetime.min, dt.datetime.max)
    return tuple((start, end, None if cut is None else cut.minute_of_day) for start, end, cut in pieces)


def _arrival_ns(
    day: dt.date, day_offset: int, arrives: LocalTime, destination: _Destination, cache: _BuildCache
) -> int:
    """Arrival at `arrives` on the day_offset-th working day of the destination after `day`."""
    arrival_day = cache.nth_working_day_after(destination.calendar, day, day_offset)
    if arrival_day is None:
        return NEVER
    return cache.at(arrival_day, arrives.minute_of_day, destination.timezone)


# --------------------------------------------------------------------------
# Answers
