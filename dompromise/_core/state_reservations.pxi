# Part of state.pyx (included at module level): reservations. A RESERVE
# appends a reservation row and its lines to an append-only arena; a line
# holds stock now (held, then allocated on COMMIT) or is a backorder, demand
# at a date in its position's list (state_supply.pxi). Holds expire through
# a min-heap of (expiry, reservation), popped as the log's clock passes.

# ---- commands ------------------------------------------------------------------------

cdef int _apply_reserve(Core core, Command command) except -1:
    """A RESERVE command: its columns handed to _reserve (Core.reserve_lines hands a record's)."""
    cdef ReserveLines lines
    lines.count = command.count
    lines.sku = command.sku_
    lines.node = command.node_
    lines.quantity = command.quantity_
    lines.due_ns = command.time_ns_
    lines.floor = command.floor_
    lines.status = command.status_
    lines.filled = command.filled_
    lines.available_after = command.available_after_
    lines.all_or_nothing = command.all_or_nothing
    lines.deadline_ns = command.deadline_ns
    lines.reservation = -1
    _reserve(core, &lines)
    command.result = lines.result
    command.applied_count = lines.applied_count
    if lines.result == RESULT_OK:
        command.reservation = lines.reservation
    return 0


cdef int _reserve(Core core, ReserveLines* lines) except -1:
    """Reserves each line; all-or-nothing unless partial fill is allowed.

    A line is held from stock available now when there is enough. Failing
    that, a line with a date (due_ns > 0) may be promised from future
    supply due by then: a backorder, counted as demand at that date. A
    partial fill only ever takes stock available now. Line i leaves
    floor[i] available at its position (stock kept for other channels
    or customer segments): it takes from available - floor only.
    """
    cdef Py_ssize_t i, count = lines.count, position
    _reserve_capacity(core, 1, count)
    cdef const int32_t* sku = lines.sku
    cdef const int32_t* node = lines.node
    cdef const int64_t* quantity = lines.quantity
    cdef const int64_t* due_ns = lines.due_ns
    cdef const int64_t* floor = lines.floor
    cdef int8_t* status = lines.status
    cdef int64_t* filled = lines.filled
    cdef int64_t* available_after = lines.available_after
    cdef bint all_or_nothing = lines.all_or_nothing
    cdef int64_t take, free, taken = 0, failed = 0, line, line_due_ns
    cdef int64_t reservation = core.reservation_count, first_line = core.line_count
    with nogil:
        for i in range(count):
            filled[i] = 0
            position = _position_of(core, sku[i], node[i], &status[i])
            if position < 0:
                failed += 1
                continue
            if core.node_status[node[i]] != NODE_ENABLED:
                status[i] = ITEM_NODE_NOT_SELLABLE
                failed += 1
                available_after[i] = _available_above(core, position, floor[i])
                continue
            # The floor (stock kept for other channels and segments) stays
            # behind now and, for a backorder, at every later date.
            free = _available_above(core, position, floor[i])
            line_due_ns = 0
            if free >= quantity[i]:
                take = quantity[i]
            elif due_ns[i] > 0 and _lowest_cumulative(core, 
                    position, _net_on_hand(core, position) - floor[i], due_ns[i]) >= quantity[i]:
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
                line = core.line_count
                core.line_count += 1
                core.line_sku[line] = sku[i]
                core.line_node[line] = node[i]
                core.line_quantity[line] = take
                core.line_shipped[line] = 0
                core.line_due_ns[line] = line_due_ns
                core.line_next_demand[line] = NOT_LINKED
                if line_due_ns > 0:
                    _link_demand(core, line, position)
                else:
                    core.held[position] += take
                _refresh_available(core, position)
                filled[i] = take
                taken += take
            available_after[i] = _available_above(core, position, floor[i])
        if all_or_nothing and failed > 0 and taken > 0:
            # Undo newest first, so repeated positions end where they began.
            for line in range(core.line_count - 1, first_line - 1, -1):
                position = <Py_ssize_t>core.line_sku[line] * core.node_count + core.line_node[line]
                if core.line_due_ns[line] > 0:
                    _unlink_demand(core, line, position)
                else:
                    core.held[position] -= core.line_quantity[line]
                _refresh_available(core, position)
            core.line_count = first_line
            for i in range(count):
                if filled[i] > 0:
                    filled[i] = 0
                    status[i] = ITEM_NOT_APPLIED
                if status[i] == ITEM_NOT_APPLIED or status[i] == ITEM_INSUFFICIENT_STOCK:
                    position = <Py_ssize_t>sku[i] * core.node_count + node[i]
                    available_after[i] = _available_above(core, position, floor[i])
            taken = 0
        if taken == 0:
            lines.result = RESULT_INSUFFICIENT_STOCK
        else:
            core.reservation_count += 1
            core.reservation_state[reservation] = RESERVATION_HELD
            core.reservation_expire_ns[reservation] = lines.deadline_ns
            core.reservation_first_line[reservation] = first_line
            core.reservation_line_count[reservation] = <int32_t>(core.line_count - first_line)
            _heap_push(core, lines.deadline_ns, reservation)
            lines.reservation = reservation
            lines.result = RESULT_OK
    lines.applied_count = taken
    return 0


