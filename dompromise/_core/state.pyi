"""Type stubs for the compiled core (dompromise/_core/state.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

QUANTITY_MAX_PY: int
FEED_SOURCES_MAX_PY: int
ITEM_STATUS: dict[str, int]
COMMAND_KIND: dict[str, int]
ON_HAND_OP: dict[str, int]
NODE_STATUS: dict[str, int]
RESERVATION_STATE: dict[str, int]
RETURN_DISPOSITION: dict[str, int]
COMMAND_RESULT: dict[str, int]
SUPPLY_KIND: dict[str, int]
SAFETY_STOCK_SCOPE: dict[str, int]
UNAVAILABLE_REASON: dict[str, int]
GROWN_TABLES: tuple[tuple[str, int, bool], ...]

def indices_of(index: dict[Any, int], ids: Any, unknown: int = ...) -> npt.NDArray[np.int32]: ...
def int64_column(values: Any) -> npt.NDArray[np.int64]: ...

SAFETY_STOCK_CLEAR: int
SUPPLY_ALL_KINDS: int
EARLIEST: dict[str, int]
SUPPLY_TABLES: tuple[str, ...]
SUPPLY_RECORD_DTYPE: np.dtype[Any]
BUCKETS: tuple[str, ...]
RESERVATIONS_INITIAL: int

class Command:
    kind: int
    log_time_ns: int
    all_or_nothing: bool
    sku: npt.NDArray[np.int32]
    node: npt.NDArray[np.int32]
    quantity: npt.NDArray[np.int64]
    op: npt.NDArray[np.int8]
    line: npt.NDArray[np.int32]
    time_ns: npt.NDArray[np.int64]
    ref: npt.NDArray[np.int64]
    floor: npt.NDArray[np.int64]
    status: npt.NDArray[np.int8]
    on_hand_after: npt.NDArray[np.int64]
    available_after: npt.NDArray[np.int64]
    filled: npt.NDArray[np.int64]
    applied_count: int
    log_position: int
    reservation: int
    deadline_ns: int
    result: int
    def __init__(
        self,
        kind: int,
        log_time_ns: int,
        sku: Any = ...,
        node: Any = ...,
        quantity: Any = ...,
        op: Any = ...,
        all_or_nothing: bool = ...,
        reservation: int = ...,
        deadline_ns: int = ...,
        line: Any = ...,
        time_ns: Any = ...,
        ref: Any = ...,
        floor: Any = ...,
    ) -> None: ...
    def __len__(self) -> int: ...

class Core:
    node_count: int
    sku_count: int
    sku_capacity: int
    reason_count: int
    log_time_ns: int
    log_position: int
    reservation_count: int
    supply_count: int
    def __init__(self, node_count: int, sku_count: int, node_status: Any = ..., _positions: bool = ...) -> None: ...
    def apply(self, command: Command, advance: bool = ...) -> int: ...
    def gather_available(
        self,
        sku: npt.NDArray[np.int32],
        nodes: npt.NDArray[np.int32],
        cells: npt.NDArray[np.int64],
        totals: npt.NDArray[np.int64],
    ) -> None: ...
    def gather_buckets(
        self, sku: npt.NDArray[np.int32], nodes: npt.NDArray[np.int32], out: npt.NDArray[np.int64]
    ) -> None: ...
    def gather_unavailable(
        self, sku: npt.NDArray[np.int32], nodes: npt.NDArray[np.int32], out: npt.NDArray[np.int64]
    ) -> None: ...
    def add_skus(self, count: int) -> int: ...
    def gather_phased(
        self,
        sku: npt.NDArray[np.int32],
        nodes: npt.NDArray[np.int32],
        boundaries_ns: npt.NDArray[np.int64],
        kind_mask: int,
        wanted: npt.NDArray[np.int64],
        cells: npt.NDArray[np.int64],
        totals: npt.NDArray[np.int64],
        earliest_ns: npt.NDArray[np.int64],
    ) -> None: ...
    def supply(self, supply: int) -> tuple[int, int, int, int, int, int] | None: ...
    def position_plan(
        self, sku: int, node: int
    ) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int]]]: ...
    def net_on_hand(self, sku: int, node: int) -> int: ...
    def lay_out_supplies(self) -> None: ...
    def supply_layout(self) -> npt.NDArray[np.int64]: ...
    def take_changed_skus(self) -> npt.NDArray[np.int32]: ...
    def sellable_nodes(self) -> npt.NDArray[np.int32]: ...
    def node_status_of(self, node: int) -> int: ...
    def reservation(
        self, reservation: int
    ) -> (
        tuple[
            int,
            int,
            npt.NDArray[np.int32],
            npt.NDArray[np.int32],
            npt.NDArray[np.int64],
            npt.NDArray[np.int64],
            npt.NDArray[np.int64],
        ]
        | None
    ): ...
    def reservation_lists(
        self, reservation: int
    ) -> tuple[int, int, list[int], list[int], list[int], list[int], list[int]] | None: ...
    def reservation_of_line(self, line: int) -> int: ...
    def next_expiry_ns(self) -> int | None: ...
    def bucket_array(self, name: str) -> npt.NDArray[np.int64]: ...
    def check_invariants(self) -> bool: ...
    def export_state(self) -> dict[str, npt.NDArray[Any]]: ...
    @staticmethod
    def from_state(state: dict[str, npt.NDArray[Any]], adopt: bool = ...) -> Core: ...
    def digest(self) -> str: ...
