# Part of state.pyx (included at module level): the reads. Every gather
# checks its arguments with the GIL, then loops without it over raw rows;
# availability is kept up to date on every write, so a read is a gather.

cdef extern from *:
    """
    #define dompromise_prefetch(address) __builtin_prefetch(address)
    """
    void _prefetch "dompromise_prefetch"(const void* address) noexcept nogil


cdef inline int _gather_available(Core core, cnp.ndarray sku, cnp.ndarray nodes, cnp.ndarray cells,
                                  cnp.ndarray totals) except -1:
    # Raw pointers, not typed memoryviews: acquiring four costs more than the gather.
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
    cdef bint every_node = node_total == core.node_count
    for j in range(node_total):
        if nodes_[j] < 0 or nodes_[j] >= core.node_count:
            raise ValueError("node index out of range")
        every_node = every_node and nodes_[j] == j
    with nogil:
        _gather(core, sku_, sku_total, nodes_, node_total, every_node, cells_ if want_cells else NULL, totals_)
    return 0


cdef void _gather(Core core, const int32_t* sku, Py_ssize_t sku_total, const int32_t* nodes,
                  Py_ssize_t node_total, bint every_node, int64_t* cells, int64_t* totals) noexcept nogil:
    cdef Py_ssize_t s, j, row
    cdef int64_t total, value
    cdef const int64_t* available = &core.available[0]
    for s in range(sku_total):
        # Rows of random SKUs are cache misses: ask for the row two SKUs
        # ahead while this one is summed.
        if s + 2 < sku_total and 0 <= sku[s + 2] < core.sku_count:
            row = <Py_ssize_t>sku[s + 2] * core.node_count
            for j in range(0, node_total, 8):
                _prefetch(&available[row + (j if every_node else nodes[j])])
        total = 0
        if sku[s] < 0 or sku[s] >= core.sku_count:
            if cells != NULL:
                for j in range(node_total):
                    cells[s * node_total + j] = 0
            totals[s] = 0
            continue
        row = <Py_ssize_t>sku[s] * core.node_count
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


cdef int _gather_buckets(Core core, const int32_t[::1] sku, const int32_t[::1] nodes,
                         int64_t[:, ::1] out) except -1:
    cdef Py_ssize_t s, j, b, cell, position
    cdef Py_ssize_t sku_total = sku.shape[0], node_total = nodes.shape[0]
    assert out.shape[0] == 6, "one row per bucket"
    assert out.shape[1] >= sku_total * node_total, "out too short"
    for j in range(node_total):
        assert 0 <= nodes[j] < core.node_count, "node index out of range"
    with nogil:
        for s in range(sku_total):
            for j in range(node_total):
                cell = s * node_total + j
                if sku[s] < 0 or sku[s] >= core.sku_count:
                    for b in range(6):
                        out[b, cell] = 0
                    continue
                position = <Py_ssize_t>sku[s] * core.node_count + nodes[j]
                out[0, cell] = core.on_hand[position]
                out[1, cell] = core.held[position]
                out[2, cell] = core.allocated[position]
                out[3, cell] = core.unavailable[position]
                out[4, cell] = core.safety_stock[position]
                out[5, cell] = core.available[position]
    return 0


cdef int _gather_unavailable(Core core, const int32_t[::1] sku, const int32_t[::1] nodes,
                             int64_t[:, ::1] out) except -1:
    cdef Py_ssize_t s, j, r, cell, position
    cdef Py_ssize_t sku_total = sku.shape[0], node_total = nodes.shape[0]
    assert out.shape[0] == UNAVAILABLE_REASON_COUNT, "one row per reason"
    assert out.shape[1] >= sku_total * node_total, "out too short"
    for j in range(node_total):
        assert 0 <= nodes[j] < core.node_count, "node index out of range"
    with nogil:
        for s in range(sku_total):
            for j in range(node_total):
                cell = s * node_total + j
                for r in range(UNAVAILABLE_REASON_COUNT):
                    if sku[s] < 0 or sku[s] >= core.sku_count:
                        out[r, cell] = 0
                    else:
                        position = <Py_ssize_t>sku[s] * core.node_count + nodes[j]
                        out[r, cell] = _reason_quantity_of(core, position, r + 1)
    return 0


# ---- time-phased: what can be promised by each date ----------------------------------

