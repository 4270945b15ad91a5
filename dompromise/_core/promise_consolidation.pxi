# Consolidation at a hub, in the kernel (included by promise.pyx).
#
# dompromise.promise.multi_node builds the options that draw on more than one
# node. Its most frequent one, a hub shipping the whole order with the lines it
# lacks transferred in from feeder nodes, is planned here over the scan's
# matrix and EDT tables: which feeder each line comes from, when it reaches the
# hub, the hub's fastest direct route and the option's score. Python then
# builds the objects of the options found, and nothing for the hubs that fail.
# Decisions, tie-breaks and arithmetic are multi_node.py's, step for step (the
# answers are compared byte for byte with that path's).

# Fields of Consolidations.plans[k, :], one hub each.
cdef enum:  # HubField
    HUB_COLUMN = 0
    HUB_STATUS = 1
    HUB_ROUTE = 2            # flat index into the RouteTable: the hub's direct route
    HUB_EARLIEST = 3
    HUB_LATEST = 4
    HUB_DEPARTURE = 5        # NEVER when unknown
    HUB_COST = 6             # the route's cost plus every transfer's
    HUB_WIDTH = 7

# What a listed hub is (plans[k, HUB_STATUS]); hubs with no option are not listed.
cdef enum:  # HubStatus
    HUB_OPTION = 0           # an option: the fields above, its lines and score
    HUB_SPLIT = 1            # a line no one feeder has whole, and the request splits lines: Python plans the hub
    HUB_TABLES = 2           # needs more transport tables than a scan holds: Python plans the hub

# What Consolidations._run returns, past SCAN_OK and SCAN_NEEDS_TABLES: more hubs than the arrays were made for.
cdef enum:
    HUBS_CHANGED = -1

# Rows of Consolidations.lines[k, :, :], per line of the order.
cdef enum:  # LineField
    LINE_SOURCE = 0          # the feeder's node index, or -1: the hub's own units
    LINE_READY = 1           # when the units are at the hub
    LINE_SOURCE_READY = 2    # when they are at the feeder (0 for the hub's own)
    LINE_WIDTH = 3

HUB_FIELD = {"COLUMN": HUB_COLUMN, "STATUS": HUB_STATUS, "ROUTE": HUB_ROUTE, "EARLIEST": HUB_EARLIEST,
             "LATEST": HUB_LATEST, "DEPARTURE": HUB_DEPARTURE, "COST": HUB_COST}
HUB_STATUS_CODE = {"OPTION": HUB_OPTION, "SPLIT": HUB_SPLIT, "TABLES": HUB_TABLES}
LINE_FIELD = {"SOURCE": LINE_SOURCE, "READY": LINE_READY, "SOURCE_READY": LINE_SOURCE_READY}


cdef class TransferTable:
    """Transfer lanes into each node of a network, CSR by hub node index: entry e of
    hub j, in [start[j], start[j + 1]), is lane[e] from node feeder[e], in the
    network's lane order (the first of equally early transfers wins), with cost[e]
    the cheapest lane from that feeder to that hub (what a line transferred adds
    to the option's cost). Immutable once built."""

    cdef readonly Py_ssize_t node_count
    cdef readonly Py_ssize_t lane_count
    cdef tuple _arrays
    cdef const int32_t* _start
    cdef const int32_t* _feeder
    cdef const int32_t* _lane
    cdef const int64_t* _cost

    def __init__(self, start, feeder, lane, cost, Py_ssize_t lane_count):
        starts = np.array(start, dtype=np.int32)
        feeders = np.array(feeder, dtype=np.int32)
        lanes = np.array(lane, dtype=np.int32)
        costs = np.array(cost, dtype=np.int64)
        if starts.ndim != 1 or len(starts) < 1 or starts[0] != 0 or (np.diff(starts) < 0).any():
            raise ValueError("start must start at 0 and never decrease")
        count = int(starts[len(starts) - 1])
        for name, array in (("feeder", feeders), ("lane", lanes), ("cost", costs)):
            if array.ndim != 1 or len(array) != count:
                raise ValueError(f"{name} must have one entry per transfer lane")
        if ((feeders < 0) | (feeders >= len(starts) - 1)).any():
            raise ValueError("a feeder is not a node of the table")
        if ((lanes < 0) | (lanes >= lane_count)).any():
            raise ValueError("a transfer lane is out of range")
        for array in (starts, feeders, lanes, costs):
            array.flags.writeable = False
        self._arrays = (starts, feeders, lanes, costs)
        self.node_count = len(starts) - 1
        self.lane_count = lane_count
        self._start = <const int32_t*>cnp.PyArray_DATA(starts)
        self._feeder = <const int32_t*>cnp.PyArray_DATA(feeders)
        self._lane = <const int32_t*>cnp.PyArray_DATA(lanes)
        self._cost = <const int64_t*>cnp.PyArray_DATA(costs)