cdef int _apply_resolve(Core core, Command command) except -1:
    """COMMIT moves a hold to allocated; RELEASE frees a hold or a commitment."""
    cdef int64_t reservation = command.reservation
    cdef bint commit = command.kind == COMMAND_COMMIT
    if reservation < 0 or reservation >= core.reservation_count:
        command.result = RESULT_RESERVATION_NOT_FOUND
        return 0
    cdef uint8_t state = core.reservation_state[reservation]
    if state == RESERVATION_EXPIRED:
        command.result = RESULT_RESERVATION_EXPIRED
    elif state == RESERVATION_RELEASED:
        command.result = RESULT_RESERVATION_RELEASED
    elif state == RESERVATION_SHIPPED:
        command.result = RESULT_RESERVATION_SHIPPED
    elif commit and state == RESERVATION_COMMITTED:
        command.result = RESULT_RESERVATION_COMMITTED
    elif commit:
        _allocate_lines(core, reservation)
        core.reservation_state[reservation] = RESERVATION_COMMITTED
        command.result = RESULT_OK
    else:
        _release_lines(core, reservation, state == RESERVATION_COMMITTED)
        core.reservation_state[reservation] = RESERVATION_RELEASED
        command.result = RESULT_OK
    return 0


cdef int _apply_extend(Core core, Command command) except -1:
    """Moves a hold's expiry to deadline_ns (later or earlier, but after now)."""
    cdef int64_t reservation = command.reservation
    if reservation < 0 or reservation >= core.reservation_count:
        command.result = RESULT_RESERVATION_NOT_FOUND
        return 0
    cdef uint8_t state = core.reservation_state[reservation]
    if state == RESERVATION_EXPIRED:
        command.result = RESULT_RESERVATION_EXPIRED
    elif state == RESERVATION_RELEASED:
        command.result = RESULT_RESERVATION_RELEASED
    elif state == RESERVATION_COMMITTED or state == RESERVATION_SHIPPED:
        command.result = RESULT_RESERVATION_COMMITTED
    else:
        _reserve_capacity(core, 1, 0)
        core.reservation_expire_ns[reservation] = command.deadline_ns
        _heap_push(core, command.deadline_ns, reservation)
        command.result = RESULT_OK
    return 0


cdef int _apply_line_change(Core core, Command command) except -1:
    """SHIP takes open quantity of a committed reservation's lines out of
    allocated and on hand; CANCEL_LINES gives it back to available. All
    items apply, or none (RESULT_INVALID_LINES, per-item statuses say why).
    When no line has open quantity left, the reservation is SHIPPED if
    anything shipped, else RELEASED.
    """
    cdef int64_t reservation = command.reservation
    cdef bint ship = command.kind == COMMAND_SHIP
    if reservation < 0 or reservation >= core.reservation_count:
        command.result = RESULT_RESERVATION_NOT_FOUND
        return 0
    cdef uint8_t state = core.reservation_state[reservation]
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
    cdef int64_t first = core.reservation_first_line[reservation]
    cdef int32_t lines = core.reservation_line_count[reservation]
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
            if wanted[line[i]] > core.line_quantity[first + line[i]]:
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
                position = <Py_ssize_t>core.line_sku[arena] * core.node_count + core.line_node[arena]
                core.line_quantity[arena] -= quantity[i]
                if core.line_due_ns[arena] > 0:
                    # A backorder: less demand at its date; off the list when none is left.
                    if core.line_quantity[arena] == 0:
                        _unlink_demand(core, arena, position)
                elif from_allocated:
                    core.allocated[position] -= quantity[i]
                else:
                    core.held[position] -= quantity[i]
                if ship:
                    core.line_shipped[arena] += quantity[i]
                    # Shipping is a fact: on hand cannot go below zero even if a
                    # stock count already took it there.
                    core.on_hand[position] -= (quantity[i] if core.on_hand[position] >= quantity[i]
                                               else core.on_hand[position])
                _refresh_available(core, position)
                filled[i] = quantity[i]
            for arena in range(first, first + lines):
                open_left += core.line_quantity[arena]
                shipped_total += core.line_shipped[arena]
            if open_left == 0:
                core.reservation_state[reservation] = (RESERVATION_SHIPPED if shipped_total > 0
                                                       else RESERVATION_RELEASED)
            command.result = RESULT_OK
    return 0


