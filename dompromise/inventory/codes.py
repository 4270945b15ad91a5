"""The core's stable numbers, named once for the inventory package.

engine.py re-exports them, so the service layer never imports _core.
"""

from __future__ import annotations

from dompromise import _core

ITEM_STATUS = _core.ITEM_STATUS
COMMAND_RESULT = _core.COMMAND_RESULT
ITEM_OK = ITEM_STATUS["OK"]
KIND = _core.COMMAND_KIND
UPDATE_ON_HAND = KIND["UPDATE_ON_HAND"]
RESULT = _core.COMMAND_RESULT
ON_HAND_SET = _core.ON_HAND_OP["SET"]
ON_HAND_ADJUST = _core.ON_HAND_OP["ADJUST"]
BUCKETS = _core.BUCKETS
SUPPLY_KIND = _core.SUPPLY_KIND
SUPPLY_ALL_KINDS = _core.SUPPLY_ALL_KINDS
EARLIEST_NOW = _core.EARLIEST["NOW"]
EARLIEST_NEVER = _core.EARLIEST["NEVER"]
SAFETY_STOCK_SCOPE = _core.SAFETY_STOCK_SCOPE
SAFETY_STOCK_CLEAR = _core.SAFETY_STOCK_CLEAR
UNAVAILABLE_REASON = _core.UNAVAILABLE_REASON
UNKNOWN_INDEX = -1
NEVER_NS = 2**63 - 1
