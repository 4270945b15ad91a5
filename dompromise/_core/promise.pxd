# Declarations of the promise kernel (promise.pyx): the single-node part of a
# promise over the gathered (line x candidate node) matrix. Column codes and
# row fields have stable numbers: dompromise.promise.engine reads them by name from
# COLUMN_CODE / ROW_FIELD.

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

from dompromise._core.transport cimport EdtResult, TransportTables

# What a candidate column is after the scan (info[c, INFO_CODE]).
cdef enum ColumnCode:
    COLUMN_FULL = 1          # holds every line and at least one route delivers it
    COLUMN_SHORT_NONE = 3    # holds none of the order's lines (now or from future supply)
    COLUMN_NO_LANE = 4       # no route to the destination for the allowed methods and tier
    COLUMN_NO_DELIVERY = 5   # holds every line, but no route delivers within the horizon
    COLUMN_PARTIAL = 8       # holds some of the order: usable for splits and partial fills

# After ranking (rank()): the column's final outcome among the single-node options.
cdef enum ColumnOutcome:
    OUTCOME_NONE = 0         # no single-node option: keep the scan's code
    OUTCOME_USED = 1         # in a returned option
    OUTCOME_OUTRANKED = 6    # had an option, ranked below the returned ones
    OUTCOME_TOO_LATE = 7     # an option of a full node missed deliver_before

# Fields of info[c, :].
cdef enum:  # InfoField
    INFO_CODE = 0
    INFO_READY_MAX = 1       # latest ready time of the lines the node fills (filled > 0)
    INFO_FILLED_SUM = 2
    INFO_SHORT_COUNT = 3     # lines with filled < wanted
    INFO_OUTCOME = 4
    INFO_WIDTH = 5

# Fields of rows[r, :], one single-node option each.
cdef enum:  # RowField
    ROW_COLUMN = 0
    ROW_ROUTE = 1            # flat index into the RouteTable
    ROW_EARLIEST = 2
    ROW_LATEST = 3
    ROW_DEPARTURE = 4        # NEVER when unknown
    ROW_COST = 5
    ROW_WIDTH = 6

# Kernel status (scan / partial): OK, or a ready time no table given covers.
cdef enum ScanStatus:
    SCAN_OK = 0
    SCAN_NEEDS_TABLES = 1


cdef class RouteTable:
    """Routes from every node of the network to one destination, CSR by node index."""
    cdef readonly Py_ssize_t node_count
    cdef readonly Py_ssize_t route_count
    cdef readonly Py_ssize_t lane_count  # of the transport tables the lanes index
    cdef dict _arrays
    cdef const int32_t* _start       # [node_count + 1]
    cdef const int32_t* _lane
    cdef const int32_t* _onward      # -1: a direct lane
    cdef const int8_t* _method       # Method numbers (promise.Method)
    cdef const int32_t* _service_id  # interned service names: distinct plans compare them
    cdef const int32_t* _via_id      # interned via node; -1 for none


cdef class PromiseKernel:
    """Per engine: lane costs and the score's weights."""
    cdef object _lane_cost_array
    cdef const int64_t* _lane_cost
    cdef readonly Py_ssize_t lane_count
    cdef readonly double per_hour_to_delivery
    cdef readonly double per_currency_unit
    cdef readonly double per_extra_shipment
    cdef readonly double per_missing_percent
    cdef readonly double drop_ship
    cdef readonly int64_t earliest_now
    cdef readonly int64_t earliest_never


cdef class PromiseScan:
    """One promise call's matrix and single-node options; read by dompromise.promise.engine."""
    cdef readonly object filled      # int64[lines, columns]
    cdef readonly object ready_ns    # int64[lines, columns]
    cdef readonly object info        # int64[columns, INFO_WIDTH]
    cdef readonly object rows        # int64[capacity, ROW_WIDTH]
    cdef readonly object score       # float64[capacity]
    cdef readonly object short_lines # int64[columns, 10]: (line, filled) of the first 5 short lines; -1 pads
    cdef readonly Py_ssize_t row_count
    cdef readonly Py_ssize_t full_row_count  # rows of full nodes; partial rows follow
    cdef readonly int64_t missing_ns         # SCAN_NEEDS_TABLES: a ready time to build tables for
    cdef readonly object order               # int32[row_count]: rank() order of the distinct rows
    cdef readonly Py_ssize_t distinct_count
    cdef Py_ssize_t _lines
    cdef Py_ssize_t _columns
    cdef Py_ssize_t _capacity
    cdef int64_t _as_of_ns
    cdef int64_t _wanted_sum
    cdef RouteTable _routes
    cdef object _allowed
    cdef object _columns_array
    cdef object _penalty
    cdef object _wanted
    cdef TransportTables _t0
    cdef TransportTables _t1
    cdef TransportTables _t2
    cdef TransportTables _t3
    cdef int _table_count
    cdef PromiseKernel _kernel
    # Raw pointers into the arrays above (held by this object), checked once in scan().
    cdef int64_t* _filled_ptr
    cdef int64_t* _ready_ptr
    cdef int64_t* _info_ptr
    cdef int64_t* _rows_ptr
    cdef double* _score_ptr
    cdef const uint8_t* _allowed_ptr
    cdef const int32_t* _column_node
    cdef const double* _penalty_ptr  # NULL: no per-node penalty
    cdef const int64_t* _wanted_ptr

    cdef int _leg(self, Py_ssize_t lane, int64_t ready_ns, EdtResult* result) noexcept nogil
    cdef int _route_edt(self, PromiseKernel kernel, Py_ssize_t route, int64_t ready_ns,
                        int64_t* timing) noexcept nogil
    cdef int _node_options(self, PromiseKernel kernel, Py_ssize_t column) noexcept nogil
    cdef void _put_row(self, PromiseKernel kernel, Py_ssize_t row, Py_ssize_t column, Py_ssize_t route,
                       const int64_t* timing) noexcept nogil
    cdef double _score(self, PromiseKernel kernel, Py_ssize_t row) noexcept nogil
