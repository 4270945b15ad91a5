"""The compiled core. Re-exports only; see state.pyx."""

from dompromise._core.state import (
    BUCKETS,
    COMMAND_KIND,
    COMMAND_RESULT,
    EARLIEST,
    ITEM_STATUS,
    NODE_STATUS,
    ON_HAND_OP,
    RESERVATION_STATE,
    RETURN_DISPOSITION,
    SUPPLY_ALL_KINDS,
    SUPPLY_KIND,
    QUANTITY_MAX_PY as QUANTITY_MAX,
    FEED_SOURCES_MAX_PY as FEED_SOURCES_MAX,
    Command,
    Core,
)

__all__ = [
    "COMMAND_RESULT",
    "RESERVATION_STATE",
    "RETURN_DISPOSITION", "EARLIEST", "FEED_SOURCES_MAX", "SUPPLY_ALL_KINDS", "SUPPLY_KIND",
    "BUCKETS", "COMMAND_KIND", "ITEM_STATUS", "NODE_STATUS", "ON_HAND_OP", "QUANTITY_MAX", "Command", "Core"]
