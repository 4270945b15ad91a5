# cython: language_level=3
"""The deterministic core: dense quantity arrays and the commands that change them.

Pure state machine: no I/O, no clock, no Python objects in the loops. The
engine (dompromise.engine) interns ids to indices, builds Commands and calls
`Core.apply`, the one entry point for every write; reads are gathers over
SKU-major arrays so one SKU's nodes are contiguous.
"""

cimport cython
cimport numpy as cnp
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t
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

QUANTITY_MAX_PY = QUANTITY_MAX

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
}
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


cdef class Command:
    """A write to apply. Build it, hand it to Core.apply, read its results.

    Items apply in order. With all_or_nothing, one failed item undoes the
    others (they report NOT_APPLIED) and the state is as before.
    """

    def __init__(self, int32_t kind, int64_t log_time_ns, sku=(), node=(), quantity=(), op=None,
                 bint all_or_nothing=False, int64_t reservation=-1, int64_t deadline_ns=0, line=None):
        self.kind = kind
        self.reservation = reservation
        self.deadline_ns = deadline_ns
        self.result = 0
        self.log_time_ns = log_time_ns
        self.all_or_nothing = all_or_nothing
        self.sku = np.ascontiguousarray(sku, dtype=np.int32)
        self.node = np.ascontiguousarray(node, dtype=np.int32)
        self.quantity = np.ascontiguousarray(quantity, dtype=np.int64)
        count = self.sku.shape[0]
        self.op = np.ascontiguousarray(np.zeros(count) if op is None else op, dtype=np.int8)
        self.line = np.ascontiguousarray(np.zeros(count) if line is None else line, dtype=np.int32)
        assert self.line.shape[0] == count, "line column length differs from sku"
        assert self.op.shape[0] == count, "op column length differs from sku"
        assert self.node.shape[0] == count, "node column length differs from sku"
        assert self.quantity.shape[0] == count, "quantity column length differs from sku"
        self.status = np.zeros(count, dtype=np.int8)
        self.on_hand_after = np.zeros(count, dtype=np.int64)
        self.available_after = np.zeros(count, dtype=np.int64)
        self.filled = np.zeros(count, dtype=np.int64)
        self.applied_count = 0
        self.log_position = 0

    def __len__(self):
        return self.sku.shape[0]


