# cython: language_level=3
"""The promise kernel: single-node delivery options over the gathered matrix.

dompromise.promise.engine gathers, for the order's lines and the sellable nodes,
what each node has now and when future supply covers the rest; this module
turns that (line x node) matrix into what a node can ship (filled units and
their ready times), classifies every node (full, short, no lane, no
delivery), evaluates every allowed route of each full node with the EDT
tables (transport.pxd's edt_one, no Python objects), keeps each node's
fastest and cheapest route, scores them and ranks them. Python then builds
dataclasses only for the options it returns.

Pure and deterministic: no clock, no I/O. The score is the same arithmetic,
in the same order, as PromiseEngine._option, so the two agree to the bit;
`round(score, 3)` is reproduced exactly (see _round3).
"""

cimport cython
cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport fabs, floor, copysign
from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t, uint8_t
from libc.stdio cimport snprintf
from libc.stdlib cimport strtod

import numpy as np

from dompromise._core.transport cimport EDT_OK, EDT_OUT_OF_WINDOW, EdtResult, TransportTables

cnp.import_array()

COLUMN_CODE = {"FULL": COLUMN_FULL, "SHORT_NONE": COLUMN_SHORT_NONE, "NO_LANE": COLUMN_NO_LANE,
               "NO_DELIVERY": COLUMN_NO_DELIVERY, "PARTIAL": COLUMN_PARTIAL}
COLUMN_OUTCOME = {"NONE": OUTCOME_NONE, "USED": OUTCOME_USED, "OUTRANKED": OUTCOME_OUTRANKED,
                  "TOO_LATE": OUTCOME_TOO_LATE}
INFO_FIELD = {"CODE": INFO_CODE, "READY_MAX": INFO_READY_MAX, "FILLED_SUM": INFO_FILLED_SUM,
              "SHORT_COUNT": INFO_SHORT_COUNT, "OUTCOME": INFO_OUTCOME}
ROW_FIELD = {"COLUMN": ROW_COLUMN, "ROUTE": ROW_ROUTE, "EARLIEST": ROW_EARLIEST, "LATEST": ROW_LATEST,
             "DEPARTURE": ROW_DEPARTURE, "COST": ROW_COST}
SCAN_STATUS = {"OK": SCAN_OK, "NEEDS_TABLES": SCAN_NEEDS_TABLES}
# Tables one scan can hold: the as-of window and the few a far-off ETA or a
# long onward leg reach into (a ready time is at most two horizons past as-of).
TABLES_MAX = 4
# Short lines listed per column (short_lines): the candidate's explanation names the first five.
SHORT_LISTED_PY = 5

cdef int64_t NEVER_NS = INT64_MAX
cdef Py_ssize_t SHORT_LISTED = 5
cdef double NS_PER_HOUR = 3_600.0 * 1e9
cdef int8_t METHOD_DROP_SHIP = 3  # promise.Method.DROP_SHIP

# Timing of one route: earliest, latest, departure, cost.
cdef enum:
    TIMING_EARLIEST = 0
    TIMING_LATEST = 1
    TIMING_DEPARTURE = 2
    TIMING_COST = 3


cdef cnp.ndarray _empty(Py_ssize_t rows, Py_ssize_t width, int type_number):
    """np.empty((rows, width)) of the type, or np.empty(rows) when width is -1: numpy's C call (np.empty from
    here is a Python call, its shape tuple and dtype keyword built each time: ~5 times the cost)."""
    cdef cnp.npy_intp shape[2]
    shape[0] = rows
    shape[1] = width
    return <cnp.ndarray>cnp.PyArray_EMPTY(1 if width < 0 else 2, shape, type_number, 0)


cdef void* _data(cnp.ndarray array, int type_number, Py_ssize_t count, str name) except NULL:
    """The data pointer of a C-contiguous array of `count` items of the given type."""
    if cnp.PyArray_TYPE(array) != type_number or not cnp.PyArray_IS_C_CONTIGUOUS(array):
        raise TypeError(f"{name}: expected a C-contiguous {np.dtype(cnp.PyArray_DescrFromType(type_number))} array")
    if cnp.PyArray_SIZE(array) != count:
        raise ValueError(f"{name}: expected {count} items, got {cnp.PyArray_SIZE(array)}")
    return cnp.PyArray_DATA(array)


