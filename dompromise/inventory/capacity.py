"""Daily shipping capacity: orders counted per (node, local day), and when a node next has room.

`transport.node_shipping[i].daily_capacity_orders` caps the orders a node
ships on one of its local days. An order is a reservation (one request) with
lines at the node: it counts 1 at the node on the node-local date of its log
time (of its backorder date for a line held against future supply) while it
is HELD, COMMITTED or SHIPPED; a released, expired or fully cancelled one
stops counting.

Deterministic: the counts change only inside Engine.apply_record, in log
order, from what the core's reservation rows say after each record, and
days older than CAPACITY_DAYS_KEPT before the log's clock are dropped by
that clock. So the counts are a function of the state and the log time:
a replica that replays the log and one that loads a snapshot
(`rebuild`) hold the same.

The promise asks `ready_ns(node, t)`: t itself when the node's day of t has
room, else the opening of its next working day (its shipping calendar) with
room, or None when no day within the look-ahead has.

Dated capacities (`node_shipping[i].dated_capacities`) and dated calendar
versions apply by the node-local day: the cap and the calendar of a day are
the versions in force at its local 00:00. Orders are counted the same way
whatever the cap; a cap only decides whether a day has room.
"""

from __future__ import annotations

import datetime as dt
import heapq
import zoneinfo
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.model.network import Network
from dompromise.model.transport import Calendar, Versions
from dompromise.reservations.book import LoadedArrays

# Days before the log clock's UTC date whose counts are kept (a day either
# side covers every UTC offset; older days are never asked about).
CAPACITY_DAYS_KEPT = 3
# Days after a full day searched for one with room; past them the node
# cannot ship the order (the promise's future-supply horizon).
CAPACITY_LOOKAHEAD_DAYS = 90

NS_PER_DAY = 86_400 * 10**9
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_STATE = _core.RESERVATION_STATE
_COUNTING = frozenset((_STATE["HELD"], _STATE["COMMITTED"], _STATE["SHIPPED"]))
_HELD = _STATE["HELD"]