@cython.final
cdef class Core:
    """Node-by-SKU quantity state of one replica.

    Unknown ids never reach the core: the engine maps them to index -1 and
    the core reports SKU_NOT_FOUND / NODE_NOT_FOUND for them.
    """

    def __init__(self, int32_t node_count, int32_t sku_count, node_status=None):
        assert node_count > 0, "a network needs at least one node"
        assert sku_count > 0, "a network needs at least one SKU"
        cdef Py_ssize_t positions = <Py_ssize_t>node_count * sku_count
        self.node_count = node_count
        self.sku_count = sku_count
        self.log_time_ns = 0
        self.log_position = 0
        self.on_hand = np.zeros(positions, dtype=np.int64)
        self.held = np.zeros(positions, dtype=np.int64)
        self.allocated = np.zeros(positions, dtype=np.int64)
        self.unavailable = np.zeros(positions, dtype=np.int64)
        self.safety_stock = np.zeros(positions, dtype=np.int64)
        self.available = np.zeros(positions, dtype=np.int64)
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
        self.heap_expire_ns = np.zeros(0, dtype=np.int64)
        self.heap_reservation = np.zeros(0, dtype=np.int64)
        self._reserve_capacity(RESERVATIONS_INITIAL, RESERVATIONS_INITIAL)

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
        cdef const int32_t[::1] sku = command.sku
        cdef const int32_t[::1] node = command.node
        cdef const int64_t[::1] quantity = command.quantity
        cdef const int8_t[::1] op = command.op
        cdef int8_t[::1] status = command.status
        cdef int64_t[::1] on_hand_after = command.on_hand_after
        cdef int64_t[::1] available_after = command.available_after
        cdef int64_t[::1] previous = np.empty(sku.shape[0], dtype=np.int64)
        cdef bint all_or_nothing = command.all_or_nothing
        cdef Py_ssize_t i, count = sku.shape[0], position
        cdef int64_t target, applied = 0, failed = 0
        with nogil:
            for i in range(count):
                if sku[i] < 0 or sku[i] >= self.sku_count:
                    status[i] = ITEM_SKU_NOT_FOUND
                    failed += 1
                    continue
                if node[i] < 0 or node[i] >= self.node_count:
                    status[i] = ITEM_NODE_NOT_FOUND
                    failed += 1
                    continue
                position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                previous[i] = self.on_hand[position]
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
                    self._refresh_available(position)
                    status[i] = ITEM_NOT_APPLIED
                for i in range(count):
                    if sku[i] >= 0 and sku[i] < self.sku_count and node[i] >= 0 and node[i] < self.node_count:
                        position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                        on_hand_after[i] = self.on_hand[position]
                        available_after[i] = self.available[position]
                applied = 0
        command.applied_count = applied
        return applied

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef inline void _refresh_available(self, Py_ssize_t position) noexcept nogil:
        cdef int64_t free = (self.on_hand[position] - self.held[position]
                             - self.allocated[position] - self.unavailable[position]
                             - self.safety_stock[position])
        self.available[position] = free if free > 0 else 0

    cdef bint _well_formed(self, Command command) except -1:
        """Whether the command's shape and values are ones apply can act on.

        Checked before anything changes. The service validates requests at the
        edge; this keeps a bad record in the log from stopping every replica.
        """
        cdef int32_t kind = command.kind
        cdef Py_ssize_t i, count = command.sku.shape[0]
        cdef const int64_t[::1] quantity = command.quantity
        cdef const int8_t[::1] op = command.op
        cdef bint needs_items = kind in (COMMAND_UPDATE_ON_HAND, COMMAND_RESERVE, COMMAND_SHIP,
                                         COMMAND_CANCEL_LINES, COMMAND_RETURN, COMMAND_SET_NODE_STATUS)
        if kind < COMMAND_UPDATE_ON_HAND or kind > COMMAND_SET_NODE_STATUS:
            return False
        if needs_items and count == 0:
            return False
        if (kind == COMMAND_RESERVE or kind == COMMAND_EXTEND) and command.deadline_ns <= command.log_time_ns:
            return False
        for i in range(count):
            if kind == COMMAND_UPDATE_ON_HAND:
                if op[i] != ON_HAND_SET and op[i] != ON_HAND_ADJUST:
                    return False
            elif kind == COMMAND_SET_NODE_STATUS:
                if op[i] < NODE_ENABLED or op[i] > NODE_DISABLED:
                    return False
            elif kind in (COMMAND_RESERVE, COMMAND_SHIP, COMMAND_CANCEL_LINES, COMMAND_RETURN):
                if quantity[i] <= 0 or quantity[i] > QUANTITY_MAX:
                    return False
                if kind == COMMAND_RETURN and op[i] != RETURN_SELLABLE and op[i] != RETURN_QUARANTINE:
                    return False
        return True

    cdef int _apply_node_status(self, Command command) except -1:
        """Sets node i's status to op[i]; unknown nodes report NODE_NOT_FOUND."""
        cdef const int32_t[::1] node = command.node
        cdef const int8_t[::1] op = command.op
        cdef int8_t[::1] status = command.status
        cdef Py_ssize_t i
        cdef int64_t applied = 0
        for i in range(node.shape[0]):
            if node[i] < 0 or node[i] >= self.node_count:
                status[i] = ITEM_NODE_NOT_FOUND
                continue
            self.node_status[node[i]] = op[i]
            status[i] = ITEM_OK
            applied += 1
        command.applied_count = applied
        command.result = RESULT_OK
        return 0


    # ---- reservations -----------------------------------------------------

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef int _apply_reserve(self, Command command) except -1:
        """Holds each line from available stock; all-or-nothing unless partial is allowed."""
        cdef Py_ssize_t i, count = command.sku.shape[0], position
        self._reserve_capacity(1, count)
        cdef const int32_t[::1] sku = command.sku
        cdef const int32_t[::1] node = command.node
        cdef const int64_t[::1] quantity = command.quantity
        cdef int8_t[::1] status = command.status
        cdef int64_t[::1] filled = command.filled
        cdef int64_t[::1] available_after = command.available_after
        cdef bint all_or_nothing = command.all_or_nothing
        cdef int64_t take, free, taken = 0, failed = 0, reservation, line
        with nogil:
            for i in range(count):
                filled[i] = 0
                if sku[i] < 0 or sku[i] >= self.sku_count:
                    status[i] = ITEM_SKU_NOT_FOUND
                    failed += 1
                    continue
                if node[i] < 0 or node[i] >= self.node_count:
                    status[i] = ITEM_NODE_NOT_FOUND
                    failed += 1
                    continue
                position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                if self.node_status[node[i]] != NODE_ENABLED:
                    status[i] = ITEM_NODE_NOT_SELLABLE
                    failed += 1
                else:
                    free = self.available[position]
                    take = quantity[i] if free >= quantity[i] else (0 if all_or_nothing else free)
                    if take == quantity[i]:
                        status[i] = ITEM_OK
                    elif take > 0:
                        status[i] = ITEM_PARTIALLY_FILLED
                    else:
                        status[i] = ITEM_INSUFFICIENT_STOCK
                        failed += 1
                    if take > 0:
                        self.held[position] += take
                        self._refresh_available(position)
                        filled[i] = take
                        taken += take
                available_after[i] = self.available[position]
            if all_or_nothing and failed > 0 and taken > 0:
                for i in range(count - 1, -1, -1):
                    if filled[i] == 0:
                        continue
                    position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                    self.held[position] -= filled[i]
                    self._refresh_available(position)
                    filled[i] = 0
                    status[i] = ITEM_NOT_APPLIED
                for i in range(count):
                    if status[i] == ITEM_NOT_APPLIED or status[i] == ITEM_INSUFFICIENT_STOCK:
                        position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                        available_after[i] = self.available[position]
                taken = 0
            if taken == 0:
                command.result = RESULT_INSUFFICIENT_STOCK
            else:
                reservation = self.reservation_count
                self.reservation_count += 1
                self.reservation_state[reservation] = RESERVATION_HELD
                self.reservation_expire_ns[reservation] = command.deadline_ns
                self.reservation_first_line[reservation] = self.line_count
                self.reservation_line_count[reservation] = 0
                for i in range(count):
                    if filled[i] > 0:
                        line = self.line_count
                        self.line_sku[line] = sku[i]
                        self.line_node[line] = node[i]
                        self.line_quantity[line] = filled[i]
                        self.line_shipped[line] = 0
                        self.line_count += 1
                        self.reservation_line_count[reservation] += 1
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
            self._release_lines(reservation, False)
            self._add_lines(reservation, True)
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
        cdef Py_ssize_t i, count = command.line.shape[0], position
        cdef const int32_t[::1] line = command.line
        cdef const int64_t[::1] quantity = command.quantity
        cdef int8_t[::1] status = command.status
        cdef int64_t[::1] filled = command.filled
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
                    if from_allocated:
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
        cdef const int32_t[::1] sku = command.sku
        cdef const int32_t[::1] node = command.node
        cdef const int64_t[::1] quantity = command.quantity
        cdef const int8_t[::1] op = command.op
        cdef int8_t[::1] status = command.status
        cdef int64_t[::1] filled = command.filled
        cdef int64_t[::1] available_after = command.available_after
        cdef Py_ssize_t i, count = sku.shape[0], position
        cdef int64_t applied = 0
        with nogil:
            for i in range(count):
                if sku[i] < 0 or sku[i] >= self.sku_count:
                    status[i] = ITEM_SKU_NOT_FOUND
                    continue
                if node[i] < 0 or node[i] >= self.node_count:
                    status[i] = ITEM_NODE_NOT_FOUND
                    continue
                position = <Py_ssize_t>sku[i] * self.node_count + node[i]
                if (self.on_hand[position] + quantity[i] > QUANTITY_MAX
                        or self.unavailable[position] + quantity[i] > QUANTITY_MAX):
                    status[i] = ITEM_QUANTITY_TOO_LARGE
                    available_after[i] = self.available[position]
                    continue
                self.on_hand[position] += quantity[i]
                if op[i] == RETURN_QUARANTINE:
                    self.unavailable[position] += quantity[i]
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
        cdef int64_t line, first = self.reservation_first_line[reservation]
        cdef int64_t last = first + self.reservation_line_count[reservation]
        cdef Py_ssize_t position
        for line in range(first, last):
            position = <Py_ssize_t>self.line_sku[line] * self.node_count + self.line_node[line]
            if from_allocated:
                self.allocated[position] -= self.line_quantity[line]
            else:
                self.held[position] -= self.line_quantity[line]
            self._refresh_available(position)

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef void _add_lines(self, int64_t reservation, bint to_allocated) noexcept nogil:
        cdef int64_t line, first = self.reservation_first_line[reservation]
        cdef int64_t last = first + self.reservation_line_count[reservation]
        cdef Py_ssize_t position
        for line in range(first, last):
            position = <Py_ssize_t>self.line_sku[line] * self.node_count + self.line_node[line]
            if to_allocated:
                self.allocated[position] += self.line_quantity[line]
            else:
                self.held[position] += self.line_quantity[line]
            self._refresh_available(position)

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
        if heap_needed > self.heap_expire_ns.shape[0]:
            size = max(heap_needed, 2 * self.heap_expire_ns.shape[0])
            self.heap_expire_ns = _grown(self.heap_expire_ns, size)
            self.heap_reservation = _grown(self.heap_reservation, size)
        return 0

    def reservation(self, int64_t reservation):
        """(state, expire_ns, sku[], node[], open quantity[], shipped[]) of a reservation, or None."""
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
        )

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

    def sellable_nodes(self):
        """Indices of the nodes that take new demand (ENABLED), ascending."""
        statuses = np.asarray(self.node_status)
        return np.flatnonzero(statuses == NODE_ENABLED).astype(np.int32)

    def node_status_of(self, int32_t node):
        assert 0 <= node < self.node_count, "node index out of range"
        return self.node_status[node]

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
        expected = on_hand - buckets[0] - buckets[1] - buckets[2] - buckets[3]
        np.maximum(expected, 0, out=expected)
        assert (np.asarray(self.available) == expected).all(), "available out of date"
        held_expected, allocated_expected = self._reserved_by_state()
        assert (buckets[0] == held_expected).all(), "held differs from the open holds"
        assert (buckets[1] == allocated_expected).all(), "allocated differs from the commitments"
        return True

    def _reserved_by_state(self):
        """Held and allocated per position, summed from the reservation table."""
        count = self.reservation_count
        states = np.asarray(self.reservation_state)[:count]
        line_counts = np.asarray(self.reservation_line_count)[:count].astype(np.int64)
        line_state = np.repeat(states, line_counts)
        lines = self.line_count
        positions = (np.asarray(self.line_sku)[:lines].astype(np.int64) * self.node_count
                     + np.asarray(self.line_node)[:lines])
        quantities = np.asarray(self.line_quantity)[:lines]
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
            reservation_state=np.asarray(self.reservation_state)[:count].copy(),
            reservation_expire_ns=np.asarray(self.reservation_expire_ns)[:count].copy(),
            reservation_first_line=np.asarray(self.reservation_first_line)[:count].copy(),
            reservation_line_count=np.asarray(self.reservation_line_count)[:count].copy(),
            line_sku=np.asarray(self.line_sku)[:lines].copy(),
            line_node=np.asarray(self.line_node)[:lines].copy(),
            line_quantity=np.asarray(self.line_quantity)[:lines].copy(),
            line_shipped=np.asarray(self.line_shipped)[:lines].copy(),
            heap_expire_ns=np.asarray(self.heap_expire_ns)[:heap].copy(),
            heap_reservation=np.asarray(self.heap_reservation)[:heap].copy(),
        )
        return state

    @staticmethod
    def from_state(state):
        """A core holding exactly the exported state (see export_state)."""
        node_count, sku_count = (int(v) for v in state["shape"])
        cdef Core core = Core(node_count, sku_count, node_status=state["node_status"])
        cdef Py_ssize_t positions = node_count * sku_count
        for name in BUCKETS:
            assert state[name].shape == (positions,), f"bucket {name} has the wrong shape"
        core.on_hand = state["on_hand"].astype(np.int64, copy=True)
        core.held = state["held"].astype(np.int64, copy=True)
        core.allocated = state["allocated"].astype(np.int64, copy=True)
        core.unavailable = state["unavailable"].astype(np.int64, copy=True)
        core.safety_stock = state["safety_stock"].astype(np.int64, copy=True)
        core.available = state["available"].astype(np.int64, copy=True)
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
        np.asarray(core.heap_expire_ns)[:heap] = state["heap_expire_ns"]
        np.asarray(core.heap_reservation)[:heap] = state["heap_reservation"]
        core.reservation_count, core.line_count, core.heap_size = count, lines, heap
        return core

    def digest(self):
        """A hash of the whole state: equal digests mean equal replicas."""
        import hashlib
        h = hashlib.blake2b(digest_size=16)
        h.update(np.array([self.node_count, self.sku_count, self.log_position,
                           self.log_time_ns], dtype=np.int64).tobytes())
        for name in BUCKETS:
            h.update(np.asarray(getattr_bucket(self, name)).tobytes())
        h.update(np.asarray(self.node_status).tobytes())
        count, lines = self.reservation_count, self.line_count
        h.update(np.array([count, lines], dtype=np.int64).tobytes())
        tables = [
            np.asarray(self.reservation_state)[:count], np.asarray(self.reservation_expire_ns)[:count],
            np.asarray(self.reservation_first_line)[:count], np.asarray(self.reservation_line_count)[:count],
            np.asarray(self.line_sku)[:lines], np.asarray(self.line_node)[:lines],
            np.asarray(self.line_quantity)[:lines], np.asarray(self.line_shipped)[:lines],
        ]
        for table in tables:
            h.update(table.tobytes())
        return h.hexdigest()


def _grown(table, Py_ssize_t size):
    """A copy of `table` with room for `size` entries (zeros beyond the old ones)."""
    old = np.asarray(table)
    bigger = np.zeros(size, dtype=old.dtype)
    bigger[:old.shape[0]] = old
    return bigger


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
