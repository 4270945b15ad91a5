"""The EDT calculator: when goods ready at a node arrive at a zone or node.

`EdtCalculator(network)` answers "if node N ships these goods, ready at T,
by carrier service S, when are they delivered in zone Z?" with an earliest
and a latest delivery instant (UTC ns) and their local dates. It never reads
a clock: the as-of time is an argument.

How: this module expands the network's calendars, cut-offs and timetables
into sorted int64 UTC-ns arrays for a window of TRANSPORT_WINDOW_DAYS
(resolving time zones, DST and holidays with zoneinfo, here and only here),
and `_core/transport.pyx` answers each EDT with a few binary searches. When
a ready time falls outside the window the tables are rebuilt around it; the
answers never depend on where the window starts (see `_Layout.build`).

One EDT, step by step (docs/config.md, "Transport", says the same for
operators):

1. ready = max(as_of, supply ETA).
2. accepted = the first instant >= ready in the node's working time on a
   day before the service's cut-off (an order after the cut-off, or on a
   non-working day, is taken when the node next opens).
3. dock = accepted + processing_minutes of the node's working time.
4. departure = the lane's first departure at or after dock whose own
   cut-off is not before `accepted` (timetable or daily pickup), or dock
   itself for an on-demand lane. A later departure that arrives sooner wins.
5. arrival = the timetable's arrival, or departure + transit (hours, or
   working days of the destination calendar at the lane's arrival time).
6. earliest = the first instant >= arrival in the destination's receiving
   calendar; latest = the same for arrival + transit_spread_hours.
"""

from __future__ import annotations

import datetime as dt
import enum
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dompromise._core.transport import EDT_FLAG, EDT_STATUS, NEVER, TransportTables
from dompromise.limits import TRANSIT_SPREAD_HOURS_MAX, TRANSPORT_HORIZON_DAYS, TRANSPORT_WINDOW_DAYS
from dompromise.model.network import Network
from dompromise.model.transport import Calendar, Lane, LocalTime, NodeShipping, TransportNetwork, ZoneIndex

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


class EdtStatus(enum.IntEnum):
    """Outcome of one EDT (numbers equal the core's EdtStatus)."""

    OK = EDT_STATUS["OK"]
    # Nothing is delivered within TRANSPORT_HORIZON_DAYS of the ready time.
    NO_DELIVERY = EDT_STATUS["NO_DELIVERY"]


_STATUSES = {int(status): status for status in EdtStatus}
_OUT_OF_WINDOW = EDT_STATUS["OUT_OF_WINDOW"]
_FLAG_ORDER_CUTOFF = EDT_FLAG["ORDER_CUTOFF_MISSED"]
_FLAG_DEPARTURE_CUTOFF = EDT_FLAG["DEPARTURE_CUTOFF_MISSED"]


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

    def is_working_day(self, calendar: Calendar, day: dt.date) -> bool:
        key = (calendar.calendar_id, day.toordinal())
        found = self._working.get(key)
        if found is None:
            found = self._working[key] = calendar.is_working_day(day)
        return found

    def nth_working_day_after(self, calendar: Calendar, day: dt.date, count: int) -> dt.date | None:
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
class _IntervalSet:
    """Working time of `calendar` in `timezone`, each day cut at `cutoff` if set."""

    calendar: Calendar
    timezone: str
    cutoff: LocalTime | None


@dataclass(frozen=True)
class _Destination:
    """Where a lane delivers: its receiving calendar and timezone."""

    calendar: Calendar
    timezone: str
    receive_set: int


@dataclass(frozen=True)
class CoreLane:
    """One lane of the core tables: a configured lane, or a node's click-and-collect."""

    index: int
    lane: Lane | None  # None: click-and-collect at `node_id`
    node_id: str
    service: str
    timezone: str  # the destination's: local dates of answers are in it
    cost_minor: int  # per shipment; 0 for click-and-collect


