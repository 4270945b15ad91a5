# Part of state.pyx (included at module level): Command, a columnar write, and
# the column helpers the engine builds commands with.

cdef void* _data(cnp.ndarray array, int type_number, bint writable) except NULL:
    """The array's data pointer, after checking dtype, contiguity and (if asked) writability."""
    if cnp.PyArray_TYPE(array) != type_number or not cnp.PyArray_IS_C_CONTIGUOUS(array):
        raise TypeError(f"expected a C-contiguous {np.dtype(cnp.PyArray_DescrFromType(type_number))} array")
    if writable and not cnp.PyArray_ISWRITEABLE(array):
        raise ValueError("output array is read-only")
    # Never NULL for a valid array, even an empty one (numpy allocates at least one byte).
    return cnp.PyArray_DATA(array)


# Dtypes of the Command columns, by numpy type number (for _column's slow path).
_DTYPES = {cnp.NPY_INT8: np.int8, cnp.NPY_INT32: np.int32, cnp.NPY_INT64: np.int64}


# _BY_INDEX: a sequence's items are read by index, not iterated: iterating a protobuf repeated field (as the
# request and log record fields these columns come from are) ends in an IndexError whose message is formatted,
# ~0.35 us a call (a single-SKU lookup's interning ~0.15 us).
cdef extern from "Python.h":
    bint PySequence_Check(object o)


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
    if PySequence_Check(ids):  # by index: see _BY_INDEX
        for i in range(count):
            value = index.get(ids[i])
            data[i] = unknown if value is None else <int32_t>value
        return out
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
    if PySequence_Check(values):  # by index: see _BY_INDEX
        for i in range(count):
            data[i] = values[i]
        return out
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


cdef bint _well_formed(Command command) except -1:
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
    if kind == COMMAND_RESERVE:
        return _reserve_well_formed(count, quantity, time_ns, floor, command.deadline_ns, command.log_time_ns)
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


cdef bint _reserve_well_formed(Py_ssize_t count, const int64_t* quantity, const int64_t* due_ns,
                               const int64_t* floor, int64_t deadline_ns, int64_t log_time_ns) noexcept nogil:
    """_well_formed of a RESERVE (Core.apply's and Core.reserve_lines' one judge): lines, a deadline after
    now, each quantity 1 to QUANTITY_MAX, no negative date, each floor 0 to QUANTITY_MAX."""
    cdef Py_ssize_t i
    if count == 0 or deadline_ns <= log_time_ns:
        return False
    for i in range(count):
        if quantity[i] <= 0 or quantity[i] > QUANTITY_MAX:
            return False
        if due_ns[i] < 0 or floor[i] < 0 or floor[i] > QUANTITY_MAX:
            return False
    return True