cdef int _apply_return(Core core, Command command) except -1:
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
    _reason_capacity(core, count)
    with nogil:
        for i in range(count):
            position = _position_of(core, sku[i], node[i], &status[i])
            if position < 0:
                continue
            if (core.on_hand[position] + quantity[i] > QUANTITY_MAX
                    or core.unavailable[position] + quantity[i] > QUANTITY_MAX):
                status[i] = ITEM_QUANTITY_TOO_LARGE
                available_after[i] = core.available[position]
                continue
            core.on_hand[position] += quantity[i]
            if op[i] == RETURN_QUARANTINE:
                _set_reason(core, position, UNAVAILABLE_QUARANTINED,
                                 _reason_quantity_of(core, position, UNAVAILABLE_QUARANTINED) + quantity[i])
            _refresh_available(core, position)
            status[i] = ITEM_OK
            filled[i] = quantity[i]
            available_after[i] = core.available[position]
            applied += 1
    command.applied_count = applied
    command.result = RESULT_OK
    return 0


# ---- lines and room ------------------------------------------------------------------

cdef void _release_lines(Core core, int64_t reservation, bint from_allocated) noexcept nogil:
    """Gives every open line back: on-hand lines to available, backorders off their date."""
    cdef int64_t line, first = core.reservation_first_line[reservation]
    cdef int64_t last = first + core.reservation_line_count[reservation]
    cdef Py_ssize_t position
    for line in range(first, last):
        position = <Py_ssize_t>core.line_sku[line] * core.node_count + core.line_node[line]
        if core.line_due_ns[line] > 0:
            if core.line_next_demand[line] != NOT_LINKED:
                _unlink_demand(core, line, position)
        elif from_allocated:
            core.allocated[position] -= core.line_quantity[line]
        else:
            core.held[position] -= core.line_quantity[line]
        _refresh_available(core, position)


cdef void _allocate_lines(Core core, int64_t reservation) noexcept nogil:
    """Moves a hold's on-hand lines from held to allocated; backorders stay demand at their date."""
    cdef int64_t line, first = core.reservation_first_line[reservation]
    cdef int64_t last = first + core.reservation_line_count[reservation]
    cdef Py_ssize_t position
    for line in range(first, last):
        if core.line_due_ns[line] > 0:
            continue
        position = <Py_ssize_t>core.line_sku[line] * core.node_count + core.line_node[line]
        core.held[position] -= core.line_quantity[line]
        core.allocated[position] += core.line_quantity[line]
        # available is unchanged: both buckets count against on hand.


cdef int _reserve_capacity(Core core, int64_t reservations, int64_t lines) except -1:
    """Grows the tables (doubling) so `reservations` more rows and `lines` more lines fit.

    Allocation happens here, with the GIL, never inside the nogil loops.
    """
    cdef int64_t rows_needed = core.reservation_count + reservations
    cdef int64_t lines_needed = core.line_count + lines
    cdef int64_t heap_needed = core.heap_size + reservations
    if rows_needed > core.reservation_state.shape[0]:
        size = max(rows_needed, 2 * core.reservation_state.shape[0])
        core.reservation_state = _grown(core.reservation_state, size)
        core.reservation_expire_ns = _grown(core.reservation_expire_ns, size)
        core.reservation_first_line = _grown(core.reservation_first_line, size)
        core.reservation_line_count = _grown(core.reservation_line_count, size)
    if lines_needed > core.line_sku.shape[0]:
        size = max(lines_needed, 2 * core.line_sku.shape[0])
        core.line_sku = _grown(core.line_sku, size)
        core.line_node = _grown(core.line_node, size)
        core.line_quantity = _grown(core.line_quantity, size)
        core.line_shipped = _grown(core.line_shipped, size)
        core.line_due_ns = _grown(core.line_due_ns, size)
        core.line_next_demand = _grown(core.line_next_demand, size)
    if heap_needed > core.heap_expire_ns.shape[0]:
        size = max(heap_needed, 2 * core.heap_expire_ns.shape[0])
        core.heap_expire_ns = _grown(core.heap_expire_ns, size)
        core.heap_reservation = _grown(core.heap_reservation, size)
    return 0


