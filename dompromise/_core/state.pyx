# cython: language_level=3
"""The deterministic core: dense quantity arrays and the commands that change them.

Pure state machine: no I/O, no clock, no Python objects in the loops. The
engine (dompromise.inventory.engine) interns ids to indices, builds Commands and calls
`Core.apply`, the one entry point for every write; reads are gathers over
SKU-major arrays so one SKU's nodes are contiguous.
"""

cimport cython
cimport numpy as cnp
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

cnp.import_array()

cdef extern from *:
    """
    #define dompromise_prefetch(address) __builtin_prefetch(address)
    """
    void _prefetch "dompromise_prefetch"(const void* address) noexcept nogil


cdef void* _data(cnp.ndarray array, int type_number, bint writable) except NULL:
    """The array's data pointer, after checking dtype, contiguity and (if asked) writability."""
    if cnp.PyArray_TYPE(array) != type_number or not cnp.PyArray_IS_C_CONTIGUOUS(array):
        raise TypeError(f"expected a C-contiguous {np.dtype(cnp.PyArray_DescrFromType(type_number))} array")
    if writable and not cnp.PyArray_ISWRITEABLE(array):
        raise ValueError("output array is read-only")
    # Never NULL for a valid array, even an empty one (numpy allocates at least one byte).
    return cnp.PyArray_DATA(array)

cdef extern from *:
    """
    #ifndef DOMPROMISE_DEBUG
    #define DOMPROMISE_DEBUG 0
    #endif
    """
    # Set by `DOMPROMISE_DEBUG=1 pip install -e .`: checks invariants after every
    # command. A C constant, so release builds compile the checks away.
    const bint DOMPROMISE_DEBUG

cdef extern from *:
    """
    #define DOMPROMISE_QUANTITY_MAX 1000000000000000LL
    """
    # Largest quantity of any bucket, in base units; equals limits.QUANTITY_MAX
    # (a test checks it). Far below 2**63 so sums over a network cannot overflow.
    const int64_t QUANTITY_MAX "DOMPROMISE_QUANTITY_MAX"

# Feed sources (UpdateStock source ids) one core tracks sequences for; each
# costs 8 bytes per position. Equals limits.FEED_SOURCES_MAX (tested).
FEED_SOURCES_MAX_PY = 16
cdef enum:
    FEED_SOURCES_MAX = 16

# Links of the per-position supply and demand lists.
cdef enum:
    END_OF_LIST = -1
    NOT_LINKED = -2
# Phased reads of fewer (SKU, node) cells keep the GIL: a few microseconds,
# less than what releasing it and taking it back would let others do.
cdef enum:
    NOGIL_CELLS = 4096
# Past the end of a list in a walk: later than any real instant.
cdef extern from *:
    """
    #define DOMPROMISE_NEVER_NS INT64_MAX
    """
    const int64_t NEVER_NS "DOMPROMISE_NEVER_NS"
# "Available now" in earliest_ns answers; a real ETA is never the epoch.
cdef enum:
    EARLIEST_NOW = 0
    EARLIEST_NEVER = -1

QUANTITY_MAX_PY = QUANTITY_MAX

# numpy's view of SupplyRecord (state.pxd): the same fields at the same offsets.
SUPPLY_RECORD_DTYPE = np.dtype([("eta_ns", np.int64), ("quantity", np.int64), ("supply", np.int64),
                                ("next", np.int32), ("kind", np.uint8)], align=True)
assert SUPPLY_RECORD_DTYPE.itemsize == sizeof(SupplyRecord) == 32, "SupplyRecord is 32 bytes"
cdef SupplyRecord _probe
assert [SUPPLY_RECORD_DTYPE.fields[name][1] for name in ("eta_ns", "quantity", "supply", "next", "kind")] == [
    <char*>&_probe.eta_ns - <char*>&_probe, <char*>&_probe.quantity - <char*>&_probe,
    <char*>&_probe.supply - <char*>&_probe, <char*>&_probe.next - <char*>&_probe,
    <char*>&_probe.kind - <char*>&_probe], "SupplyRecord's field offsets"

# Python-visible copies of the C enums, for the engine and the contract tests.
ITEM_STATUS = {
    "OK": ITEM_OK,
    "SKU_NOT_FOUND": ITEM_SKU_NOT_FOUND,
    "NODE_NOT_FOUND": ITEM_NODE_NOT_FOUND,
    "NEGATIVE_QUANTITY": ITEM_NEGATIVE_QUANTITY,
    "QUANTITY_TOO_LARGE": ITEM_QUANTITY_TOO_LARGE,
    "NOT_APPLIED": ITEM_NOT_APPLIED,
    "INSUFFICIENT_STOCK": ITEM_INSUFFICIENT_STOCK,
    "NODE_NOT_SELLABLE": ITEM_NODE_NOT_SELLABLE,
    "PARTIALLY_FILLED": ITEM_PARTIALLY_FILLED,
    "LINE_NOT_FOUND": ITEM_LINE_NOT_FOUND,
    "EXCEEDS_OPEN_QUANTITY": ITEM_EXCEEDS_OPEN_QUANTITY,
    "MALFORMED": ITEM_MALFORMED,
    "SUPPLY_NOT_FOUND": ITEM_SUPPLY_NOT_FOUND,
    "SUPPLY_CONFLICT": ITEM_SUPPLY_CONFLICT,
    "STALE": ITEM_STALE,
    "UNIT_NOT_FOUND": ITEM_UNIT_NOT_FOUND,
    "VARIANT_LIMIT_REACHED": ITEM_VARIANT_LIMIT_REACHED,
}
COMMAND_KIND = {
    "UPDATE_ON_HAND": COMMAND_UPDATE_ON_HAND,
    "RESERVE": COMMAND_RESERVE,
    "COMMIT": COMMAND_COMMIT,
    "RELEASE": COMMAND_RELEASE,
    "EXTEND": COMMAND_EXTEND,
    "TICK": COMMAND_TICK,
    "SHIP": COMMAND_SHIP,
    "CANCEL_LINES": COMMAND_CANCEL_LINES,
    "RETURN": COMMAND_RETURN,
    "SET_NODE_STATUS": COMMAND_SET_NODE_STATUS,
    "UPSERT_SUPPLY": COMMAND_UPSERT_SUPPLY,
    "RECEIVE_SUPPLY": COMMAND_RECEIVE_SUPPLY,
    "SET_SAFETY_STOCK": COMMAND_SET_SAFETY_STOCK,
    "SET_UNAVAILABLE": COMMAND_SET_UNAVAILABLE,
}
UNAVAILABLE_REASON = {
    "DAMAGED": UNAVAILABLE_DAMAGED,
    "QUARANTINED": UNAVAILABLE_QUARANTINED,
    "INSPECTION": UNAVAILABLE_INSPECTION,
    "DISPLAY": UNAVAILABLE_DISPLAY,
}
SAFETY_STOCK_SCOPE = {
    "POSITION": SAFETY_STOCK_POSITION,
    "SKU": SAFETY_STOCK_SKU,
    "NODE": SAFETY_STOCK_NODE,
}
# A SET_SAFETY_STOCK quantity that clears the rule (and a rule table's "none").
SAFETY_STOCK_CLEAR = SAFETY_STOCK_UNSET
SUPPLY_KIND = {
    "IN_TRANSIT": SUPPLY_IN_TRANSIT,
    "PURCHASE_ORDER": SUPPLY_PURCHASE_ORDER,
    "TRANSFER": SUPPLY_TRANSFER,
}
# A kind mask counting every kind of future supply.
SUPPLY_ALL_KINDS = (1 << SUPPLY_IN_TRANSIT) | (1 << SUPPLY_PURCHASE_ORDER) | (1 << SUPPLY_TRANSFER)
EARLIEST = {"NOW": EARLIEST_NOW, "NEVER": EARLIEST_NEVER}
RETURN_DISPOSITION = {
    "SELLABLE": RETURN_SELLABLE,
    "QUARANTINE": RETURN_QUARANTINE,
}
RESERVATION_STATE = {
    "HELD": RESERVATION_HELD,
    "COMMITTED": RESERVATION_COMMITTED,
    "RELEASED": RESERVATION_RELEASED,
    "EXPIRED": RESERVATION_EXPIRED,
    "SHIPPED": RESERVATION_SHIPPED,
}
COMMAND_RESULT = {
    "OK": RESULT_OK,
    "RESERVATION_NOT_FOUND": RESULT_RESERVATION_NOT_FOUND,
    "RESERVATION_EXPIRED": RESULT_RESERVATION_EXPIRED,
    "RESERVATION_RELEASED": RESULT_RESERVATION_RELEASED,
    "RESERVATION_COMMITTED": RESULT_RESERVATION_COMMITTED,
    "INSUFFICIENT_STOCK": RESULT_INSUFFICIENT_STOCK,
    "RESERVATION_NOT_COMMITTED": RESULT_RESERVATION_NOT_COMMITTED,
    "RESERVATION_SHIPPED": RESULT_RESERVATION_SHIPPED,
    "INVALID_LINES": RESULT_INVALID_LINES,
    "MALFORMED": RESULT_MALFORMED,
}
# Initial capacity of the reservation tables; they double when full.
RESERVATIONS_INITIAL = 1024
ON_HAND_OP = {
    "SET": ON_HAND_SET,
    "ADJUST": ON_HAND_ADJUST,
}
NODE_STATUS = {
    "ENABLED": NODE_ENABLED,
    "DRAIN": NODE_DRAIN,
    "DISABLED": NODE_DISABLED,
}
BUCKETS = ("on_hand", "held", "allocated", "unavailable", "safety_stock", "available")

# Dtypes of the Command columns, by numpy type number (for _column's slow path).
_DTYPES = {cnp.NPY_INT8: np.int8, cnp.NPY_INT32: np.int32, cnp.NPY_INT64: np.int64}


cdef inline object _zeros(Py_ssize_t count, int type_number):
    cdef cnp.npy_intp size = count
    return cnp.PyArray_ZEROS(1, &size, type_number, 0)


cdef inline void _fill(cnp.ndarray array, int64_t value) noexcept:
    """Fills an int64 array (from _zeros: contiguous)."""
    cdef int64_t* data = <int64_t*>cnp.PyArray_DATA(array)
    cdef Py_ssize_t i
    for i in range(cnp.PyArray_DIM(array, 0)):
        data[i] = value


cdef object _column(object values, int type_number):
    """`values` as a C-contiguous array of the type: a 1-D array already so is taken
    as it is (as np.ascontiguousarray would), anything else goes through numpy."""
    if cnp.PyArray_CheckExact(values):
        if (cnp.PyArray_NDIM(<cnp.ndarray>values) == 1 and cnp.PyArray_TYPE(<cnp.ndarray>values) == type_number
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>values)):
            return values
    elif type(values) is tuple and len(<tuple>values) == 0:
        return _zeros(0, type_number)
    return np.ascontiguousarray(values, dtype=_DTYPES[type_number])


def indices_of(dict index, ids, int32_t unknown=-1):
    """int32 array of index[id] for each id (`unknown` where absent): the engine's
    id interning, one dict lookup per id and no intermediate list."""
    cdef Py_ssize_t count = len(ids), i = 0
    cdef cnp.ndarray out = _zeros(count, cnp.NPY_INT32)
    cdef int32_t* data = <int32_t*>cnp.PyArray_DATA(out)
    for key in ids:
        if i >= count:
            raise ValueError("ids changed size")
        value = index.get(key)
        data[i] = unknown if value is None else <int32_t>value
        i += 1
    if i != count:
        raise ValueError("ids changed size")
    return out


def int64_column(values):
    """A sequence of Python ints (e.g. a protobuf repeated int64 field) as an
    int64 array, without numpy's generic sequence conversion."""
    cdef Py_ssize_t count = len(values), i = 0
    cdef cnp.ndarray out = _zeros(count, cnp.NPY_INT64)
    cdef int64_t* data = <int64_t*>cnp.PyArray_DATA(out)
    for value in values:
        if i >= count:
            raise ValueError("values changed size")
        data[i] = value
        i += 1
    if i != count:
        raise ValueError("values changed size")
    return out




cdef class Command:
    """A write to apply. Build it, hand it to Core.apply, read its results.

    Items apply in order. With all_or_nothing, one failed item undoes the
    others (they report NOT_APPLIED) and the state is as before.
    """

    def __init__(self, int32_t kind, int64_t log_time_ns, sku=(), node=(), quantity=(), op=None,
                 bint all_or_nothing=False, int64_t reservation=-1, int64_t deadline_ns=0, line=None,
                 time_ns=None, ref=None, floor=None):
        # Every record of a replay builds one: columns already of the right type
        # are taken as they are and defaults are made through the C API
        # (np.ascontiguousarray / np.zeros calls cost ~0.3 us each).
        self.kind = kind
        self.reservation = reservation
        self.deadline_ns = deadline_ns
        self.result = 0
        self.log_time_ns = log_time_ns
        self.all_or_nothing = all_or_nothing
        self.sku = _column(sku, cnp.NPY_INT32)
        self.node = _column(node, cnp.NPY_INT32)
        self.quantity = _column(quantity, cnp.NPY_INT64)
        count = self.sku.shape[0]
        self.op = _zeros(count, cnp.NPY_INT8) if op is None else _column(op, cnp.NPY_INT8)
        self.line = _zeros(count, cnp.NPY_INT32) if line is None else _column(line, cnp.NPY_INT32)
        # Unset int64 columns share one zero array: the core only reads them.
        zeros = _zeros(count, cnp.NPY_INT64) if time_ns is None or floor is None else None
        self.time_ns = zeros if time_ns is None else _column(time_ns, cnp.NPY_INT64)
        if ref is None:
            self.ref = _zeros(count, cnp.NPY_INT64)
            _fill(<cnp.ndarray>self.ref, -1)
        else:
            self.ref = _column(ref, cnp.NPY_INT64)
        self.floor = zeros if floor is None else _column(floor, cnp.NPY_INT64)
        assert self.floor.shape[0] == count, "floor column length differs from sku"
        assert self.time_ns.shape[0] == count, "time_ns column length differs from sku"
        assert self.ref.shape[0] == count, "ref column length differs from sku"
        assert self.line.shape[0] == count, "line column length differs from sku"
        assert self.op.shape[0] == count, "op column length differs from sku"
        assert self.node.shape[0] == count, "node column length differs from sku"
        assert self.quantity.shape[0] == count, "quantity column length differs from sku"
        self.status = _zeros(count, cnp.NPY_INT8)
        self.on_hand_after = _zeros(count, cnp.NPY_INT64)
        self.available_after = _zeros(count, cnp.NPY_INT64)
        self.filled = _zeros(count, cnp.NPY_INT64)
        self.applied_count = 0
        self.log_position = 0
        self.count = count
        self.sku_ = <const int32_t*>_data(self.sku, cnp.NPY_INT32, False)
        self.node_ = <const int32_t*>_data(self.node, cnp.NPY_INT32, False)
        self.quantity_ = <const int64_t*>_data(self.quantity, cnp.NPY_INT64, False)
        self.op_ = <const int8_t*>_data(self.op, cnp.NPY_INT8, False)
        self.line_ = <const int32_t*>_data(self.line, cnp.NPY_INT32, False)
        self.time_ns_ = <const int64_t*>_data(self.time_ns, cnp.NPY_INT64, False)
        self.ref_ = <const int64_t*>_data(self.ref, cnp.NPY_INT64, False)
        self.floor_ = <const int64_t*>_data(self.floor, cnp.NPY_INT64, False)
        self.status_ = <int8_t*>_data(self.status, cnp.NPY_INT8, True)
        self.on_hand_after_ = <int64_t*>_data(self.on_hand_after, cnp.NPY_INT64, True)
        self.available_after_ = <int64_t*>_data(self.available_after, cnp.NPY_INT64, True)
        self.filled_ = <int64_t*>_data(self.filled, cnp.NPY_INT64, True)

    def __len__(self):
        return self.sku.shape[0]


