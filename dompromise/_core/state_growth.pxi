# Part of state.pyx (included at module level): the per-SKU and
# per-position tables by name, and their growth when SKU rows are appended
# at run time (attribute variants: add_skus). Each such table is a view of
# the used rows of a buffer with room for sku_capacity rows.

# The per-position (True) and per-SKU (False) tables add_skus grows, with the
# value of an empty row. feed_sequence (2-D) is grown beside them: it always
# has sku_capacity rows of positions, and is sliced where it is read whole.
GROWN_TABLES = (
    ("on_hand", 0, True), ("held", 0, True), ("allocated", 0, True), ("unavailable", 0, True),
    ("safety_stock", 0, True), ("available", 0, True), ("safety_stock_rule", SAFETY_STOCK_UNSET, True),
    ("demand_head", END_OF_LIST, True), ("supply_head", END_OF_LIST, True), ("reason_row", -1, True),
    ("sku_safety_stock_rule", SAFETY_STOCK_UNSET, False), ("sku_changed", 0, False), ("changed_skus", 0, False),
)


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


# ---- growth --------------------------------------------------------------------------
#
# Room doubles (amortised: most additions copy nothing). A buffer is allocated
# uninitialised (np.empty: a large one is fresh pages the kernel maps on first
# touch, so room costs address space, not memory) and a row is filled with its
# empty value when it comes into use. A doubling copies the used rows; that
# copy can be prepared in another thread while no command applies
# (prepare_rows) and put in on the applying thread (install_rows).

cdef _add_skus(Core core, int32_t count):
    assert count > 0, "add at least one SKU row"
    cdef int64_t used = <int64_t>core.sku_count + count
    assert used < 2**31, "SKU rows are int32"
    cdef int32_t first = core.sku_count
    if used > core.sku_capacity:
        replaced = _install(core, _grown_per_position(core, _room_for(core, used)))
        assert replaced is not None, "a growth prepared on this thread fits"
        del replaced  # unmapped here: this growth was not prepared ahead
    core._changes += 1
    _fill_rows(core, first, <int32_t>used)
    core.sku_count = <int32_t>used
    _view_buffers(core)
    # A new row is a SKU like any other: the node safety-stock rules cover it.
    cdef Py_ssize_t position
    with nogil:
        for position in range(<Py_ssize_t>first * core.node_count, <Py_ssize_t>used * core.node_count):
            _refresh_safety_stock(core, position)
    return first


cdef int32_t _room_for(Core core, int64_t rows):
    """The capacity to grow to for `rows` rows: double, at least `rows` (int32 rows)."""
    return <int32_t>min(max(rows, <int64_t>core.sku_capacity * 2 + 16), 2**31 - 1)


cdef _fill_rows(Core core, int32_t first, int32_t end):
    """Rows [first, end) of every buffer at its table's empty value (they were never used)."""
    cdef Py_ssize_t width
    for name, empty, per_position in GROWN_TABLES:
        width = core.node_count if per_position else 1
        core._buffers[name][first * width:end * width] = empty
    feed = np.asarray(core.feed_sequence)
    feed[:, <Py_ssize_t>first * core.node_count:<Py_ssize_t>end * core.node_count] = -1


cdef _adopt_buffers(Core core):
    """Takes the tables as they are (exactly sku_count rows) as the buffers."""
    core._buffers = {name: np.asarray(_table(core, name)) for name, _, _ in GROWN_TABLES}
    core.sku_capacity = core.sku_count
    assert core.feed_sequence.shape[1] == <Py_ssize_t>core.sku_count * core.node_count


def _grown_per_position(Core core, int32_t capacity):
    """The per-position buffers (and feed sequences) with room for `capacity` rows,
    the used rows copied: the bulk of a doubling. Reads the core, changes nothing
    of it; numpy copies without the GIL, so another thread may run this while the
    applying thread waits and reads go on."""
    cdef Py_ssize_t used = <Py_ssize_t>core.sku_count * core.node_count
    grown = {}
    for name, _, per_position in GROWN_TABLES:
        if per_position:
            old = core._buffers[name]
            grown[name] = np.empty(<Py_ssize_t>capacity * core.node_count, dtype=old.dtype)
            grown[name][:used] = old[:used]
    feed = np.asarray(core.feed_sequence)
    grown_feed = np.empty((feed.shape[0], <Py_ssize_t>capacity * core.node_count), dtype=np.int64)
    grown_feed[:, :used] = feed[:, :used]
    return (capacity, core._changes, core.sku_count, dict(core._buffers), grown, grown_feed)


def _touch_rows(buffers, feed, Py_ssize_t node_count, Py_ssize_t first, Py_ssize_t end):
    """Rows [first, end) of the per-position buffers and feed sequences at their empty
    values: what add_skus writes there anyway, done beforehand so that the memory is
    mapped (first touch of fresh pages costs the kernel, not the applying thread)."""
    for name, empty, per_position in GROWN_TABLES:
        if per_position:
            buffers[name][first * node_count:end * node_count] = empty
    feed[:, first * node_count:end * node_count] = -1


cdef object _install(Core core, prepared):
    """Puts in buffers _grown_per_position prepared, if the core is still as it was
    then (same change count, rows and buffers), and returns the buffers it replaced
    (a list: whoever drops it unmaps them, ~0.1 s for 1 GB); None if it was not.
    The per-SKU tables (small, and the change journal among them, which a watcher
    may take meanwhile) are copied here."""
    capacity, changes, rows, buffers, grown, grown_feed = prepared
    # Every write (apply, add_skus, an install) counts a change: an equal count
    # means the per-position tables and feed sequences hold what was copied.
    if changes != core._changes or rows != core.sku_count:
        return None
    if any(core._buffers[name] is not buffer for name, buffer in buffers.items()):
        return None
    core._changes += 1
    replaced = list(core._buffers.values())
    replaced.append(np.asarray(core.feed_sequence))
    buffers.clear()  # the prepared tuple holds none of them any more
    for name, _, per_position in GROWN_TABLES:
        if not per_position:
            old = core._buffers[name]
            grown[name] = np.empty(<Py_ssize_t>capacity, dtype=old.dtype)
            grown[name][:rows] = old[:rows]
    core._buffers = grown
    core.feed_sequence = grown_feed
    core.sku_capacity = capacity
    _view_buffers(core)  # the old buffers live on only in `replaced`
    return replaced


cdef _view_buffers(Core core):
    """Points every table at its buffer's first sku_count rows (no copy)."""
    cdef Py_ssize_t used = core.sku_count
    for name, _, per_position in GROWN_TABLES:
        _set_table(core, name, core._buffers[name][:used * (core.node_count if per_position else 1)])
