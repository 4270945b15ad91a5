"""The compiled core. Re-exports only; see state.pyx."""

from dompromise._core.state import (
    BUCKETS,
    COMMAND_KIND,
    ITEM_STATUS,
    NODE_STATUS,
    ON_HAND_OP,
    QUANTITY_MAX_PY as QUANTITY_MAX,
    Command,
    Core,
)

__all__ = ["BUCKETS", "COMMAND_KIND", "ITEM_STATUS", "NODE_STATUS", "ON_HAND_OP", "QUANTITY_MAX", "Command", "Core"]
