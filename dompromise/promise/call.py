"""One promise call: the order, the kernel's scan of it, where it reaches; and the kernel's codes.

The engine (engine.py) makes a Call per promise; the multi-node options
(multi_node.py) and the answer (answer.py) read it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from dompromise import limits
from dompromise._core.promise import COLUMN_CODE, COLUMN_OUTCOME, INFO_FIELD, ROW_FIELD, SCAN_STATUS, PromiseScan
from dompromise.inventory.capacity import CAPACITY_LOOKAHEAD_DAYS
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.routes import DestinationRoutes
from dompromise.promise.types import PromiseRequest

CODE_FULL = COLUMN_CODE["FULL"]
CODE_SHORT_NONE = COLUMN_CODE["SHORT_NONE"]
CODE_NO_LANE = COLUMN_CODE["NO_LANE"]
CODE_NO_DELIVERY = COLUMN_CODE["NO_DELIVERY"]
CODE_PARTIAL = COLUMN_CODE["PARTIAL"]
OUTCOME_USED = COLUMN_OUTCOME["USED"]
OUTCOME_OUTRANKED = COLUMN_OUTCOME["OUTRANKED"]
OUTCOME_TOO_LATE = COLUMN_OUTCOME["TOO_LATE"]
INFO_CODE = INFO_FIELD["CODE"]
INFO_OUTCOME = INFO_FIELD["OUTCOME"]
INFO_FILLED_SUM = INFO_FIELD["FILLED_SUM"]
INFO_READY_MAX = INFO_FIELD["READY_MAX"]
NEEDS_TABLES = SCAN_STATUS["NEEDS_TABLES"]
assert [ROW_FIELD[name] for name in ("COLUMN", "ROUTE", "EARLIEST", "LATEST", "DEPARTURE", "COST")] == list(range(6))
NO_DELIVERY_TEXT = f"no route delivers within {limits.TRANSPORT_HORIZON_DAYS} days of the goods being ready"
# A column whose node's daily capacity is used up every day it could ship on: set in
# Python after the scan (the kernel skips it), a number no kernel code or outcome has.
CODE_CAPACITY = 64
assert CODE_CAPACITY not in COLUMN_CODE.values() and CODE_CAPACITY not in COLUMN_OUTCOME.values()
CAPACITY_TEXT = (
    f"daily capacity used up on every working day within {CAPACITY_LOOKAHEAD_DAYS} days of the goods being ready"
)

# A route's EDT as (earliest, latest, departure or None, cost), or None when it cannot deliver.
RouteEdt = tuple[int, int, int | None, int]


class Call:
    """One promise call's state: the order, the kernel's scan of it, and where it reaches."""

    __slots__ = (
        "request",
        "sku_ids",
        "quantities",
        "wanted",
        "wanted_sum",
        "sellable",
        "destination",
        "allowed",
        "scan",
        "columns",
        "plan_columns",
        "penalty",
        "memo",
    )

    def __init__(
        self,
        request: PromiseRequest,
        sku_ids: list[str],
        quantities: list[int],
        wanted: npt.NDArray[np.int64],
        sellable: npt.NDArray[np.int32],
        columns: list[int],
        destination: DestinationRoutes,
        allowed: npt.NDArray[np.uint8],
        scan: PromiseScan,
        penalty: npt.NDArray[np.float64] | None,
    ):
        self.request = request
        self.sku_ids = sku_ids
        self.quantities = quantities
        self.wanted = wanted
        self.wanted_sum = sum(quantities)
        self.sellable = sellable
        self.destination = destination
        self.allowed = allowed
        self.scan = scan
        self.columns = columns  # column -> node index: sellable.tolist(), shared between calls (read only)
        self.plan_columns: list[int] = []  # the column of each of MultiNodeOptions.plans()
        # float64 per network node, added to an option's score once per shipment from it; or None.
        self.penalty = penalty
        # EDTs by (lane, onward lane, ready time): the same route and ready time
        # recur across single, split and partial plans.
        self.memo: dict[tuple[int, int, int], RouteEdt | None] = {}


def until_tables(edt: EdtCalculator, scan: PromiseScan, step: Callable[..., int], *arguments: object) -> None:
    """Runs a kernel step, adding the EDT tables of any ready time it reaches outside them."""
    while step(*arguments) == NEEDS_TABLES:
        scan.add_tables(edt.tables_for(scan.missing_ns))