class _Layout:
    """Core lanes and interval sets of a network, in a stable order; builds tables for a window."""

    def __init__(self, network: Network):
        transport = network.transport
        assert transport is not None, "the network has no transport section"
        self.transport: TransportNetwork = transport
        self._calendars = {calendar.calendar_id: calendar for calendar in transport.calendars}
        self._shipping = {shipping.node_id: shipping for shipping in transport.node_shipping}
        self._node_timezones = {node.node_id: node.timezone for node in network.nodes}
        self._zones = {zone.zone_id: zone for zone in transport.zones}
        self.sets: list[_IntervalSet] = []
        self._set_index: dict[tuple[str, str, int | None], int] = {}
        self.lanes: list[CoreLane] = []
        self.lane_by_key: dict[tuple[str, str, str, str], int] = {}
        self.collect_lane_by_node: dict[str, int] = {}
        # Per core lane: (work set, accept set, destination, processing minutes).
        self._plans: list[tuple[int, int, _Destination, int]] = []
        for lane in transport.lanes:
            self._add_lane(lane)
        for shipping in transport.node_shipping:
            if shipping.click_and_collect:
                self._add_collect_lane(shipping)

    # ---- layout ---------------------------------------------------------

    def _interval_set(self, calendar: Calendar, timezone: str, cutoff: LocalTime | None) -> int:
        key = (calendar.calendar_id, timezone, None if cutoff is None else cutoff.minute_of_day)
        index = self._set_index.get(key)
        if index is None:
            index = self._set_index[key] = len(self.sets)
            self.sets.append(_IntervalSet(calendar, timezone, cutoff))
        return index

    def _origin_sets(self, shipping: NodeShipping, service: str) -> tuple[int, int]:
        calendar = self._calendars[shipping.calendar_id]
        timezone = self._node_timezones[shipping.node_id]
        work_set = self._interval_set(calendar, timezone, None)
        cutoff = shipping.cutoffs.get(service)
        accept_set = work_set if cutoff is None else self._interval_set(calendar, timezone, cutoff)
        return work_set, accept_set

    def _node_destination(self, node_id: str) -> _Destination:
        shipping = self._shipping[node_id]
        calendar = self._calendars[shipping.calendar_id]
        timezone = self._node_timezones[node_id]
        return _Destination(calendar, timezone, self._interval_set(calendar, timezone, None))

    def _add_lane(self, lane: Lane) -> None:
        shipping = self._shipping[lane.from_node_id]
        work_set, accept_set = self._origin_sets(shipping, lane.service)
        if lane.to_zone_id is not None:
            zone = self._zones[lane.to_zone_id]
            calendar = self._calendars[zone.calendar_id]
            destination = _Destination(calendar, zone.timezone, self._interval_set(calendar, zone.timezone, None))
        else:
            assert lane.to_node_id is not None, "a lane goes to a zone or to a node"
            destination = self._node_destination(lane.to_node_id)
        self.lane_by_key[lane.key] = len(self.lanes)
        self.lanes.append(
            CoreLane(len(self.lanes), lane, lane.from_node_id, lane.service, destination.timezone, lane.cost_minor)
        )
        self._plans.append((work_set, accept_set, destination, shipping.processing_minutes))

    def _add_collect_lane(self, shipping: NodeShipping) -> None:
        # The customer collects at the node during its working time: an
        # on-demand lane from the node to itself with no transit.
        work_set, accept_set = self._origin_sets(shipping, COLLECT_SERVICE)
        destination = self._node_destination(shipping.node_id)
        self.collect_lane_by_node[shipping.node_id] = len(self.lanes)
        self.lanes.append(CoreLane(len(self.lanes), None, shipping.node_id, COLLECT_SERVICE, destination.timezone, 0))
        self._plans.append((work_set, accept_set, destination, shipping.processing_minutes))

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
        for core_lane, plan in zip(self.lanes, self._plans):
            rows = [] if core_lane.lane is None else self._lane_departures(core_lane.lane, plan[2], days, cache)
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
        self, lane: Lane, destination: _Destination, days: list[dt.date], cache: _BuildCache
    ) -> list[tuple[int, int, int]]:
        """(departure, cut-off, arrival) ns of every departure on the node's working days."""
        shipping = self._shipping[lane.from_node_id]
        calendar = self._calendars[shipping.calendar_id]
        timezone = self._node_timezones[lane.from_node_id]
        rows = []
        for day in days:
            if not cache.is_working_day(calendar, day):
                continue  # nothing leaves a closed node, not even a fixed route
            if lane.departures:
                for departure in lane.departures:
                    if day.weekday() in departure.weekdays:
                        leaves_ns = cache.at(day, departure.leaves.minute_of_day, timezone)
                        cutoff = departure.cutoff
                        cutoff_ns = leaves_ns if cutoff is None else cache.at(day, cutoff.minute_of_day, timezone)
                        arrival_ns = _arrival_ns(
                            day, departure.arrival_day_offset, departure.arrives, destination, cache
                        )
                        rows.append((leaves_ns, min(cutoff_ns, leaves_ns), max(arrival_ns, leaves_ns)))
            elif lane.pickup is not None:
                leaves_ns = cache.at(day, lane.pickup.minute_of_day, timezone)
                if lane.transit_working_days is not None:
                    arrival_ns = _arrival_ns(
                        day, lane.transit_working_days, lane.arrives or LocalTime(0), destination, cache
                    )
                else:
                    arrival_ns = leaves_ns + (lane.transit_hours or 0) * NS_PER_HOUR
                rows.append((leaves_ns, leaves_ns, max(arrival_ns, leaves_ns)))
        return rows