cdef inline double _round3(double x) noexcept nogil:
    """Python's round(x, 3), to the bit.

    Python rounds the exact binary value to 3 decimals and reads that decimal
    back. x * 1000 carries a rounding error of half an ulp, so when it is not
    within a few ulps of a half-way point its nearest integer k is the exact
    value's, and k / 1000 (both exact, one correctly rounded division) is the
    double nearest that decimal, as Python's strtod gives. Near a half-way
    point (or for huge values) glibc's correctly rounded printf/strtod decide.
    """
    cdef double y = x * 1000.0
    cdef double k, fraction, result
    cdef char text[400]
    if fabs(y) < 1.0e15:
        k = floor(y)
        fraction = y - k  # exact: y and k are within 1 of each other
        if fabs(fraction - 0.5) > fabs(y) * 1.0e-14 + 1.0e-300:
            if fraction > 0.5:
                k += 1.0
            result = k / 1000.0
            return copysign(result, x) if result == 0.0 else result
    snprintf(text, sizeof(text), "%.3f", x)
    return strtod(text, NULL)


def round3(double x):
    """_round3 from Python, for tests: equals round(x, 3)."""
    return _round3(x)


cdef class RouteTable:
    """Routes from every node of a network to one destination (a zone, or a store
    to collect from), CSR by node index: node j's routes are
    [route_start[j], route_start[j + 1]). Immutable once built."""

    def __init__(self, route_start, lane, onward, method, service_id, via_id, Py_ssize_t lane_count):
        arrays = {
            "route_start": np.array(route_start, dtype=np.int32), "lane": np.array(lane, dtype=np.int32),
            "onward": np.array(onward, dtype=np.int32), "method": np.array(method, dtype=np.int8),
            "service_id": np.array(service_id, dtype=np.int32), "via_id": np.array(via_id, dtype=np.int32),
        }
        starts = arrays["route_start"]
        if starts.ndim != 1 or len(starts) < 1 or starts[0] != 0 or (np.diff(starts) < 0).any():
            raise ValueError("route_start must start at 0 and never decrease")
        count = int(starts[len(starts) - 1])
        for name in ("lane", "onward", "method", "service_id", "via_id"):
            if arrays[name].ndim != 1 or len(arrays[name]) != count:
                raise ValueError(f"{name} must have one entry per route")
        if ((arrays["lane"] < 0) | (arrays["lane"] >= lane_count)).any():
            raise ValueError("a route's lane is out of range")
        if ((arrays["onward"] < -1) | (arrays["onward"] >= lane_count)).any():
            raise ValueError("a route's onward lane is out of range")
        for array in arrays.values():
            array.flags.writeable = False
        self._arrays = arrays
        self.node_count = len(starts) - 1
        self.route_count = count
        self.lane_count = lane_count
        self._start = <const int32_t*>cnp.PyArray_DATA(arrays["route_start"])
        self._lane = <const int32_t*>cnp.PyArray_DATA(arrays["lane"])
        self._onward = <const int32_t*>cnp.PyArray_DATA(arrays["onward"])
        self._method = <const int8_t*>cnp.PyArray_DATA(arrays["method"])
        self._service_id = <const int32_t*>cnp.PyArray_DATA(arrays["service_id"])
        self._via_id = <const int32_t*>cnp.PyArray_DATA(arrays["via_id"])

    def array(self, str name):
        """A read-only view of one of the arrays (route_start, lane, onward, method, service_id, via_id)."""
        return self._arrays[name]


