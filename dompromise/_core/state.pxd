# Declarations of the core state machine. The numbers of ItemStatus and
# CommandKind are stable: ItemStatus equals dompromise.v1.ItemStatus
# (tests/core/test_contract_numbers.py checks it) and CommandKind is written
# to the command log.

from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

cdef enum ItemStatus:
    ITEM_OK = 1
    ITEM_SKU_NOT_FOUND = 2
    ITEM_NODE_NOT_FOUND = 3
    ITEM_NEGATIVE_QUANTITY = 4
    ITEM_QUANTITY_TOO_LARGE = 5
    ITEM_NOT_APPLIED = 6

cdef enum CommandKind:
    COMMAND_UPDATE_ON_HAND = 1

# How an on-hand item reads its quantity; equals dompromise.v1.StockUpdateKind.
cdef enum OnHandOp:
    ON_HAND_SET = 1
    ON_HAND_ADJUST = 2

cdef enum NodeStatusCode:
    NODE_ENABLED = 1
    NODE_DRAIN = 2
    NODE_DISABLED = 3


cdef class Command:
    """One write, columnar: item i touches (sku[i], node[i]) with quantity[i]."""
    cdef readonly int32_t kind
    cdef readonly int64_t log_time_ns
    cdef readonly bint all_or_nothing
    cdef readonly object sku            # int32[n]
    cdef readonly object node           # int32[n]
    cdef readonly object quantity       # int64[n]
    cdef readonly object op             # int8[n], per-item operation (OnHandOp)
    # Results, written by Core.apply:
    cdef readonly object status         # int8[n]
    cdef readonly object on_hand_after  # int64[n]
    cdef readonly object available_after  # int64[n]
    cdef readonly int64_t applied_count
    cdef readonly int64_t log_position


cdef class Core:
    cdef readonly int32_t node_count
    cdef readonly int32_t sku_count
    # The log's clock and position: time of and number of commands applied.
    cdef readonly int64_t log_time_ns
    cdef readonly int64_t log_position
    # Quantity buckets per position, SKU-major: position = sku * node_count + node.
    cdef int64_t[::1] on_hand
    cdef int64_t[::1] held
    cdef int64_t[::1] allocated
    cdef int64_t[::1] unavailable
    cdef int64_t[::1] safety_stock
    # available = max(0, on_hand - held - allocated - unavailable - safety_stock),
    # kept up to date on every write so a read is a gather.
    cdef int64_t[::1] available
    cdef uint8_t[::1] node_status

    cdef inline void _refresh_available(self, Py_ssize_t position) noexcept nogil
    cdef int64_t _apply_on_hand(self, Command command) except -1
