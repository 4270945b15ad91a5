# Part of state.pyx (included at module level): snapshots. export_state
# copies every array and counter out, from_state builds a core from them
# (adopting arrays it may keep), digest hashes the state by supply index, so
# equal replicas have equal digests whatever their records' layout.

cdef _export_state(Core core):
    count, lines, heap = core.reservation_count, core.line_count, core.heap_size
    state = {name: np.asarray(getattr_bucket(core, name)).copy() for name in BUCKETS}
    state.update(
        shape=np.array([core.node_count, core.sku_count], dtype=np.int64),
        clock=np.array([core.log_position, core.log_time_ns], dtype=np.int64),
        node_status=np.asarray(core.node_status).copy(),
        safety_stock_rule=np.asarray(core.safety_stock_rule).copy(),
        sku_safety_stock_rule=np.asarray(core.sku_safety_stock_rule).copy(),
        node_safety_stock_rule=np.asarray(core.node_safety_stock_rule).copy(),
        reservation_state=np.asarray(core.reservation_state)[:count].copy(),
        reservation_expire_ns=np.asarray(core.reservation_expire_ns)[:count].copy(),
        reservation_first_line=np.asarray(core.reservation_first_line)[:count].copy(),
        reservation_line_count=np.asarray(core.reservation_line_count)[:count].copy(),
        line_sku=np.asarray(core.line_sku)[:lines].copy(),
        line_node=np.asarray(core.line_node)[:lines].copy(),
        line_quantity=np.asarray(core.line_quantity)[:lines].copy(),
        line_shipped=np.asarray(core.line_shipped)[:lines].copy(),
        line_due_ns=np.asarray(core.line_due_ns)[:lines].copy(),
        line_next_demand=np.asarray(core.line_next_demand)[:lines].copy(),
        demand_head=np.asarray(core.demand_head).copy(),
        feed_sequence=_used_feed_sequence(core).copy(),
        reason_row=np.asarray(core.reason_row).copy(),
        reason_quantity=np.asarray(core.reason_quantity)[:core.reason_count * UNAVAILABLE_REASON_COUNT].copy(),
        heap_expire_ns=np.asarray(core.heap_expire_ns)[:heap].copy(),
        heap_reservation=np.asarray(core.heap_reservation)[:heap].copy(),
    )
    state.update(_supply_tables(core))
    return state


cdef Core _from_state(state, bint adopt=False):
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
    _reserve_capacity(core, max(count, heap), lines)
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
    _restore_reasons(core, state, adopt)
    core.supply_head = np.empty(positions, dtype=np.int64)  # _lay_out_supplies fills it
    # The lists are (ETA, index) order, so they follow from the columns; the
    # snapshot's own links must say the same (else it is damaged).
    links, heads = _lay_out_supplies(core, state["supply_position"], state["supply_eta_ns"],
                                          state["supply_quantity"], state["supply_kind"],
                                          state["supply_received"])
    assert np.array_equal(links, state["supply_next"]), "snapshot supply links disagree"
    assert np.array_equal(heads, state["supply_head"]), "snapshot supply heads disagree"
    np.asarray(core.heap_expire_ns)[:heap] = state["heap_expire_ns"]
    np.asarray(core.heap_reservation)[:heap] = state["heap_reservation"]
    core.reservation_count, core.line_count, core.heap_size = count, lines, heap
    _adopt_buffers(core)
    return core


cdef _restore_reasons(Core core, state, bint adopt=False):
    """The reason tables of a snapshot; one from before reasons had only
    quarantine (returns and receipts) making stock unavailable."""
    cdef Py_ssize_t positions = core.on_hand.shape[0]
    if "reason_row" in state:
        assert state["reason_row"].shape == (positions,), "reason_row has the wrong shape"
        core.reason_row = _taken(state["reason_row"], np.int32, adopt)
        core.reason_quantity = state["reason_quantity"].astype(np.int64, copy=True)
        core.reason_count = state["reason_quantity"].shape[0] // UNAVAILABLE_REASON_COUNT
        return
    unavailable = np.asarray(core.unavailable)
    quarantined = np.flatnonzero(unavailable)
    rows = np.full(positions, -1, dtype=np.int32)
    rows[quarantined] = np.arange(quarantined.size, dtype=np.int32)
    table = np.zeros((quarantined.size, UNAVAILABLE_REASON_COUNT), dtype=np.int64)
    table[:, UNAVAILABLE_QUARANTINED - 1] = unavailable[quarantined]
    core.reason_row = rows
    core.reason_quantity = table.ravel()
    core.reason_count = quarantined.size


cdef _used_feed_sequence(Core core):
    """The feed sequences of the used rows (the table has room for sku_capacity rows)."""
    return np.asarray(core.feed_sequence)[:, :<Py_ssize_t>core.sku_count * core.node_count]


cdef str _digest(Core core):
    h = hashlib.blake2b(digest_size=16)
    h.update(np.array([core.node_count, core.sku_count, core.log_position,
                       core.log_time_ns], dtype=np.int64).tobytes())
    for name in BUCKETS:
        h.update(np.asarray(getattr_bucket(core, name)).tobytes())
    h.update(np.asarray(core.node_status).tobytes())
    h.update(np.asarray(core.safety_stock_rule).tobytes())
    h.update(np.asarray(core.sku_safety_stock_rule).tobytes())
    h.update(np.asarray(core.node_safety_stock_rule).tobytes())
    count, lines = core.reservation_count, core.line_count
    h.update(np.array([count, lines], dtype=np.int64).tobytes())
    supplies = _supply_tables(core)  # by index: the digest is the same whatever the layout
    tables = [
        np.asarray(core.reservation_state)[:count], np.asarray(core.reservation_expire_ns)[:count],
        np.asarray(core.reservation_first_line)[:count], np.asarray(core.reservation_line_count)[:count],
        np.asarray(core.line_sku)[:lines], np.asarray(core.line_node)[:lines],
        np.asarray(core.line_quantity)[:lines], np.asarray(core.line_shipped)[:lines],
        np.asarray(core.line_due_ns)[:lines], np.asarray(core.line_next_demand)[:lines],
        np.asarray(core.demand_head), supplies["supply_head"],
        np.ascontiguousarray(_used_feed_sequence(core)),
        np.array([core.supply_count], dtype=np.int64),
        np.asarray(core.reason_row), np.asarray(core.reason_quantity)[:core.reason_count * UNAVAILABLE_REASON_COUNT],
    ]
    tables.extend(supplies[name] for name in SUPPLY_TABLES)
    for table in tables:
        h.update(table.tobytes())
    return h.hexdigest()


def _taken(array, dtype, bint adopt):
    """`array` itself when adopting one the core can use as it is, else a copy as `dtype`."""
    if (adopt and array.dtype == dtype and array.ndim == 1 and array.flags.c_contiguous
            and array.flags.writeable):
        return array
    return array.astype(dtype, copy=True)