cdef class PromiseKernel:
    """The per-engine part: each lane's cost and the score's weights."""

    def __init__(self, lane_cost, double per_hour_to_delivery, double per_currency_unit,
                 double per_extra_shipment, double per_missing_percent, double drop_ship,
                 int64_t earliest_now, int64_t earliest_never):
        array = np.array(lane_cost, dtype=np.int64)
        if array.ndim != 1:
            raise ValueError("lane_cost must be one-dimensional")
        array.flags.writeable = False
        self._lane_cost_array = array
        self._lane_cost = <const int64_t*>cnp.PyArray_DATA(array)
        self.lane_count = len(array)
        self.per_hour_to_delivery = per_hour_to_delivery
        self.per_currency_unit = per_currency_unit
        self.per_extra_shipment = per_extra_shipment
        self.per_missing_percent = per_missing_percent
        self.drop_ship = drop_ship
        self.earliest_now = earliest_now
        self.earliest_never = earliest_never

    def scan(self, RouteTable routes not None, cnp.ndarray allowed not None, tuple tables,
             cnp.ndarray columns not None, cnp.ndarray now not None, cnp.ndarray earliest,
             cnp.ndarray wanted not None, int64_t as_of_ns, bint future, cnp.ndarray node_penalty):
        """The matrix of one promise: filled units and ready times per (line, column), and
        each column's code. `now` and `earliest` are int64[lines * columns], line-major
        (earliest: engine.phased_availability's, or None without future supply);
        columns[c] is the node index of column c. Then call full_options()."""
        cdef PromiseScan scan = PromiseScan.__new__(PromiseScan)
        cdef Py_ssize_t lines = cnp.PyArray_SIZE(wanted), count = cnp.PyArray_SIZE(columns)
        cdef Py_ssize_t c, i, cell, route, capacity
        cdef const int64_t* now_ptr
        cdef const int64_t* earliest_ptr = NULL
        cdef const int64_t* wanted_ptr
        cdef const int32_t* column_node
        cdef const uint8_t* allowed_ptr
        cdef int64_t* filled
        cdef int64_t* ready
        cdef int64_t* info
        cdef int64_t* short_lines = NULL
        cdef int64_t want, have, at_ns, ready_max, filled_sum, short_count, wanted_sum = 0
        cdef int64_t never = self.earliest_never, now_code = self.earliest_now
        cdef bint full, any_filled, has_route
        wanted_ptr = <const int64_t*>_data(wanted, cnp.NPY_INT64, lines, "wanted")
        column_node = <const int32_t*>_data(columns, cnp.NPY_INT32, count, "columns")
        now_ptr = <const int64_t*>_data(now, cnp.NPY_INT64, lines * count, "now")
        if future:
            if earliest is None:
                raise ValueError("earliest is needed with future supply")
            earliest_ptr = <const int64_t*>_data(earliest, cnp.NPY_INT64, lines * count, "earliest")
        allowed_ptr = <const uint8_t*>_data(allowed, cnp.NPY_UINT8, routes.route_count, "allowed")
        for c in range(count):
            if not 0 <= column_node[c] < routes.node_count:
                raise IndexError(f"column {c} names node {column_node[c]}, not in the route table")
        if routes.lane_count != self.lane_count:
            raise ValueError("the route table was built for another set of lanes")
        if node_penalty is not None:
            scan._penalty_ptr = <const double*>_data(node_penalty, cnp.NPY_FLOAT64, routes.node_count,
                                                    "node_penalty")
        if len(tables) == 0 or len(tables) > TABLES_MAX:
            raise ValueError(f"give 1 to {TABLES_MAX} transport tables")
        scan._table_count = 0
        for table in tables:
            scan._add_table(table)
        capacity = 4 * count
        scan.filled = _empty(lines, count, cnp.NPY_INT64)
        scan.ready_ns = _empty(lines, count, cnp.NPY_INT64)
        scan.info = _empty(count, INFO_WIDTH, cnp.NPY_INT64)
        scan.rows = _empty(capacity, ROW_WIDTH, cnp.NPY_INT64)
        scan.score = _empty(capacity, -1, cnp.NPY_FLOAT64)
        scan.short_lines = _empty(count, 2 * SHORT_LISTED, cnp.NPY_INT64)
        scan._filled_ptr = <int64_t*>cnp.PyArray_DATA(scan.filled)
        scan._ready_ptr = <int64_t*>cnp.PyArray_DATA(scan.ready_ns)
        scan._info_ptr = <int64_t*>cnp.PyArray_DATA(scan.info)
        scan._rows_ptr = <int64_t*>cnp.PyArray_DATA(scan.rows)
        scan._score_ptr = <double*>cnp.PyArray_DATA(scan.score)
        scan._allowed_ptr = allowed_ptr
        scan._column_node = column_node
        scan._wanted_ptr = wanted_ptr
        # Keep every array the pointers point into alive as long as the scan.
        scan._allowed, scan._columns_array, scan._penalty, scan._wanted = allowed, columns, node_penalty, wanted
        scan._routes = routes
        scan._lines, scan._columns, scan._capacity = lines, count, capacity
        scan._as_of_ns = as_of_ns
        scan.row_count = scan.full_row_count = scan.distinct_count = 0
        scan.missing_ns = 0
        filled, ready, info = scan._filled_ptr, scan._ready_ptr, scan._info_ptr
        short_lines = <int64_t*>cnp.PyArray_DATA(scan.short_lines)
        with nogil:
            for i in range(count * 2 * SHORT_LISTED):
                short_lines[i] = -1  # pads (line, filled) pairs past a column's short lines
            for i in range(lines):
                wanted_sum += wanted_ptr[i]
            for c in range(count):
                full, any_filled = True, False
                ready_max, filled_sum, short_count = 0, 0, 0
                for i in range(lines):
                    cell = i * count + c
                    want = wanted_ptr[i]
                    have = now_ptr[cell]
                    if have > want:
                        have = want
                    at_ns = as_of_ns
                    if future and now_ptr[cell] < want:
                        # Future supply covers the line: all of it, when the supply lands.
                        if earliest_ptr[cell] != never and earliest_ptr[cell] != now_code:
                            have = want
                            at_ns = earliest_ptr[cell] if earliest_ptr[cell] > as_of_ns else as_of_ns
                    filled[cell] = have
                    ready[cell] = at_ns
                    if have < want:
                        full = False
                        if short_count < SHORT_LISTED:  # for the candidate's explanation
                            short_lines[c * 2 * SHORT_LISTED + 2 * short_count] = i
                            short_lines[c * 2 * SHORT_LISTED + 2 * short_count + 1] = have
                        short_count += 1
                    if have > 0:
                        if not any_filled or at_ns > ready_max:
                            ready_max = at_ns
                        any_filled = True
                        filled_sum += have
                has_route = False
                route = routes._start[column_node[c]]
                while route < routes._start[column_node[c] + 1]:
                    if allowed_ptr[route]:
                        has_route = True
                        break
                    route += 1
                if not has_route:
                    info[c * INFO_WIDTH + INFO_CODE] = COLUMN_NO_LANE
                elif not any_filled:
                    info[c * INFO_WIDTH + INFO_CODE] = COLUMN_SHORT_NONE
                elif full:
                    info[c * INFO_WIDTH + INFO_CODE] = COLUMN_FULL
                else:
                    info[c * INFO_WIDTH + INFO_CODE] = COLUMN_PARTIAL
                info[c * INFO_WIDTH + INFO_READY_MAX] = ready_max
                info[c * INFO_WIDTH + INFO_FILLED_SUM] = filled_sum
                info[c * INFO_WIDTH + INFO_SHORT_COUNT] = short_count
                info[c * INFO_WIDTH + INFO_OUTCOME] = OUTCOME_NONE
        scan._wanted_sum = wanted_sum
        scan._kernel = self
        return scan


