# Part of state.pyx (included at module level): the core's constants, and the
# Python views of its enums (state.pxd numbers them).

cdef extern from *:
    """
    #ifndef DOMPROMISE_DEBUG
    #define DOMPROMISE_DEBUG 0
    #endif
    """
    # Set by `DOMPROMISE_DEBUG=1` at build time (make debug): checks invariants
    # after every command. A C constant, so release builds compile the checks away.
    const bint DOMPROMISE_DEBUG

cdef extern from *:
    """
    #define DOMPROMISE_QUANTITY_MAX 1000000000000000LL
    """
    # Largest quantity of any bucket, in base units; equals limits.QUANTITY_MAX
    # (a test checks it). Far below 2**63 so sums over a network cannot overflow.
    const int64_t QUANTITY_MAX "DOMPROMISE_QUANTITY_MAX"

# Feed sources (UpdateStock source ids) one core tracks sequences for; each
# costs 8 bytes per position. Equals limits.FEED_SOURCES_MAX (tested).
FEED_SOURCES_MAX_PY = 16
cdef enum:
    FEED_SOURCES_MAX = 16

# Links of the per-position supply and demand lists.
cdef enum:
    END_OF_LIST = -1
    NOT_LINKED = -2
# Phased reads of fewer (SKU, node) cells keep the GIL: a few microseconds,
# less than what releasing it and taking it back would let others do.
cdef enum:
    NOGIL_CELLS = 4096
# Past the end of a list in a walk: later than any real instant.
cdef extern from *:
    """
    #define DOMPROMISE_NEVER_NS INT64_MAX
    """
    const int64_t NEVER_NS "DOMPROMISE_NEVER_NS"
# "Available now" in earliest_ns answers; a real ETA is never the epoch.
cdef enum:
    EARLIEST_NOW = 0
    EARLIEST_NEVER = -1

QUANTITY_MAX_PY = QUANTITY_MAX

# numpy's view of SupplyRecord (state.pxd): the same fields at the same offsets.
SUPPLY_RECORD_DTYPE = np.dtype([("eta_ns", np.int64), ("quantity", np.int64), ("supply", np.int64),
                                ("next", np.int32), ("kind", np.uint8)], align=True)
assert SUPPLY_RECORD_DTYPE.itemsize == sizeof(SupplyRecord) == 32, "SupplyRecord is 32 bytes"
cdef SupplyRecord _probe
assert [SUPPLY_RECORD_DTYPE.fields[name][1] for name in ("eta_ns", "quantity", "supply", "next", "kind")] == [
    <char*>&_probe.eta_ns - <char*>&_probe, <char*>&_probe.quantity - <char*>&_probe,
    <char*>&_probe.supply - <char*>&_probe, <char*>&_probe.next - <char*>&_probe,
    <char*>&_probe.kind - <char*>&_probe], "SupplyRecord's field offsets"


# ---- the C enums as Python sees them -------------------------------------------------
# An IntEnum per C enum, numbered by it, and a dict of the same names and
# numbers (plain ints) for the many callers that index by name.

class ItemStatus(enum.IntEnum):
    """Per-item outcome of a command; equals dompromise.v1.ItemStatus."""
    OK = ITEM_OK
    SKU_NOT_FOUND = ITEM_SKU_NOT_FOUND
    NODE_NOT_FOUND = ITEM_NODE_NOT_FOUND
    NEGATIVE_QUANTITY = ITEM_NEGATIVE_QUANTITY
    QUANTITY_TOO_LARGE = ITEM_QUANTITY_TOO_LARGE
    NOT_APPLIED = ITEM_NOT_APPLIED
    INSUFFICIENT_STOCK = ITEM_INSUFFICIENT_STOCK
    NODE_NOT_SELLABLE = ITEM_NODE_NOT_SELLABLE
    PARTIALLY_FILLED = ITEM_PARTIALLY_FILLED
    LINE_NOT_FOUND = ITEM_LINE_NOT_FOUND
    EXCEEDS_OPEN_QUANTITY = ITEM_EXCEEDS_OPEN_QUANTITY
    MALFORMED = ITEM_MALFORMED
    SUPPLY_NOT_FOUND = ITEM_SUPPLY_NOT_FOUND
    SUPPLY_CONFLICT = ITEM_SUPPLY_CONFLICT
    STALE = ITEM_STALE
    UNIT_NOT_FOUND = ITEM_UNIT_NOT_FOUND
    VARIANT_LIMIT_REACHED = ITEM_VARIANT_LIMIT_REACHED


class CommandKind(enum.IntEnum):
    """What a command does; written to the command log."""
    UPDATE_ON_HAND = COMMAND_UPDATE_ON_HAND
    RESERVE = COMMAND_RESERVE
    COMMIT = COMMAND_COMMIT
    RELEASE = COMMAND_RELEASE
    EXTEND = COMMAND_EXTEND
    TICK = COMMAND_TICK
    SHIP = COMMAND_SHIP
    CANCEL_LINES = COMMAND_CANCEL_LINES
    RETURN = COMMAND_RETURN
    SET_NODE_STATUS = COMMAND_SET_NODE_STATUS
    UPSERT_SUPPLY = COMMAND_UPSERT_SUPPLY
    RECEIVE_SUPPLY = COMMAND_RECEIVE_SUPPLY
    SET_SAFETY_STOCK = COMMAND_SET_SAFETY_STOCK
    SET_UNAVAILABLE = COMMAND_SET_UNAVAILABLE