class _Limited:
    """One node with a daily capacity: its caps over time, time zone and shipping calendar."""

    __slots__ = ("caps", "zone", "calendar", "day_start_ns", "day_end_ns", "day")

    def __init__(self, caps: Versions[int | None], timezone: str, calendar: Versions[Calendar] | None):
        self.caps = caps
        self.zone = zoneinfo.ZoneInfo(timezone)
        self.calendar = calendar
        # The local day last converted: [start, end) in UTC ns, and its date ordinal.
        self.day_start_ns = self.day_end_ns = 0
        self.day = 0

    def day_of(self, at_ns: int) -> int:
        """The local date ordinal of an instant; the last day's UTC bounds are kept,
        so most calls (one day's orders, one promise's ready times) compare two ints."""
        if self.day_start_ns <= at_ns < self.day_end_ns:
            return self.day
        day = self._convert(at_ns)
        date = dt.date.fromordinal(day)
        start = (dt.datetime(date.year, date.month, date.day, tzinfo=self.zone) - _EPOCH) // _MICROSECOND * 1000
        following = date + dt.timedelta(days=1)
        end = (
            (dt.datetime(following.year, following.month, following.day, tzinfo=self.zone) - _EPOCH)
            // _MICROSECOND
            * 1000
        )
        # Kept only when the bounds are exact (a zone whose midnight a DST change skips is not cached).
        if (
            start <= at_ns < end
            and self._convert(start) == day
            and self._convert(start - 1000) != day
            and self._convert(end - 1000) == day
            and self._convert(end) != day
        ):
            self.day_start_ns, self.day_end_ns, self.day = start, end, day
        return day

    def _convert(self, at_ns: int) -> int:
        return (_EPOCH + dt.timedelta(microseconds=at_ns // 1000)).astimezone(self.zone).toordinal()

    def cap_on(self, day: int) -> int | None:
        """The cap of a local date ordinal (None: no limit that day)."""
        if not self.caps.dated:
            return self.caps.default
        return self.caps.at(dt.datetime.combine(dt.date.fromordinal(day), dt.time()))

    def calendar_on(self, date: dt.date) -> Calendar | None:
        """The shipping calendar version of a local date (None: no calendar, every day works)."""
        if self.calendar is None:
            return None
        if not self.calendar.dated:
            return self.calendar.default
        return self.calendar.at(dt.datetime.combine(date, dt.time()))


def _full(count: int, cap: int | None) -> bool:
    return cap is not None and count >= cap


class CapacityCounts:
    """Orders per (node index, local date ordinal) of the nodes with a daily capacity."""

    def __init__(self, network: Network):
        self._limited: dict[int, _Limited] = {}
        transport = network.transport
        if transport is not None:
            index = {node.node_id: i for i, node in enumerate(network.nodes)}
            calendars = transport.calendar_versions()
            for shipping in transport.node_shipping:
                node = index.get(shipping.node_id)
                caps = shipping.capacity_versions()
                if any(cap is not None for cap in caps.all()) and node is not None:
                    self._limited[node] = _Limited(
                        caps, network.nodes[node].timezone, calendars.get(shipping.calendar_id)
                    )
        self.enabled = bool(self._limited)
        self.mask = np.zeros(len(network.nodes), dtype=bool)
        self.mask[list(self._limited)] = True
        self._counts: dict[tuple[int, int], int] = {}
        self._held: dict[int, tuple[tuple[int, int], ...]] = {}  # reservation -> the keys it counts at
        self._expiries: list[tuple[int, int]] = []  # (expire_ns, reservation) of counted HELD ones
        self._seen = 0  # reservations of the core looked at so far (new ones are appended)
        self._cutoff = -(2**62)  # oldest date ordinal kept
        # The log time of the last sync: a sync with nothing named, at the same log time and reservation count,
        # has nothing to do (None: the next one looks).
        self._synced_ns: int | None = None
        # node -> (day start ns, day end ns, room, opening ns or None) of the node-local day last asked about by
        # ready_ns: the answer for any instant of that day, as the counts stand (dropped whenever they change).
        # Kept only for a day whose bounds day_of found exact.
        self._ready_memo: dict[int, tuple[int, int, bool, int | None]] = {}

    # ---- reads ----------------------------------------------------------------

    def cap(self, node: int, day: dt.date) -> int | None:
        """The node's cap on a local date (None: no limit that day)."""
        limited = self._limited.get(node)
        return None if limited is None else limited.cap_on(day.toordinal())

    def count(self, node: int, day: dt.date) -> int:
        return self._counts.get((node, day.toordinal()), 0)

    def counts(self) -> dict[tuple[int, int], int]:
        """(node, date ordinal) -> orders, for tests and replica comparisons."""
        return {key: value for key, value in self._counts.items() if value}

    def day_of(self, node: int, at_ns: int) -> int:
        """The node-local date ordinal of an instant."""
        return self._limited[node].day_of(at_ns)

    def ready_ns(self, node: int, at_ns: int) -> int | None:
        """When goods ready at `at_ns` can be taken by the node: at_ns if its local
        day has room, else the opening of its next working day with room (the whole
        day when the calendar has no hours); None if none within the look-ahead.
        A promise asks about the same day of each limited node call after call: the
        answer for a day is kept until the counts change."""
        known = self._ready_memo.get(node)
        if known is not None and known[0] <= at_ns < known[1]:
            if known[2]:
                return at_ns
            opening_ns = known[3]
            return None if opening_ns is None else max(at_ns, opening_ns)
        limited = self._limited.get(node)
        if limited is None:
            return at_ns
        day = limited.day_of(at_ns)
        room, opening_ns = self._next_room(node, limited, day)
        if limited.day_start_ns <= at_ns < limited.day_end_ns:  # day_of kept the day's exact bounds
            self._ready_memo[node] = (limited.day_start_ns, limited.day_end_ns, room, opening_ns)
        if room:
            return at_ns
        return None if opening_ns is None else max(at_ns, opening_ns)

    def all_have_room(self, found: list[tuple[int, int, list[int]]]) -> bool:
        """Whether ready_ns(node, at_ns) == at_ns for every time of every (column, node, times) of `found`
        (PromiseScan.filled_ready's): no line of any column waits for a day with room. Nearly every promise:
        one call, the kept day of each node read here, ready_ns asked only about another day."""
        memo = self._ready_memo
        for _, node, times in found:
            known = memo.get(node)
            for at_ns in times:
                if known is not None and known[0] <= at_ns < known[1]:
                    if not known[2]:
                        return False
                elif self.ready_ns(node, at_ns) != at_ns:
                    return False
        return True

    def _next_room(self, node: int, limited: _Limited, day: int) -> tuple[bool, int | None]:
        """(True, None) when the node's local day (a date ordinal) has room, else (False, the opening of its
        next working day with room in UTC ns, or None when none has within the look-ahead)."""
        get = self._counts.get
        if not _full(get((node, day), 0), limited.cap_on(day)):
            return True, None
        for later in range(day + 1, day + 1 + CAPACITY_LOOKAHEAD_DAYS):
            date = dt.date.fromordinal(later)
            calendar = limited.calendar_on(date)
            if limited.calendar is not None and (calendar is None or not calendar.is_working_day(date)):
                continue
            if _full(get((node, later), 0), limited.cap_on(later)):
                continue
            opens = calendar.opening_minutes()[0] if calendar is not None else 0
            local = dt.datetime(date.year, date.month, date.day, opens // 60, opens % 60, tzinfo=limited.zone)
            return False, (local - _EPOCH) // _MICROSECOND * 1000
        return False, None

    # ---- changes, in log order --------------------------------------------------

    def sync(self, core: _core.Core, create_ns_of: Callable[[int], int], touched: int = -1) -> None:
        """After a record: counts the new reservations, re-reads `touched` (a
        reservation the record named) and the held ones due to expire by the
        log's clock, and drops days past the kept window."""
        if not self.enabled:
            return
        now_ns = core.log_time_ns
        total = core.reservation_count
        if touched < 0 and now_ns == self._synced_ns and total == self._seen:
            return  # as of the last sync: no new reservation, nothing older to drop, no expiry due since
        self._drop_old(now_ns)
        for index in range(self._seen, total):
            self._refresh(core, index, create_ns_of(index))
        self._seen = total
        if 0 <= touched < total:
            self._refresh(core, touched, create_ns_of(touched))
        expiries = self._expiries
        due = []
        while expiries and expiries[0][0] <= now_ns:
            due.append(heapq.heappop(expiries)[1])
        for index in due:
            if index in self._held:
                self._refresh(core, index, create_ns_of(index))
        self._synced_ns = now_ns

    def rebuild(self, core: _core.Core, create_ns: npt.NDArray[np.int64], arrays: LoadedArrays) -> None:
        """The counts of a snapshot's state: every counting reservation with a line at a
        limited node on a kept day, read as sync() reads them."""
        if not self.enabled:
            return
        self._drop_old(core.log_time_ns)
        state = arrays["reservation_state"]
        first = arrays["reservation_first_line"]
        line_node, due = arrays["line_node"], arrays["line_due_ns"]
        # Each line's reservation (first lines ascend; a prefilter: _refresh reads the core's rows).
        owner = np.searchsorted(first, np.arange(len(line_node)), side="right") - 1
        owner = np.maximum(owner, 0)
        # Lines that may count: at a limited node, of a counting reservation, not before the window (a day of margin).
        at_ns = np.where(due > 0, due, create_ns[owner]) if len(owner) else due
        oldest_ns = (self._cutoff - _EPOCH_ORDINAL - 1) * NS_PER_DAY
        maybe = self.mask[line_node] & np.isin(state[owner], list(_COUNTING)) & (at_ns >= oldest_ns)
        for index in np.unique(owner[maybe]).tolist():
            self._refresh(core, index, int(create_ns[index]))
        self._seen = core.reservation_count
        self._synced_ns = None  # expiries due by now are popped by the next sync

    def _refresh(self, core: _core.Core, index: int, create_ns: int) -> None:
        """Re-reads one reservation from the core and moves its counts to what it now holds."""
        reservation = core.reservation_lists(index)
        assert reservation is not None, "a reservation the book counts is in the core"
        state, expire_ns, _, node, quantity, shipped, due_ns = reservation
        keys: tuple[tuple[int, int], ...] = ()
        if state in _COUNTING:
            limited, cutoff = self._limited, self._cutoff
            # Each (limited node, due) once: a wide order has few distinct ones.
            instants = {
                (n, due)
                for n, open_quantity, shipped_quantity, due in zip(node, quantity, shipped, due_ns)
                if open_quantity + shipped_quantity > 0 and n in limited
            }
            found = set()
            for n, due in instants:
                day = limited[n].day_of(due if due > 0 else create_ns)
                if day >= cutoff:
                    found.add((n, day))
            keys = tuple(sorted(found))
        old = self._held.pop(index, ())
        if old or keys:
            self._ready_memo.clear()
        counts = self._counts
        for key in old:
            left = counts[key] - 1
            if left:
                counts[key] = left
            else:
                del counts[key]
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        if keys:
            self._held[index] = keys
            if state == _HELD:  # re-read when the log's clock reaches its expiry
                heapq.heappush(self._expiries, (expire_ns, index))

    def _drop_old(self, now_ns: int) -> None:
        cutoff = _EPOCH_ORDINAL + now_ns // NS_PER_DAY - CAPACITY_DAYS_KEPT  # by the UTC date
        if cutoff <= self._cutoff:
            return
        self._cutoff = cutoff
        self._ready_memo.clear()
        self._counts = {key: value for key, value in self._counts.items() if key[1] >= cutoff}
        for index, keys in list(self._held.items()):
            kept = tuple(key for key in keys if key[1] >= cutoff)
            if len(kept) == len(keys):
                continue
            if kept:
                self._held[index] = kept
            else:
                del self._held[index]
