# Declarations of the core state machine. The numbers of ItemStatusCode and
# CommandKindCode are stable: ItemStatusCode equals dompromise.v1.ItemStatus
# (tests/test_contract_numbers.py checks it) and CommandKindCode is written
# to the command log. Each enum reaches Python as an IntEnum of the name
# without "Code" and a dict of its names (state_consts.pxi).

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

cdef enum ItemStatusCode:
    ITEM_OK = 1
    ITEM_SKU_NOT_FOUND = 2
    ITEM_NODE_NOT_FOUND = 3
    ITEM_NEGATIVE_QUANTITY = 4
    ITEM_QUANTITY_TOO_LARGE = 5
    ITEM_NOT_APPLIED = 6
    ITEM_INSUFFICIENT_STOCK = 7
    ITEM_NODE_NOT_SELLABLE = 8
    ITEM_PARTIALLY_FILLED = 9
    ITEM_LINE_NOT_FOUND = 10
    ITEM_EXCEEDS_OPEN_QUANTITY = 11
    ITEM_MALFORMED = 12
    ITEM_SUPPLY_NOT_FOUND = 13
    ITEM_SUPPLY_CONFLICT = 14
    ITEM_STALE = 15
    # Never emitted by the core: the engine answers it for a SKU that lacks
    # the unit an availability request asks in. Numbered here so the core's
    # numbers stay the proto's (tests/test_contract_numbers.py).
    ITEM_UNIT_NOT_FOUND = 16
    # Never emitted by the core either: the engine answers it for an item that
    # names new attribute values when the network has its VARIANTS_MAX.
    ITEM_VARIANT_LIMIT_REACHED = 17

cdef enum CommandKindCode:
    COMMAND_UPDATE_ON_HAND = 1
    COMMAND_RESERVE = 2
    COMMAND_COMMIT = 3
    COMMAND_RELEASE = 4
    COMMAND_EXTEND = 5
    COMMAND_TICK = 6
    COMMAND_SHIP = 7
    COMMAND_CANCEL_LINES = 8
    COMMAND_RETURN = 9
    COMMAND_SET_NODE_STATUS = 10
    COMMAND_UPSERT_SUPPLY = 11
    COMMAND_RECEIVE_SUPPLY = 12
    COMMAND_SET_SAFETY_STOCK = 13
    COMMAND_SET_UNAVAILABLE = 14

# Why on-hand units are not sellable (a SET_UNAVAILABLE item's op); equals
# dompromise.v1.UnavailableReason. A position's `unavailable` is the sum of
# its reasons' quantities.
cdef enum UnavailableReasonCode:
    UNAVAILABLE_DAMAGED = 1
    UNAVAILABLE_QUARANTINED = 2
    UNAVAILABLE_INSPECTION = 3
    UNAVAILABLE_DISPLAY = 4

cdef enum:
    UNAVAILABLE_REASON_COUNT = 4

# Which rule a SET_SAFETY_STOCK item sets (its op): the (SKU, node) rule,
# the SKU's rule (every node) or the node's rule (every SKU). A position's
# safety stock is its most specific rule set: SKU x node, else SKU, else
# node, else 0.
cdef enum SafetyStockScopeCode:
    SAFETY_STOCK_POSITION = 1
    SAFETY_STOCK_SKU = 2
    SAFETY_STOCK_NODE = 3

# A safety-stock rule quantity meaning "not set: inherit the next level".
cdef enum:
    SAFETY_STOCK_UNSET = -1

# Lifecycle of a reservation. A hold (HELD) resolves exactly once: to
# COMMITTED, RELEASED or EXPIRED. A committed reservation may be RELEASED
# (cancelled) which frees its allocation.
cdef enum ReservationStateCode:
    RESERVATION_HELD = 1
    RESERVATION_COMMITTED = 2
    RESERVATION_RELEASED = 3
    RESERVATION_EXPIRED = 4
    RESERVATION_SHIPPED = 5

# Whole-command outcome of reservation commands (per-line outcomes are ItemStatusCode).
cdef enum CommandResultCode:
    RESULT_OK = 1
    RESULT_RESERVATION_NOT_FOUND = 2
    RESULT_RESERVATION_EXPIRED = 3
    RESULT_RESERVATION_RELEASED = 4
    RESULT_RESERVATION_COMMITTED = 5
    RESULT_INSUFFICIENT_STOCK = 6
    RESULT_RESERVATION_NOT_COMMITTED = 7
    RESULT_RESERVATION_SHIPPED = 8
    RESULT_INVALID_LINES = 9
    RESULT_MALFORMED = 10