class UnavailableReason(enum.IntEnum):
    """Why on-hand units are not sellable; equals dompromise.v1.UnavailableReason."""
    DAMAGED = UNAVAILABLE_DAMAGED
    QUARANTINED = UNAVAILABLE_QUARANTINED
    INSPECTION = UNAVAILABLE_INSPECTION
    DISPLAY = UNAVAILABLE_DISPLAY


class SafetyStockScope(enum.IntEnum):
    """Which rule a SET_SAFETY_STOCK item sets."""
    POSITION = SAFETY_STOCK_POSITION
    SKU = SAFETY_STOCK_SKU
    NODE = SAFETY_STOCK_NODE


class SupplyKind(enum.IntEnum):
    """Kinds of future supply; equals dompromise.v1.SupplyKind."""
    IN_TRANSIT = SUPPLY_IN_TRANSIT
    PURCHASE_ORDER = SUPPLY_PURCHASE_ORDER
    TRANSFER = SUPPLY_TRANSFER


class ReturnDisposition(enum.IntEnum):
    """Where returned (or received) stock goes; equals dompromise.v1.ReturnDisposition."""
    SELLABLE = RETURN_SELLABLE
    QUARANTINE = RETURN_QUARANTINE


class ReservationState(enum.IntEnum):
    """Lifecycle of a reservation; equals dompromise.v1.ReservationState."""
    HELD = RESERVATION_HELD
    COMMITTED = RESERVATION_COMMITTED
    RELEASED = RESERVATION_RELEASED
    EXPIRED = RESERVATION_EXPIRED
    SHIPPED = RESERVATION_SHIPPED


class CommandResult(enum.IntEnum):
    """Whole-command outcome of reservation commands."""
    OK = RESULT_OK
    RESERVATION_NOT_FOUND = RESULT_RESERVATION_NOT_FOUND
    RESERVATION_EXPIRED = RESULT_RESERVATION_EXPIRED
    RESERVATION_RELEASED = RESULT_RESERVATION_RELEASED
    RESERVATION_COMMITTED = RESULT_RESERVATION_COMMITTED
    INSUFFICIENT_STOCK = RESULT_INSUFFICIENT_STOCK
    RESERVATION_NOT_COMMITTED = RESULT_RESERVATION_NOT_COMMITTED
    RESERVATION_SHIPPED = RESULT_RESERVATION_SHIPPED
    INVALID_LINES = RESULT_INVALID_LINES
    MALFORMED = RESULT_MALFORMED


class OnHandOp(enum.IntEnum):
    """How an on-hand item reads its quantity; equals dompromise.v1.StockUpdateKind."""
    SET = ON_HAND_SET
    ADJUST = ON_HAND_ADJUST


class NodeStatus(enum.IntEnum):
    """Whether a node takes new demand; equals dompromise.model.network.NodeStatus."""
    ENABLED = NODE_ENABLED
    DRAIN = NODE_DRAIN
    DISABLED = NODE_DISABLED


ITEM_STATUS = {member.name: member.value for member in ItemStatus}
COMMAND_KIND = {member.name: member.value for member in CommandKind}
UNAVAILABLE_REASON = {member.name: member.value for member in UnavailableReason}
SAFETY_STOCK_SCOPE = {member.name: member.value for member in SafetyStockScope}
SUPPLY_KIND = {member.name: member.value for member in SupplyKind}
RETURN_DISPOSITION = {member.name: member.value for member in ReturnDisposition}
RESERVATION_STATE = {member.name: member.value for member in ReservationState}
COMMAND_RESULT = {member.name: member.value for member in CommandResult}
ON_HAND_OP = {member.name: member.value for member in OnHandOp}
NODE_STATUS = {member.name: member.value for member in NodeStatus}

# A SET_SAFETY_STOCK quantity that clears the rule (and a rule table's "none").
SAFETY_STOCK_CLEAR = SAFETY_STOCK_UNSET
# A kind mask counting every kind of future supply.
SUPPLY_ALL_KINDS = (1 << SUPPLY_IN_TRANSIT) | (1 << SUPPLY_PURCHASE_ORDER) | (1 << SUPPLY_TRANSFER)
# Sentinels of earliest_ns answers (gather_phased), not an enumeration: an answer is otherwise an ETA.
EARLIEST = {"NOW": EARLIEST_NOW, "NEVER": EARLIEST_NEVER}
# Initial capacity of the reservation tables; they double when full.
RESERVATIONS_INITIAL = 1024
BUCKETS = ("on_hand", "held", "allocated", "unavailable", "safety_stock", "available")