@cython.final
cdef class Core:
    """Node-by-SKU quantity state of one replica.

    Unknown ids never reach the core: the engine maps them to index -1 and
    the core reports SKU_NOT_FOUND / NODE_NOT_FOUND for them.
    """

    def __init__(self, int32_t node_count, int32_t sku_count, node_status=None, bint _positions=True):
        # _positions=False (from_state only): the per-position tables are left
        # empty, from_state sets every one of them (10M positions: ~0.5 s saved).
        assert node_count > 0, "a network needs at least one node"
        assert sku_count > 0, "a network needs at least one SKU"
        cdef Py_ssize_t positions = <Py_ssize_t>node_count * sku_count if _positions else 0
        self.node_count = node_count
        self.sku_count = sku_count
        self.sku_capacity = sku_count
        self.log_time_ns = 0
        self.log_position = 0
        self.on_hand = np.zeros(positions, dtype=np.int64)
        self.held = np.zeros(positions, dtype=np.int64)
        self.allocated = np.zeros(positions, dtype=np.int64)
        self.unavailable = np.zeros(positions, dtype=np.int64)
        self.safety_stock = np.zeros(positions, dtype=np.int64)
        self.available = np.zeros(positions, dtype=np.int64)
        self.safety_stock_rule = np.full(positions, SAFETY_STOCK_UNSET, dtype=np.int64)
        self.sku_safety_stock_rule = np.full(sku_count, SAFETY_STOCK_UNSET, dtype=np.int64)
        self.node_safety_stock_rule = np.full(node_count, SAFETY_STOCK_UNSET, dtype=np.int64)
        self.reason_row = np.full(positions, -1, dtype=np.int32)
        self.reason_quantity = np.zeros(0, dtype=np.int64)
        self.reason_count = 0
        if node_status is None:
            self.node_status = np.full(node_count, NODE_ENABLED, dtype=np.uint8)
        else:
            statuses = np.ascontiguousarray(node_status, dtype=np.uint8)
            assert statuses.shape[0] == node_count, "one status per node"
            assert np.all((statuses >= NODE_ENABLED) & (statuses <= NODE_DISABLED))
            self.node_status = statuses.copy()
        self.reservation_count = 0
        self.line_count = 0
        self.heap_size = 0
        self.reservation_state = np.zeros(0, dtype=np.uint8)
        self.reservation_expire_ns = np.zeros(0, dtype=np.int64)
        self.reservation_first_line = np.zeros(0, dtype=np.int64)
        self.reservation_line_count = np.zeros(0, dtype=np.int32)
        self.line_sku = np.zeros(0, dtype=np.int32)
        self.line_node = np.zeros(0, dtype=np.int32)
        self.line_quantity = np.zeros(0, dtype=np.int64)
        self.line_shipped = np.zeros(0, dtype=np.int64)
        self.line_due_ns = np.zeros(0, dtype=np.int64)
        self.line_next_demand = np.zeros(0, dtype=np.int64)
        self.demand_head = np.full(positions, END_OF_LIST, dtype=np.int64)
        self.supply_count = 0
        self.supply_position = np.zeros(0, dtype=np.int64)
        self.supply_received = np.zeros(0, dtype=np.int64)
        self.supply_slot = np.zeros(0, dtype=np.int64)
        self.supply_stamp = np.zeros(0, dtype=np.int64)
        self._adopt_records(np.zeros(0, dtype=SUPPLY_RECORD_DTYPE))
        self.supply_head = np.full(positions, END_OF_LIST, dtype=np.int64)
        self.feed_sequence = np.full((0, <Py_ssize_t>node_count * sku_count), -1, dtype=np.int64)
        self.sku_changed = np.zeros(sku_count, dtype=np.uint8)
        self.changed_skus = np.zeros(sku_count, dtype=np.int32)
        self.changed_count = 0
        self.heap_expire_ns = np.zeros(0, dtype=np.int64)
        self.heap_reservation = np.zeros(0, dtype=np.int64)
        self._reserve_capacity(RESERVATIONS_INITIAL, RESERVATIONS_INITIAL)
        self._adopt_buffers()

    # ---- writes -----------------------------------------------------------

    def apply(self, Command command, bint advance=True):
        """Applies one command in log order; returns its log position.

        The command's time is the log's clock: it never goes backwards, and
        it is the only time the core knows. One log record may apply several
        core commands (a wave): all but the last pass advance=False, so the
        core's position stays the log's.
        """
        assert command.log_time_ns >= 0, "log time before the epoch"
        assert command.log_time_ns >= self.log_time_ns, "log time went backwards"
        # The log's clock moves first: holds due by this command's time expire
        # before it applies, identically on every replica.
        self._expire_due(command.log_time_ns)
        if not self._well_formed(command):
            # A malformed command (the edge should never let one through) is
            # recorded as such and changes nothing: replay cannot be poisoned.
            command.status[:] = ITEM_MALFORMED
            command.result = RESULT_MALFORMED
        elif command.kind == COMMAND_UPDATE_ON_HAND:
            self._apply_on_hand(command)
        elif command.kind == COMMAND_RESERVE:
            self._apply_reserve(command)
        elif command.kind == COMMAND_COMMIT or command.kind == COMMAND_RELEASE:
            self._apply_resolve(command)
        elif command.kind == COMMAND_EXTEND:
            self._apply_extend(command)
        elif command.kind == COMMAND_SHIP or command.kind == COMMAND_CANCEL_LINES:
            self._apply_line_change(command)
        elif command.kind == COMMAND_RETURN:
            self._apply_return(command)
        elif command.kind == COMMAND_SET_NODE_STATUS:
            self._apply_node_status(command)
        elif command.kind == COMMAND_UPSERT_SUPPLY:
            self._apply_upsert_supply(command)
        elif command.kind == COMMAND_RECEIVE_SUPPLY:
            self._apply_receive_supply(command)
        elif command.kind == COMMAND_SET_SAFETY_STOCK:
            self._apply_safety_stock(command)
        elif command.kind == COMMAND_SET_UNAVAILABLE:
            self._apply_set_unavailable(command)
        elif command.kind == COMMAND_TICK:
            command.result = RESULT_OK
        self.log_time_ns = command.log_time_ns
        if advance:
            self.log_position += 1
        command.log_position = self.log_position + (0 if advance else 1)
        if DOMPROMISE_DEBUG:
            self.check_invariants()
        return self.log_position

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int64_t _apply_on_hand(self, Command command) except -1:
        """Sets or adjusts on hand, item by item.

        An item from a feed (ref[i] = source index >= 0) carries that
        source's sequence number for the position in time_ns[i]: one not
        above the last applied from the source there is STALE and skipped
        (neither applied nor a failure), so replays and reordered feeds
        never overwrite newer data.
        """
        cdef Py_ssize_t i, count = command.count, position
        cdef bint sequenced = self._feed_capacity(command)
        cdef const int32_t* sku = command.sku_
        cdef const int32_t* node = command.node_
        cdef const int64_t* quantity = command.quantity_
        cdef const int64_t* sequence = command.time_ns_
        cdef const int64_t* source = command.ref_
        cdef const int8_t* op = command.op_
        cdef int8_t* status = command.status_
        cdef int64_t* on_hand_after = command.on_hand_after_
        cdef int64_t* available_after = command.available_after_
        # Undo columns, only for all_or_nothing (the sequences only when an item is
        # sequenced): malloc, not numpy, so a 1-item command allocates nothing.
        cdef bint undo = command.all_or_nothing and count > 0
        cdef int64_t* previous = NULL
        cdef int64_t* previous_sequence = NULL
        if undo:
            previous = <int64_t*>malloc(count * sizeof(int64_t) * (2 if sequenced else 1))
            if previous == NULL:
                raise MemoryError()
            previous_sequence = previous + count if sequenced else NULL
        # The feed table by raw row: feed[source, position] = feed_row[source * feed_width + position].
        cdef int64_t* feed = &self.feed_sequence[0, 0] if self.feed_sequence.shape[0] > 0 else NULL
        cdef Py_ssize_t feed_width = self.feed_sequence.shape[1]
        cdef bint all_or_nothing = command.all_or_nothing
        cdef int64_t target, applied = 0, failed = 0
        with nogil:
            for i in range(count):
                position = self._position_of(sku[i], node[i], &status[i])
                if position < 0:
                    failed += 1
                    continue
                if undo:
                    previous[i] = self.on_hand[position]
                on_hand_after[i] = self.on_hand[position]
                available_after[i] = self.available[position]
                if source[i] >= FEED_SOURCES_MAX:
                    status[i] = ITEM_MALFORMED
                    failed += 1
                    continue
                if source[i] >= 0 and sequence[i] <= feed[source[i] * feed_width + position]:
                    status[i] = ITEM_STALE
                    continue
                # |quantity| <= QUANTITY_MAX is checked at the edge, so the sum
                # below cannot overflow; the core checks it again for safety.
                if quantity[i] > QUANTITY_MAX or quantity[i] < -QUANTITY_MAX:
                    target = QUANTITY_MAX + 1
                elif op[i] == ON_HAND_SET:
                    target = quantity[i]
                else:
                    target = self.on_hand[position] + quantity[i]
                if target < 0:
                    status[i] = ITEM_NEGATIVE_QUANTITY
                    failed += 1
                elif target > QUANTITY_MAX:
                    status[i] = ITEM_QUANTITY_TOO_LARGE
                    failed += 1
                else:
                    self.on_hand[position] = target
                    if source[i] >= 0:
                        if undo:
                            previous_sequence[i] = feed[source[i] * feed_width + position]
                        feed[source[i] * feed_width + position] = sequence[i]
                    self._refresh_available(position)
                    status[i] = ITEM_OK
                    applied += 1
                on_hand_after[i] = self.on_hand[position]
                available_after[i] = self.available[position]
            if all_or_nothing and failed > 0 and applied > 0:
                # Undo in reverse order so repeated positions end where they began.
                for i in range(count - 1, -1, -1):
                    if status[i] != ITEM_OK:
                        continue
                    position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                    self.on_hand[position] = previous[i]
                    if source[i] >= 0:
                        feed[source[i] * feed_width + position] = previous_sequence[i]
                    self._refresh_available(position)
                    status[i] = ITEM_NOT_APPLIED
                for i in range(count):
                    if sku[i] >= 0 and sku[i] < self.sku_count and node[i] >= 0 and node[i] < self.node_count:
                        position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                        on_hand_after[i] = self.on_hand[position]
                        available_after[i] = self.available[position]
                applied = 0
        free(previous)
        command.applied_count = applied
        return applied

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _feed_capacity(self, Command command) except -1:
        """Adds a sequence row (all -1: nothing seen) for every feed source index
        the command names beyond the rows there are (at most FEED_SOURCES_MAX);
        returns whether any item is sequenced. A C loop: numpy's max costs
        more than a one-item command."""
        cdef const int64_t* source = command.ref_
        cdef int64_t highest = -1
        cdef Py_ssize_t i
        for i in range(command.count):
            if source[i] > highest:
                highest = source[i]
        cdef int64_t needed = min(highest + 1, FEED_SOURCES_MAX)
        cdef Py_ssize_t rows = self.feed_sequence.shape[0]
        if needed > rows:
            grown = np.full((needed, self.feed_sequence.shape[1]), -1, dtype=np.int64)
            grown[:rows] = np.asarray(self.feed_sequence)
            self.feed_sequence = grown
        return highest >= 0

    cdef inline Py_ssize_t _position_of(self, int32_t sku, int32_t node, int8_t* status) noexcept nogil:
        """The position of (sku, node), or -1 with *status set to SKU_NOT_FOUND / NODE_NOT_FOUND
        (the engine maps unknown ids to -1; the core still checks every index it is given)."""
        if sku < 0 or sku >= self.sku_count:
            status[0] = ITEM_SKU_NOT_FOUND
            return -1
        if node < 0 or node >= self.node_count:
            status[0] = ITEM_NODE_NOT_FOUND
            return -1
        return <Py_ssize_t>sku * self.node_count + node

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef inline int64_t _net_on_hand(self, Py_ssize_t position) noexcept nogil:
        """On hand less everything that may not be sold from it now; may be negative."""
        return (self.on_hand[position] - self.held[position] - self.allocated[position]
                - self.unavailable[position] - self.safety_stock[position])

    @cython.boundscheck(False)
    @cython.wraparound(False)
    @cython.cdivision(True)
    cdef inline void _refresh_available(self, Py_ssize_t position) noexcept nogil:
        cdef int64_t free = self._net_on_hand(position)
        # Units promised to a backorder on a later date are sellable now only
        # if that date's supply still covers the backorder afterwards.
        if self.demand_head[position] != END_OF_LIST:
            free = self._lowest_cumulative(position, free, 0)
        self.available[position] = free if free > 0 else 0
        cdef int32_t sku = <int32_t>(position // self.node_count)
        if not self.sku_changed[sku]:
            self.sku_changed[sku] = 1
            self.changed_skus[self.changed_count] = sku
            self.changed_count += 1

    @cython.boundscheck(False)
    @cython.wraparound(False)
    @cython.cdivision(True)
    cdef inline int64_t _effective_safety_stock(self, Py_ssize_t position) noexcept nogil:
        """The most specific safety-stock rule of the position: its own (SKU x
        node), else its SKU's, else its node's, else 0. SKU before node: a SKU
        rule is about the item (its demand, its lead time) wherever it is
        stocked, a node rule a blanket default for whatever the node holds."""
        cdef int64_t rule = self.safety_stock_rule[position]
        if rule != SAFETY_STOCK_UNSET:
            return rule
        rule = self.sku_safety_stock_rule[position // self.node_count]
        if rule != SAFETY_STOCK_UNSET:
            return rule
        rule = self.node_safety_stock_rule[position % self.node_count]
        return rule if rule != SAFETY_STOCK_UNSET else 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef inline void _refresh_safety_stock(self, Py_ssize_t position) noexcept nogil:
        """Re-derives the position's safety stock from the rules; refreshes
        available (and the change journal) only when it moved, so a node rule
        over millions of SKUs wakes watchers of the positions it changed only."""
        cdef int64_t effective = self._effective_safety_stock(position)
        if effective != self.safety_stock[position]:
            self.safety_stock[position] = effective
            self._refresh_available(position)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef inline int64_t _available_above(self, Py_ssize_t position, int64_t floor) noexcept nogil:
        """Available less what must stay behind for others (a reserve line's floor), never below 0."""
        cdef int64_t free = self.available[position] - floor
        return free if free > 0 else 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_safety_stock(self, Command command) except -1:
        """Sets safety-stock rules: item i sets the rule of scope op[i] (the
        (sku, node) position, sku at every node, or node for every SKU) to
        quantity[i], or clears it with SAFETY_STOCK_UNSET. Items are checked
        first, then applied in order, so all_or_nothing needs no undo. A SKU
        or node rule re-derives every position it covers: a loop over the
        nodes or the SKUs, bounded at the edge (SAFETY_STOCK_POSITIONS_MAX).
        """
        cdef Py_ssize_t i, j, count = command.count, position
        cdef const int32_t* sku = command.sku_
        cdef const int32_t* node = command.node_
        cdef const int64_t* quantity = command.quantity_
        cdef const int8_t* op = command.op_
        cdef int8_t* status = command.status_
        cdef int64_t* on_hand_after = command.on_hand_after_
        cdef int64_t* available_after = command.available_after_
        cdef int64_t failed = 0, applied = 0
        cdef bint needs_sku, needs_node
        with nogil:
            for i in range(count):
                needs_sku = op[i] != SAFETY_STOCK_NODE
                needs_node = op[i] != SAFETY_STOCK_SKU
                status[i] = ITEM_OK
                if needs_sku and (sku[i] < 0 or sku[i] >= self.sku_count):
                    status[i] = ITEM_SKU_NOT_FOUND
                    failed += 1
                elif needs_node and (node[i] < 0 or node[i] >= self.node_count):
                    status[i] = ITEM_NODE_NOT_FOUND
                    failed += 1
            for i in range(count):
                if status[i] != ITEM_OK:
                    continue
                if failed > 0 and command.all_or_nothing:
                    status[i] = ITEM_NOT_APPLIED
                    continue
                if op[i] == SAFETY_STOCK_POSITION:
                    position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                    self.safety_stock_rule[position] = quantity[i]
                    self._refresh_safety_stock(position)
                elif op[i] == SAFETY_STOCK_SKU:
                    self.sku_safety_stock_rule[sku[i]] = quantity[i]
                    for j in range(self.node_count):
                        self._refresh_safety_stock(<Py_ssize_t>sku[i] * self.node_count + j)
                else:
                    self.node_safety_stock_rule[node[i]] = quantity[i]
                    for j in range(self.sku_count):
                        self._refresh_safety_stock(<Py_ssize_t>j * self.node_count + node[i])
                applied += 1
            for i in range(count):
                # Quantities after are a position's: SKU x node rules only.
                if (op[i] == SAFETY_STOCK_POSITION and status[i] != ITEM_SKU_NOT_FOUND
                        and status[i] != ITEM_NODE_NOT_FOUND):
                    position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                    on_hand_after[i] = self.on_hand[position]
                    available_after[i] = self.available[position]
        command.applied_count = applied
        command.result = RESULT_OK if applied > 0 else RESULT_INVALID_LINES
        return 0

    # ---- unavailable stock by reason ------------------------------------------

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_set_unavailable(self, Command command) except -1:
        """Sets the quantity of reason op[i] at (sku[i], node[i]) to quantity[i]
        (absolute, >= 0); the position's unavailable becomes the sum of its
        reasons. Like a stock count it is a fact: it applies even above on hand
        (available then reads 0). A total above QUANTITY_MAX is
        QUANTITY_TOO_LARGE. With all_or_nothing a failure undoes the applied
        items newest first, so repeated positions end where they began.
        """
        cdef Py_ssize_t i, count = command.count, position
        self._reason_capacity(count)
        cdef const int32_t* sku = command.sku_
        cdef const int32_t* node = command.node_
        cdef const int64_t* quantity = command.quantity_
        cdef const int8_t* op = command.op_
        cdef int8_t* status = command.status_
        cdef int64_t* on_hand_after = command.on_hand_after_
        cdef int64_t* available_after = command.available_after_
        cdef int64_t[::1] previous = np.zeros(count, dtype=np.int64)
        cdef int64_t failed = 0, applied = 0, old
        with nogil:
            for i in range(count):
                position = self._position_of(sku[i], node[i], &status[i])
                if position < 0:
                    failed += 1
                    continue
                old = self._reason_quantity_of(position, op[i])
                # Each term is <= QUANTITY_MAX: the sum cannot overflow.
                if self.unavailable[position] - old + quantity[i] > QUANTITY_MAX:
                    status[i] = ITEM_QUANTITY_TOO_LARGE
                    failed += 1
                else:
                    previous[i] = old
                    self._set_reason(position, op[i], quantity[i])
                    status[i] = ITEM_OK
                    applied += 1
                on_hand_after[i] = self.on_hand[position]
                available_after[i] = self.available[position]
            if command.all_or_nothing and failed > 0 and applied > 0:
                for i in range(count - 1, -1, -1):
                    if status[i] == ITEM_OK:
                        self._set_reason(<Py_ssize_t>sku[i] * self.node_count + node[i], op[i], previous[i])
                        status[i] = ITEM_NOT_APPLIED
                for i in range(count):
                    if status[i] != ITEM_SKU_NOT_FOUND and status[i] != ITEM_NODE_NOT_FOUND:
                        position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                        on_hand_after[i] = self.on_hand[position]
                        available_after[i] = self.available[position]
                applied = 0
        command.applied_count = applied
        command.result = RESULT_OK if applied > 0 else RESULT_INVALID_LINES
        return 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int64_t _reason_quantity_of(self, Py_ssize_t position, int reason) noexcept nogil:
        cdef int32_t row = self.reason_row[position]
        return 0 if row < 0 else self.reason_quantity[<Py_ssize_t>row * UNAVAILABLE_REASON_COUNT + reason - 1]

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _set_reason(self, Py_ssize_t position, int reason, int64_t quantity) noexcept nogil:
        """Sets one reason's quantity and keeps unavailable (their sum) and available
        up to date. A position gets its row on its first non-zero reason; the
        caller made room (_reason_capacity) for one new row per item."""
        cdef int32_t row = self.reason_row[position]
        cdef Py_ssize_t cell, r
        if row < 0:
            if quantity == 0:
                return
            row = <int32_t>self.reason_count
            self.reason_count += 1
            self.reason_row[position] = row
            for r in range(UNAVAILABLE_REASON_COUNT):
                self.reason_quantity[<Py_ssize_t>row * UNAVAILABLE_REASON_COUNT + r] = 0
        cell = <Py_ssize_t>row * UNAVAILABLE_REASON_COUNT + reason - 1
        self.unavailable[position] += quantity - self.reason_quantity[cell]
        self.reason_quantity[cell] = quantity
        self._refresh_available(position)

    cdef int _reason_capacity(self, Py_ssize_t rows) except -1:
        """Grows the reason table (doubling) so `rows` more rows fit; with the GIL, before a nogil loop."""
        cdef int64_t needed = (self.reason_count + rows) * UNAVAILABLE_REASON_COUNT
        if needed > self.reason_quantity.shape[0]:
            assert self.reason_count + rows < 2**31, "reason rows are int32"
            size = max(needed, 2 * self.reason_quantity.shape[0], 64 * UNAVAILABLE_REASON_COUNT)
            self.reason_quantity = _grown(self.reason_quantity, size)
        return 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int64_t _lowest_cumulative(self, Py_ssize_t position, int64_t base, int64_t from_ns) noexcept nogil:
        """The lowest cumulative balance at or after from_ns: what can be promised by then.

        The balance starts at `base` (net on hand) and, in time order, gains
        each open supply at its ETA and loses each backorder at its date
        (supply first at equal times). Promising q by date D is safe exactly
        when this is >= q for D: no later date goes short.
        """
        cdef int64_t balance = base, lowest = base, slot = self.supply_head[position]
        cdef int64_t line = self.demand_head[position], time_ns
        cdef bint started = from_ns <= 0
        cdef const SupplyRecord* record
        while slot != END_OF_LIST or line != END_OF_LIST:
            if line == END_OF_LIST or (slot != END_OF_LIST
                                       and self.records[slot].eta_ns <= self.line_due_ns[line]):
                record = &self.records[slot]
                time_ns = record.eta_ns
                if not started and time_ns > from_ns:
                    started = True
                    lowest = balance
                balance += record.quantity
                slot = record.next
            else:
                time_ns = self.line_due_ns[line]
                if not started and time_ns > from_ns:
                    started = True
                    lowest = balance
                balance -= self.line_quantity[line]
                line = self.line_next_demand[line]
            if started and balance < lowest:
                lowest = balance
        return lowest if started else balance

    cdef bint _well_formed(self, Command command) except -1:
        """Whether the command's shape and values are ones apply can act on.

        Checked before anything changes. The service validates requests at the
        edge; this keeps a bad record in the log from stopping every replica.
        """
        cdef int32_t kind = command.kind
        cdef Py_ssize_t i, count = command.count
        cdef const int64_t* quantity = command.quantity_
        cdef const int8_t* op = command.op_
        cdef const int64_t* time_ns = command.time_ns_
        cdef const int64_t* ref = command.ref_
        cdef const int64_t* floor = command.floor_
        cdef bint needs_items = kind in (COMMAND_UPDATE_ON_HAND, COMMAND_RESERVE, COMMAND_SHIP,
                                         COMMAND_CANCEL_LINES, COMMAND_RETURN, COMMAND_SET_NODE_STATUS,
                                         COMMAND_UPSERT_SUPPLY, COMMAND_RECEIVE_SUPPLY, COMMAND_SET_SAFETY_STOCK,
                                         COMMAND_SET_UNAVAILABLE)
        if kind < COMMAND_UPDATE_ON_HAND or kind > COMMAND_SET_UNAVAILABLE:
            return False
        if needs_items and count == 0:
            return False
        if (kind == COMMAND_RESERVE or kind == COMMAND_EXTEND) and command.deadline_ns <= command.log_time_ns:
            return False
        for i in range(count):
            if kind == COMMAND_UPDATE_ON_HAND:
                if op[i] != ON_HAND_SET and op[i] != ON_HAND_ADJUST:
                    return False
                if ref[i] >= 0 and time_ns[i] < 0:
                    return False
            elif kind == COMMAND_SET_NODE_STATUS:
                if op[i] < NODE_ENABLED or op[i] > NODE_DISABLED:
                    return False
            elif kind == COMMAND_SET_SAFETY_STOCK:
                if op[i] < SAFETY_STOCK_POSITION or op[i] > SAFETY_STOCK_NODE:
                    return False
                if quantity[i] < SAFETY_STOCK_UNSET or quantity[i] > QUANTITY_MAX:
                    return False
            elif kind == COMMAND_SET_UNAVAILABLE:
                if op[i] < UNAVAILABLE_DAMAGED or op[i] > UNAVAILABLE_DISPLAY:
                    return False
                if quantity[i] < 0 or quantity[i] > QUANTITY_MAX:
                    return False
            elif kind == COMMAND_UPSERT_SUPPLY:
                # Quantity 0 closes the supply; an ETA is always a real instant.
                if quantity[i] < 0 or quantity[i] > QUANTITY_MAX or time_ns[i] <= 0 or ref[i] < 0:
                    return False
                if op[i] < SUPPLY_IN_TRANSIT or op[i] > SUPPLY_TRANSFER:
                    return False
            elif kind in (COMMAND_RESERVE, COMMAND_SHIP, COMMAND_CANCEL_LINES, COMMAND_RETURN,
                          COMMAND_RECEIVE_SUPPLY):
                if quantity[i] <= 0 or quantity[i] > QUANTITY_MAX:
                    return False
                if ((kind == COMMAND_RETURN or kind == COMMAND_RECEIVE_SUPPLY)
                        and op[i] != RETURN_SELLABLE and op[i] != RETURN_QUARANTINE):
                    return False
                if kind == COMMAND_RESERVE and (time_ns[i] < 0 or floor[i] < 0 or floor[i] > QUANTITY_MAX):
                    return False
        return True

    cdef int _apply_node_status(self, Command command) except -1:
        """Sets node i's status to op[i]; unknown nodes report NODE_NOT_FOUND."""
        cdef const int32_t* node = command.node_
        cdef const int8_t* op = command.op_
        cdef int8_t* status = command.status_
        cdef Py_ssize_t i
        cdef int64_t applied = 0
        for i in range(command.count):
            if node[i] < 0 or node[i] >= self.node_count:
                status[i] = ITEM_NODE_NOT_FOUND
                continue
            self.node_status[node[i]] = op[i]
            status[i] = ITEM_OK
            applied += 1
        command.applied_count = applied
        command.result = RESULT_OK
        return 0


    # ---- future supply ------------------------------------------------------

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_upsert_supply(self, Command command) except -1:
        """Creates or replaces supplies: item i sets supply ref[i] at (sku, node)
        to kind op[i], open quantity quantity[i] (0 closes it) due at time_ns[i].

        A new supply's ref is the next free index (the engine assigns them in
        log order). A supply stays at its (SKU, node) for life, and appears
        at most once per command (else SUPPLY_CONFLICT). Items are checked
        first, then applied, so all_or_nothing never needs an undo.
        """
        cdef Py_ssize_t i, count = command.count, position
        self._supply_capacity(count)
        cdef const int32_t* sku = command.sku_
        cdef const int32_t* node = command.node_
        cdef const int64_t* quantity = command.quantity_
        cdef const int64_t* eta_ns = command.time_ns_
        cdef const int64_t* ref = command.ref_
        cdef const int8_t* op = command.op_
        cdef int8_t* status = command.status_
        cdef int64_t* on_hand_after = command.on_hand_after_
        cdef int64_t* available_after = command.available_after_
        cdef int64_t failed = 0, applied = 0, created = 0, supply, slot
        cdef int64_t stamp = self.log_position + 1
        cdef SupplyRecord* record
        with nogil:
            for i in range(count):
                status[i] = ITEM_OK
                if sku[i] < 0 or sku[i] >= self.sku_count:
                    status[i] = ITEM_SKU_NOT_FOUND
                elif node[i] < 0 or node[i] >= self.node_count:
                    status[i] = ITEM_NODE_NOT_FOUND
                elif ref[i] == self.supply_count + created:
                    created += 1
                elif ref[i] > self.supply_count + created:
                    status[i] = ITEM_MALFORMED
                elif ref[i] >= self.supply_count:
                    status[i] = ITEM_SUPPLY_CONFLICT  # a new supply named twice
                elif (self.supply_position[ref[i]] != <int64_t>sku[i] * self.node_count + node[i]
                        or self.supply_stamp[ref[i]] == stamp):
                    status[i] = ITEM_SUPPLY_CONFLICT
                else:
                    self.supply_stamp[ref[i]] = stamp
                if status[i] != ITEM_OK:
                    failed += 1
            for i in range(count):
                if status[i] != ITEM_OK:
                    continue
                if failed > 0 and command.all_or_nothing:
                    status[i] = ITEM_NOT_APPLIED
                    continue
                supply = ref[i]
                position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                if supply == self.supply_count:
                    # A new supply takes the next slot (slots and indices are as many).
                    slot = supply
                    self.supply_count += 1
                    self.supply_position[supply] = position
                    self.supply_received[supply] = 0
                    self.supply_slot[supply] = slot
                    self.supply_stamp[supply] = stamp
                    self.records[slot].supply = supply
                    self.records[slot].next = NOT_LINKED
                else:
                    slot = self.supply_slot[supply]
                    if self.records[slot].next != NOT_LINKED:
                        self._unlink_supply(slot, position)
                record = &self.records[slot]
                record.kind = <uint8_t>op[i]
                record.eta_ns = eta_ns[i]
                record.quantity = quantity[i]
                if quantity[i] > 0:
                    self._link_supply(slot, position)
                self._refresh_available(position)
                applied += 1
            for i in range(count):
                if status[i] != ITEM_SKU_NOT_FOUND and status[i] != ITEM_NODE_NOT_FOUND:
                    position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                    on_hand_after[i] = self.on_hand[position]
                    available_after[i] = self.available[position]
        command.applied_count = applied
        command.result = RESULT_OK if applied > 0 or count == 0 else RESULT_INVALID_LINES
        return 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_receive_supply(self, Command command) except -1:
        """Books goods received against supply ref[i]: quantity[i] goes on hand
        (quarantined if op[i] says so) and off the supply's open quantity. A
        receipt beyond the open quantity is still stock that arrived: it goes
        on hand and the supply closes. filled[i] is what counted against it.
        """
        cdef Py_ssize_t i, count = command.count, position
        cdef const int64_t* quantity = command.quantity_
        cdef const int64_t* ref = command.ref_
        cdef const int8_t* op = command.op_
        cdef int8_t* status = command.status_
        cdef int64_t* filled = command.filled_
        cdef int64_t* on_hand_after = command.on_hand_after_
        cdef int64_t* available_after = command.available_after_
        cdef int64_t failed = 0, applied = 0, total = 0, supply, against
        cdef SupplyRecord* record
        self._reason_capacity(count)
        with nogil:
            for i in range(count):
                total += quantity[i]  # each <= QUANTITY_MAX, count bounded: cannot overflow
            for i in range(count):
                status[i] = ITEM_OK
                if ref[i] < 0 or ref[i] >= self.supply_count:
                    status[i] = ITEM_SUPPLY_NOT_FOUND
                    failed += 1
                    continue
                position = self.supply_position[ref[i]]
                # Conservative: as if every item of the command landed here.
                if (self.on_hand[position] + total > QUANTITY_MAX
                        or self.unavailable[position] + total > QUANTITY_MAX):
                    status[i] = ITEM_QUANTITY_TOO_LARGE
                    failed += 1
            for i in range(count):
                filled[i] = 0
                if status[i] != ITEM_OK:
                    continue
                if failed > 0 and command.all_or_nothing:
                    status[i] = ITEM_NOT_APPLIED
                    continue
                supply = ref[i]
                position = self.supply_position[supply]
                self.on_hand[position] += quantity[i]
                if op[i] == RETURN_QUARANTINE:
                    self._set_reason(position, UNAVAILABLE_QUARANTINED,
                                     self._reason_quantity_of(position, UNAVAILABLE_QUARANTINED) + quantity[i])
                record = &self.records[self.supply_slot[supply]]
                against = quantity[i] if quantity[i] < record.quantity else record.quantity
                if against > 0:
                    record.quantity -= against
                    if record.quantity == 0:
                        self._unlink_supply(self.supply_slot[supply], position)
                self.supply_received[supply] += quantity[i]
                self._refresh_available(position)
                filled[i] = against
                applied += 1
            for i in range(count):
                if status[i] != ITEM_SUPPLY_NOT_FOUND:
                    position = self.supply_position[ref[i]]
                    on_hand_after[i] = self.on_hand[position]
                    available_after[i] = self.available[position]
        command.applied_count = applied
        command.result = RESULT_OK if applied > 0 else RESULT_INVALID_LINES
        return 0

    cdef void _link_supply(self, int64_t slot, Py_ssize_t position) noexcept nogil:
        """Inserts the supply in slot in its position's list, ordered by (ETA, index)."""
        cdef SupplyRecord* records = self.records
        cdef int64_t* head = &self.supply_head[position]
        cdef int64_t previous = END_OF_LIST, current = head[0]
        cdef int64_t eta_ns = records[slot].eta_ns, supply = records[slot].supply
        while current != END_OF_LIST and (records[current].eta_ns < eta_ns or (
                records[current].eta_ns == eta_ns and records[current].supply < supply)):
            previous = current
            current = records[current].next
        records[slot].next = <int32_t>current
        if previous == END_OF_LIST:
            head[0] = slot
        else:
            records[previous].next = <int32_t>slot

    cdef void _unlink_supply(self, int64_t slot, Py_ssize_t position) noexcept nogil:
        """Takes the supply in slot (which must be linked) out of its position's list."""
        cdef SupplyRecord* records = self.records
        cdef int64_t* head = &self.supply_head[position]
        cdef int64_t previous = END_OF_LIST, current = head[0]
        while current != slot:
            previous = current
            current = records[current].next
        if previous == END_OF_LIST:
            head[0] = records[slot].next
        else:
            records[previous].next = records[slot].next
        records[slot].next = NOT_LINKED

    cdef void _link_demand(self, int64_t line, Py_ssize_t position) noexcept nogil:
        """Inserts a backorder line in its position's list, ordered by (date, line)."""
        _insert_sorted(&self.demand_head[position], &self.line_next_demand[0], &self.line_due_ns[0], line)

    cdef void _unlink_demand(self, int64_t line, Py_ssize_t position) noexcept nogil:
        _unlink(&self.demand_head[position], &self.line_next_demand[0], line)

    cdef int _supply_capacity(self, int64_t supplies) except -1:
        """Grows the supply tables (doubling) so `supplies` more rows fit."""
        cdef int64_t needed = self.supply_count + supplies
        if needed > self.supply_position.shape[0]:
            assert needed < 2**31, "supply slots are int32"
            size = min(max(needed, 2 * self.supply_position.shape[0], 64), 2**31 - 1)
            self.supply_position = _grown(self.supply_position, size)
            self.supply_received = _grown(self.supply_received, size)
            self.supply_slot = _grown(self.supply_slot, size)
            self.supply_stamp = _grown(self.supply_stamp, size)
            self._adopt_records(_grown(self._supply_records, size))
        return 0

    cdef int _adopt_records(self, object records) except -1:
        """Makes `records` (a C-contiguous SUPPLY_RECORD_DTYPE array) the record table."""
        assert records.dtype == SUPPLY_RECORD_DTYPE and records.flags.c_contiguous and records.flags.writeable
        self._supply_records = records
        self.records = <SupplyRecord*>cnp.PyArray_DATA(records)
        return 0

    def supply(self, int64_t supply):
        """(sku, node, kind, eta_ns, open quantity, received) of a supply, or None."""
        if supply < 0 or supply >= self.supply_count:
            return None
        position = self.supply_position[supply]
        cdef SupplyRecord* record = &self.records[self.supply_slot[supply]]
        return (position // self.node_count, position % self.node_count, record.kind,
                record.eta_ns, record.quantity, self.supply_received[supply])

    def position_plan(self, int32_t sku, int32_t node):
        """The open supplies and backorder lines of one position, each list in date order:
        ([(supply, kind, eta_ns, quantity)], [(line, due_ns, quantity)]). For the cold
        paths that explain or re-evaluate a position; reads do not need it."""
        assert 0 <= sku < self.sku_count and 0 <= node < self.node_count, "position out of range"
        position = <Py_ssize_t>sku * self.node_count + node
        supplies, backorders = [], []
        cdef int64_t slot = self.supply_head[position]
        cdef const SupplyRecord* record
        while slot != END_OF_LIST:
            record = &self.records[slot]
            supplies.append((record.supply, record.kind, record.eta_ns, record.quantity))
            slot = record.next
        current = self.demand_head[position]
        while current != END_OF_LIST:
            backorders.append((current, self.line_due_ns[current], self.line_quantity[current]))
            current = self.line_next_demand[current]
        return supplies, backorders

    def net_on_hand(self, int32_t sku, int32_t node):
        assert 0 <= sku < self.sku_count and 0 <= node < self.node_count, "position out of range"
        return self._net_on_hand(<Py_ssize_t>sku * self.node_count + node)


    # ---- reservations -----------------------------------------------------

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_reserve(self, Command command) except -1:
        """Reserves each line; all-or-nothing unless partial fill is allowed.

        A line is held from stock available now when there is enough. Failing
        that, a line with a date (time_ns > 0) may be promised from future
        supply due by then: a backorder, counted as demand at that date. A
        partial fill only ever takes stock available now. Line i leaves
        floor[i] available at its position (stock kept for other channels
        or customer segments): it takes from available - floor only.
        """
        cdef Py_ssize_t i, count = command.count, position
        self._reserve_capacity(1, count)
        cdef const int32_t* sku = command.sku_
        cdef const int32_t* node = command.node_
        cdef const int64_t* quantity = command.quantity_
        cdef const int64_t* due_ns = command.time_ns_
        cdef const int64_t* floor = command.floor_
        cdef int8_t* status = command.status_
        cdef int64_t* filled = command.filled_
        cdef int64_t* available_after = command.available_after_
        cdef bint all_or_nothing = command.all_or_nothing
        cdef int64_t take, free, taken = 0, failed = 0, line, line_due_ns
        cdef int64_t reservation = self.reservation_count, first_line = self.line_count
        with nogil:
            for i in range(count):
                filled[i] = 0
                position = self._position_of(sku[i], node[i], &status[i])
                if position < 0:
                    failed += 1
                    continue
                if self.node_status[node[i]] != NODE_ENABLED:
                    status[i] = ITEM_NODE_NOT_SELLABLE
                    failed += 1
                    available_after[i] = self._available_above(position, floor[i])
                    continue
                # The floor (stock kept for other channels and segments) stays
                # behind now and, for a backorder, at every later date.
                free = self._available_above(position, floor[i])
                line_due_ns = 0
                if free >= quantity[i]:
                    take = quantity[i]
                elif due_ns[i] > 0 and self._lowest_cumulative(
                        position, self._net_on_hand(position) - floor[i], due_ns[i]) >= quantity[i]:
                    take = quantity[i]
                    line_due_ns = due_ns[i]
                else:
                    take = 0 if all_or_nothing else free
                if take == quantity[i]:
                    status[i] = ITEM_OK
                elif take > 0:
                    status[i] = ITEM_PARTIALLY_FILLED
                else:
                    status[i] = ITEM_INSUFFICIENT_STOCK
                    failed += 1
                if take > 0:
                    line = self.line_count
                    self.line_count += 1
                    self.line_sku[line] = sku[i]
                    self.line_node[line] = node[i]
                    self.line_quantity[line] = take
                    self.line_shipped[line] = 0
                    self.line_due_ns[line] = line_due_ns
                    self.line_next_demand[line] = NOT_LINKED
                    if line_due_ns > 0:
                        self._link_demand(line, position)
                    else:
                        self.held[position] += take
                    self._refresh_available(position)
                    filled[i] = take
                    taken += take
                available_after[i] = self._available_above(position, floor[i])
            if all_or_nothing and failed > 0 and taken > 0:
                # Undo newest first, so repeated positions end where they began.
                for line in range(self.line_count - 1, first_line - 1, -1):
                    position = <Py_ssize_t>self.line_sku[line] * self.node_count + self.line_node[line]
                    if self.line_due_ns[line] > 0:
                        self._unlink_demand(line, position)
                    else:
                        self.held[position] -= self.line_quantity[line]
                    self._refresh_available(position)
                self.line_count = first_line
                for i in range(count):
                    if filled[i] > 0:
                        filled[i] = 0
                        status[i] = ITEM_NOT_APPLIED
                    if status[i] == ITEM_NOT_APPLIED or status[i] == ITEM_INSUFFICIENT_STOCK:
                        position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                        available_after[i] = self._available_above(position, floor[i])
                taken = 0
            if taken == 0:
                command.result = RESULT_INSUFFICIENT_STOCK
            else:
                self.reservation_count += 1
                self.reservation_state[reservation] = RESERVATION_HELD
                self.reservation_expire_ns[reservation] = command.deadline_ns
                self.reservation_first_line[reservation] = first_line
                self.reservation_line_count[reservation] = <int32_t>(self.line_count - first_line)
                self._heap_push(command.deadline_ns, reservation)
                command.reservation = reservation
                command.result = RESULT_OK
        command.applied_count = taken
        return 0

    cdef int _apply_resolve(self, Command command) except -1:
        """COMMIT moves a hold to allocated; RELEASE frees a hold or a commitment."""
        cdef int64_t reservation = command.reservation
        cdef bint commit = command.kind == COMMAND_COMMIT
        if reservation < 0 or reservation >= self.reservation_count:
            command.result = RESULT_RESERVATION_NOT_FOUND
            return 0
        cdef uint8_t state = self.reservation_state[reservation]
        if state == RESERVATION_EXPIRED:
            command.result = RESULT_RESERVATION_EXPIRED
        elif state == RESERVATION_RELEASED:
            command.result = RESULT_RESERVATION_RELEASED
        elif state == RESERVATION_SHIPPED:
            command.result = RESULT_RESERVATION_SHIPPED
        elif commit and state == RESERVATION_COMMITTED:
            command.result = RESULT_RESERVATION_COMMITTED
        elif commit:
            self._allocate_lines(reservation)
            self.reservation_state[reservation] = RESERVATION_COMMITTED
            command.result = RESULT_OK
        else:
            self._release_lines(reservation, state == RESERVATION_COMMITTED)
            self.reservation_state[reservation] = RESERVATION_RELEASED
            command.result = RESULT_OK
        return 0

    cdef int _apply_extend(self, Command command) except -1:
        """Moves a hold's expiry to deadline_ns (later or earlier, but after now)."""
        cdef int64_t reservation = command.reservation
        if reservation < 0 or reservation >= self.reservation_count:
            command.result = RESULT_RESERVATION_NOT_FOUND
            return 0
        cdef uint8_t state = self.reservation_state[reservation]
        if state == RESERVATION_EXPIRED:
            command.result = RESULT_RESERVATION_EXPIRED
        elif state == RESERVATION_RELEASED:
            command.result = RESULT_RESERVATION_RELEASED
        elif state == RESERVATION_COMMITTED or state == RESERVATION_SHIPPED:
            command.result = RESULT_RESERVATION_COMMITTED
        else:
            self._reserve_capacity(1, 0)
            self.reservation_expire_ns[reservation] = command.deadline_ns
            self._heap_push(command.deadline_ns, reservation)
            command.result = RESULT_OK
        return 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_line_change(self, Command command) except -1:
        """SHIP takes open quantity of a committed reservation's lines out of
        allocated and on hand; CANCEL_LINES gives it back to available. All
        items apply, or none (RESULT_INVALID_LINES, per-item statuses say why).
        When no line has open quantity left, the reservation is SHIPPED if
        anything shipped, else RELEASED.
        """
        cdef int64_t reservation = command.reservation
        cdef bint ship = command.kind == COMMAND_SHIP
        if reservation < 0 or reservation >= self.reservation_count:
            command.result = RESULT_RESERVATION_NOT_FOUND
            return 0
        cdef uint8_t state = self.reservation_state[reservation]
        if state == RESERVATION_EXPIRED:
            command.result = RESULT_RESERVATION_EXPIRED
            return 0
        if state == RESERVATION_RELEASED:
            command.result = RESULT_RESERVATION_RELEASED
            return 0
        if state == RESERVATION_SHIPPED:
            command.result = RESULT_RESERVATION_SHIPPED
            return 0
        if ship and state != RESERVATION_COMMITTED:
            command.result = RESULT_RESERVATION_NOT_COMMITTED
            return 0
        cdef Py_ssize_t i, count = command.count, position
        cdef const int32_t* line = command.line_
        cdef const int64_t* quantity = command.quantity_
        cdef int8_t* status = command.status_
        cdef int64_t* filled = command.filled_
        cdef int64_t first = self.reservation_first_line[reservation]
        cdef int32_t lines = self.reservation_line_count[reservation]
        cdef int64_t[::1] wanted = np.zeros(max(lines, 1), dtype=np.int64)
        cdef int64_t failed = 0, arena, open_left = 0, shipped_total = 0
        cdef bint from_allocated = state == RESERVATION_COMMITTED
        with nogil:
            for i in range(count):
                if line[i] < 0 or line[i] >= lines:
                    status[i] = ITEM_LINE_NOT_FOUND
                    failed += 1
                    continue
                wanted[line[i]] += quantity[i]
                if wanted[line[i]] > self.line_quantity[first + line[i]]:
                    status[i] = ITEM_EXCEEDS_OPEN_QUANTITY
                    failed += 1
                else:
                    status[i] = ITEM_OK
            if failed > 0:
                for i in range(count):
                    if status[i] == ITEM_OK:
                        status[i] = ITEM_NOT_APPLIED
                command.result = RESULT_INVALID_LINES
            else:
                for i in range(count):
                    arena = first + line[i]
                    position = <Py_ssize_t>self.line_sku[arena] * self.node_count + self.line_node[arena]
                    self.line_quantity[arena] -= quantity[i]
                    if self.line_due_ns[arena] > 0:
                        # A backorder: less demand at its date; off the list when none is left.
                        if self.line_quantity[arena] == 0:
                            self._unlink_demand(arena, position)
                    elif from_allocated:
                        self.allocated[position] -= quantity[i]
                    else:
                        self.held[position] -= quantity[i]
                    if ship:
                        self.line_shipped[arena] += quantity[i]
                        # Shipping is a fact: on hand cannot go below zero even if a
                        # stock count already took it there.
                        self.on_hand[position] -= (quantity[i] if self.on_hand[position] >= quantity[i]
                                                   else self.on_hand[position])
                    self._refresh_available(position)
                    filled[i] = quantity[i]
                for arena in range(first, first + lines):
                    open_left += self.line_quantity[arena]
                    shipped_total += self.line_shipped[arena]
                if open_left == 0:
                    self.reservation_state[reservation] = (RESERVATION_SHIPPED if shipped_total > 0
                                                           else RESERVATION_RELEASED)
                command.result = RESULT_OK
        return 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_return(self, Command command) except -1:
        """Restocks returned units: sellable, or on hand but quarantined (unavailable)."""
        cdef const int32_t* sku = command.sku_
        cdef const int32_t* node = command.node_
        cdef const int64_t* quantity = command.quantity_
        cdef const int8_t* op = command.op_
        cdef int8_t* status = command.status_
        cdef int64_t* filled = command.filled_
        cdef int64_t* available_after = command.available_after_
        cdef Py_ssize_t i, count = command.count, position
        cdef int64_t applied = 0
        self._reason_capacity(count)
        with nogil:
            for i in range(count):
                position = self._position_of(sku[i], node[i], &status[i])
                if position < 0:
                    continue
                if (self.on_hand[position] + quantity[i] > QUANTITY_MAX
                        or self.unavailable[position] + quantity[i] > QUANTITY_MAX):
                    status[i] = ITEM_QUANTITY_TOO_LARGE
                    available_after[i] = self.available[position]
                    continue
                self.on_hand[position] += quantity[i]
                if op[i] == RETURN_QUARANTINE:
                    self._set_reason(position, UNAVAILABLE_QUARANTINED,
                                     self._reason_quantity_of(position, UNAVAILABLE_QUARANTINED) + quantity[i])
                self._refresh_available(position)
                status[i] = ITEM_OK
                filled[i] = quantity[i]
                available_after[i] = self.available[position]
                applied += 1
        command.applied_count = applied
        command.result = RESULT_OK
        return 0

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int64_t _expire_due(self, int64_t now_ns) noexcept nogil:
        """Expires every hold whose expiry is at or before now_ns; returns how many."""
        cdef int64_t expired = 0, reservation, expire_ns
        while self.heap_size > 0 and self.heap_expire_ns[0] <= now_ns:
            expire_ns = self.heap_expire_ns[0]
            reservation = self.heap_reservation[0]
            self._heap_pop()
            # Entries left behind by an extend or a resolution are stale: skip.
            if (self.reservation_state[reservation] != RESERVATION_HELD
                    or self.reservation_expire_ns[reservation] != expire_ns):
                continue
            self._release_lines(reservation, False)
            self.reservation_state[reservation] = RESERVATION_EXPIRED
            expired += 1
        return expired

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _release_lines(self, int64_t reservation, bint from_allocated) noexcept nogil:
        """Gives every open line back: on-hand lines to available, backorders off their date."""
        cdef int64_t line, first = self.reservation_first_line[reservation]
        cdef int64_t last = first + self.reservation_line_count[reservation]
        cdef Py_ssize_t position
        for line in range(first, last):
            position = <Py_ssize_t>self.line_sku[line] * self.node_count + self.line_node[line]
            if self.line_due_ns[line] > 0:
                if self.line_next_demand[line] != NOT_LINKED:
                    self._unlink_demand(line, position)
            elif from_allocated:
                self.allocated[position] -= self.line_quantity[line]
            else:
                self.held[position] -= self.line_quantity[line]
            self._refresh_available(position)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _allocate_lines(self, int64_t reservation) noexcept nogil:
        """Moves a hold's on-hand lines from held to allocated; backorders stay demand at their date."""
        cdef int64_t line, first = self.reservation_first_line[reservation]
        cdef int64_t last = first + self.reservation_line_count[reservation]
        cdef Py_ssize_t position
        for line in range(first, last):
            if self.line_due_ns[line] > 0:
                continue
            position = <Py_ssize_t>self.line_sku[line] * self.node_count + self.line_node[line]
            self.held[position] -= self.line_quantity[line]
            self.allocated[position] += self.line_quantity[line]
            # available is unchanged: both buckets count against on hand.

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _heap_push(self, int64_t expire_ns, int64_t reservation) noexcept nogil:
        cdef int64_t child = self.heap_size, parent
        self.heap_size += 1
        while child > 0:
            parent = (child - 1) // 2
            if self.heap_expire_ns[parent] <= expire_ns:
                break
            self.heap_expire_ns[child] = self.heap_expire_ns[parent]
            self.heap_reservation[child] = self.heap_reservation[parent]
            child = parent
        self.heap_expire_ns[child] = expire_ns
        self.heap_reservation[child] = reservation

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _heap_pop(self) noexcept nogil:
        self.heap_size -= 1
        cdef int64_t last_expire = self.heap_expire_ns[self.heap_size]
        cdef int64_t last_reservation = self.heap_reservation[self.heap_size]
        cdef int64_t hole = 0, child
        while True:
            child = 2 * hole + 1
            if child >= self.heap_size:
                break
            if child + 1 < self.heap_size and self.heap_expire_ns[child + 1] < self.heap_expire_ns[child]:
                child += 1
            if self.heap_expire_ns[child] >= last_expire:
                break
            self.heap_expire_ns[hole] = self.heap_expire_ns[child]
            self.heap_reservation[hole] = self.heap_reservation[child]
            hole = child
        self.heap_expire_ns[hole] = last_expire
        self.heap_reservation[hole] = last_reservation

    cdef int _reserve_capacity(self, int64_t reservations, int64_t lines) except -1:
        """Grows the tables (doubling) so `reservations` more rows and `lines` more lines fit.

        Allocation happens here, with the GIL, never inside the nogil loops.
        """
        cdef int64_t rows_needed = self.reservation_count + reservations
        cdef int64_t lines_needed = self.line_count + lines
        cdef int64_t heap_needed = self.heap_size + reservations
        if rows_needed > self.reservation_state.shape[0]:
            size = max(rows_needed, 2 * self.reservation_state.shape[0])
            self.reservation_state = _grown(self.reservation_state, size)
            self.reservation_expire_ns = _grown(self.reservation_expire_ns, size)
            self.reservation_first_line = _grown(self.reservation_first_line, size)
            self.reservation_line_count = _grown(self.reservation_line_count, size)
        if lines_needed > self.line_sku.shape[0]:
            size = max(lines_needed, 2 * self.line_sku.shape[0])
            self.line_sku = _grown(self.line_sku, size)
            self.line_node = _grown(self.line_node, size)
            self.line_quantity = _grown(self.line_quantity, size)
            self.line_shipped = _grown(self.line_shipped, size)
            self.line_due_ns = _grown(self.line_due_ns, size)
            self.line_next_demand = _grown(self.line_next_demand, size)
        if heap_needed > self.heap_expire_ns.shape[0]:
            size = max(heap_needed, 2 * self.heap_expire_ns.shape[0])
            self.heap_expire_ns = _grown(self.heap_expire_ns, size)
            self.heap_reservation = _grown(self.heap_reservation, size)
        return 0

    def reservation(self, int64_t reservation):
        """(state, expire_ns, sku[], node[], open quantity[], shipped[], due_ns[]) of a reservation,
        or None. due_ns is 0 for a line held from stock, else the backorder's date."""
        if reservation < 0 or reservation >= self.reservation_count:
            return None
        first = self.reservation_first_line[reservation]
        last = first + self.reservation_line_count[reservation]
        return (
            self.reservation_state[reservation],
            self.reservation_expire_ns[reservation],
            np.asarray(self.line_sku)[first:last].copy(),
            np.asarray(self.line_node)[first:last].copy(),
            np.asarray(self.line_quantity)[first:last].copy(),
            np.asarray(self.line_shipped)[first:last].copy(),
            np.asarray(self.line_due_ns)[first:last].copy(),
        )

    def reservation_lists(self, int64_t reservation):
        """reservation() as Python ints and lists, no array copies: (state, expire_ns,
        sku, node, open quantity, shipped, due_ns), or None. For the per-record
        readers (the answer's view, the capacity counts)."""
        if reservation < 0 or reservation >= self.reservation_count:
            return None
        cdef int64_t first = self.reservation_first_line[reservation]
        cdef int64_t last = first + self.reservation_line_count[reservation], line
        cdef list sku = [], node = [], quantity = [], shipped = [], due_ns = []
        for line in range(first, last):
            sku.append(self.line_sku[line])
            node.append(self.line_node[line])
            quantity.append(self.line_quantity[line])
            shipped.append(self.line_shipped[line])
            due_ns.append(self.line_due_ns[line])
        return (self.reservation_state[reservation], self.reservation_expire_ns[reservation],
                sku, node, quantity, shipped, due_ns)

    def reservation_of_line(self, int64_t line):
        """The reservation a line of the arena belongs to (lines are appended per
        reservation, so first lines ascend: a binary search), or -1."""
        if line < 0 or line >= self.line_count:
            return -1
        cdef int64_t low = 0, high = self.reservation_count - 1, middle
        while low < high:
            middle = (low + high + 1) // 2
            if self.reservation_first_line[middle] <= line:
                low = middle
            else:
                high = middle - 1
        return low

    def next_expiry_ns(self):
        """Earliest pending expiry (possibly stale), or None: when a Tick is worth appending."""
        return self.heap_expire_ns[0] if self.heap_size > 0 else None

    # ---- reads ------------------------------------------------------------

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def gather_available(self, cnp.ndarray sku, cnp.ndarray nodes, cnp.ndarray cells, cnp.ndarray totals):
        """Availability of each SKU at each selected node.

        cells[s * len(nodes) + j] = available(sku[s], nodes[j]); totals[s] is
        the row sum. A SKU index of -1 (unknown) yields zeros. `cells` may be
        empty to ask for totals only. Arguments are C-contiguous numpy arrays
        (int32 sku and nodes, int64 cells and totals): taken as raw pointers,
        since acquiring four typed memoryviews costs more than the gather.
        """
        cdef const int32_t* sku_ = <const int32_t*>_data(sku, cnp.NPY_INT32, False)
        cdef const int32_t* nodes_ = <const int32_t*>_data(nodes, cnp.NPY_INT32, False)
        cdef int64_t* cells_ = <int64_t*>_data(cells, cnp.NPY_INT64, True)
        cdef int64_t* totals_ = <int64_t*>_data(totals, cnp.NPY_INT64, True)
        cdef Py_ssize_t sku_total = cnp.PyArray_SIZE(sku), node_total = cnp.PyArray_SIZE(nodes)
        cdef bint want_cells = cnp.PyArray_SIZE(cells) != 0
        if cnp.PyArray_SIZE(totals) < sku_total:
            raise ValueError("totals shorter than sku")
        if want_cells and cnp.PyArray_SIZE(cells) < sku_total * node_total:
            raise ValueError("cells too short")
        cdef Py_ssize_t j
        cdef bint every_node = node_total == self.node_count
        for j in range(node_total):
            if nodes_[j] < 0 or nodes_[j] >= self.node_count:
                raise ValueError("node index out of range")
            every_node = every_node and nodes_[j] == j
        with nogil:
            self._gather(sku_, sku_total, nodes_, node_total, every_node, cells_ if want_cells else NULL, totals_)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _gather(self, const int32_t* sku, Py_ssize_t sku_total, const int32_t* nodes,
                      Py_ssize_t node_total, bint every_node, int64_t* cells, int64_t* totals) noexcept nogil:
        cdef Py_ssize_t s, j, row
        cdef int64_t total, value
        cdef const int64_t* available = &self.available[0]
        for s in range(sku_total):
            # Rows of random SKUs are cache misses: ask for the row two SKUs
            # ahead while this one is summed.
            if s + 2 < sku_total and 0 <= sku[s + 2] < self.sku_count:
                row = <Py_ssize_t>sku[s + 2] * self.node_count
                for j in range(0, node_total, 8):
                    _prefetch(&available[row + (j if every_node else nodes[j])])
            total = 0
            if sku[s] < 0 or sku[s] >= self.sku_count:
                if cells != NULL:
                    for j in range(node_total):
                        cells[s * node_total + j] = 0
                totals[s] = 0
                continue
            row = <Py_ssize_t>sku[s] * self.node_count
            if every_node:
                for j in range(node_total):
                    total += available[row + j]
                if cells != NULL:
                    memcpy(&cells[s * node_total], &available[row], node_total * sizeof(int64_t))
            else:
                for j in range(node_total):
                    value = available[row + nodes[j]]
                    total += value
                    if cells != NULL:
                        cells[s * node_total + j] = value
            totals[s] = total

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def gather_buckets(self, const int32_t[::1] sku, const int32_t[::1] nodes,
                       int64_t[:, ::1] out):
        """Every bucket of each (SKU, selected node): out[b, s * len(nodes) + j].

        Buckets in the order of BUCKETS. Unknown SKUs (-1) yield zeros.
        """
        cdef Py_ssize_t s, j, b, cell, position
        cdef Py_ssize_t sku_total = sku.shape[0], node_total = nodes.shape[0]
        assert out.shape[0] == 6, "one row per bucket"
        assert out.shape[1] >= sku_total * node_total, "out too short"
        for j in range(node_total):
            assert 0 <= nodes[j] < self.node_count, "node index out of range"
        with nogil:
            for s in range(sku_total):
                for j in range(node_total):
                    cell = s * node_total + j
                    if sku[s] < 0 or sku[s] >= self.sku_count:
                        for b in range(6):
                            out[b, cell] = 0
                        continue
                    position = <Py_ssize_t>sku[s] * self.node_count + nodes[j]
                    out[0, cell] = self.on_hand[position]
                    out[1, cell] = self.held[position]
                    out[2, cell] = self.allocated[position]
                    out[3, cell] = self.unavailable[position]
                    out[4, cell] = self.safety_stock[position]
                    out[5, cell] = self.available[position]

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def gather_unavailable(self, const int32_t[::1] sku, const int32_t[::1] nodes, int64_t[:, ::1] out):
        """Unavailable by reason of each (SKU, selected node): out[r - 1, s * len(nodes) + j]
        for reason r (UNAVAILABLE_REASON). Unknown SKUs (-1) yield zeros."""
        cdef Py_ssize_t s, j, r, cell, position
        cdef Py_ssize_t sku_total = sku.shape[0], node_total = nodes.shape[0]
        assert out.shape[0] == UNAVAILABLE_REASON_COUNT, "one row per reason"
        assert out.shape[1] >= sku_total * node_total, "out too short"
        for j in range(node_total):
            assert 0 <= nodes[j] < self.node_count, "node index out of range"
        with nogil:
            for s in range(sku_total):
                for j in range(node_total):
                    cell = s * node_total + j
                    for r in range(UNAVAILABLE_REASON_COUNT):
                        if sku[s] < 0 or sku[s] >= self.sku_count:
                            out[r, cell] = 0
                        else:
                            position = <Py_ssize_t>sku[s] * self.node_count + nodes[j]
                            out[r, cell] = self._reason_quantity_of(position, r + 1)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def gather_phased(self, cnp.ndarray sku, cnp.ndarray nodes, cnp.ndarray boundaries_ns, int kind_mask,
                      cnp.ndarray wanted, cnp.ndarray cells, cnp.ndarray totals, cnp.ndarray earliest_ns):
        """Time-phased availability: what each (SKU, node) can promise by each date.

        cells[(s * len(nodes) + j) * B + k] is the quantity of sku[s] at
        nodes[j] that can be promised for shipment from the node by
        boundaries_ns[k] (B ascending instants): on hand now plus the supply
        of the kinds in kind_mask due by then (overdue supply counts from the
        first bucket), less every backorder, with no later date left short.
        totals[s * B + k] sums cells over the nodes; `cells` may be empty to
        ask for totals only. earliest_ns[s * len(nodes) + j] is the first
        instant wanted[s] units can be promised there: EARLIEST["NOW"], an
        ETA, or EARLIEST["NEVER"]. Arguments are C-contiguous numpy arrays:
        int32 sku and nodes, int64 the rest. Unknown SKUs (-1) yield zeros.
        """
        cdef const int32_t* sku_ = <const int32_t*>_data(sku, cnp.NPY_INT32, False)
        cdef const int32_t* nodes_ = <const int32_t*>_data(nodes, cnp.NPY_INT32, False)
        cdef const int64_t* boundaries_ = <const int64_t*>_data(boundaries_ns, cnp.NPY_INT64, False)
        cdef const int64_t* wanted_ = <const int64_t*>_data(wanted, cnp.NPY_INT64, False)
        cdef int64_t* cells_ = <int64_t*>_data(cells, cnp.NPY_INT64, True)
        cdef int64_t* totals_ = <int64_t*>_data(totals, cnp.NPY_INT64, True)
        cdef int64_t* earliest_ = <int64_t*>_data(earliest_ns, cnp.NPY_INT64, True)
        cdef Py_ssize_t sku_total = cnp.PyArray_SIZE(sku), node_total = cnp.PyArray_SIZE(nodes)
        cdef Py_ssize_t bucket_total = cnp.PyArray_SIZE(boundaries_ns), k, j
        cdef bint want_cells = cnp.PyArray_SIZE(cells) != 0
        if bucket_total < 1:
            raise ValueError("at least one bucket boundary")
        for k in range(1, bucket_total):
            if boundaries_[k] <= boundaries_[k - 1]:
                raise ValueError("bucket boundaries must ascend")
        if cnp.PyArray_SIZE(wanted) < sku_total:
            raise ValueError("wanted shorter than sku")
        if ((want_cells and cnp.PyArray_SIZE(cells) < sku_total * node_total * bucket_total)
                or cnp.PyArray_SIZE(totals) < sku_total * bucket_total
                or cnp.PyArray_SIZE(earliest_ns) < sku_total * node_total):
            raise ValueError("output too short")
        for j in range(node_total):
            if nodes_[j] < 0 or nodes_[j] >= self.node_count:
                raise ValueError("node index out of range")
        # Scratch for _phase: the SKU's totals as differences (B + 1) and a
        # position's runs (2 * (B + 1)). malloc: a numpy array and its memoryview
        # would cost more than the gather.
        cdef int64_t* scratch = <int64_t*>malloc(3 * (bucket_total + 1) * sizeof(int64_t))
        if scratch == NULL:
            raise MemoryError()
        if sku_total * node_total >= NOGIL_CELLS:
            with nogil:
                self._gather_phased(sku_, sku_total, nodes_, node_total, boundaries_, bucket_total, kind_mask,
                                    wanted_, cells_ if want_cells else NULL, totals_, earliest_, scratch)
        else:
            self._gather_phased(sku_, sku_total, nodes_, node_total, boundaries_, bucket_total, kind_mask,
                                wanted_, cells_ if want_cells else NULL, totals_, earliest_, scratch)
        free(scratch)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef inline void _prefetch_row(self, const int32_t* sku, Py_ssize_t s, Py_ssize_t sku_total,
                                   const int32_t* nodes, Py_ssize_t node_total) noexcept nogil:
        """Asks for the lines of SKU s's row that gather_phased reads (a random
        SKU's rows are cache misses: all of them in flight at once, not one by one)."""
        if s >= sku_total or sku[s] < 0 or sku[s] >= self.sku_count:
            return
        cdef Py_ssize_t j, position, row = <Py_ssize_t>sku[s] * self.node_count
        for j in range(0, node_total, 8):
            position = row + nodes[j]
            _prefetch(&self.supply_head[position])
            _prefetch(&self.demand_head[position])
            _prefetch(&self.available[position])

    @cython.boundscheck(False)
    @cython.wraparound(False)
    @cython.cdivision(True)
    cdef void _gather_phased(self, const int32_t* sku, Py_ssize_t sku_total, const int32_t* nodes,
                             Py_ssize_t node_total, const int64_t* boundaries_ns, Py_ssize_t bucket_total,
                             int kind_mask, const int64_t* wanted, int64_t* cells, int64_t* totals,
                             int64_t* earliest_ns, int64_t* scratch) noexcept nogil:
        cdef Py_ssize_t s, j, k, cell, position
        cdef int64_t flat, value, running, slot
        cdef int64_t* row
        cdef int64_t* diff = scratch
        cdef int64_t* runs = scratch + bucket_total + 1
        cdef const int64_t* supply_head = &self.supply_head[0]
        cdef const int64_t* demand_head = &self.demand_head[0]
        cdef const int64_t* available = &self.available[0]
        self._prefetch_row(sku, 0, sku_total, nodes, node_total)
        for s in range(sku_total):
            self._prefetch_row(sku, s + 1, sku_total, nodes, node_total)
            if sku[s] < 0 or sku[s] >= self.sku_count:
                for k in range(bucket_total):
                    totals[s * bucket_total + k] = 0
                for j in range(node_total):
                    earliest_ns[s * node_total + j] = EARLIEST_NEVER
                    if cells != NULL:
                        for k in range(bucket_total):
                            cells[(s * node_total + j) * bucket_total + k] = 0
                continue
            for k in range(bucket_total + 1):
                diff[k] = 0
            # The first record of every list, all in flight at once before the
            # walks (a SKU's records are far apart until a restore lays them out).
            for j in range(node_total):
                slot = supply_head[<Py_ssize_t>sku[s] * self.node_count + nodes[j]]
                if slot != END_OF_LIST:
                    _prefetch(&self.records[slot])
            # Most positions have no supply or backorder: their figure is
            # available now at every date, summed once into `flat`.
            flat = 0
            for j in range(node_total):
                cell = s * node_total + j
                position = <Py_ssize_t>sku[s] * self.node_count + nodes[j]
                row = &cells[cell * bucket_total] if cells != NULL else NULL
                if supply_head[position] == END_OF_LIST and demand_head[position] == END_OF_LIST:
                    value = available[position]
                    flat += value
                    earliest_ns[cell] = EARLIEST_NOW if value >= wanted[s] or wanted[s] <= 0 else EARLIEST_NEVER
                    if row != NULL:
                        for k in range(bucket_total):
                            row[k] = value
                    continue
                self._phase(position, boundaries_ns, bucket_total, kind_mask, wanted[s], row, diff, runs,
                            &earliest_ns[cell])
            running = flat
            for k in range(bucket_total):
                running += diff[k]
                totals[s * bucket_total + k] = running

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _phase(self, Py_ssize_t position, const int64_t* boundaries_ns, Py_ssize_t bucket_total,
                     int kind_mask, int64_t wanted, int64_t* cells, int64_t* diff, int64_t* runs,
                     int64_t* earliest_ns) noexcept nogil:
        """One position of gather_phased.

        What can be promised by boundary k is the lowest balance from then on:
        with B_i the balance after the walk's i-th event (B_0 net on hand) and
        i(k) the number of events due by boundary k, max(0, min(B_i, i >= i(k))).
        One walk keeps these as runs of buckets (start, value), starts
        ascending and values nondecreasing, so the cost is the events', not
        the buckets': each event replaces the run starting at its bucket and
        lowers (merges) the runs above its balance. The runs are then written
        to cells (if asked) and added to diff, the SKU's totals as differences.
        """
        cdef int64_t* starts = runs
        cdef int64_t* values = runs + bucket_total + 1
        cdef Py_ssize_t top = 0, k = 0, start, end, r
        cdef int64_t balance = self._net_on_hand(position), time_ns, value
        cdef const SupplyRecord* records = self.records
        cdef const SupplyRecord* record
        cdef int64_t slot = self.supply_head[position], line = self.demand_head[position]
        # The next event of each list; NEVER_NS past its end (real instants are smaller).
        cdef int64_t supply_ns = records[slot].eta_ns if slot != END_OF_LIST else NEVER_NS
        cdef int64_t line_ns = self.line_due_ns[line] if line != END_OF_LIST else NEVER_NS
        starts[0] = 0
        values[0] = balance
        earliest_ns[0] = EARLIEST_NOW if balance >= wanted or wanted <= 0 else EARLIEST_NEVER
        while slot != END_OF_LIST or line != END_OF_LIST:
            # Supply first at equal times (as _lowest_cumulative).
            time_ns = supply_ns if supply_ns <= line_ns else line_ns
            if supply_ns <= line_ns:
                record = &records[slot]
                if kind_mask & (1 << record.kind):
                    balance += record.quantity
                slot = record.next
                supply_ns = records[slot].eta_ns if slot != END_OF_LIST else NEVER_NS
            else:
                balance -= self.line_quantity[line]
                line = self.line_next_demand[line]
                line_ns = self.line_due_ns[line] if line != END_OF_LIST else NEVER_NS
            # k: the first bucket whose boundary is at or after the event (bucket_total: none).
            while k < bucket_total and boundaries_ns[k] < time_ns:
                k += 1
            if top >= 0 and starts[top] == k:
                top -= 1  # buckets from k on count this event: the balance before it no longer matters
            start = k
            while top >= 0 and values[top] >= balance:
                start = starts[top]
                top -= 1
            top += 1
            starts[top] = start
            values[top] = balance
            if wanted > 0:
                if balance < wanted:
                    earliest_ns[0] = EARLIEST_NEVER
                elif earliest_ns[0] == EARLIEST_NEVER:
                    earliest_ns[0] = time_ns
        for r in range(top + 1):
            start = starts[r]
            if start >= bucket_total:
                break
            end = starts[r + 1] if r < top else bucket_total
            value = values[r] if values[r] > 0 else 0
            diff[start] += value
            diff[end] -= value
            if cells != NULL:
                for k in range(start, end):
                    cells[k] = value

    def take_changed_skus(self):
        """SKU indices whose positions were written since the last call, in first-change
        order, each once; clears the journal. A node status change marks no SKU:
        it changes what is sellable everywhere, which watchers learn from the command."""
        count = self.changed_count
        taken = np.asarray(self.changed_skus)[:count].copy()
        np.asarray(self.sku_changed)[taken] = 0
        self.changed_count = 0
        return taken

    def sellable_nodes(self):
        """Indices of the nodes that take new demand (ENABLED), ascending."""
        statuses = np.asarray(self.node_status)
        return np.flatnonzero(statuses == NODE_ENABLED).astype(np.int32)

    def node_status_of(self, int32_t node):
        assert 0 <= node < self.node_count, "node index out of range"
        return self.node_status[node]

    # ---- growth: SKU rows appended at run time (attribute variants) -----------

    def add_skus(self, int32_t count):
        """Appends `count` SKU rows (every position empty, no safety-stock rule of
        their own) and returns the first new row's index.

        SKU-major, so new rows go at the end of every per-position table and
        no index changes. Room grows by an eighth, not double: a 10M-position
        network would otherwise reserve ~0.6 GB for one more row. Tables are
        regrown one at a time, so the peak is the state plus one table. The
        engine calls this while applying a log record, in log order, so every
        replica numbers the rows alike; reads never see a partial growth.
        """
        assert count > 0, "add at least one SKU row"
        cdef int64_t used = <int64_t>self.sku_count + count
        assert used < 2**31, "SKU rows are int32"
        cdef int32_t first = self.sku_count
        if used > self.sku_capacity:
            self._grow_buffers(<int32_t>max(used, self.sku_capacity + self.sku_capacity // 8 + 16))
        self.sku_count = <int32_t>used
        self._view_buffers()
        # A new row is a SKU like any other: the node safety-stock rules cover it.
        cdef Py_ssize_t position
        with nogil:
            for position in range(<Py_ssize_t>first * self.node_count, <Py_ssize_t>used * self.node_count):
                self._refresh_safety_stock(position)
        return first

    def _adopt_buffers(self):
        """Takes the tables as they are (exactly sku_count rows) as the buffers."""
        self._buffers = {name: np.asarray(_table(self, name)) for name, _, _ in GROWN_TABLES}
        self.sku_capacity = self.sku_count
        assert self.feed_sequence.shape[1] == <Py_ssize_t>self.sku_count * self.node_count

    def _grow_buffers(self, int32_t capacity):
        """New buffers of `capacity` rows: used rows copied, the rest at each table's empty value."""
        cdef Py_ssize_t used = self.sku_count
        for name, empty, per_position in GROWN_TABLES:
            width = self.node_count if per_position else 1
            old = self._buffers[name]
            grown = np.full(<Py_ssize_t>capacity * width, empty, dtype=old.dtype)
            grown[:used * width] = old[:used * width]
            self._buffers[name] = grown
            _set_table(self, name, grown[:used * width])  # drops the old buffer now
        feed = np.asarray(self.feed_sequence)
        grown_feed = np.full((feed.shape[0], <Py_ssize_t>capacity * self.node_count), -1, dtype=np.int64)
        grown_feed[:, :used * self.node_count] = feed[:, :used * self.node_count]
        self.feed_sequence = grown_feed
        self.sku_capacity = capacity

    def _view_buffers(self):
        """Points every table at its buffer's first sku_count rows (no copy)."""
        cdef Py_ssize_t used = self.sku_count
        for name, _, per_position in GROWN_TABLES:
            _set_table(self, name, self._buffers[name][:used * (self.node_count if per_position else 1)])

    # ---- checks and state export -------------------------------------------

    def bucket_array(self, str name):
        """A read-only numpy view of one bucket, shape (sku_count, node_count)."""
        assert name in BUCKETS, f"unknown bucket {name}"
        view = np.asarray(getattr_bucket(self, name)).reshape(self.sku_count, self.node_count)
        view.flags.writeable = False
        return view

    def check_invariants(self):
        """Raises AssertionError if any position breaks an invariant."""
        on_hand = np.asarray(self.on_hand)
        buckets = [np.asarray(getattr_bucket(self, name))
                   for name in ("held", "allocated", "unavailable", "safety_stock")]
        assert (on_hand >= 0).all(), "negative on hand"
        assert (on_hand <= QUANTITY_MAX).all(), "on hand above QUANTITY_MAX"
        for bucket in buckets:
            assert (bucket >= 0).all(), "negative bucket"
        assert (buckets[3] == self._safety_stock_from_rules()).all(), "safety stock differs from its rules"
        expected = on_hand - buckets[0] - buckets[1] - buckets[2] - buckets[3]
        self._check_lists(expected)
        np.maximum(expected, 0, out=expected)
        assert (np.asarray(self.available) == expected).all(), "available out of date"
        held_expected, allocated_expected = self._reserved_by_state()
        assert (buckets[0] == held_expected).all(), "held differs from the open holds"
        assert (buckets[1] == allocated_expected).all(), "allocated differs from the commitments"
        assert (buckets[2] == self._unavailable_from_reasons()).all(), "unavailable differs from its reasons"
        assert self.sku_count <= self.sku_capacity, "more SKU rows than room"
        return True

    def _unavailable_from_reasons(self):
        """Each position's reasons summed, after checking the reason rows are well formed."""
        rows = np.asarray(self.reason_row)
        count = self.reason_count
        assert ((rows >= -1) & (rows < count)).all(), "a reason row out of range"
        used = rows[rows >= 0]
        assert used.size == count, "a reason row belongs to no position"
        assert np.unique(used).size == count, "two positions share a reason row"
        quantities = np.asarray(self.reason_quantity)[:count * UNAVAILABLE_REASON_COUNT].reshape(
            count, UNAVAILABLE_REASON_COUNT)
        assert (quantities >= 0).all(), "a negative reason quantity"
        assert (quantities <= QUANTITY_MAX).all(), "a reason quantity above QUANTITY_MAX"
        total = np.zeros(rows.shape[0], dtype=np.int64)
        total[rows >= 0] = quantities[used].sum(axis=1)
        return total

    def _safety_stock_from_rules(self):
        """Each position's most specific safety-stock rule (SKU x node, SKU, node, else 0), recomputed."""
        unset = SAFETY_STOCK_UNSET
        rules = [np.asarray(self.safety_stock_rule), np.asarray(self.sku_safety_stock_rule),
                 np.asarray(self.node_safety_stock_rule)]
        for rule in rules:
            assert ((rule >= 0) | (rule == unset)).all(), "a safety-stock rule is negative"
            assert (rule <= QUANTITY_MAX).all(), "a safety-stock rule is above QUANTITY_MAX"
        position_rule = rules[0].reshape(self.sku_count, self.node_count)
        sku_rule = rules[1][:, None]
        node_rule = rules[2][None, :]
        inherited = np.where(sku_rule != unset, sku_rule, np.where(node_rule != unset, node_rule, 0))
        return np.where(position_rule != unset, position_rule, inherited).ravel()

    def _check_lists(self, net):
        """Checks the supply and backorder lists against their tables and lowers
        `net` (net on hand per position) to each listed position's lowest balance."""
        count, lines = self.supply_count, self.line_count
        slot = np.asarray(self.supply_slot)[:count]
        assert np.array_equal(np.sort(slot), np.arange(count)), "supply slots are not one per supply"
        assert (np.asarray(self._supply_records)[:count]["supply"][slot] == np.arange(count)).all(), \
            "a supply record names another supply"
        supplies = self._supply_tables()
        supply_head, supply_next = supplies["supply_head"], supplies["supply_next"]
        eta_ns, quantity = supplies["supply_eta_ns"], supplies["supply_quantity"]
        assert (quantity >= 0).all(), "negative open supply"
        linked = supply_next != NOT_LINKED
        assert (linked == (quantity > 0)).all(), "a supply is listed iff it has open quantity"
        line_state = np.repeat(np.asarray(self.reservation_state)[:self.reservation_count],
                               np.asarray(self.reservation_line_count)[:self.reservation_count].astype(np.int64))
        open_ = (line_state == RESERVATION_HELD) | (line_state == RESERVATION_COMMITTED)
        backorder = (np.asarray(self.line_due_ns)[:lines] > 0) & (np.asarray(self.line_quantity)[:lines] > 0) & open_
        demand_linked = np.asarray(self.line_next_demand)[:lines] != NOT_LINKED
        assert (demand_linked == backorder).all(), "a line is listed iff it is an open backorder"
        seen_supply = seen_lines = 0
        for position in np.flatnonzero((supply_head != END_OF_LIST) | (np.asarray(self.demand_head) != END_OF_LIST)):
            events = []
            current, previous = int(supply_head[position]), None
            while current != END_OF_LIST:
                assert self.supply_position[current] == position, "supply listed at another position"
                key = (int(eta_ns[current]), current)
                assert previous is None or previous < key, "a supply list out of (ETA, index) order"
                previous = key
                events.append((eta_ns[current], 0, quantity[current]))
                current = int(supply_next[current])
                seen_supply += 1
            current = self.demand_head[position]
            while current != END_OF_LIST:
                assert self.line_sku[current] * self.node_count + self.line_node[current] == position
                events.append((self.line_due_ns[current], 1, -self.line_quantity[current]))
                current = self.line_next_demand[current]
                seen_lines += 1
            balance = lowest = int(net[position])
            for _, _, change in sorted(events):
                balance += change
                lowest = min(lowest, balance)
            net[position] = lowest
        assert seen_supply == int(linked.sum()), "a listed supply is missing from its list"
        assert seen_lines == int(backorder.sum()), "a backorder is missing from its list"

    def _supply_tables(self):
        """The supply tables as a snapshot holds them, by supply index (copies):
        SUPPLY_TABLES plus supply_head. Links name supplies, not slots."""
        count = self.supply_count
        records = np.asarray(self._supply_records)[:count]
        by_index = records[np.asarray(self.supply_slot)[:count]]
        supply_of_slot = records["supply"]

        def named(slots):
            slots = slots.astype(np.int64)
            if count == 0:
                return slots
            return np.where(slots >= 0, supply_of_slot[np.maximum(slots, 0)], slots)

        return dict(
            supply_position=np.asarray(self.supply_position)[:count].copy(),
            supply_eta_ns=by_index["eta_ns"].copy(),
            supply_quantity=by_index["quantity"].copy(),
            supply_received=np.asarray(self.supply_received)[:count].copy(),
            supply_kind=by_index["kind"].copy(),
            supply_next=named(by_index["next"]),
            supply_head=named(np.asarray(self.supply_head)),
        )

    def _lay_out_supplies(self, position, eta_ns, quantity, kind, received):
        """Sets the supplies to the given per-index columns, their records laid out
        for the list walks: open supplies first, position after position (so one
        SKU's are together), each position's in list order, so a walk reads its
        records front to back; closed ones after them. Keeps each supply's index.
        Returns the lists' links and heads by supply index (as export_state has them)."""
        count = position.shape[0]
        positions = self.supply_head.shape[0]
        assert all(column.shape == (count,) for column in (eta_ns, quantity, kind, received)), \
            "supply columns of different lengths"
        position = position.astype(np.int64)
        assert ((position >= 0) & (position < positions)).all(), "a supply at no position"
        linked = quantity > 0
        index = np.arange(count, dtype=np.int64)
        # By (closed, position, ETA, index): the last key sorts first.
        order = np.lexsort((index, eta_ns, position + np.where(linked, 0, positions)))
        capacity = max(count, 64, self.supply_position.shape[0])
        assert capacity < 2**31, "supply slots are int32"
        slot = np.zeros(capacity, dtype=np.int64)
        slot[order] = index
        records = np.zeros(capacity, dtype=SUPPLY_RECORD_DTYPE)
        laid = records[:count]
        laid["eta_ns"] = eta_ns[order]
        laid["quantity"] = quantity[order]
        laid["supply"] = order
        laid["kind"] = kind[order]
        # Slots [0, open_count) are listed, each list's in a run in list order.
        open_count = int(linked.sum())
        nexts = np.full(count, NOT_LINKED, dtype=np.int32)
        links = np.full(count, NOT_LINKED, dtype=np.int64)  # the same, by index
        head = np.asarray(self.supply_head)
        head[:] = END_OF_LIST
        heads = head.copy()  # by index
        if open_count:
            at = position[order][:open_count]
            same = at[1:] == at[:-1]  # slots s and s + 1 are in one list
            nexts[:open_count] = END_OF_LIST
            nexts[:open_count - 1][same] = np.flatnonzero(same) + 1
            links[order[:open_count]] = END_OF_LIST
            links[order[:open_count - 1][same]] = order[1:open_count][same]
            first = np.flatnonzero(np.concatenate(([True], ~same)))
            head[at[first]] = first
            heads[at[first]] = order[first]
        laid["next"] = nexts
        self.supply_position = _grown(position, capacity)
        self.supply_received = _grown(received.astype(np.int64), capacity)
        self.supply_slot = slot
        if self.supply_stamp.shape[0] < capacity:
            self.supply_stamp = _grown(self.supply_stamp, capacity)
        self._adopt_records(records)
        self.supply_count = count
        return links, heads

    def lay_out_supplies(self):
        """Lays the supply records out afresh in list order (what a restore does):
        supplies created since the last restore sit in creation order, far from
        their SKU's others. The state (and its digest) does not change."""
        tables = self._supply_tables()
        self._lay_out_supplies(tables["supply_position"], tables["supply_eta_ns"], tables["supply_quantity"],
                               tables["supply_kind"], tables["supply_received"])

    def supply_layout(self):
        """The slot of each supply's record, by supply index (a copy): the
        records' order in memory, for tests and diagnostics. Never state."""
        return np.asarray(self.supply_slot)[:self.supply_count].copy()

    def _reserved_by_state(self):
        """Held and allocated per position, summed from the reservation table."""
        count = self.reservation_count
        states = np.asarray(self.reservation_state)[:count]
        line_counts = np.asarray(self.reservation_line_count)[:count].astype(np.int64)
        line_state = np.repeat(states, line_counts)
        lines = self.line_count
        positions = (np.asarray(self.line_sku)[:lines].astype(np.int64) * self.node_count
                     + np.asarray(self.line_node)[:lines])
        quantities = np.where(np.asarray(self.line_due_ns)[:lines] > 0, 0, np.asarray(self.line_quantity)[:lines])
        held = np.zeros(self.on_hand.shape[0], dtype=np.int64)
        allocated = np.zeros(self.on_hand.shape[0], dtype=np.int64)
        np.add.at(held, positions[line_state == RESERVATION_HELD], quantities[line_state == RESERVATION_HELD])
        np.add.at(allocated, positions[line_state == RESERVATION_COMMITTED],
                  quantities[line_state == RESERVATION_COMMITTED])
        return held, allocated

    def export_state(self):
        """Every array and counter of the state, as copies: a snapshot's contents.

        Core.from_state(core.export_state()) has the same digest as core.
        """
        count, lines, heap = self.reservation_count, self.line_count, self.heap_size
        state = {name: np.asarray(getattr_bucket(self, name)).copy() for name in BUCKETS}
        state.update(
            shape=np.array([self.node_count, self.sku_count], dtype=np.int64),
            clock=np.array([self.log_position, self.log_time_ns], dtype=np.int64),
            node_status=np.asarray(self.node_status).copy(),
            safety_stock_rule=np.asarray(self.safety_stock_rule).copy(),
            sku_safety_stock_rule=np.asarray(self.sku_safety_stock_rule).copy(),
            node_safety_stock_rule=np.asarray(self.node_safety_stock_rule).copy(),
            reservation_state=np.asarray(self.reservation_state)[:count].copy(),
            reservation_expire_ns=np.asarray(self.reservation_expire_ns)[:count].copy(),
            reservation_first_line=np.asarray(self.reservation_first_line)[:count].copy(),
            reservation_line_count=np.asarray(self.reservation_line_count)[:count].copy(),
            line_sku=np.asarray(self.line_sku)[:lines].copy(),
            line_node=np.asarray(self.line_node)[:lines].copy(),
            line_quantity=np.asarray(self.line_quantity)[:lines].copy(),
            line_shipped=np.asarray(self.line_shipped)[:lines].copy(),
            line_due_ns=np.asarray(self.line_due_ns)[:lines].copy(),
            line_next_demand=np.asarray(self.line_next_demand)[:lines].copy(),
            demand_head=np.asarray(self.demand_head).copy(),
            feed_sequence=self._used_feed_sequence().copy(),
            reason_row=np.asarray(self.reason_row).copy(),
            reason_quantity=np.asarray(self.reason_quantity)[:self.reason_count * UNAVAILABLE_REASON_COUNT].copy(),
            heap_expire_ns=np.asarray(self.heap_expire_ns)[:heap].copy(),
            heap_reservation=np.asarray(self.heap_reservation)[:heap].copy(),
        )
        state.update(self._supply_tables())
        return state

    @staticmethod
    def from_state(state, bint adopt=False):
        """A core holding exactly the exported state (see export_state).

        adopt=True takes the state's per-position arrays as they are when they
        are already C-contiguous, writable and of the core's dtype (a snapshot
        read into a buffer nobody else uses): no copy. The caller must not use
        them afterwards. Otherwise every array is copied."""
        node_count, sku_count = (int(v) for v in state["shape"])
        cdef Core core = Core(node_count, sku_count, node_status=state["node_status"], _positions=False)
        cdef Py_ssize_t positions = node_count * sku_count
        for name in BUCKETS:
            assert state[name].shape == (positions,), f"bucket {name} has the wrong shape"
        core.on_hand = _taken(state["on_hand"], np.int64, adopt)
        core.held = _taken(state["held"], np.int64, adopt)
        core.allocated = _taken(state["allocated"], np.int64, adopt)
        core.unavailable = _taken(state["unavailable"], np.int64, adopt)
        core.safety_stock = _taken(state["safety_stock"], np.int64, adopt)
        core.available = _taken(state["available"], np.int64, adopt)
        if "safety_stock_rule" in state:
            assert state["safety_stock_rule"].shape == (positions,), "safety_stock_rule has the wrong shape"
            assert state["sku_safety_stock_rule"].shape == (sku_count,), "sku_safety_stock_rule has the wrong shape"
            assert state["node_safety_stock_rule"].shape == (node_count,), "node_safety_stock_rule has the wrong shape"
            core.safety_stock_rule = _taken(state["safety_stock_rule"], np.int64, adopt)
            core.sku_safety_stock_rule = state["sku_safety_stock_rule"].astype(np.int64, copy=True)
            core.node_safety_stock_rule = state["node_safety_stock_rule"].astype(np.int64, copy=True)
        else:
            # A snapshot from before safety-stock rules: no command could set
            # one, so every position had 0 and every rule is unset (as built).
            assert not state["safety_stock"].any(), "safety stock without rules"
            core.safety_stock_rule = np.full(positions, SAFETY_STOCK_UNSET, dtype=np.int64)
        core.log_position, core.log_time_ns = (int(v) for v in state["clock"])
        count = state["reservation_state"].shape[0]
        lines = state["line_sku"].shape[0]
        heap = state["heap_expire_ns"].shape[0]
        core._reserve_capacity(max(count, heap), lines)
        np.asarray(core.reservation_state)[:count] = state["reservation_state"]
        np.asarray(core.reservation_expire_ns)[:count] = state["reservation_expire_ns"]
        np.asarray(core.reservation_first_line)[:count] = state["reservation_first_line"]
        np.asarray(core.reservation_line_count)[:count] = state["reservation_line_count"]
        np.asarray(core.line_sku)[:lines] = state["line_sku"]
        np.asarray(core.line_node)[:lines] = state["line_node"]
        np.asarray(core.line_quantity)[:lines] = state["line_quantity"]
        np.asarray(core.line_shipped)[:lines] = state["line_shipped"]
        np.asarray(core.line_due_ns)[:lines] = state["line_due_ns"]
        np.asarray(core.line_next_demand)[:lines] = state["line_next_demand"]
        assert state["demand_head"].shape == (positions,) and state["supply_head"].shape == (positions,)
        core.demand_head = _taken(state["demand_head"], np.int64, adopt)
        assert state["feed_sequence"].ndim == 2 and state["feed_sequence"].shape[1] == positions
        core.feed_sequence = state["feed_sequence"].astype(np.int64, copy=True)
        core._restore_reasons(state, adopt)
        core.supply_head = np.empty(positions, dtype=np.int64)  # _lay_out_supplies fills it
        # The lists are (ETA, index) order, so they follow from the columns; the
        # snapshot's own links must say the same (else it is damaged).
        links, heads = core._lay_out_supplies(state["supply_position"], state["supply_eta_ns"],
                                              state["supply_quantity"], state["supply_kind"],
                                              state["supply_received"])
        assert np.array_equal(links, state["supply_next"]), "snapshot supply links disagree"
        assert np.array_equal(heads, state["supply_head"]), "snapshot supply heads disagree"
        np.asarray(core.heap_expire_ns)[:heap] = state["heap_expire_ns"]
        np.asarray(core.heap_reservation)[:heap] = state["heap_reservation"]
        core.reservation_count, core.line_count, core.heap_size = count, lines, heap
        core._adopt_buffers()
        return core

    def _restore_reasons(self, state, bint adopt=False):
        """The reason tables of a snapshot; one from before reasons had only
        quarantine (returns and receipts) making stock unavailable."""
        cdef Py_ssize_t positions = self.on_hand.shape[0]
        if "reason_row" in state:
            assert state["reason_row"].shape == (positions,), "reason_row has the wrong shape"
            self.reason_row = _taken(state["reason_row"], np.int32, adopt)
            self.reason_quantity = state["reason_quantity"].astype(np.int64, copy=True)
            self.reason_count = state["reason_quantity"].shape[0] // UNAVAILABLE_REASON_COUNT
            return
        unavailable = np.asarray(self.unavailable)
        quarantined = np.flatnonzero(unavailable)
        rows = np.full(positions, -1, dtype=np.int32)
        rows[quarantined] = np.arange(quarantined.size, dtype=np.int32)
        table = np.zeros((quarantined.size, UNAVAILABLE_REASON_COUNT), dtype=np.int64)
        table[:, UNAVAILABLE_QUARANTINED - 1] = unavailable[quarantined]
        self.reason_row = rows
        self.reason_quantity = table.ravel()
        self.reason_count = quarantined.size

    def _used_feed_sequence(self):
        """The feed sequences of the used rows (the table has room for sku_capacity rows)."""
        return np.asarray(self.feed_sequence)[:, :<Py_ssize_t>self.sku_count * self.node_count]

    def digest(self):
        """A hash of the whole state: equal digests mean equal replicas."""
        import hashlib
        h = hashlib.blake2b(digest_size=16)
        h.update(np.array([self.node_count, self.sku_count, self.log_position,
                           self.log_time_ns], dtype=np.int64).tobytes())
        for name in BUCKETS:
            h.update(np.asarray(getattr_bucket(self, name)).tobytes())
        h.update(np.asarray(self.node_status).tobytes())
        h.update(np.asarray(self.safety_stock_rule).tobytes())
        h.update(np.asarray(self.sku_safety_stock_rule).tobytes())
        h.update(np.asarray(self.node_safety_stock_rule).tobytes())
        count, lines = self.reservation_count, self.line_count
        h.update(np.array([count, lines], dtype=np.int64).tobytes())
        supplies = self._supply_tables()  # by index: the digest is the same whatever the layout
        tables = [
            np.asarray(self.reservation_state)[:count], np.asarray(self.reservation_expire_ns)[:count],
            np.asarray(self.reservation_first_line)[:count], np.asarray(self.reservation_line_count)[:count],
            np.asarray(self.line_sku)[:lines], np.asarray(self.line_node)[:lines],
            np.asarray(self.line_quantity)[:lines], np.asarray(self.line_shipped)[:lines],
            np.asarray(self.line_due_ns)[:lines], np.asarray(self.line_next_demand)[:lines],
            np.asarray(self.demand_head), supplies["supply_head"],
            np.ascontiguousarray(self._used_feed_sequence()),
            np.array([self.supply_count], dtype=np.int64),
            np.asarray(self.reason_row), np.asarray(self.reason_quantity)[:self.reason_count * UNAVAILABLE_REASON_COUNT],
        ]
        tables.extend(supplies[name] for name in SUPPLY_TABLES)
        for table in tables:
            h.update(table.tobytes())
        return h.hexdigest()


cdef inline void _insert_sorted(int64_t* head, int64_t* next, const int64_t* key, int64_t item) noexcept nogil:
    """Links `item` into the singly linked list at `head`, ordered by (key, item)."""
    cdef int64_t previous = END_OF_LIST, current = head[0]
    while current != END_OF_LIST and (key[current] < key[item] or (key[current] == key[item] and current < item)):
        previous = current
        current = next[current]
    next[item] = current
    if previous == END_OF_LIST:
        head[0] = item
    else:
        next[previous] = item


cdef inline void _unlink(int64_t* head, int64_t* next, int64_t item) noexcept nogil:
    """Takes `item` (which must be linked) out of the list at `head`."""
    cdef int64_t previous = END_OF_LIST, current = head[0]
    while current != item:
        previous = current
        current = next[current]
    if previous == END_OF_LIST:
        head[0] = next[item]
    else:
        next[previous] = next[item]
    next[item] = NOT_LINKED


def _grown(table, Py_ssize_t size):
    """A copy of `table` with room for `size` entries (zeros beyond the old ones)."""
    old = np.asarray(table)
    bigger = np.zeros(size, dtype=old.dtype)
    bigger[:old.shape[0]] = old
    return bigger


# The supply columns of a snapshot (with supply_head), by supply index: the
# layout of the records in memory is the core's own and never leaves it.
SUPPLY_TABLES = ("supply_position", "supply_eta_ns", "supply_quantity", "supply_received",
                 "supply_kind", "supply_next")


cdef object getattr_bucket(Core core, str name):
    if name == "on_hand":
        return core.on_hand
    if name == "held":
        return core.held
    if name == "allocated":
        return core.allocated
    if name == "unavailable":
        return core.unavailable
    if name == "safety_stock":
        return core.safety_stock
    return core.available


# The per-position (True) and per-SKU (False) tables add_skus grows, with the
# value of an empty row. feed_sequence (2-D) is grown beside them: it always
# has sku_capacity rows of positions, and is sliced where it is read whole.
def _taken(array, dtype, bint adopt):
    """`array` itself when adopting one the core can use as it is, else a copy as `dtype`."""
    if (adopt and array.dtype == dtype and array.ndim == 1 and array.flags.c_contiguous
            and array.flags.writeable):
        return array
    return array.astype(dtype, copy=True)


GROWN_TABLES = (
    ("on_hand", 0, True), ("held", 0, True), ("allocated", 0, True), ("unavailable", 0, True),
    ("safety_stock", 0, True), ("available", 0, True), ("safety_stock_rule", SAFETY_STOCK_UNSET, True),
    ("demand_head", END_OF_LIST, True), ("supply_head", END_OF_LIST, True), ("reason_row", -1, True),
    ("sku_safety_stock_rule", SAFETY_STOCK_UNSET, False), ("sku_changed", 0, False), ("changed_skus", 0, False),
)


cdef object _table(Core core, str name):
    if name in BUCKETS:
        return getattr_bucket(core, name)
    if name == "safety_stock_rule":
        return core.safety_stock_rule
    if name == "demand_head":
        return core.demand_head
    if name == "supply_head":
        return core.supply_head
    if name == "reason_row":
        return core.reason_row
    if name == "sku_safety_stock_rule":
        return core.sku_safety_stock_rule
    if name == "sku_changed":
        return core.sku_changed
    assert name == "changed_skus", f"unknown table {name}"
    return core.changed_skus


cdef void _set_table(Core core, str name, object array) except *:
    if name == "on_hand":
        core.on_hand = array
    elif name == "held":
        core.held = array
    elif name == "allocated":
        core.allocated = array
    elif name == "unavailable":
        core.unavailable = array
    elif name == "safety_stock":
        core.safety_stock = array
    elif name == "available":
        core.available = array
    elif name == "safety_stock_rule":
        core.safety_stock_rule = array
    elif name == "demand_head":
        core.demand_head = array
    elif name == "supply_head":
        core.supply_head = array
    elif name == "reason_row":
        core.reason_row = array
    elif name == "sku_safety_stock_rule":
        core.sku_safety_stock_rule = array
    elif name == "sku_changed":
        core.sku_changed = array
    else:
        assert name == "changed_skus", f"unknown table {name}"
        core.changed_skus = array
