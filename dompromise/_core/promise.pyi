"""Type stubs for the compiled promise kernel (dompromise/_core/promise.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

from dompromise._core.transport import TransportTables

COLUMN_CODE: dict[str, int]
COLUMN_OUTCOME: dict[str, int]
INFO_FIELD: dict[str, int]
ROW_FIELD: dict[str, int]
SCAN_STATUS: dict[str, int]
TABLES_MAX: int
SHORT_LISTED_PY: int

def round3(x: float) -> float: ...

class RouteTable:
    node_count: int
    route_count: int
    lane_count: int
    def __init__(
        self, route_start: Any, lane: Any, onward: Any, method: Any, service_id: Any, via_id: Any, lane_count: int
    ) -> None: ...
    def array(self, name: str) -> npt.NDArray[Any]: ...

class PromiseScan:
    filled: npt.NDArray[np.int64]  # [lines, columns]
    ready_ns: npt.NDArray[np.int64]  # [lines, columns]
    info: npt.NDArray[np.int64]  # [columns, 5]: INFO_FIELD
    rows: npt.NDArray[np.int64]  # [capacity, 6]: ROW_FIELD
    score: npt.NDArray[np.float64]  # [capacity]
    short_lines: npt.NDArray[np.int64]  # [columns, 10]: (line, filled) pairs, -1 pads
    row_count: int
    full_row_count: int
    missing_ns: int
    order: npt.NDArray[np.int32]
    distinct_count: int
    def add_tables(self, table: TransportTables) -> None: ...
    def full_options(self) -> int: ...
    def partial_options(self, min_fill_percent: int) -> int: ...
    def fastest_routes(
        self, columns: npt.NDArray[np.int64], ready_ns: npt.NDArray[np.int64], out: npt.NDArray[np.int64]
    ) -> int: ...
    def rank(self, deliver_before_ns: int, max_options: int) -> int: ...

class PromiseKernel:
    lane_count: int
    per_hour_to_delivery: float
    per_currency_unit: float
    per_extra_shipment: float
    per_missing_percent: float
    drop_ship: float
    earliest_now: int
    earliest_never: int
    def __init__(
        self,
        lane_cost: Any,
        per_hour_to_delivery: float,
        per_currency_unit: float,
        per_extra_shipment: float,
        per_missing_percent: float,
        drop_ship: float,
        earliest_now: int,
        earliest_never: int,
    ) -> None: ...
    def scan(
        self,
        routes: RouteTable,
        allowed: npt.NDArray[np.uint8],
        tables: tuple[TransportTables, ...],
        columns: npt.NDArray[np.int32],
        now: npt.NDArray[np.int64],
        earliest: npt.NDArray[np.int64] | None,
        wanted: npt.NDArray[np.int64],
        as_of_ns: int,
        future: bool,
        node_penalty: npt.NDArray[np.float64] | None,
    ) -> PromiseScan: ...

def short_texts(
    sku_ids: list[str], quantities: list[int], scan: PromiseScan, columns: npt.NDArray[np.int64]
) -> list[str]: ...
