# cython: language_level=3
"""EDT tables: binary searches over precomputed departures and calendars.

Pure and deterministic: no clock, no I/O, no time zones. Python
(dompromise.promise.edt) expands calendars, cut-offs and timetables into sorted
int64 UTC-ns arrays for a window of days, resolving DST and holidays with
zoneinfo; here an EDT is a handful of binary searches, O(log k) in the
departures and working intervals of one lane, with no Python objects.
"""

from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t

import numpy as np

cdef extern from *:
    """
    #ifndef DOMPROMISE_DEBUG
    #define DOMPROMISE_DEBUG 0
    #endif
    """
    # Set by `DOMPROMISE_DEBUG=1 pip install -e .`: re-checks every answer.
    const bint DOMPROMISE_DEBUG

# "Never": past every table. Larger than any real instant, so max() and
# comparisons with a limit need no special case.
cdef int64_t NEVER_NS = INT64_MAX

EDT_STATUS = {"OK": EDT_OK, "OUT_OF_WINDOW": EDT_OUT_OF_WINDOW, "NO_DELIVERY": EDT_NO_DELIVERY}
EDT_FLAG = {
    "ORDER_CUTOFF_MISSED": EDT_FLAG_ORDER_CUTOFF_MISSED,
    "DEPARTURE_CUTOFF_MISSED": EDT_FLAG_DEPARTURE_CUTOFF_MISSED,
}
NEVER = NEVER_NS

# What _first_disorder found.
cdef enum:
    ORDER_OK = 0
    ORDER_EMPTY_INTERVAL = 1
    ORDER_OVERLAPPING_INTERVALS = 2
    ORDER_ARRIVES_BEFORE_LEAVING = 3
    ORDER_CUTOFF_AFTER_DEPARTURE = 4
    ORDER_UNSORTED_DEPARTURES = 5

_DISORDER_MESSAGES = {
    ORDER_EMPTY_INTERVAL: "interval {} is empty",
    ORDER_OVERLAPPING_INTERVALS: "interval {} overlaps or precedes the one before it in its set",
    ORDER_ARRIVES_BEFORE_LEAVING: "departure {} arrives before it leaves",
    ORDER_CUTOFF_AFTER_DEPARTURE: "departure {} closes to orders after it leaves",
    ORDER_UNSORTED_DEPARTURES: "departure {} leaves or closes before the one before it on its lane",
}


cdef inline Py_ssize_t _first_at_or_above(const int64_t* values, Py_ssize_t low, Py_ssize_t high,
                                          int64_t at_ns) noexcept nogil:
    """First index in [low, high) whose value is >= at_ns; high when none is."""
    cdef Py_ssize_t middle
    while low < high:
        middle = low + ((high - low) >> 1)
        if values[middle] < at_ns:
            low = middle + 1
        else:
            high = middle
    return low


cdef inline int64_t _max(int64_t a, int64_t b) noexcept nogil:
    return a if a > b else b


cdef inline int64_t _add(int64_t at_ns, int64_t duration_ns) noexcept nogil:
    """at_ns + duration_ns (duration >= 0), staying NEVER_NS instead of overflowing."""
    if at_ns > NEVER_NS - duration_ns:
        return NEVER_NS
    return at_ns + duration_ns


cdef inline bint _is_sound(int64_t ready_ns, const EdtResult* result) noexcept nogil:
    """The chain of an OK answer never goes back in time (checked in debug builds)."""
    if result.status != EDT_OK:
        return True
    return (ready_ns <= result.accepted_ns <= result.dock_ns <= result.departure_ns
            and result.departure_ns <= result.arrival_ns <= result.earliest_ns <= result.latest_ns)