def build_tables(network: Network, base_date: dt.date) -> TransportTables:
    """The core tables of a network's transport for ready times from `base_date` 00:00 UTC.

    `EdtCalculator` builds and swaps these itself; this is for tools and tests.
    """
    return _Layout(network).build(base_date)


def _dates(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range(count)]


def _set_intervals(interval_set: _IntervalSet, days: list[dt.date], cache: _BuildCache) -> Iterator[tuple[int, int]]:
    """(open, close) ns of each working day of the set, cut at its cut-off."""
    calendar, timezone = interval_set.calendar, interval_set.timezone
    opens_minute, closes_minute = calendar.opening_minutes()
    if interval_set.cutoff is not None:
        closes_minute = min(closes_minute, interval_set.cutoff.minute_of_day)
    if closes_minute <= opens_minute:
        return
    for day in days:
        if cache.is_working_day(calendar, day):
            opens_ns = cache.at(day, opens_minute, timezone)
            closes_ns = cache.at(day, closes_minute, timezone)
            if opens_ns < closes_ns:  # an hour DST skipped can swallow a short day
                yield opens_ns, closes_ns


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


class Edt(NamedTuple):
    """One delivery estimate. Instants are UTC ns; None when not delivered.

    `legs` holds the transfer and onward answers of `EdtCalculator.edt_via`.
    A NamedTuple rather than a frozen dataclass: built on every promise, and
    five times cheaper to build.
    """

    status: EdtStatus
    lane_index: int
    ready_ns: int
    accepted_ns: int | None
    departure_ns: int | None
    earliest_ns: int | None
    latest_ns: int | None
    timezone: str  # the destination's
    order_cutoff_missed: bool
    departure_cutoff_missed: bool
    cost_minor: int
    legs: tuple[Edt, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == EdtStatus.OK

    @property
    def earliest_local_date(self) -> dt.date | None:
        """The earliest delivery's date where it is delivered."""
        return None if self.earliest_ns is None else local_datetime(self.earliest_ns, self.timezone).date()

    @property
    def latest_local_date(self) -> dt.date | None:
        return None if self.latest_ns is None else local_datetime(self.latest_ns, self.timezone).date()


@dataclass(frozen=True)
class EdtBatch:
    """Answers of `EdtCalculator.edt_many`, one entry per item (NEVER when not delivered)."""

    status: npt.NDArray[np.int8]  # EdtStatus
    flags: npt.NDArray[np.int8]  # bits: 1 order cut-off missed, 2 departure cut-off missed
    departure_ns: npt.NDArray[np.int64]
    earliest_ns: npt.NDArray[np.int64]
    latest_ns: npt.NDArray[np.int64]


def _known(at_ns: int) -> int | None:
    return None if at_ns == NEVER else at_ns


class EdtCalculator:
    """EDTs over one network's transport section; deterministic, never reads a clock.

    Not thread-safe for concurrent rebuilds, but a rebuild only swaps in a
    new immutable table, so concurrent readers see old or new, both right.
    """

    # Tables kept for distinct windows, so alternating past and present
    # queries do not rebuild every time.
    TABLES_KEPT = 3

    def __init__(self, network: Network):
        self._layout = _Layout(network)
        self._zone_index = ZoneIndex(self._layout.transport.zones)
        self._tables: dict[dt.date, TransportTables] = {}
        self._last: TransportTables | None = None  # the one used last: most queries are "now"

    # ---- lookups ----------------------------------------------------------

    @property
    def lanes(self) -> tuple[CoreLane, ...]:
        """Every core lane, index order: the configured lanes, then click-and-collect."""
        return tuple(self._layout.lanes)

    def lane_index(
        self, node_id: str, service: str, *, zone_id: str | None = None, to_node_id: str | None = None
    ) -> int:
        """The core lane of (node, service, destination); KeyError if there is none."""
        if (zone_id is None) == (to_node_id is None):
            raise ValueError("give exactly one of zone_id and to_node_id")
        if zone_id is not None:
            return self._layout.lane_by_key[(node_id, "zone", zone_id, service)]
        assert to_node_id is not None, "checked above: exactly one is given"
        return self._layout.lane_by_key[(node_id, "node", to_node_id, service)]

    def collect_lane_index(self, node_id: str) -> int:
        """The click-and-collect lane of a node; KeyError if it offers none."""
        return self._layout.collect_lane_by_node[node_id]

    def lanes_from(self, node_id: str) -> list[CoreLane]:
        return [core_lane for core_lane in self._layout.lanes if core_lane.node_id == node_id]

    def zone_for_postal_code(self, postal_code: str, country_code: str = "") -> str | None:
        return self._zone_index.zone_for_postal_code(postal_code, country_code)

    def zone_for_region(self, region: str, country_code: str = "") -> str | None:
        return self._zone_index.zone_for_region(region, country_code)

    # ---- EDT --------------------------------------------------------------

    def edt(
        self,
        node_id: str,
        service: str,
        *,
        as_of_ns: int,
        zone_id: str | None = None,
        to_node_id: str | None = None,
        supply_eta_ns: int | None = None,
    ) -> Edt:
        """EDT of goods at `node_id` shipped by `service` to a zone or a node."""
        lane = self.lane_index(node_id, service, zone_id=zone_id, to_node_id=to_node_id)
        return self.edt_lane(lane, as_of_ns=as_of_ns, supply_eta_ns=supply_eta_ns)

    def collect_edt(self, node_id: str, *, as_of_ns: int, supply_eta_ns: int | None = None) -> Edt:
        """When goods at `node_id` (or arriving there at supply_eta_ns) can be collected there."""
        return self.edt_lane(self.collect_lane_index(node_id), as_of_ns=as_of_ns, supply_eta_ns=supply_eta_ns)

    def edt_lane(self, lane_index: int, *, as_of_ns: int, supply_eta_ns: int | None = None) -> Edt:
        ready_ns = as_of_ns if supply_eta_ns is None else max(as_of_ns, supply_eta_ns)
        status, flags, accepted_ns, _, departure_ns, _, earliest_ns, latest_ns = self.tables_for(ready_ns).edt(
            lane_index, ready_ns
        )
        assert status != _OUT_OF_WINDOW, "tables_for covers the ready time"
        core_lane = self._layout.lanes[lane_index]
        delivered = status == EdtStatus.OK
        return Edt(
            _STATUSES[status],
            lane_index,
            ready_ns,
            _known(accepted_ns),
            _known(departure_ns),
            earliest_ns if delivered else None,
            latest_ns if delivered else None,
            core_lane.timezone,
            bool(flags & _FLAG_ORDER_CUTOFF),
            bool(flags & _FLAG_DEPARTURE_CUTOFF),
            core_lane.cost_minor,
        )

    def edt_via(
        self,
        node_id: str,
        transfer_service: str,
        hub_node_id: str,
        service: str,
        *,
        as_of_ns: int,
        zone_id: str | None = None,
        to_node_id: str | None = None,
        supply_eta_ns: int | None = None,
    ) -> Edt:
        """A transfer lane to `hub_node_id`, then onward by `service`: the hub's
        cut-off, processing and departures apply to the goods once they arrive.

        Earliest follows the transfer's earliest arrival; latest follows its latest.
        """
        transfer = self.edt(
            node_id, transfer_service, to_node_id=hub_node_id, as_of_ns=as_of_ns, supply_eta_ns=supply_eta_ns
        )
        if not transfer.ok:
            return _with_legs(transfer, (transfer,))
        onward_lane = self.lane_index(hub_node_id, service, zone_id=zone_id, to_node_id=to_node_id)
        onward = self.edt_lane(onward_lane, as_of_ns=as_of_ns, supply_eta_ns=transfer.earliest_ns)
        onward_late = self.edt_lane(onward_lane, as_of_ns=as_of_ns, supply_eta_ns=transfer.latest_ns)
        if not (onward.ok and onward_late.ok):
            return _with_legs(onward if not onward.ok else onward_late, (transfer, onward))
        return Edt(
            status=EdtStatus.OK,
            lane_index=onward_lane,
            ready_ns=transfer.ready_ns,
            accepted_ns=transfer.accepted_ns,
            departure_ns=transfer.departure_ns,
            earliest_ns=onward.earliest_ns,
            latest_ns=onward_late.latest_ns,
            timezone=onward.timezone,
            order_cutoff_missed=transfer.order_cutoff_missed or onward.order_cutoff_missed,
            departure_cutoff_missed=transfer.departure_cutoff_missed or onward.departure_cutoff_missed,
            cost_minor=transfer.cost_minor + onward.cost_minor,
            legs=(transfer, onward),
        )

    def edt_many(self, lanes: npt.ArrayLike, as_of_ns: int, supply_eta_ns: npt.ArrayLike | None = None) -> EdtBatch:
        """EDTs of many (lane, supply ETA) items at one as-of time, in one core call per window."""
        lanes = np.ascontiguousarray(lanes, dtype=np.int32)
        ready_ns = np.full(len(lanes), as_of_ns, dtype=np.int64)
        if supply_eta_ns is not None:
            ready_ns = np.maximum(ready_ns, np.asarray(supply_eta_ns, dtype=np.int64))
        batch = EdtBatch(
            status=np.empty(len(lanes), dtype=np.int8),
            flags=np.empty(len(lanes), dtype=np.int8),
            departure_ns=np.empty(len(lanes), dtype=np.int64),
            earliest_ns=np.empty(len(lanes), dtype=np.int64),
            latest_ns=np.empty(len(lanes), dtype=np.int64),
        )
        pending = np.arange(len(lanes))
        while len(pending):
            # Items whose ready time is past this window get their own (rare: far-off ETAs).
            tables = self.tables_for(int(ready_ns[pending[0]]))
            in_window = (ready_ns[pending] >= tables.ready_start_ns) & (ready_ns[pending] < tables.ready_end_ns)
            chosen = pending[in_window]
            columns: tuple[npt.NDArray[np.int8] | npt.NDArray[np.int64], ...] = (
                batch.status,
                batch.flags,
                batch.departure_ns,
                batch.earliest_ns,
                batch.latest_ns,
            )
            outputs = [np.empty(len(chosen), dtype=array.dtype) for array in columns]
            tables.edt_many(np.ascontiguousarray(lanes[chosen]), np.ascontiguousarray(ready_ns[chosen]), *outputs)
            for target, output in zip(columns, outputs):
                target[chosen] = output
            pending = pending[~in_window]
        return batch

    # ---- tables -----------------------------------------------------------

    def tables_for(self, ready_ns: int) -> TransportTables:
        """Tables whose window holds `ready_ns`, built on first need."""
        last = self._last
        if last is not None and last.ready_start_ns <= ready_ns < last.ready_end_ns:
            return last
        for tables in self._tables.values():
            if tables.ready_start_ns <= ready_ns < tables.ready_end_ns:
                self._last = tables
                return tables
        base_date = window_base_date(ready_ns)
        tables = self._layout.build(base_date)
        if len(self._tables) >= self.TABLES_KEPT:
            self._tables.pop(next(iter(self._tables)))
        self._tables[base_date] = tables
        self._last = tables
        return tables


def _with_legs(edt: Edt, legs: tuple[Edt, ...]) -> Edt:
    return edt._replace(legs=legs)