# ---- reads ---------------------------------------------------------------------------

cdef _reservation(Core core, int64_t reservation):
    if reservation < 0 or reservation >= core.reservation_count:
        return None
    first = core.reservation_first_line[reservation]
    last = first + core.reservation_line_count[reservation]
    return (
        core.reservation_state[reservation],
        core.reservation_expire_ns[reservation],
        np.asarray(core.line_sku)[first:last].copy(),
        np.asarray(core.line_node)[first:last].copy(),
        np.asarray(core.line_quantity)[first:last].copy(),
        np.asarray(core.line_shipped)[first:last].copy(),
        np.asarray(core.line_due_ns)[first:last].copy(),
    )


cdef _reservation_lists(Core core, int64_t reservation):
    if reservation < 0 or reservation >= core.reservation_count:
        return None
    cdef int64_t first = core.reservation_first_line[reservation]
    cdef int64_t last = first + core.reservation_line_count[reservation], line
    cdef list sku = [], node = [], quantity = [], shipped = [], due_ns = []
    for line in range(first, last):
        sku.append(core.line_sku[line])
        node.append(core.line_node[line])
        quantity.append(core.line_quantity[line])
        shipped.append(core.line_shipped[line])
        due_ns.append(core.line_due_ns[line])
    return (core.reservation_state[reservation], core.reservation_expire_ns[reservation],
            sku, node, quantity, shipped, due_ns)


cdef _reservation_of_line(Core core, int64_t line):
    if line < 0 or line >= core.line_count:
        return -1
    cdef int64_t low = 0, high = core.reservation_count - 1, middle
    while low < high:
        middle = (low + high + 1) // 2
        if core.reservation_first_line[middle] <= line:
            low = middle
        else:
            high = middle - 1
    return low


# ---- expiry: a min-heap of (expire_ns, reservation) ----------------------------------

cdef int64_t _expire_due(Core core, int64_t now_ns) noexcept nogil:
    """Expires every hold whose expiry is at or before now_ns; returns how many."""
    cdef int64_t expired = 0, reservation, expire_ns
    while core.heap_size > 0 and core.heap_expire_ns[0] <= now_ns:
        expire_ns = core.heap_expire_ns[0]
        reservation = core.heap_reservation[0]
        _heap_pop(core)
        # Entries left behind by an extend or a resolution are stale: skip.
        if (core.reservation_state[reservation] != RESERVATION_HELD
                or core.reservation_expire_ns[reservation] != expire_ns):
            continue
        _release_lines(core, reservation, False)
        core.reservation_state[reservation] = RESERVATION_EXPIRED
        expired += 1
    return expired


cdef void _heap_push(Core core, int64_t expire_ns, int64_t reservation) noexcept nogil:
    cdef int64_t child = core.heap_size, parent
    core.heap_size += 1
    while child > 0:
        parent = (child - 1) // 2
        if core.heap_expire_ns[parent] <= expire_ns:
            break
        core.heap_expire_ns[child] = core.heap_expire_ns[parent]
        core.heap_reservation[child] = core.heap_reservation[parent]
        child = parent
    core.heap_expire_ns[child] = expire_ns
    core.heap_reservation[child] = reservation


cdef void _heap_pop(Core core) noexcept nogil:
    core.heap_size -= 1
    cdef int64_t last_expire = core.heap_expire_ns[core.heap_size]
    cdef int64_t last_reservation = core.heap_reservation[core.heap_size]
    cdef int64_t hole = 0, child
    while True:
        child = 2 * hole + 1
        if child >= core.heap_size:
            break
        if child + 1 < core.heap_size and core.heap_expire_ns[child + 1] < core.heap_expire_ns[child]:
            child += 1
        if core.heap_expire_ns[child] >= last_expire:
            break
        core.heap_expire_ns[hole] = core.heap_expire_ns[child]
        core.heap_reservation[hole] = core.heap_reservation[child]
        hole = child
    core.heap_expire_ns[hole] = last_expire
    core.heap_reservation[hole] = last_reservation
