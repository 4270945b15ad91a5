# Declarations of the EDT tables (transport.pyx), so a future Cython
# promise kernel can cimport them and call `edt_one` without the GIL.
# EdtStatus numbers are stable: dompromise.promise.edt.EdtStatus mirrors them.

from libc.stdint cimport int8_t, int32_t, int64_t

cdef enum EdtStatus:
    EDT_OK = 1
    # The ready time is outside the tables' window: rebuild them around it.
    EDT_OUT_OF_WINDOW = 2
    # Nothing arrives within TRANSPORT_HORIZON_DAYS of the ready time.
    EDT_NO_DELIVERY = 3

# Bits of EdtResult.flags: why a delivery is later than it could have been.
cdef enum EdtFlag:
    # The order came after the node's daily cut-off for the service: taken next working day.
    EDT_FLAG_ORDER_CUTOFF_MISSED = 1
    # The goods were ready for a departure whose own cut-off had passed.
    EDT_FLAG_DEPARTURE_CUTOFF_MISSED = 2

ctypedef struct EdtResult:
    int64_t accepted_ns    # the order taken: first acceptance instant at or after ready
    int64_t dock_ns        # goods at the dock: accepted + processing, in working time
    int64_t departure_ns
    int64_t arrival_ns     # at the destination, before the receiving calendar
    int64_t earliest_ns    # delivered: first receiving instant at or after arrival
    int64_t latest_ns      # first receiving instant at or after arrival + spread
    int8_t status          # EdtStatus
    int8_t flags           # EdtFlag bits


cdef class TransportTables:
    # Ready times EDT accepts: [ready_start_ns, ready_end_ns); UTC ns.
    cdef readonly int64_t ready_start_ns
    cdef readonly int64_t ready_end_ns
    cdef readonly int64_t horizon_ns
    cdef readonly Py_ssize_t lane_count
    cdef readonly Py_ssize_t interval_set_count

    # Interval sets (CSR): set s is [set_start[s], set_start[s+1]) of sorted,
    # disjoint [open_ns, close_ns) intervals. A node's working time, its
    # acceptance time per service (working time cut at the cut-off), a zone's
    # receiving time.
    # Raw pointers into numpy arrays held by `_arrays`: the kernels index them
    # with no bounds or buffer checks, so the constructor checks every length.
    cdef dict _arrays
    cdef const int64_t* _open_ns
    cdef const int64_t* _close_ns
    cdef const int32_t* _set_start

    # Per lane.
    cdef const int32_t* _lane_work_set
    cdef const int32_t* _lane_accept_set
    cdef const int32_t* _lane_receive_set
    cdef const int64_t* _lane_processing_ns
    cdef const int64_t* _lane_transit_ns     # on-demand lanes; -1 for timetabled ones
    cdef const int64_t* _lane_spread_ns

    # Departures (CSR by lane, sorted): departure i of lane l is in
    # [departure_start[l], departure_start[l+1]).
    cdef const int32_t* _departure_start
    cdef const int64_t* _departure_ns
    cdef const int64_t* _cutoff_ns           # last acceptance for departure i (sorted too)
    cdef const int64_t* _arrival_ns
    # Earliest arrival over departures i.. of the lane, and which departure gives it:
    # a later departure may arrive sooner (an express after a slow one).
    cdef int64_t* _best_arrival_ns
    cdef int32_t* _best_departure

    cdef void _point_at(self, dict arrays) except *
    cdef Py_ssize_t _first_disorder(self, int* kind) noexcept nogil
    cdef void _fill_best_arrivals(self) noexcept nogil
    cdef int64_t _next_open(self, Py_ssize_t interval_set, int64_t at_ns) noexcept nogil
    cdef int64_t _add_working(self, Py_ssize_t interval_set, int64_t at_ns, int64_t duration_ns,
                              int64_t limit_ns) noexcept nogil
    cdef Py_ssize_t next_departure(self, Py_ssize_t lane, int64_t at_ns) noexcept nogil
    cdef void edt_one(self, Py_ssize_t lane, int64_t ready_ns, EdtResult* result) noexcept nogil
