# Part of state.pyx (included at module level): a position's stock. The
# helpers every part uses (the position of (sku, node), net on hand, and
# `available`, kept up to date on every write), then the commands that set
# stock: on hand (with feed sequences), safety-stock rules, unavailable by
# reason, node status.

cdef inline Py_ssize_t _position_of(Core core, int32_t sku, int32_t node, int8_t* status) noexcept nogil:
    """The position of (sku, node), or -1 with *status set to SKU_NOT_FOUND / NODE_NOT_FOUND
    (the engine maps unknown ids to -1; the core still checks every index it is given)."""
    if sku < 0 or sku >= core.sku_count:
        status[0] = ITEM_SKU_NOT_FOUND
        return -1
    if node < 0 or node >= core.node_count:
        status[0] = ITEM_NODE_NOT_FOUND
        return -1
    return <Py_ssize_t>sku * core.node_count + node


cdef inline int64_t _net_on_hand(Core core, Py_ssize_t position) noexcept nogil:
    """On hand less everything that may not be sold from it now; may be negative."""
    return (core.on_hand[position] - core.held[position] - core.allocated[position]
            - core.unavailable[position] - core.safety_stock[position])


cdef inline void _refresh_available(Core core, Py_ssize_t position) noexcept nogil:
    cdef int64_t free = _net_on_hand(core, position)
    # Units promised to a backorder on a later date are sellable now only
    # if that date's supply still covers the backorder afterwards.
    if core.demand_head[position] != END_OF_LIST:
        free = _lowest_cumulative(core, position, free, 0)
    core.available[position] = free if free > 0 else 0
    cdef int32_t sku = <int32_t>(position // core.node_count)
    if not core.sku_changed[sku]:
        core.sku_changed[sku] = 1
        core.changed_skus[core.changed_count] = sku
        core.changed_count += 1


cdef inline int64_t _available_above(Core core, Py_ssize_t position, int64_t floor) noexcept nogil:
    """Available less what must stay behind for others (a reserve line's floor), never below 0."""
    cdef int64_t free = core.available[position] - floor
    return free if free > 0 else 0


# ---- on hand -------------------------------------------------------------------------

cdef int64_t _apply_on_hand(Core core, Command command) except -1:
    """Sets or adjusts on hand, item by item.

    An item from a feed (ref[i] = source index >= 0) carries that
    source's sequence number for the position in time_ns[i]: one not
    above the last applied from the source there is STALE and skipped
    (neither applied nor a failure), so replays and reordered feeds
    never overwrite newer data.
    """
    cdef Py_ssize_t i, count = command.count, position
    cdef bint sequenced = _feed_capacity(core, command)
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
    cdef int64_t* feed = &core.feed_sequence[0, 0] if core.feed_sequence.shape[0] > 0 else NULL
    cdef Py_ssize_t feed_width = core.feed_sequence.shape[1]
    cdef bint all_or_nothing = command.all_or_nothing
    cdef int64_t target, applied = 0, failed = 0
    with nogil:
        for i in range(count):
            position = _position_of(core, sku[i], node[i], &status[i])
            if position < 0:
                failed += 1
                continue
            if undo:
                previous[i] = core.on_hand[position]
            on_hand_after[i] = core.on_hand[position]
            available_after[i] = core.available[position]
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
                target = core.on_hand[position] + quantity[i]
            if target < 0:
                status[i] = ITEM_NEGATIVE_QUANTITY
                failed += 1
            elif target > QUANTITY_MAX:
                status[i] = ITEM_QUANTITY_TOO_LARGE
                failed += 1
            else:
                core.on_hand[position] = target
                if source[i] >= 0:
                    if undo:
                        previous_sequence[i] = feed[source[i] * feed_width + position]
                    feed[source[i] * feed_width + position] = sequence[i]
                _refresh_available(core, position)
                status[i] = ITEM_OK
                applied += 1
            on_hand_after[i] = core.on_hand[position]
            available_after[i] = core.available[position]
        if all_or_nothing and failed > 0 and applied > 0:
            # Undo in reverse order so repeated positions end where they began.
            for i in range(count - 1, -1, -1):
                if status[i] != ITEM_OK:
                    continue
                position = <Py_ssize_t>sku[i] * core.node_count + node[i]
                core.on_hand[position] = previous[i]
                if source[i] >= 0:
                    feed[source[i] * feed_width + position] = previous_sequence[i]
                _refresh_available(core, position)
                status[i] = ITEM_NOT_APPLIED
            for i in range(count):
                if sku[i] >= 0 and sku[i] < core.sku_count and node[i] >= 0 and node[i] < core.node_count:
                    position = <Py_ssize_t>sku[i] * core.node_count + node[i]
                    on_hand_after[i] = core.on_hand[position]
                    available_after[i] = core.available[position]
            applied = 0
    free(previous)
    command.applied_count = applied
    return applied


cdef int _feed_capacity(Core core, Command command) except -1:
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
    cdef Py_ssize_t rows = core.feed_sequence.shape[0]
    if needed > rows:
        # Room beyond the used rows is filled as rows come into use (add_skus).
        used = <Py_ssize_t>core.sku_count * core.node_count
        grown = np.empty((needed, core.feed_sequence.shape[1]), dtype=np.int64)
        grown[:rows, :used] = np.asarray(core.feed_sequence)[:, :used]
        grown[rows:, :used] = -1
        core.feed_sequence = grown
    return highest >= 0


# ---- safety stock --------------------------------------------------------------------

cdef inline int64_t _effective_safety_stock(Core core, Py_ssize_t position) noexcept nogil:
    """The most specific safety-stock rule of the position: its own (SKU x
    node), else its SKU's, else its node's, else 0. SKU before node: a SKU
    rule is about the item (its demand, its lead time) wherever it is
    stocked, a node rule a blanket default for whatever the node holds."""
    cdef int64_t rule = core.safety_stock_rule[position]
    if rule != SAFETY_STOCK_UNSET:
        return rule
    rule = core.sku_safety_stock_rule[position // core.node_count]
    if rule != SAFETY_STOCK_UNSET:
        return rule
    rule = core.node_safety_stock_rule[position % core.node_count]
    return rule if rule != SAFETY_STOCK_UNSET else 0


cdef inline void _refresh_safety_stock(Core core, Py_ssize_t position) noexcept nogil:
    """Re-derives the position's safety stock from the rules; refreshes
    available (and the change journal) only when it moved, so a node rule
    over millions of SKUs wakes watchers of the positions it changed only."""
    cdef int64_t effective = _effective_safety_stock(core, position)
    if effective != core.safety_stock[position]:
        core.safety_stock[position] = effective
        _refresh_available(core, position)


cdef int _apply_safety_stock(Core core, Command command) except -1:
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
            if needs_sku and (sku[i] < 0 or sku[i] >= core.sku_count):
                status[i] = ITEM_SKU_NOT_FOUND
                failed += 1
            elif needs_node and (node[i] < 0 or node[i] >= core.node_count):
                status[i] = ITEM_NODE_NOT_FOUND
                failed += 1
        for i in range(count):
            if status[i] != ITEM_OK:
                continue
            if failed > 0 and command.all_or_nothing:
                status[i] = ITEM_NOT_APPLIED
                continue
            if op[i] == SAFETY_STOCK_POSITION:
                position = <Py_ssize_t>sku[i] * core.node_count + node[i]
                core.safety_stock_rule[position] = quantity[i]
                _refresh_safety_stock(core, position)
            elif op[i] == SAFETY_STOCK_SKU:
                core.sku_safety_stock_rule[sku[i]] = quantity[i]
                for j in range(core.node_count):
                    _refresh_safety_stock(core, <Py_ssize_t>sku[i] * core.node_count + j)
            else:
                core.node_safety_stock_rule[node[i]] = quantity[i]
                for j in range(core.sku_count):
                    _refresh_safety_stock(core, <Py_ssize_t>j * core.node_count + node[i])
            applied += 1
        for i in range(count):
            # Quantities after are a position's: SKU x node rules only.
            if (op[i] == SAFETY_STOCK_POSITION and status[i] != ITEM_SKU_NOT_FOUND
                    and status[i] != ITEM_NODE_NOT_FOUND):
                position = <Py_ssize_t>sku[i] * core.node_count + node[i]
                on_hand_after[i] = core.on_hand[position]
                available_after[i] = core.available[position]
    command.applied_count = applied
    command.result = RESULT_OK if applied > 0 else RESULT_INVALID_LINES
    return 0


# ---- unavailable stock by reason -----------------------------------------------------

cdef int _apply_set_unavailable(Core core, Command command) except -1:
    """Sets the quantity of reason op[i] at (sku[i], node[i]) to quantity[i]
    (absolute, >= 0); the position's unavailable becomes the sum of its
    reasons. Like a stock count it is a fact: it applies even above on hand
    (available then reads 0). A total above QUANTITY_MAX is
    QUANTITY_TOO_LARGE. With all_or_nothing a failure undoes the applied
    items newest first, so repeated positions end where they began.
    """
    cdef Py_ssize_t i, count = command.count, position
    _reason_capacity(core, count)
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
            position = _position_of(core, sku[i], node[i], &status[i])
            if position < 0:
                failed += 1
                continue
            old = _reason_quantity_of(core, position, op[i])
            # Each term is <= QUANTITY_MAX: the sum cannot overflow.
            if core.unavailable[position] - old + quantity[i] > QUANTITY_MAX:
                status[i] = ITEM_QUANTITY_TOO_LARGE
                failed += 1
            else:
                previous[i] = old
                _set_reason(core, position, op[i], quantity[i])
                status[i] = ITEM_OK
                applied += 1
            on_hand_after[i] = core.on_hand[position]
            available_after[i] = core.available[position]
        if command.all_or_nothing and failed > 0 and applied > 0:
            for i in range(count - 1, -1, -1):
                if status[i] == ITEM_OK:
                    _set_reason(core, <Py_ssize_t>sku[i] * core.node_count + node[i], op[i], previous[i])
                    status[i] = ITEM_NOT_APPLIED
            for i in range(count):
                if status[i] != ITEM_SKU_NOT_FOUND and status[i] != ITEM_NODE_NOT_FOUND:
                    position = <Py_ssize_t>sku[i] * core.node_count + node[i]
                    on_hand_after[i] = core.on_hand[position]
                    available_after[i] = core.available[position]
            applied = 0
    command.applied_count = applied
    command.result = RESULT_OK if applied > 0 else RESULT_INVALID_LINES
    return 0


cdef int64_t _reason_quantity_of(Core core, Py_ssize_t position, int reason) noexcept nogil:
    cdef int32_t row = core.reason_row[position]
    return 0 if row < 0 else core.reason_quantity[<Py_ssize_t>row * UNAVAILABLE_REASON_COUNT + reason - 1]


cdef void _set_reason(Core core, Py_ssize_t position, int reason, int64_t quantity) noexcept nogil:
    """Sets one reason's quantity and keeps unavailable (their sum) and available
    up to date. A position gets its row on its first non-zero reason; the
    caller made room (_reason_capacity) for one new row per item."""
    cdef int32_t row = core.reason_row[position]
    cdef Py_ssize_t cell, r
    if row < 0:
        if quantity == 0:
            return
        row = <int32_t>core.reason_count
        core.reason_count += 1
        core.reason_row[position] = row
        for r in range(UNAVAILABLE_REASON_COUNT):
            core.reason_quantity[<Py_ssize_t>row * UNAVAILABLE_REASON_COUNT + r] = 0
    cell = <Py_ssize_t>row * UNAVAILABLE_REASON_COUNT + reason - 1
    core.unavailable[position] += quantity - core.reason_quantity[cell]
    core.reason_quantity[cell] = quantity
    _refresh_available(core, position)


cdef int _reason_capacity(Core core, Py_ssize_t rows) except -1:
    """Grows the reason table (doubling) so `rows` more rows fit; with the GIL, before a nogil loop."""
    cdef int64_t needed = (core.reason_count + rows) * UNAVAILABLE_REASON_COUNT
    if needed > core.reason_quantity.shape[0]:
        assert core.reason_count + rows < 2**31, "reason rows are int32"
        size = max(needed, 2 * core.reason_quantity.shape[0], 64 * UNAVAILABLE_REASON_COUNT)
        core.reason_quantity = _grown(core.reason_quantity, size)
    return 0


# ---- node status ---------------------------------------------------------------------

cdef int _apply_node_status(Core core, Command command) except -1:
    """Sets node i's status to op[i]; unknown nodes report NODE_NOT_FOUND."""
    cdef const int32_t* node = command.node_
    cdef const int8_t* op = command.op_
    cdef int8_t* status = command.status_
    cdef Py_ssize_t i
    cdef int64_t applied = 0
    for i in range(command.count):
        if node[i] < 0 or node[i] >= core.node_count:
            status[i] = ITEM_NODE_NOT_FOUND
            continue
        core.node_status[node[i]] = op[i]
        status[i] = ITEM_OK
        applied += 1
    command.applied_count = applied
    command.result = RESULT_OK
    return 0
