# Part of state.pyx (included at module level): future supply (in transit,
# purchase orders, transfers) and the backorder lines promised from it. Each
# position keeps two sorted lists, its open supplies by (ETA, index) and its
# backorders by (date, line); _lowest_cumulative walks both to tell what can
# be promised by a date. Supplies live in 32-byte records laid out per list.

cdef int64_t _lowest_cumulative(Core core, Py_ssize_t position, int64_t base, int64_t from_ns) noexcept nogil:
    """The lowest cumulative balance at or after from_ns: what can be promised by then.

    The balance starts at `base` (net on hand) and, in time order, gains
    each open supply at its ETA and loses each backorder at its date
    (supply first at equal times). Promising q by date D is safe exactly
    when this is >= q for D: no later date goes short.
    """
    cdef int64_t balance = base, lowest = base, slot = core.supply_head[position]
    cdef int64_t line = core.demand_head[position], time_ns
    cdef bint started = from_ns <= 0
    cdef const SupplyRecord* record
    while slot != END_OF_LIST or line != END_OF_LIST:
        if line == END_OF_LIST or (slot != END_OF_LIST
                                   and core.records[slot].eta_ns <= core.line_due_ns[line]):
            record = &core.records[slot]
            time_ns = record.eta_ns
            if not started and time_ns > from_ns:
                started = True
                lowest = balance
            balance += record.quantity
            slot = record.next
        else:
            time_ns = core.line_due_ns[line]
            if not started and time_ns > from_ns:
                started = True
                lowest = balance
            balance -= core.line_quantity[line]
            line = core.line_next_demand[line]
        if started and balance < lowest:
            lowest = balance
    return lowest if started else balance


# ---- commands ------------------------------------------------------------------------

cdef int _apply_upsert_supply(Core core, Command command) except -1:
    """Creates or replaces supplies: item i sets supply ref[i] at (sku, node)
    to kind op[i], open quantity quantity[i] (0 closes it) due at time_ns[i].

    A new supply's ref is the next free index (the engine assigns them in
    log order). A supply stays at its (SKU, node) for life, and appears
    at most once per command (else SUPPLY_CONFLICT). Items are checked
    first, then applied, so all_or_nothing never needs an undo.
    """
    cdef Py_ssize_t i, count = command.count, position
    _supply_capacity(core, count)
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
    cdef int64_t stamp = core.log_position + 1
    cdef SupplyRecord* record
    with nogil:
        for i in range(count):
            status[i] = ITEM_OK
            if sku[i] < 0 or sku[i] >= core.sku_count:
                status[i] = ITEM_SKU_NOT_FOUND
            elif node[i] < 0 or node[i] >= core.node_count:
                status[i] = ITEM_NODE_NOT_FOUND
            elif ref[i] == core.supply_count + created:
                created += 1
            elif ref[i] > core.supply_count + created:
                status[i] = ITEM_MALFORMED
            elif ref[i] >= core.supply_count:
                status[i] = ITEM_SUPPLY_CONFLICT  # a new supply named twice
            elif (core.supply_position[ref[i]] != <int64_t>sku[i] * core.node_count + node[i]
                    or core.supply_stamp[ref[i]] == stamp):
                status[i] = ITEM_SUPPLY_CONFLICT
            else:
                core.supply_stamp[ref[i]] = stamp
            if status[i] != ITEM_OK:
                failed += 1
        for i in range(count):
            if status[i] != ITEM_OK:
                continue
            if failed > 0 and command.all_or_nothing:
                status[i] = ITEM_NOT_APPLIED
                continue
            supply = ref[i]
            position = <Py_ssize_t>sku[i] * core.node_count + node[i]
            if supply == core.supply_count:
                # A new supply takes the next slot (slots and indices are as many).
                slot = supply
                core.supply_count += 1
                core.supply_position[supply] = position
                core.supply_received[supply] = 0
                core.supply_slot[supply] = slot
                core.supply_stamp[supply] = stamp
                core.records[slot].supply = supply
                core.records[slot].next = NOT_LINKED
            else:
                slot = core.supply_slot[supply]
                if core.records[slot].next != NOT_LINKED:
                    _unlink_supply(core, slot, position)
            record = &core.records[slot]
            record.kind = <uint8_t>op[i]
            record.eta_ns = eta_ns[i]
            record.quantity = quantity[i]
            if quantity[i] > 0:
                _link_supply(core, slot, position)
            _refresh_available(core, position)
            applied += 1
        for i in range(count):
            if status[i] != ITEM_SKU_NOT_FOUND and status[i] != ITEM_NODE_NOT_FOUND:
                position = <Py_ssize_t>sku[i] * core.node_count + node[i]
                on_hand_after[i] = core.on_hand[position]
                available_after[i] = core.available[position]
    command.applied_count = applied
    command.result = RESULT_OK if applied > 0 or count == 0 else RESULT_INVALID_LINES
    return 0


