"""Type stubs for the compiled promise kernel (dompromise/_core/promise.pyx)."""

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

from dompromise._core.transport import TransportTables

COLUMN_CODE: dict[str, int]
COLUMN_OUTCOME: dict[str, int]
INFO_FIELD: dict[str, int]
ROW_FIELD: dict[str, int]
SCAN_STATUS: dict[str, int]
TABLES_MAX: int
SHORT_LISTED_PY: int

def round3(x: float) -> float: ...

@disjoint_base
class RouteTable:
    def __init__(
        self,
        route_start: npt.ArrayLike,
        lane: npt.ArrayLike,
        onward: npt.ArrayLike,
        method: npt.ArrayLike,
        service_id: npt.ArrayLike,
        via_id: npt.ArrayLike,
        lane_count: int,
    ) -> None: ...
    @property
    def node_count(self) -> int: ...
    @property
    def route_count(self) -> int: ...
    @property
    def lane_count(self) -> int: ...
    def array(self, name: str) -> npt.NDArray[np.int32 | np.int8]: ...  # method is int8, the rest int32

@disjoint_base
class PromiseScan:
    @property
    def filled(self) -> npt.NDArray[np.int64]: ...  # [lines, columns]
    @property
    def ready_ns(self) -> npt.NDArray[np.int64]: ...  # [lines, columns]
    @property
    def info(self) -> npt.NDArray[np.int64]: ...  # [columns, 5]: INFO_FIELD
    @property
    def rows(self) -> npt.NDArray[np.int64]: ...  # [capacity, 6]: ROW_FIELD
    @property
    def score(self) -> npt.NDArray[np.float64]: ...  # [capacity]
    @property
    def short_lines(self) -> npt.NDArray[np.int64]: ...  # [columns, 10]: (line, filled) pairs, -1 pads
    @property
    def row_count(self) -> int: ...
    @property
    def full_row_count(self) -> int: ...
    @property
    def missing_ns(self) -> int: ...
    @property
    def order(self) -> npt.NDArray[np.int32]: ...
    @property
    def distinct_count(self) -> int: ...
    def add_tables(self, table: TransportTables) -> None: ...
    def full_options(self) -> int: ...
    def partial_options(self, min_fill_percent: int) -> int: ...
    def filled_ready(self, limited: list[tuple[int, int]]) -> list[tuple[int, int, list[int]]]: ...
    def final_codes(self) -> list[int]: ...
    def fastest_routes(
        self, columns: npt.NDArray[np.int64], ready_ns: npt.NDArray[np.int64], out: npt.NDArray[np.int64]
    ) -> int: ...
    def rank(self, deliver_before_ns: int, max_options: int) -> int: ...

@disjoint_base
class PromiseKernel:
    def __init__(
        self,
        lane_cost: npt.ArrayLike,
        per_hour_to_delivery: float,
        per_currency_unit: float,
        per_extra_shipment: float,
        per_missing_percent: float,
        drop_ship: float,
        earliest_now: int,
        earliest_never: int,
    ) -> None: ...
    @property
    def lane_count(self) -> int: ...
    @property
    def per_hour_to_delivery(self) -> float: ...
    @property
    def per_currency_unit(self) -> float: ...
    @property
    def per_extra_shipment(self) -> float: ...
    @property
    def per_missing_percent(self) -> float: ...
    @property
    def drop_ship(self) -> float: ...
    @property
    def earliest_now(self) -> int: ...
    @property
    def earliest_never(self) -> int: ...
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

HUB_FIELD: dict[str, int]
HUB_STATUS_CODE: dict[str, int]
LINE_FIELD: dict[str, int]

@disjoint_base
class TransferTable:
    def __init__(
        self, start: npt.ArrayLike, feeder: npt.ArrayLike, lane: npt.ArrayLike, cost: npt.ArrayLike, lane_count: int
    ) -> None: ...
    @property
    def node_count(self) -> int: ...
    @property
    def lane_count(self) -> int: ...

@disjoint_base
class Consolidations:
    def __init__(self, scan: PromiseScan, transfers: TransferTable, split_lines: bool) -> None: ...
    @property
    def count(self) -> int: ...
    @property
    def plans(self) -> npt.NDArray[np.int64]: ...  # [hubs, 7]: HUB_FIELD
    @property
    def lines(self) -> npt.NDArray[np.int64]: ...  # [hubs, 3, lines]: LINE_FIELD
    @property
    def score(self) -> npt.NDArray[np.float64]: ...  # [hubs]
    def run(self) -> int: ...

def short_texts(
    sku_ids: list[str], quantities: list[int], scan: PromiseScan, columns: npt.NDArray[np.int64]
) -> list[str]: ...
