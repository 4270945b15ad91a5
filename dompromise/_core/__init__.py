"""The compiled core. Re-exports only; see state.pyx."""

from dompromise._core.state import (
    BUCKETS,
    COMMAND_KIND,
    COMMAND_RESULT,
    EARLIEST,
    GROWN_TABLES,
    ITEM_STATUS,
    NODE_STATUS,
    ON_HAND_OP,
    RESERVATION_STATE,
    RETURN_DISPOSITION,
    SAFETY_STOCK_CLEAR,
    SAFETY_STOCK_SCOPE,
    SUPPLY_ALL_KINDS,
    SUPPLY_KIND,
    UNAVAILABLE_REASON,
    Command,
    Core,
    indices_of,
    int64_column,
)
from dompromise._core.state import (
    FEED_SOURCES_MAX_PY as FEED_SOURCES_MAX,
)
from dompromise._core.state import (
    QUANTITY_MAX_PY as QUANTITY_MAX,
)

__all__ = [
    "COMMAND_RESULT",
    "RESERVATION_STATE",
    "RETURN_DISPOSITION",
    "SAFETY_STOCK_CLEAR",
    "SAFETY_STOCK_SCOPE",
    "EARLIEST",
    "GROWN_TABLES",
    "FEED_SOURCES_MAX",
    "SUPPLY_ALL_KINDS",
    "SUPPLY_KIND",
    "UNAVAILABLE_REASON",
    "BUCKETS",
    "COMMAND_KIND",
    "ITEM_STATUS",
    "NODE_STATUS",
    "ON_HAND_OP",
    "QUANTITY_MAX",
    "Command",
    "Core",
    "indices_of",
    "int64_column",
]