cdef int _apply_receive_supply(Core core, Command command) except -1:
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
    _reason_capacity(core, count)
    with nogil:
        for i in range(count):
            total += quantity[i]  # each <= QUANTITY_MAX, count bounded: cannot overflow
        for i in range(count):
            status[i] = ITEM_OK
            if ref[i] < 0 or ref[i] >= core.supply_count:
                status[i] = ITEM_SUPPLY_NOT_FOUND
                failed += 1
                continue
            position = core.supply_position[ref[i]]
            # Conservative: as if every item of the command landed here.
            if (core.on_hand[position] + total > QUANTITY_MAX
                    or core.unavailable[position] + total > QUANTITY_MAX):
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
            position = core.supply_position[supply]
            core.on_hand[position] += quantity[i]
            if op[i] == RETURN_QUARANTINE:
                _set_reason(core, position, UNAVAILABLE_QUARANTINED,
                                 _reason_quantity_of(core, position, UNAVAILABLE_QUARANTINED) + quantity[i])
            record = &core.records[core.supply_slot[supply]]
            against = quantity[i] if quantity[i] < record.quantity else record.quantity
            if against > 0:
                record.quantity -= against
                if record.quantity == 0:
                    _unlink_supply(core, core.supply_slot[supply], position)
            core.supply_received[supply] += quantity[i]
            _refresh_available(core, position)
            filled[i] = against
            applied += 1
        for i in range(count):
            if status[i] != ITEM_SUPPLY_NOT_FOUND:
                position = core.supply_position[ref[i]]
                on_hand_after[i] = core.on_hand[position]
                available_after[i] = core.available[position]
    command.applied_count = applied
    command.result = RESULT_OK if applied > 0 else RESULT_INVALID_LINES
    return 0


# ---- the lists -----------------------------------------------------------------------

cdef void _link_supply(Core core, int64_t slot, Py_ssize_t position) noexcept nogil:
    """Inserts the supply in slot in its position's list, ordered by (ETA, index)."""
    cdef SupplyRecord* records = core.records
    cdef int64_t* head = &core.supply_head[position]
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


cdef void _unlink_supply(Core core, int64_t slot, Py_ssize_t position) noexcept nogil:
    """Takes the supply in slot (which must be linked) out of its position's list."""
    cdef SupplyRecord* records = core.records
    cdef int64_t* head = &core.supply_head[position]
    cdef int64_t previous = END_OF_LIST, current = head[0]
    while current != slot:
        previous = current
        current = records[current].next
    if previous == END_OF_LIST:
        head[0] = records[slot].next
    else:
        records[previous].next = records[slot].next
    records[slot].next = NOT_LINKED


cdef void _link_demand(Core core, int64_t line, Py_ssize_t position) noexcept nogil:
    """Inserts a backorder line in its position's list, ordered by (date, line)."""
    _insert_sorted(&core.demand_head[position], &core.line_next_demand[0], &core.line_due_ns[0], line)


cdef void _unlink_demand(Core core, int64_t line, Py_ssize_t position) noexcept nogil:
    _unlink(&core.demand_head[position], &core.line_next_demand[0], line)


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


cdef int _supply_capacity(Core core, int64_t supplies) except -1:
    """Grows the supply tables (doubling) so `supplies` more rows fit."""
    cdef int64_t needed = core.supply_count + supplies
    if needed > core.supply_position.shape[0]:
        assert needed < 2**31, "supply slots are int32"
        size = min(max(needed, 2 * core.supply_position.shape[0], 64), 2**31 - 1)
        core.supply_position = _grown(core.supply_position, size)
        core.supply_received = _grown(core.supply_received, size)
        core.supply_slot = _grown(core.supply_slot, size)
        core.supply_stamp = _grown(core.supply_stamp, size)
        _adopt_records(core, _grown(core._supply_records, size))
    return 0