cdef class PromiseScan:
    """See PromiseKernel.scan. Not thread-safe: one promise call owns it."""

    def __cinit__(self):
        self._table_count = 0
        self._penalty_ptr = NULL

    def _add_table(self, TransportTables table not None):
        if self._table_count == 0:
            self._t0 = table
        elif self._table_count == 1:
            self._t1 = table
        elif self._table_count == 2:
            self._t2 = table
        elif self._table_count == 3:
            self._t3 = table
        else:
            raise ValueError(f"at most {TABLES_MAX} transport tables")
        self._table_count += 1

    def add_tables(self, TransportTables table not None):
        """Tables for missing_ns, after full_options() or partial_options() asked for them."""
        self._add_table(table)

    cdef int _leg(self, Py_ssize_t lane, int64_t ready_ns, EdtResult* result) noexcept nogil:
        """EDT of one lane from the tables holding ready_ns; 0 if none does (missing_ns set)."""
        if self._table_count > 0 and self._t0.ready_start_ns <= ready_ns < self._t0.ready_end_ns:
            self._t0.edt_one(lane, ready_ns, result)
        elif self._table_count > 1 and self._t1.ready_start_ns <= ready_ns < self._t1.ready_end_ns:
            self._t1.edt_one(lane, ready_ns, result)
        elif self._table_count > 2 and self._t2.ready_start_ns <= ready_ns < self._t2.ready_end_ns:
            self._t2.edt_one(lane, ready_ns, result)
        elif self._table_count > 3 and self._t3.ready_start_ns <= ready_ns < self._t3.ready_end_ns:
            self._t3.edt_one(lane, ready_ns, result)
        else:
            self.missing_ns = ready_ns
            return 0
        return 1

    cdef int _route_edt(self, PromiseKernel kernel, Py_ssize_t route, int64_t ready_ns,
                        int64_t* timing) noexcept nogil:
        """PromiseEngine._compute_route_edt: 1 delivered (timing set), 0 not, -1 tables missing.

        A transfer + onward route: the onward leg starts when the transfer's
        earliest arrives; its latest follows the transfer's latest."""
        cdef EdtResult first, onward, onward_late
        cdef Py_ssize_t lane = self._routes._lane[route], onward_lane = self._routes._onward[route]
        cdef int64_t as_of_ns = self._as_of_ns
        if not self._leg(lane, ready_ns if ready_ns > as_of_ns else as_of_ns, &first):
            return -1
        if first.status != EDT_OK:
            return 0
        if onward_lane < 0:
            timing[TIMING_EARLIEST] = first.earliest_ns
            timing[TIMING_LATEST] = first.latest_ns
            timing[TIMING_DEPARTURE] = first.departure_ns
            timing[TIMING_COST] = kernel._lane_cost[lane]
            return 1
        if not self._leg(onward_lane, first.earliest_ns if first.earliest_ns > as_of_ns else as_of_ns, &onward):
            return -1
        if not self._leg(onward_lane, first.latest_ns if first.latest_ns > as_of_ns else as_of_ns, &onward_late):
            return -1
        if onward.status != EDT_OK or onward_late.status != EDT_OK:
            return 0
        timing[TIMING_EARLIEST] = onward.earliest_ns
        timing[TIMING_LATEST] = onward_late.latest_ns
        timing[TIMING_DEPARTURE] = first.departure_ns
        timing[TIMING_COST] = kernel._lane_cost[lane] + kernel._lane_cost[onward_lane]
        return 1

    cdef int _node_options(self, PromiseKernel kernel, Py_ssize_t column) noexcept nogil:
        """The node's fastest route and, if another, its cheapest: rows appended.

        Returns the rows added (0: no route delivers), or -1 if tables are missing.
        Ties go to the earlier route, as min() does in Python."""
        cdef Py_ssize_t node = self._column_node[column], route, fastest = -1, cheapest = -1, row
        cdef int64_t ready_ns = self._info_ptr[column * INFO_WIDTH + INFO_READY_MAX]
        cdef int64_t timing[4]
        cdef int64_t fast_timing[4]
        cdef int64_t cheap_timing[4]
        cdef int found, k
        for route in range(self._routes._start[node], self._routes._start[node + 1]):
            if not self._allowed_ptr[route]:
                continue
            found = self._route_edt(kernel, route, ready_ns, timing)
            if found < 0:
                return -1
            if found == 0:
                continue
            if fastest < 0 or timing[TIMING_EARLIEST] < fast_timing[TIMING_EARLIEST] or (
                    timing[TIMING_EARLIEST] == fast_timing[TIMING_EARLIEST]
                    and timing[TIMING_COST] < fast_timing[TIMING_COST]):
                fastest = route
                for k in range(4):
                    fast_timing[k] = timing[k]
            if cheapest < 0 or timing[TIMING_COST] < cheap_timing[TIMING_COST] or (
                    timing[TIMING_COST] == cheap_timing[TIMING_COST]
                    and timing[TIMING_EARLIEST] < cheap_timing[TIMING_EARLIEST]):
                cheapest = route
                for k in range(4):
                    cheap_timing[k] = timing[k]
        if fastest < 0:
            return 0
        row = self.row_count
        self._put_row(kernel, row, column, fastest, fast_timing)
        if cheapest == fastest:
            self.row_count = row + 1
            return 1
        self._put_row(kernel, row + 1, column, cheapest, cheap_timing)
        self.row_count = row + 2
        return 2

    cdef void _put_row(self, PromiseKernel kernel, Py_ssize_t row, Py_ssize_t column, Py_ssize_t route,
                              const int64_t* timing) noexcept nogil:
        cdef int64_t* out = self._rows_ptr + row * ROW_WIDTH
        out[ROW_COLUMN] = column
        out[ROW_ROUTE] = route
        out[ROW_EARLIEST] = timing[TIMING_EARLIEST]
        out[ROW_LATEST] = timing[TIMING_LATEST]
        out[ROW_DEPARTURE] = timing[TIMING_DEPARTURE]
        out[ROW_COST] = timing[TIMING_COST]
        self._score_ptr[row] = self._score(kernel, row)

    cdef double _score(self, PromiseKernel kernel, Py_ssize_t row) noexcept nogil:
        """PromiseEngine._option's score of a one-shipment option, operation for operation.

        The same for line-level sourcing: it weighs each line's arrival by its
        units, and with one shipment every line arrives at its earliest, so the
        mean is that wait, exactly (Python's int division rounds the exact quotient)."""
        cdef const int64_t* out = self._rows_ptr + row * ROW_WIDTH
        cdef Py_ssize_t column = out[ROW_COLUMN]
        cdef double fill = 100.0 * <double>self._info_ptr[column * INFO_WIDTH + INFO_FILLED_SUM] / <double>self._wanted_sum
        cdef double waited = <double>(out[ROW_EARLIEST] - self._as_of_ns)
        cdef double score
        score = kernel.per_hour_to_delivery * waited / NS_PER_HOUR
        score = score + kernel.per_currency_unit * <double>out[ROW_COST] / 100.0
        score = score + kernel.per_extra_shipment * 0.0
        score = score + kernel.per_missing_percent * (100.0 - fill)
        score = score + (kernel.drop_ship if self._routes._method[out[ROW_ROUTE]] == METHOD_DROP_SHIP else 0.0)
        if self._penalty_ptr != NULL:
            score = score + self._penalty_ptr[self._column_node[column]]
        return _round3(score)

    def full_options(self):
        """Options of every full node (code FULL, or NO_DELIVERY when no route delivers).

        Returns SCAN_OK, or SCAN_NEEDS_TABLES with missing_ns set: add_tables()
        for it and call again."""
        cdef PromiseKernel kernel = self._kernel
        cdef Py_ssize_t c
        cdef int added = 0
        cdef int64_t code
        cdef int64_t* info = self._info_ptr
        self.row_count = 0
        with nogil:
            for c in range(self._columns):
                code = info[c * INFO_WIDTH + INFO_CODE]
                if code != COLUMN_FULL and code != COLUMN_NO_DELIVERY:
                    continue
                added = self._node_options(kernel, c)
                if added < 0:
                    break
                info[c * INFO_WIDTH + INFO_CODE] = COLUMN_FULL if added > 0 else COLUMN_NO_DELIVERY
        self.full_row_count = self.row_count
        return SCAN_NEEDS_TABLES if added < 0 else SCAN_OK

    def partial_options(self, int64_t min_fill_percent):
        """Options of every PARTIAL node whose fill is at least min_fill_percent, after
        the full nodes' rows (PromiseEngine._partial_options). Status as full_options()."""
        cdef PromiseKernel kernel = self._kernel
        cdef Py_ssize_t c
        cdef int added = 0
        cdef int64_t* info = self._info_ptr
        cdef double fill
        self.row_count = self.full_row_count
        with nogil:
            for c in range(self._columns):
                if info[c * INFO_WIDTH + INFO_CODE] != COLUMN_PARTIAL:
                    continue
                fill = 100.0 * <double>info[c * INFO_WIDTH + INFO_FILLED_SUM] / <double>self._wanted_sum
                if fill < min_fill_percent:
                    continue
                added = self._node_options(kernel, c)
                if added < 0:
                    break
        return SCAN_NEEDS_TABLES if added < 0 else SCAN_OK

    def filled_ready(self, list limited not None):
        """The capacity step's reads (PromiseEngine._capacity_delays): (column, node, times) of each (column,
        node) of `limited` whose code is FULL or PARTIAL, in that order; times: the distinct ready times of
        the lines the column fills (filled > 0), in line order. One call for what numpy reads, their lists
        and a set per column did."""
        cdef list found = []
        cdef list times
        cdef Py_ssize_t column, line, k, count
        cdef int64_t code, at_ns
        cdef bint seen
        for column, node in limited:
            if not 0 <= column < self._columns:
                raise IndexError(f"column {column} is not one of the scan's {self._columns}")
            code = self._info_ptr[column * INFO_WIDTH + INFO_CODE]
            if code != COLUMN_FULL and code != COLUMN_PARTIAL:
                continue
            times = []
            for line in range(self._lines):
                if self._filled_ptr[line * self._columns + column] <= 0:
                    continue
                at_ns = self._ready_ptr[line * self._columns + column]
                seen = False
                count = len(times)
                for k in range(count):
                    if <int64_t>times[k] == at_ns:
                        seen = True
                        break
                if not seen:
                    times.append(at_ns)
            found.append((column, node, times))
        return found

    def final_codes(self):
        """Each column's outcome after rank() (USED, OUTRANKED, TOO_LATE), else its code, as a list: the reason
        AnswerBuilder.kernel_rows gives the column's node."""
        cdef list codes = [None] * self._columns
        cdef Py_ssize_t column
        cdef const int64_t* info
        for column in range(self._columns):
            info = self._info_ptr + column * INFO_WIDTH
            codes[column] = info[INFO_OUTCOME] if info[INFO_OUTCOME] else info[INFO_CODE]
        return codes

    def fastest_routes(self, cnp.ndarray columns not None, cnp.ndarray ready_ns not None,
                       cnp.ndarray out not None):
        """For each item: column columns[i]'s allowed route delivering first for goods
        ready at ready_ns[i] (cheaper breaks ties, then route order, as min() does), into
        out[i] = (route or -1, earliest, latest, departure, cost). For the Python split,
        whose ready times change every round. Status as full_options()."""
        cdef PromiseKernel kernel = self._kernel
        cdef Py_ssize_t count = cnp.PyArray_SIZE(columns), i, column, route, best
        cdef const int64_t* chosen = <const int64_t*>_data(columns, cnp.NPY_INT64, count, "columns")
        cdef const int64_t* ready = <const int64_t*>_data(ready_ns, cnp.NPY_INT64, count, "ready_ns")
        cdef int64_t* result = <int64_t*>_data(out, cnp.NPY_INT64, count * 5, "out")
        cdef int64_t timing[4]
        cdef int64_t best_timing[4]
        cdef int found = 0, k
        cdef Py_ssize_t node
        for i in range(count):
            if not 0 <= chosen[i] < self._columns:
                raise IndexError(f"column {chosen[i]} out of range")
        with nogil:
            for i in range(count):
                column = chosen[i]
                node = self._column_node[column]
                best = -1
                for route in range(self._routes._start[node], self._routes._start[node + 1]):
                    if not self._allowed_ptr[route]:
                        continue
                    found = self._route_edt(kernel, route, ready[i], timing)
                    if found < 0:
                        break
                    if found == 0:
                        continue
                    if best < 0 or timing[TIMING_EARLIEST] < best_timing[TIMING_EARLIEST] or (
                            timing[TIMING_EARLIEST] == best_timing[TIMING_EARLIEST]
                            and timing[TIMING_COST] < best_timing[TIMING_COST]):
                        best = route
                        for k in range(4):
                            best_timing[k] = timing[k]
                if found < 0:
                    break
                result[i * 5] = best
                for k in range(4):
                    result[i * 5 + 1 + k] = best_timing[k] if best >= 0 else 0
        return SCAN_NEEDS_TABLES if found < 0 else SCAN_OK

    def rank(self, int64_t deliver_before_ns, Py_ssize_t max_options):
        """Ranks the rows as PromiseEngine.promise does when every option is a row: drops
        those after deliver_before_ns (0: no limit), sorts by (score, earliest, cost),
        stable; drops a row whose (node, service, via, earliest) repeats a better one.
        `order[:distinct_count]` is the result; its first `max_options` (a Python slice)
        are returned, and each column's outcome is set in info[:, OUTCOME]."""
        cdef Py_ssize_t count = self.row_count, kept_count, i, j, k, row, other, column
        cdef int32_t* order
        cdef int64_t* rows = self._rows_ptr
        cdef int64_t* info = self._info_ptr
        cdef double* score = self._score_ptr
        cdef const int32_t* service_id = self._routes._service_id
        cdef const int32_t* via_id = self._routes._via_id
        cdef bint before, duplicate
        self.order = _empty(count, -1, cnp.NPY_INT32)
        order = <int32_t*>cnp.PyArray_DATA(self.order)
        with nogil:
            k = 0
            for row in range(count):
                column = rows[row * ROW_WIDTH + ROW_COLUMN]
                if deliver_before_ns and rows[row * ROW_WIDTH + ROW_EARLIEST] > deliver_before_ns:
                    if info[column * INFO_WIDTH + INFO_CODE] == COLUMN_FULL:
                        info[column * INFO_WIDTH + INFO_OUTCOME] = OUTCOME_TOO_LATE
                    continue
                # Insertion sort: a few dozen rows; stable, since equal keys are not passed.
                j = k
                while j > 0:
                    other = order[j - 1]
                    if score[other] < score[row]:
                        break
                    if score[other] == score[row]:
                        if rows[other * ROW_WIDTH + ROW_EARLIEST] < rows[row * ROW_WIDTH + ROW_EARLIEST]:
                            break
                        if rows[other * ROW_WIDTH + ROW_EARLIEST] == rows[row * ROW_WIDTH + ROW_EARLIEST] and \
                                rows[other * ROW_WIDTH + ROW_COST] <= rows[row * ROW_WIDTH + ROW_COST]:
                            break
                    order[j] = other
                    j -= 1
                order[j] = <int32_t>row
                k += 1
            # Distinct: the same node, service, via and earliest as a row kept before.
            count = k
            k = 0
            for i in range(count):
                row = order[i]
                duplicate = False
                for j in range(k):
                    other = order[j]
                    if (rows[other * ROW_WIDTH + ROW_COLUMN] == rows[row * ROW_WIDTH + ROW_COLUMN]
                            and rows[other * ROW_WIDTH + ROW_EARLIEST] == rows[row * ROW_WIDTH + ROW_EARLIEST]
                            and service_id[rows[other * ROW_WIDTH + ROW_ROUTE]]
                                == service_id[rows[row * ROW_WIDTH + ROW_ROUTE]]
                            and via_id[rows[other * ROW_WIDTH + ROW_ROUTE]]
                                == via_id[rows[row * ROW_WIDTH + ROW_ROUTE]]):
                        duplicate = True
                        break
                if not duplicate:
                    order[k] = <int32_t>row
                    k += 1
            self.distinct_count = k
            kept_count = (k if max_options > k else max_options) if max_options >= 0 else (
                k + max_options if k + max_options > 0 else 0)
            for i in range(kept_count):
                column = rows[order[i] * ROW_WIDTH + ROW_COLUMN]
                info[column * INFO_WIDTH + INFO_OUTCOME] = OUTCOME_USED
            # Had an option in the window, not returned: outranked (a full node not already too late).
            for row in range(self.row_count):
                column = rows[row * ROW_WIDTH + ROW_COLUMN]
                if (info[column * INFO_WIDTH + INFO_CODE] == COLUMN_FULL
                        and info[column * INFO_WIDTH + INFO_OUTCOME] == OUTCOME_NONE):
                    info[column * INFO_WIDTH + INFO_OUTCOME] = OUTCOME_OUTRANKED
        return kept_count