cdef class TransportTables:
    """Precomputed transport tables for one window of days; read-only once built.

    Build it with `dompromise.promise.edt.build_tables`; the arguments are the
    arrays described in transport.pxd, checked here once.
    """

    def __init__(self, int64_t ready_start_ns, int64_t ready_end_ns, int64_t horizon_ns, *,
                 open_ns, close_ns, set_start,
                 lane_work_set, lane_accept_set, lane_receive_set,
                 lane_processing_ns, lane_transit_ns, lane_spread_ns,
                 departure_start, departure_ns, cutoff_ns, arrival_ns):
        cdef int kind = ORDER_OK
        cdef Py_ssize_t where
        if not ready_start_ns < ready_end_ns or horizon_ns <= 0:
            raise ValueError("empty ready window or horizon")
        self.ready_start_ns, self.ready_end_ns, self.horizon_ns = ready_start_ns, ready_end_ns, horizon_ns
        arrays = {
            "open_ns": _int64(open_ns), "close_ns": _int64(close_ns), "set_start": _int32(set_start),
            "lane_work_set": _int32(lane_work_set), "lane_accept_set": _int32(lane_accept_set),
            "lane_receive_set": _int32(lane_receive_set), "lane_processing_ns": _int64(lane_processing_ns),
            "lane_transit_ns": _int64(lane_transit_ns), "lane_spread_ns": _int64(lane_spread_ns),
            "departure_start": _int32(departure_start), "departure_ns": _int64(departure_ns),
            "cutoff_ns": _int64(cutoff_ns), "arrival_ns": _int64(arrival_ns),
        }
        self.lane_count = len(arrays["lane_work_set"])
        self.interval_set_count = len(arrays["set_start"]) - 1
        _check_shapes(arrays, self.lane_count, self.interval_set_count)
        arrays["best_arrival_ns"] = _read_only(np.empty(len(arrays["departure_ns"]), dtype=np.int64))
        arrays["best_departure"] = _read_only(np.empty(len(arrays["departure_ns"]), dtype=np.int32))
        self._arrays = arrays
        self._point_at(arrays)
        with nogil:
            where = self._first_disorder(&kind)
        if kind != ORDER_OK:
            raise ValueError(_DISORDER_MESSAGES[kind].format(where))
        with nogil:
            self._fill_best_arrivals()

    cdef void _point_at(self, dict arrays) except *:
        self._open_ns = <const int64_t*>_address(arrays["open_ns"])
        self._close_ns = <const int64_t*>_address(arrays["close_ns"])
        self._set_start = <const int32_t*>_address(arrays["set_start"])
        self._lane_work_set = <const int32_t*>_address(arrays["lane_work_set"])
        self._lane_accept_set = <const int32_t*>_address(arrays["lane_accept_set"])
        self._lane_receive_set = <const int32_t*>_address(arrays["lane_receive_set"])
        self._lane_processing_ns = <const int64_t*>_address(arrays["lane_processing_ns"])
        self._lane_transit_ns = <const int64_t*>_address(arrays["lane_transit_ns"])
        self._lane_spread_ns = <const int64_t*>_address(arrays["lane_spread_ns"])
        self._departure_start = <const int32_t*>_address(arrays["departure_start"])
        self._departure_ns = <const int64_t*>_address(arrays["departure_ns"])
        self._cutoff_ns = <const int64_t*>_address(arrays["cutoff_ns"])
        self._arrival_ns = <const int64_t*>_address(arrays["arrival_ns"])
        # Written once by _fill_best_arrivals, through the pointer (numpy's flag only guards Python).
        self._best_arrival_ns = <int64_t*>_address(arrays["best_arrival_ns"])
        self._best_departure = <int32_t*>_address(arrays["best_departure"])

    # ---- checks and derived arrays, once at build -----------------------

    cdef Py_ssize_t _first_disorder(self, int* kind) noexcept nogil:
        """Index of the first interval or departure out of order (kind says how); -1 if none.

        The binary searches are only right over sorted, disjoint data.
        """
        cdef Py_ssize_t s, i, lane
        for s in range(self.interval_set_count):
            for i in range(self._set_start[s], self._set_start[s + 1]):
                if self._open_ns[i] >= self._close_ns[i]:
                    kind[0] = ORDER_EMPTY_INTERVAL
                    return i
                if i > self._set_start[s] and self._open_ns[i] < self._close_ns[i - 1]:
                    kind[0] = ORDER_OVERLAPPING_INTERVALS
                    return i
        for lane in range(self.lane_count):
            for i in range(self._departure_start[lane], self._departure_start[lane + 1]):
                if self._arrival_ns[i] < self._departure_ns[i]:
                    kind[0] = ORDER_ARRIVES_BEFORE_LEAVING
                    return i
                if self._cutoff_ns[i] > self._departure_ns[i]:
                    kind[0] = ORDER_CUTOFF_AFTER_DEPARTURE
                    return i
                if i > self._departure_start[lane] and (self._departure_ns[i] < self._departure_ns[i - 1]
                                                         or self._cutoff_ns[i] < self._cutoff_ns[i - 1]):
                    kind[0] = ORDER_UNSORTED_DEPARTURES
                    return i
        kind[0] = ORDER_OK
        return -1

    cdef void _fill_best_arrivals(self) noexcept nogil:
        """Suffix minimum of arrivals per lane: board any later departure, arrive first."""
        cdef Py_ssize_t lane, i, low, high
        cdef int64_t best_ns
        cdef int32_t best
        for lane in range(self.lane_count):
            low, high = self._departure_start[lane], self._departure_start[lane + 1]
            best_ns, best = NEVER_NS, -1
            for i in range(high - 1, low - 1, -1):
                if self._arrival_ns[i] <= best_ns:  # a tie goes to the earlier departure
                    best_ns, best = self._arrival_ns[i], <int32_t>i
                self._best_arrival_ns[i] = best_ns
                self._best_departure[i] = best

    # ---- the kernels ----------------------------------------------------

    cdef int64_t _next_open(self, Py_ssize_t interval_set, int64_t at_ns) noexcept nogil:
        """First instant >= at_ns inside an interval of the set; NEVER_NS past the tables.

        Intervals count as closed, [open, close]: an order at the cut-off
        instant itself is still taken, a delivery at closing time still made.
        """
        cdef Py_ssize_t high = self._set_start[interval_set + 1]
        cdef Py_ssize_t i = _first_at_or_above(self._close_ns, self._set_start[interval_set], high, at_ns)
        if i == high:
            return NEVER_NS
        return _max(at_ns, self._open_ns[i])

    cdef int64_t _add_working(self, Py_ssize_t interval_set, int64_t at_ns, int64_t duration_ns,
                              int64_t limit_ns) noexcept nogil:
        """at_ns plus duration_ns of the set's working time; NEVER_NS past limit_ns.

        Processing can span several working days: walk the intervals, at
        most until the limit, which bounds the loop.
        """
        cdef Py_ssize_t high = self._set_start[interval_set + 1]
        cdef Py_ssize_t i = _first_at_or_above(self._close_ns, self._set_start[interval_set], high, at_ns)
        cdef int64_t current_ns, available_ns, remaining_ns = duration_ns
        if i == high:
            return NEVER_NS
        current_ns = _max(at_ns, self._open_ns[i])
        while True:
            available_ns = self._close_ns[i] - current_ns
            if remaining_ns <= available_ns:
                return current_ns + remaining_ns
            remaining_ns -= available_ns
            i += 1
            if i == high or self._open_ns[i] > limit_ns:
                return NEVER_NS
            current_ns = self._open_ns[i]

    cdef Py_ssize_t next_departure(self, Py_ssize_t lane, int64_t at_ns) noexcept nogil:
        """Index (into all lanes' departures) of the lane's first departure at or after at_ns; -1 if none."""
        cdef Py_ssize_t high = self._departure_start[lane + 1]
        cdef Py_ssize_t i = _first_at_or_above(self._departure_ns, self._departure_start[lane], high, at_ns)
        return -1 if i == high else i

    cdef void edt_one(self, Py_ssize_t lane, int64_t ready_ns, EdtResult* result) noexcept nogil:
        """ready -> accepted (cut-off) -> dock (processing) -> departure -> arrival -> delivered.

        Every step is a non-decreasing function of the one before, so a later
        ready time never gives an earlier delivery.
        """
        cdef int64_t limit_ns = ready_ns + self.horizon_ns
        cdef Py_ssize_t low, high, by_dock, by_cutoff, i
        result.flags = 0
        result.accepted_ns = result.dock_ns = result.departure_ns = NEVER_NS
        result.arrival_ns = result.earliest_ns = result.latest_ns = NEVER_NS
        if ready_ns < self.ready_start_ns or ready_ns >= self.ready_end_ns:
            result.status = EDT_OUT_OF_WINDOW
            return
        result.status = EDT_NO_DELIVERY
        result.accepted_ns = self._next_open(self._lane_accept_set[lane], ready_ns)
        if result.accepted_ns > limit_ns:
            return
        # Acceptance time is working time cut at the cut-off: later than the
        # working time alone means the cut-off pushed the order to the next day.
        if result.accepted_ns > self._next_open(self._lane_work_set[lane], ready_ns):
            result.flags |= EDT_FLAG_ORDER_CUTOFF_MISSED
        result.dock_ns = self._add_working(self._lane_work_set[lane], result.accepted_ns,
                                           self._lane_processing_ns[lane], limit_ns)
        if result.dock_ns > limit_ns:
            return
        if self._lane_transit_ns[lane] >= 0:  # on demand: leaves when the goods are ready
            result.departure_ns = result.dock_ns
            result.arrival_ns = result.dock_ns + self._lane_transit_ns[lane]
        else:
            low, high = self._departure_start[lane], self._departure_start[lane + 1]
            by_dock = _first_at_or_above(self._departure_ns, low, high, result.dock_ns)
            by_cutoff = _first_at_or_above(self._cutoff_ns, low, high, result.accepted_ns)
            if by_cutoff > by_dock:
                result.flags |= EDT_FLAG_DEPARTURE_CUTOFF_MISSED
            i = by_cutoff if by_cutoff > by_dock else by_dock
            if i == high:
                return
            result.departure_ns = self._departure_ns[self._best_departure[i]]
            result.arrival_ns = self._best_arrival_ns[i]
        if result.arrival_ns > limit_ns:
            return
        result.earliest_ns = self._next_open(self._lane_receive_set[lane], result.arrival_ns)
        result.latest_ns = self._next_open(self._lane_receive_set[lane],
                                           _add(result.arrival_ns, self._lane_spread_ns[lane]))
        # Both limits are inside the tables (edt.py sizes them so): an answer
        # never depends on where the window happens to start.
        if result.earliest_ns > limit_ns or result.latest_ns > _add(limit_ns, self._lane_spread_ns[lane]):
            return
        result.status = EDT_OK

    # ---- Python entry points --------------------------------------------

    def edt(self, Py_ssize_t lane, int64_t ready_ns):
        """(status, flags, accepted_ns, dock_ns, departure_ns, arrival_ns, earliest_ns, latest_ns)."""
        cdef EdtResult result
        _check_lane(lane, self.lane_count)
        self.edt_one(lane, ready_ns, &result)
        if DOMPROMISE_DEBUG:
            assert _is_sound(ready_ns, &result), "EDT went back in time"
        return (result.status, result.flags, result.accepted_ns, result.dock_ns, result.departure_ns,
                result.arrival_ns, result.earliest_ns, result.latest_ns)

    def edt_many(self, const int32_t[::1] lanes, const int64_t[::1] ready_ns, int8_t[::1] status,
                 int8_t[::1] flags, int64_t[::1] departure_ns, int64_t[::1] earliest_ns,
                 int64_t[::1] latest_ns):
        """EDT of item i: lane lanes[i], goods ready at ready_ns[i]; answers into the out arrays."""
        cdef Py_ssize_t i, count = lanes.shape[0]
        cdef bint bad_lane = False, unsound = False
        cdef EdtResult result
        if (ready_ns.shape[0] != count or status.shape[0] != count or flags.shape[0] != count
                or departure_ns.shape[0] != count or earliest_ns.shape[0] != count
                or latest_ns.shape[0] != count):
            raise ValueError("every array must have one entry per item")
        with nogil:
            for i in range(count):
                bad_lane = bad_lane or lanes[i] < 0 or lanes[i] >= self.lane_count
        if bad_lane:
            raise IndexError(f"a lane is out of range [0, {self.lane_count})")
        with nogil:
            for i in range(count):
                self.edt_one(lanes[i], ready_ns[i], &result)
                status[i] = result.status
                flags[i] = result.flags
                departure_ns[i] = result.departure_ns
                earliest_ns[i] = result.earliest_ns
                latest_ns[i] = result.latest_ns
                if DOMPROMISE_DEBUG:
                    unsound = unsound or not _is_sound(ready_ns[i], &result)
        assert not unsound, "EDT went back in time"

    def next_departures(self, Py_ssize_t lane, const int64_t[::1] at_ns, int32_t[::1] out_index):
        """out_index[i] = the lane's first departure at or after at_ns[i], counted within the
        lane as in `departures(lane)` (-1: none), all in one call."""
        cdef Py_ssize_t i, found, first = self._departure_start[lane] if 0 <= lane < self.lane_count else 0
        cdef Py_ssize_t count = at_ns.shape[0]
        _check_lane(lane, self.lane_count)
        if out_index.shape[0] != count:
            raise ValueError("out_index must have one entry per instant")
        with nogil:
            for i in range(count):
                found = self.next_departure(lane, at_ns[i])
                out_index[i] = <int32_t>(found - first if found >= 0 else -1)

    def departures(self, Py_ssize_t lane):
        """(departure_ns, cutoff_ns, arrival_ns) of one lane's departures: read-only views."""
        _check_lane(lane, self.lane_count)
        low, high = self._departure_start[lane], self._departure_start[lane + 1]
        arrays = self._arrays
        return arrays["departure_ns"][low:high], arrays["cutoff_ns"][low:high], arrays["arrival_ns"][low:high]

    @property
    def departure_count(self):
        """Departures of every lane in the window."""
        return int(self._departure_start[self.lane_count])

    @property
    def interval_count(self):
        """Working, acceptance and receiving intervals of every set in the window."""
        return int(self._set_start[self.interval_set_count])