cdef int _adopt_records(Core core, object records) except -1:
    """Makes `records` (a C-contiguous SUPPLY_RECORD_DTYPE array) the record table."""
    assert records.dtype == SUPPLY_RECORD_DTYPE and records.flags.c_contiguous and records.flags.writeable
    core._supply_records = records
    core.records = <SupplyRecord*>cnp.PyArray_DATA(records)
    return 0


# ---- reads ---------------------------------------------------------------------------

cdef _supply(Core core, int64_t supply):
    if supply < 0 or supply >= core.supply_count:
        return None
    position = core.supply_position[supply]
    cdef SupplyRecord* record = &core.records[core.supply_slot[supply]]
    return (position // core.node_count, position % core.node_count, record.kind,
            record.eta_ns, record.quantity, core.supply_received[supply])


cdef _position_plan(Core core, int32_t sku, int32_t node):
    assert 0 <= sku < core.sku_count and 0 <= node < core.node_count, "position out of range"
    position = <Py_ssize_t>sku * core.node_count + node
    supplies, backorders = [], []
    cdef int64_t slot = core.supply_head[position]
    cdef const SupplyRecord* record
    while slot != END_OF_LIST:
        record = &core.records[slot]
        supplies.append((record.supply, record.kind, record.eta_ns, record.quantity))
        slot = record.next
    current = core.demand_head[position]
    while current != END_OF_LIST:
        backorders.append((current, core.line_due_ns[current], core.line_quantity[current]))
        current = core.line_next_demand[current]
    return supplies, backorders


# ---- the supply tables by index, and their layout in memory --------------------------

# The supply columns of a snapshot (with supply_head), by supply index: the
# layout of the records in memory is the core's own and never leaves it.
SUPPLY_TABLES = ("supply_position", "supply_eta_ns", "supply_quantity", "supply_received",
                 "supply_kind", "supply_next")


cdef _supply_tables(Core core):
    """The supply tables as a snapshot holds them, by supply index (copies):
    SUPPLY_TABLES plus supply_head. Links name supplies, not slots."""
    count = core.supply_count
    records = np.asarray(core._supply_records)[:count]
    by_index = records[np.asarray(core.supply_slot)[:count]]
    supply_of_slot = records["supply"]

    def named(slots):
        slots = slots.astype(np.int64)
        if count == 0:
            return slots
        return np.where(slots >= 0, supply_of_slot[np.maximum(slots, 0)], slots)

    return dict(
        supply_position=np.asarray(core.supply_position)[:count].copy(),
        supply_eta_ns=by_index["eta_ns"].copy(),
        supply_quantity=by_index["quantity"].copy(),
        supply_received=np.asarray(core.supply_received)[:count].copy(),
        supply_kind=by_index["kind"].copy(),
        supply_next=named(by_index["next"]),
        supply_head=named(np.asarray(core.supply_head)),
    )


cdef _lay_out_supplies(Core core, position, eta_ns, quantity, kind, received):
    """Sets the supplies to the given per-index columns, their records laid out
    for the list walks: open supplies first, position after position (so one
    SKU's are together), each position's in list order, so a walk reads its
    records front to back; closed ones after them. Keeps each supply's index.
    Returns the lists' links and heads by supply index (as export_state has them)."""
    count = position.shape[0]
    positions = core.supply_head.shape[0]
    assert all(column.shape == (count,) for column in (eta_ns, quantity, kind, received)), \
        "supply columns of different lengths"
    position = position.astype(np.int64)
    assert ((position >= 0) & (position < positions)).all(), "a supply at no position"
    linked = quantity > 0
    index = np.arange(count, dtype=np.int64)
    # By (closed, position, ETA, index): the last key sorts first.
    order = np.lexsort((index, eta_ns, position + np.where(linked, 0, positions)))
    capacity = max(count, 64, core.supply_position.shape[0])
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
    head = np.asarray(core.supply_head)
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
    core.supply_position = _grown(position, capacity)
    core.supply_received = _grown(received.astype(np.int64), capacity)
    core.supply_slot = slot
    if core.supply_stamp.shape[0] < capacity:
        core.supply_stamp = _grown(core.supply_stamp, capacity)
    _adopt_records(core, records)
    core.supply_count = count
    return links, heads