# Where returned stock goes; equals dompromise.v1.ReturnDisposition.
cdef enum ReturnDispositionCode:
    RETURN_SELLABLE = 1
    RETURN_QUARANTINE = 2

# How an on-hand item reads its quantity; equals dompromise.v1.StockUpdateKind.
cdef enum OnHandOpCode:
    ON_HAND_SET = 1
    ON_HAND_ADJUST = 2

# Kinds of future supply; equals dompromise.v1.SupplyKind. A query's kind
# mask has bit (1 << kind) set for each kind it counts.
cdef enum SupplyKindCode:
    SUPPLY_IN_TRANSIT = 1
    SUPPLY_PURCHASE_ORDER = 2
    SUPPLY_TRANSFER = 3

cdef enum NodeStatusCode:
    NODE_ENABLED = 1
    NODE_DRAIN = 2
    NODE_DISABLED = 3


# One future supply as a list walk reads it (32 bytes: one cache line holds two).
ctypedef struct SupplyRecord:
    int64_t eta_ns
    int64_t quantity      # open: not yet received
    int64_t supply        # its index: the (ETA, index) order's tie-break, and what replies name
    int32_t next          # slot of the next supply in the position's list, END_OF_LIST, or NOT_LINKED
    uint8_t kind


cdef class Command:
    """One write, columnar: item i touches (sku[i], node[i]) with quantity[i]."""
    cdef readonly int32_t kind
    cdef readonly int64_t log_time_ns
    cdef readonly bint all_or_nothing
    cdef readonly object sku            # int32[n]
    cdef readonly object node           # int32[n]
    cdef readonly object quantity       # int64[n]
    cdef readonly object op             # int8[n], per-item operation (OnHandOp, ReturnDisposition)
    cdef readonly object line           # int32[n], line numbers within a reservation (ship, cancel)
    cdef readonly object time_ns        # int64[n]: supply ETA; reserve line backorder date (0 = none); feed sequence
    cdef readonly object ref            # int64[n]: a supply index (upsert, receive); a feed source or -1 (on hand)
    # int64[n], RESERVE only: what line i must leave available at its position
    # (a channel's extra safety stock and the stock protected for other customer
    # segments); the line takes from available - floor, never below it.
    cdef readonly object floor
    # Results, written by Core.apply:
    cdef readonly object status         # int8[n]
    cdef readonly object on_hand_after  # int64[n]
    cdef readonly object available_after  # int64[n]
    cdef readonly int64_t applied_count
    cdef readonly int64_t log_position
    # Reservation commands: the reservation's index (assigned by RESERVE),
    # the hold's expiry for RESERVE / EXTEND, and the whole-command result.
    cdef readonly int64_t reservation
    cdef readonly int64_t deadline_ns
    cdef readonly int32_t result
    cdef readonly object filled         # int64[n]: quantity reserved per line
    # The columns' data, taken once at construction (the arrays above are never
    # replaced), so apply reads them without acquiring a memoryview per column.
    cdef Py_ssize_t count
    cdef const int32_t* sku_
    cdef const int32_t* node_
    cdef const int64_t* quantity_
    cdef const int8_t* op_
    cdef const int32_t* line_
    cdef const int64_t* time_ns_
    cdef const int64_t* ref_
    cdef const int64_t* floor_
    cdef int8_t* status_
    cdef int64_t* on_hand_after_
    cdef int64_t* available_after_
    cdef int64_t* filled_


# A RESERVE's columns and results as C arrays: what Core.reserve_lines takes
# from a caller that decoded a log record without building a Command
# (inventory/_records.pyx), and what a Command's RESERVE is handed as.
ctypedef struct ReserveLines:
    Py_ssize_t count
    const int32_t* sku
    const int32_t* node
    const int64_t* quantity
    const int64_t* due_ns         # 0: stock available now only
    const int64_t* floor
    bint all_or_nothing
    int64_t deadline_ns
    # Results, written by the core (count items each):
    int8_t* status
    int64_t* filled
    int64_t* available_after
    int32_t result
    int64_t reservation           # the new reservation's index when result is OK, else -1
    int64_t applied_count