cdef inline int _gather_phased(Core core, cnp.ndarray sku, cnp.ndarray nodes, cnp.ndarray boundaries_ns,
                               int kind_mask, cnp.ndarray wanted, cnp.ndarray cells, cnp.ndarray totals,
                               cnp.ndarray earliest_ns) except -1:
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
        if nodes_[j] < 0 or nodes_[j] >= core.node_count:
            raise ValueError("node index out of range")
    # Scratch for _phase: the SKU's totals as differences (B + 1) and a
    # position's runs (2 * (B + 1)). malloc: a numpy array and its memoryview
    # would cost more than the gather.
    cdef int64_t* scratch = <int64_t*>malloc(3 * (bucket_total + 1) * sizeof(int64_t))
    if scratch == NULL:
        raise MemoryError()
    if sku_total * node_total >= NOGIL_CELLS:
        with nogil:
            _phase_rows(core, sku_, sku_total, nodes_, node_total, boundaries_, bucket_total, kind_mask,
                        wanted_, cells_ if want_cells else NULL, totals_, earliest_, scratch)
    else:
        _phase_rows(core, sku_, sku_total, nodes_, node_total, boundaries_, bucket_total, kind_mask,
                    wanted_, cells_ if want_cells else NULL, totals_, earliest_, scratch)
    free(scratch)
    return 0


cdef inline void _prefetch_row(Core core, const int32_t* sku, Py_ssize_t s, Py_ssize_t sku_total,
                               const int32_t* nodes, Py_ssize_t node_total) noexcept nogil:
    """Asks for the lines of SKU s's row that gather_phased reads (a random
    SKU's rows are cache misses: all of them in flight at once, not one by one)."""
    if s >= sku_total or sku[s] < 0 or sku[s] >= core.sku_count:
        return
    cdef Py_ssize_t j, position, row = <Py_ssize_t>sku[s] * core.node_count
    for j in range(0, node_total, 8):
        position = row + nodes[j]
        _prefetch(&core.supply_head[position])
        _prefetch(&core.demand_head[position])
        _prefetch(&core.available[position])


cdef void _phase_rows(Core core, const int32_t* sku, Py_ssize_t sku_total, const int32_t* nodes,
                      Py_ssize_t node_total, const int64_t* boundaries_ns, Py_ssize_t bucket_total,
                      int kind_mask, const int64_t* wanted, int64_t* cells, int64_t* totals,
                      int64_t* earliest_ns, int64_t* scratch) noexcept nogil:
    """The SKUs' rows of gather_phased: each position with a list walks it (_phase), the
    others add their available now to every bucket at once."""
    cdef Py_ssize_t s, j, k, cell, position
    cdef int64_t flat, value, running, slot
    cdef int64_t* row
    cdef int64_t* diff = scratch
    cdef int64_t* runs = scratch + bucket_total + 1
    cdef const int64_t* supply_head = &core.supply_head[0]
    cdef const int64_t* demand_head = &core.demand_head[0]
    cdef const int64_t* available = &core.available[0]
    _prefetch_row(core, sku, 0, sku_total, nodes, node_total)
    for s in range(sku_total):
        _prefetch_row(core, sku, s + 1, sku_total, nodes, node_total)
        if sku[s] < 0 or sku[s] >= core.sku_count:
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
            slot = supply_head[<Py_ssize_t>sku[s] * core.node_count + nodes[j]]
            if slot != END_OF_LIST:
                _prefetch(&core.records[slot])
        # Most positions have no supply or backorder: their figure is
        # available now at every date, summed once into `flat`.
        flat = 0
        for j in range(node_total):
            cell = s * node_total + j
            position = <Py_ssize_t>sku[s] * core.node_count + nodes[j]
            row = &cells[cell * bucket_total] if cells != NULL else NULL
            if supply_head[position] == END_OF_LIST and demand_head[position] == END_OF_LIST:
                value = available[position]
                flat += value
                earliest_ns[cell] = EARLIEST_NOW if value >= wanted[s] or wanted[s] <= 0 else EARLIEST_NEVER
                if row != NULL:
                    for k in range(bucket_total):
                        row[k] = value
                continue
            _phase(core, position, boundaries_ns, bucket_total, kind_mask, wanted[s], row, diff, runs,
                        &earliest_ns[cell])
        running = flat
        for k in range(bucket_total):
            running += diff[k]
            totals[s * bucket_total + k] = running


cdef void _phase(Core core, Py_ssize_t position, const int64_t* boundaries_ns, Py_ssize_t bucket_total,
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
    cdef int64_t balance = _net_on_hand(core, position), time_ns, value
    cdef const SupplyRecord* records = core.records
    cdef const SupplyRecord* record
    cdef int64_t slot = core.supply_head[position], line = core.demand_head[position]
    # The next event of each list; NEVER_NS past its end (real instants are smaller).
    cdef int64_t supply_ns = records[slot].eta_ns if slot != END_OF_LIST else NEVER_NS
    cdef int64_t line_ns = core.line_due_ns[line] if line != END_OF_LIST else NEVER_NS
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
            balance -= core.line_quantity[line]
            line = core.line_next_demand[line]
            line_ns = core.line_due_ns[line] if line != END_OF_LIST else NEVER_NS
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
