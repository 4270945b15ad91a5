# Part of state.pyx (included at module level): the invariants, recomputed
# from the tables with numpy and compared with what the writes kept up to
# date. Tests call check_invariants; a DOMPROMISE_DEBUG build after every command.

cdef bint _check_invariants(Core core) except -1:
    on_hand = np.asarray(core.on_hand)
    buckets = [np.asarray(getattr_bucket(core, name))
               for name in ("held", "allocated", "unavailable", "safety_stock")]
    assert (on_hand >= 0).all(), "negative on hand"
    assert (on_hand <= QUANTITY_MAX).all(), "on hand above QUANTITY_MAX"
    for bucket in buckets:
        assert (bucket >= 0).all(), "negative bucket"
    assert (buckets[3] == _safety_stock_from_rules(core)).all(), "safety stock differs from its rules"
    expected = on_hand - buckets[0] - buckets[1] - buckets[2] - buckets[3]
    _check_lists(core, expected)
    np.maximum(expected, 0, out=expected)
    assert (np.asarray(core.available) == expected).all(), "available out of date"
    held_expected, allocated_expected = _reserved_by_state(core)
    assert (buckets[0] == held_expected).all(), "held differs from the open holds"
    assert (buckets[1] == allocated_expected).all(), "allocated differs from the commitments"
    assert (buckets[2] == _unavailable_from_reasons(core)).all(), "unavailable differs from its reasons"
    assert core.sku_count <= core.sku_capacity, "more SKU rows than room"
    return True


cdef _unavailable_from_reasons(Core core):
    """Each position's reasons summed, after checking the reason rows are well formed."""
    rows = np.asarray(core.reason_row)
    count = core.reason_count
    assert ((rows >= -1) & (rows < count)).all(), "a reason row out of range"
    used = rows[rows >= 0]
    assert used.size == count, "a reason row belongs to no position"
    assert np.unique(used).size == count, "two positions share a reason row"
    quantities = np.asarray(core.reason_quantity)[:count * UNAVAILABLE_REASON_COUNT].reshape(
        count, UNAVAILABLE_REASON_COUNT)
    assert (quantities >= 0).all(), "a negative reason quantity"
    assert (quantities <= QUANTITY_MAX).all(), "a reason quantity above QUANTITY_MAX"
    total = np.zeros(rows.shape[0], dtype=np.int64)
    total[rows >= 0] = quantities[used].sum(axis=1)
    return total


cdef _safety_stock_from_rules(Core core):
    """Each position's most specific safety-stock rule (SKU x node, SKU, node, else 0), recomputed."""
    unset = SAFETY_STOCK_UNSET
    rules = [np.asarray(core.safety_stock_rule), np.asarray(core.sku_safety_stock_rule),
             np.asarray(core.node_safety_stock_rule)]
    for rule in rules:
        assert ((rule >= 0) | (rule == unset)).all(), "a safety-stock rule is negative"
        assert (rule <= QUANTITY_MAX).all(), "a safety-stock rule is above QUANTITY_MAX"
    position_rule = rules[0].reshape(core.sku_count, core.node_count)
    sku_rule = rules[1][:, None]
    node_rule = rules[2][None, :]
    inherited = np.where(sku_rule != unset, sku_rule, np.where(node_rule != unset, node_rule, 0))
    return np.where(position_rule != unset, position_rule, inherited).ravel()


cdef _check_lists(Core core, net):
    """Checks the supply and backorder lists against their tables and lowers
    `net` (net on hand per position) to each listed position's lowest balance."""
    count, lines = core.supply_count, core.line_count
    slot = np.asarray(core.supply_slot)[:count]
    assert np.array_equal(np.sort(slot), np.arange(count)), "supply slots are not one per supply"
    assert (np.asarray(core._supply_records)[:count]["supply"][slot] == np.arange(count)).all(), \
        "a supply record names another supply"
    supplies = _supply_tables(core)
    supply_head, supply_next = supplies["supply_head"], supplies["supply_next"]
    eta_ns, quantity = supplies["supply_eta_ns"], supplies["supply_quantity"]
    assert (quantity >= 0).all(), "negative open supply"
    linked = supply_next != NOT_LINKED
    assert (linked == (quantity > 0)).all(), "a supply is listed iff it has open quantity"
    line_state = np.repeat(np.asarray(core.reservation_state)[:core.reservation_count],
                           np.asarray(core.reservation_line_count)[:core.reservation_count].astype(np.int64))
    open_ = (line_state == RESERVATION_HELD) | (line_state == RESERVATION_COMMITTED)
    backorder = (np.asarray(core.line_due_ns)[:lines] > 0) & (np.asarray(core.line_quantity)[:lines] > 0) & open_
    demand_linked = np.asarray(core.line_next_demand)[:lines] != NOT_LINKED
    assert (demand_linked == backorder).all(), "a line is listed iff it is an open backorder"
    seen_supply = seen_lines = 0
    for position in np.flatnonzero((supply_head != END_OF_LIST) | (np.asarray(core.demand_head) != END_OF_LIST)):
        events = []
        current, previous = int(supply_head[position]), None
        while current != END_OF_LIST:
            assert core.supply_position[current] == position, "supply listed at another position"
            key = (int(eta_ns[current]), current)
            assert previous is None or previous < key, "a supply list out of (ETA, index) order"
            previous = key
            events.append((eta_ns[current], 0, quantity[current]))
            current = int(supply_next[current])
            seen_supply += 1
        current = core.demand_head[position]
        while current != END_OF_LIST:
            assert core.line_sku[current] * core.node_count + core.line_node[current] == position
            events.append((core.line_due_ns[current], 1, -core.line_quantity[current]))
            current = core.line_next_demand[current]
            seen_lines += 1
        balance = lowest = int(net[position])
        for _, _, change in sorted(events):
            balance += change
            lowest = min(lowest, balance)
        net[position] = lowest
    assert seen_supply == int(linked.sum()), "a listed supply is missing from its list"
    assert seen_lines == int(backorder.sum()), "a backorder is missing from its list"


cdef _reserved_by_state(Core core):
    """Held and allocated per position, summed from the reservation table."""
    count = core.reservation_count
    states = np.asarray(core.reservation_state)[:count]
    line_counts = np.asarray(core.reservation_line_count)[:count].astype(np.int64)
    line_state = np.repeat(states, line_counts)
    lines = core.line_count
    positions = (np.asarray(core.line_sku)[:lines].astype(np.int64) * core.node_count
                 + np.asarray(core.line_node)[:lines])
    quantities = np.where(np.asarray(core.line_due_ns)[:lines] > 0, 0, np.asarray(core.line_quantity)[:lines])
    held = np.zeros(core.on_hand.shape[0], dtype=np.int64)
    allocated = np.zeros(core.on_hand.shape[0], dtype=np.int64)
    np.add.at(held, positions[line_state == RESERVATION_HELD], quantities[line_state == RESERVATION_HELD])
    np.add.at(allocated, positions[line_state == RESERVATION_COMMITTED],
              quantities[line_state == RESERVATION_COMMITTED])
    return held, allocated