# Fields only: the methods are state.pyx's, and the rest of the behaviour
# is module-level functions in the state_*.pxi parts that take the core
# first (Core is final: the same direct C calls cdef methods would be).
cdef class Core:
    cdef readonly int32_t node_count
    # Rows in use; the per-SKU and per-position tables have room for
    # sku_capacity rows (add_skus appends rows, growing them geometrically).
    cdef readonly int32_t sku_count
    cdef readonly int32_t sku_capacity
    # The log's clock and position: time of and number of commands applied.
    cdef readonly int64_t log_time_ns
    cdef readonly int64_t log_position
    # Quantity buckets per position, SKU-major: position = sku * node_count + node.
    cdef int64_t[::1] on_hand
    cdef int64_t[::1] held
    cdef int64_t[::1] allocated
    cdef int64_t[::1] unavailable
    # The effective safety stock (derived, like available): the position's
    # most specific rule, kept up to date whenever a rule changes.
    cdef int64_t[::1] safety_stock
    # available = max(0, on_hand - held - allocated - unavailable - safety_stock),
    # kept up to date on every write so a read is a gather.
    cdef int64_t[::1] available
    cdef uint8_t[::1] node_status
    # Safety-stock rules (SAFETY_STOCK_UNSET where none): per position, per
    # SKU and per node. safety_stock above is derived from them.
    cdef int64_t[::1] safety_stock_rule
    cdef int64_t[::1] sku_safety_stock_rule
    cdef int64_t[::1] node_safety_stock_rule
    # Unavailable by reason, sparse: most positions have none. reason_row is
    # per position (-1: no reasons, so unavailable is 0), else a row of
    # reason_quantity holding UNAVAILABLE_REASON_COUNT quantities (reason r at
    # row * UNAVAILABLE_REASON_COUNT + r - 1). Rows are never freed.
    cdef int32_t[::1] reason_row
    cdef int64_t[::1] reason_quantity
    cdef readonly int64_t reason_count
    # The full-capacity arrays behind every per-SKU / per-position table
    # (the tables above are views of their used rows), by table name.
    cdef dict _buffers
    # Writes so far (apply, add_skus, install_rows): a growth prepared in
    # another thread is put in only if none came between (state_growth.pxi).
    cdef int64_t _changes

    # Reservations: one row each, lines in an append-only arena.
    cdef readonly int64_t reservation_count
    cdef uint8_t[::1] reservation_state
    cdef int64_t[::1] reservation_expire_ns
    cdef int64_t[::1] reservation_first_line
    cdef int32_t[::1] reservation_line_count
    cdef int64_t line_count
    cdef int32_t[::1] line_sku
    cdef int32_t[::1] line_node
    cdef int64_t[::1] line_quantity     # open: still held or allocated
    cdef int64_t[::1] line_shipped
    # Lines reserved from future supply ("backorders") are demand at a date,
    # not held / allocated stock: line_due_ns > 0 and the line is linked in
    # its position's demand list, sorted by date. On-hand lines have due 0.
    cdef int64_t[::1] line_due_ns
    cdef int64_t[::1] line_next_demand  # next line in the list, END_OF_LIST, or NOT_LINKED
    cdef int64_t[::1] demand_head       # per position: first backorder line, or END_OF_LIST

    # Future supply (in transit, purchase orders, transfers). A supply's index
    # (its ref in commands, assigned in log order) is its identity; the fields
    # a list walk reads live in one 32-byte SupplyRecord, in a slot of
    # `records`. Slots are a permutation of the indices, private to the core:
    # a restore lays each position's open supplies out in list order,
    # position after position (so a SKU's lists are near each other), and
    # export_state, the digest and every reply speak indices, never slots.
    cdef readonly int64_t supply_count
    cdef int64_t[::1] supply_position   # per index: its position, for life
    cdef int64_t[::1] supply_received   # per index
    cdef int64_t[::1] supply_slot       # per index: its record's slot
    cdef int64_t[::1] supply_head       # per position: slot of the first open supply, or END_OF_LIST
    cdef int64_t[::1] supply_stamp      # scratch: last command that touched the index (not state)
    cdef object _supply_records         # numpy array of SUPPLY_RECORD_DTYPE, one row per slot (capacity)
    cdef SupplyRecord* records          # its data; refreshed whenever the array is replaced

    # Feeds: per source (row) and position, the last sequence applied (-1: none).
    cdef int64_t[:, ::1] feed_sequence

    # Change journal (not state): SKUs whose availability was rewritten since
    # the last take_changed_skus(), each once, for watchers.
    cdef uint8_t[::1] sku_changed
    cdef int32_t[::1] changed_skus
    cdef Py_ssize_t changed_count
    # Min-heap of (expire_ns, reservation) for holds; stale entries (after
    # extend or resolution) are skipped when popped.
    cdef int64_t heap_size
    cdef int64_t[::1] heap_expire_ns
    cdef int64_t[::1] heap_reservation

    # Core.apply of a RESERVE from C arrays (state.pyx).
    cdef int reserve_lines(self, ReserveLines* lines, int64_t log_time_ns) except -1