@cython.auto_pickle(False)  # one call's working state: nothing to pickle
cdef class Consolidations:
    """Every hub's consolidation of one scanned promise (MultiNodeOptions._consolidated_options):
    a hub is a PARTIAL column with transfer lanes in. It ships the whole order in one
    shipment by its fastest direct route (not drop-ship; cheaper breaks ties, then
    route order), each line from its own stock when it has it whole, else from the
    plan node (a FULL or PARTIAL column) whose transfer lane gets the whole line
    there first. run() lists, in column order, the hubs with an option and those
    Python must plan itself (HUB_STATUS); `count` of them."""

    cdef readonly Py_ssize_t count
    cdef readonly object plans    # int64[hubs, HUB_WIDTH]
    cdef readonly object lines    # int64[hubs, LINE_WIDTH, lines]
    cdef readonly object score    # float64[hubs]: the option's, as PromiseEngine._option scores it
    cdef PromiseScan _scan
    cdef TransferTable _transfers
    cdef bint _split_lines
    cdef Py_ssize_t _hubs

    def __init__(self, PromiseScan scan not None, TransferTable transfers not None, bint split_lines):
        cdef Py_ssize_t c, node, hubs = 0
        if scan._routes is None or scan._kernel is None:  # PromiseScan() itself: its fields would be read off None
            raise ValueError("the scan was not made by PromiseKernel.scan")
        if transfers.node_count != scan._routes.node_count:
            raise ValueError("the transfer table was built for another network")
        if transfers.lane_count != scan._kernel.lane_count:
            raise ValueError("the transfer table was built for another set of lanes")
        for c in range(scan._columns):
            node = scan._column_node[c]
            if (scan._info_ptr[c * INFO_WIDTH + INFO_CODE] == COLUMN_PARTIAL
                    and transfers._start[node + 1] > transfers._start[node]):
                hubs += 1
        self._scan, self._transfers, self._split_lines, self._hubs = scan, transfers, split_lines, hubs
        self.plans = np.empty((hubs, HUB_WIDTH), dtype=np.int64)
        self.lines = np.empty((hubs, LINE_WIDTH, scan._lines), dtype=np.int64)
        self.score = np.empty(hubs, dtype=np.float64)
        self.count = 0

    def run(self):
        """Plans every hub. Returns SCAN_OK, or SCAN_NEEDS_TABLES with the scan's missing_ns
        set: add_tables() for it and call again (the hubs are planned again from the first).
        ValueError when the scan has more hubs than when these were made (the arrays are sized then)."""
        cdef PromiseScan scan = self._scan
        if scan is None:  # made by __new__ alone: no scan to read (its fields would be read off None)
            raise ValueError("Consolidations(scan, transfers, split_lines) was not initialised")
        cdef int32_t* node_column = <int32_t*>PyMem_Malloc(max(scan._routes.node_count, 1) * sizeof(int32_t))
        cdef int status
        if node_column == NULL:
            raise MemoryError()
        try:
            status = self._run(node_column)
        finally:
            PyMem_Free(node_column)
        if status == HUBS_CHANGED:
            raise ValueError("the scan's column codes changed since these consolidations were made")
        return status

    cdef int _run(self, int32_t* node_column) noexcept:
        cdef PromiseScan scan = self._scan
        cdef PromiseKernel kernel = scan._kernel
        cdef TransferTable transfers = self._transfers
        cdef RouteTable routes = scan._routes
        cdef Py_ssize_t lines = scan._lines, columns = scan._columns
        cdef Py_ssize_t c, i, e, k, node, feeder_column, best, route, best_route, cell
        cdef const int64_t* filled = scan._filled_ptr
        cdef const int64_t* ready = scan._ready_ptr
        cdef const int64_t* info = scan._info_ptr
        cdef const int64_t* wanted = scan._wanted_ptr
        cdef int64_t* plans = <int64_t*>cnp.PyArray_DATA(self.plans)
        cdef int64_t* out
        cdef int64_t* line_out
        cdef double* score = <double*>cnp.PyArray_DATA(self.score)
        cdef int64_t as_of_ns = scan._as_of_ns, at_ns, arrival_ns, ready_max, transfer_cost, code
        cdef int64_t timing[4]
        cdef int64_t best_timing[4]
        cdef EdtResult leg
        cdef int found, status
        cdef bint direct, has_direct
        for node in range(routes.node_count):
            node_column[node] = -1
        for c in range(columns):  # a plan node (FULL or PARTIAL) feeds; a later column of a node wins
            code = info[c * INFO_WIDTH + INFO_CODE]
            if code == COLUMN_FULL or code == COLUMN_PARTIAL:
                node_column[scan._column_node[c]] = <int32_t>c
        self.count = 0
        for c in range(columns):
            node = scan._column_node[c]
            if info[c * INFO_WIDTH + INFO_CODE] != COLUMN_PARTIAL or transfers._start[node + 1] == transfers._start[node]:
                continue
            has_direct = False
            for route in range(routes._start[node], routes._start[node + 1]):
                if scan._allowed_ptr[route] and routes._onward[route] < 0 and routes._method[route] != METHOD_DROP_SHIP:
                    has_direct = True
                    break
            if not has_direct:
                continue
            k = self.count
            if k >= self._hubs:  # a column made PARTIAL since __init__ sized the arrays: never write past them
                self.count = 0
                return HUBS_CHANGED
            out = plans + k * HUB_WIDTH
            line_out = <int64_t*>cnp.PyArray_DATA(self.lines) + k * LINE_WIDTH * lines
            out[HUB_COLUMN] = c
            status = HUB_OPTION
            ready_max, transfer_cost = 0, 0
            for i in range(lines):
                cell = i * columns + c
                if filled[cell] >= wanted[i]:
                    line_out[LINE_SOURCE * lines + i] = -1
                    line_out[LINE_READY * lines + i] = ready[cell]
                    line_out[LINE_SOURCE_READY * lines + i] = 0
                    at_ns = ready[cell]
                else:
                    # The feeder whose transfer lane brings the whole line first.
                    best, arrival_ns = -1, 0
                    for e in range(transfers._start[node], transfers._start[node + 1]):
                        feeder_column = node_column[transfers._feeder[e]]
                        if feeder_column < 0 or filled[i * columns + feeder_column] < wanted[i]:
                            continue
                        at_ns = ready[i * columns + feeder_column]
                        if not scan._leg(transfers._lane[e], at_ns if at_ns > as_of_ns else as_of_ns, &leg):
                            if scan._table_count < TABLES_MAX:
                                return SCAN_NEEDS_TABLES
                            status = HUB_TABLES
                            break
                        if leg.status == EDT_OK and (best < 0 or leg.earliest_ns < arrival_ns):
                            best, arrival_ns = e, leg.earliest_ns
                    if status != HUB_OPTION:
                        break
                    if best < 0:
                        status = HUB_SPLIT if self._split_lines else -1
                        break
                    feeder_column = node_column[transfers._feeder[best]]
                    line_out[LINE_SOURCE * lines + i] = transfers._feeder[best]
                    line_out[LINE_READY * lines + i] = arrival_ns
                    line_out[LINE_SOURCE_READY * lines + i] = ready[i * columns + feeder_column]
                    transfer_cost += transfers._cost[best]
                    at_ns = arrival_ns
                if i == 0 or at_ns > ready_max:
                    ready_max = at_ns
            if status < 0:  # a line no feeder has whole: no option at this hub
                continue
            if status != HUB_OPTION:
                out[HUB_STATUS] = status
                self.count = k + 1
                continue
            # The direct route delivering first (cheaper breaks ties; the first of equals).
            best_route = -1
            for route in range(routes._start[node], routes._start[node + 1]):
                if not (scan._allowed_ptr[route] and routes._onward[route] < 0
                        and routes._method[route] != METHOD_DROP_SHIP):
                    continue
                found = scan._route_edt(kernel, route, ready_max, timing)
                if found < 0:
                    if scan._table_count < TABLES_MAX:
                        return SCAN_NEEDS_TABLES
                    status = HUB_TABLES
                    break
                if found == 0:
                    continue
                if best_route < 0 or timing[TIMING_EARLIEST] < best_timing[TIMING_EARLIEST] or (
                        timing[TIMING_EARLIEST] == best_timing[TIMING_EARLIEST]
                        and timing[TIMING_COST] < best_timing[TIMING_COST]):
                    best_route = route
                    for e in range(4):
                        best_timing[e] = timing[e]
            if status != HUB_OPTION:
                out[HUB_STATUS] = status
                self.count = k + 1
                continue
            if best_route < 0:
                continue
            out[HUB_STATUS] = HUB_OPTION
            out[HUB_ROUTE] = best_route
            out[HUB_EARLIEST] = best_timing[TIMING_EARLIEST]
            out[HUB_LATEST] = best_timing[TIMING_LATEST]
            out[HUB_DEPARTURE] = best_timing[TIMING_DEPARTURE]
            out[HUB_COST] = best_timing[TIMING_COST] + transfer_cost
            score[k] = _hub_score(scan, kernel, node, best_route, best_timing[TIMING_EARLIEST], out[HUB_COST])
            self.count = k + 1
        return SCAN_OK


cdef double _hub_score(PromiseScan scan, PromiseKernel kernel, Py_ssize_t node, Py_ssize_t route,
                       int64_t earliest_ns, int64_t cost) noexcept:
    """MultiNodeOptions._option's score of a consolidation, operation for operation: one
    shipment, every unit planned (line-level sourcing weighs each line's arrival by its
    units; with one shipment that mean is the shipment's wait, exactly, as in _score)."""
    cdef double fill = 100.0 * <double>scan._wanted_sum / <double>scan._wanted_sum
    cdef double waited = <double>(earliest_ns - scan._as_of_ns)
    cdef double score
    score = kernel.per_hour_to_delivery * waited / NS_PER_HOUR
    score = score + kernel.per_currency_unit * <double>cost / 100.0
    score = score + kernel.per_extra_shipment * 0.0
    score = score + kernel.per_missing_percent * (100.0 - fill)
    score = score + (kernel.drop_ship if scan._routes._method[route] == METHOD_DROP_SHIP else 0.0)
    if scan._penalty_ptr != NULL:
        score = score + scan._penalty_ptr[node]
    return _round3(score)