cdef size_t _address(object array) except 0:
    # numpy allocates at least one byte even for an empty array: never 0.
    return <size_t>array.ctypes.data


def _read_only(array):
    # Python sees the tables read-only (departures() hands out views); the
    # kernels write best_* once through their pointers, before any read.
    array.flags.writeable = False
    return array


def _int64(values):
    return _read_only(np.array(values, dtype=np.int64, order="C", copy=True))


def _int32(values):
    return _read_only(np.array(values, dtype=np.int32, order="C", copy=True))


def _check_lane(Py_ssize_t lane, Py_ssize_t lane_count):
    if not 0 <= lane < lane_count:
        raise IndexError(f"lane {lane} out of range [0, {lane_count})")


def _check_shapes(dict arrays, Py_ssize_t lane_count, Py_ssize_t set_count):
    """Lengths and indices agree: what the unchecked pointer loops rely on."""
    for name, array in arrays.items():
        if array.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional")
    starts = arrays["set_start"]
    if len(starts) == 0 or starts[0] != 0 or (np.diff(starts) < 0).any():
        raise ValueError("set_start must start at 0 and never decrease")
    if len(arrays["open_ns"]) != starts[len(starts) - 1] or len(arrays["close_ns"]) != starts[len(starts) - 1]:
        raise ValueError("open_ns and close_ns must have as many entries as set_start ends at")
    for name in ("lane_accept_set", "lane_receive_set", "lane_processing_ns", "lane_transit_ns", "lane_spread_ns"):
        if len(arrays[name]) != lane_count:
            raise ValueError(f"{name} must have one entry per lane")
    for name in ("lane_work_set", "lane_accept_set", "lane_receive_set"):
        if ((arrays[name] < 0) | (arrays[name] >= set_count)).any():
            raise ValueError(f"{name} names an interval set that does not exist")
    if (arrays["lane_processing_ns"] < 0).any() or (arrays["lane_spread_ns"] < 0).any():
        raise ValueError("processing and spread must not be negative")
    starts = arrays["departure_start"]
    if len(starts) != lane_count + 1 or starts[0] != 0 or (np.diff(starts) < 0).any():
        raise ValueError("departure_start must have lane_count + 1 entries from 0, never decreasing")
    for name in ("departure_ns", "cutoff_ns", "arrival_ns"):
        if len(arrays[name]) != starts[len(starts) - 1]:
            raise ValueError(f"{name} must have as many entries as departure_start ends at")