def short_texts(list sku_ids not None, list quantities not None, PromiseScan scan not None,
                cnp.ndarray columns not None):
    """The explanation of each short column: "short: SKU filled/wanted, ..." for its
    first SHORT_LISTED short lines (PromiseEngine's candidates). Python objects, with
    the GIL; here because a 50-node promise builds dozens of them."""
    cdef Py_ssize_t count = cnp.PyArray_SIZE(columns), k, j, line, column
    cdef const int64_t* chosen = <const int64_t*>_data(columns, cnp.NPY_INT64, count, "columns")
    cdef const int64_t* listed = <const int64_t*>cnp.PyArray_DATA(scan.short_lines)
    cdef int64_t have
    cdef list texts = [], missing
    cdef dict none_of = {}  # "SKU 0/wanted" by line: most short lines have none of it
    for k in range(count):
        column = chosen[k]
        if not 0 <= column < scan._columns:
            raise IndexError(f"column {column} out of range")
        missing = []
        for j in range(SHORT_LISTED):
            line = listed[column * 2 * SHORT_LISTED + 2 * j]
            if line < 0:
                break
            have = listed[column * 2 * SHORT_LISTED + 2 * j + 1]
            if have == 0:
                piece = none_of.get(line)
                if piece is None:
                    piece = none_of[line] = f"{sku_ids[line]} 0/{quantities[line]}"
            else:
                piece = f"{sku_ids[line]} {have}/{quantities[line]}"
            missing.append(piece)
        texts.append("short: " + ", ".join(missing))
    return texts


include "promise_consolidation.pxi"  # a hub's consolidation (multi_node.py's most frequent option)
