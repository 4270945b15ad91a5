"""Type stubs for the compiled core (dompromise/_core/state.pyx and its state_*.pxi parts).

tests/core/test_core_typing.py checks them against the compiled module (mypy.stubtest) and runs
mypy --strict over them.
"""

import enum
from collections.abc import Collection, Mapping
from typing import TypeAlias, TypeVar, final

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

_Key = TypeVar("_Key")
# What export_state holds and from_state reads: int64 tables, int32 indices, uint8 states and kinds.
_StateArray: TypeAlias = npt.NDArray[np.int64 | np.int32 | np.uint8]

QUANTITY_MAX_PY: int
FEED_SOURCES_MAX_PY: int

class ItemStatus(enum.IntEnum):
    OK = 1
    SKU_NOT_FOUND = 2
    NODE_NOT_FOUND = 3
    NEGATIVE_QUANTITY = 4
    QUANTITY_TOO_LARGE = 5
    NOT_APPLIED = 6
    INSUFFICIENT_STOCK = 7
    NODE_NOT_SELLABLE = 8
    PARTIALLY_FILLED = 9
    LINE_NOT_FOUND = 10
    EXCEEDS_OPEN_QUANTITY = 11
    MALFORMED = 12
    SUPPLY_NOT_FOUND = 13
    SUPPLY_CONFLICT = 14
    STALE = 15
    UNIT_NOT_FOUND = 16
    VARIANT_LIMIT_REACHED = 17

class CommandKind(enum.IntEnum):
    UPDATE_ON_HAND = 1
    RESERVE = 2
    COMMIT = 3
    RELEASE = 4
    EXTEND = 5
    TICK = 6
    SHIP = 7
    CANCEL_LINES = 8
    RETURN = 9
    SET_NODE_STATUS = 10
    UPSERT_SUPPLY = 11
    RECEIVE_SUPPLY = 12
    SET_SAFETY_STOCK = 13
    SET_UNAVAILABLE = 14

class UnavailableReason(enum.IntEnum):
    DAMAGED = 1
    QUARANTINED = 2
    INSPECTION = 3
    DISPLAY = 4

class SafetyStockScope(enum.IntEnum):
    POSITION = 1
    SKU = 2
    NODE = 3

class SupplyKind(enum.IntEnum):
    IN_TRANSIT = 1
    PURCHASE_ORDER = 2
    TRANSFER = 3

class ReturnDisposition(enum.IntEnum):
    SELLABLE = 1
    QUARANTINE = 2

class ReservationState(enum.IntEnum):
    HELD = 1
    COMMITTED = 2
    RELEASED = 3
    EXPIRED = 4
    SHIPPED = 5

class CommandResult(enum.IntEnum):
    OK = 1
    RESERVATION_NOT_FOUND = 2
    RESERVATION_EXPIRED = 3
    RESERVATION_RELEASED = 4
    RESERVATION_COMMITTED = 5
    INSUFFICIENT_STOCK = 6
    RESERVATION_NOT_COMMITTED = 7
    RESERVATION_SHIPPED = 8
    INVALID_LINES = 9
    MALFORMED = 10

class OnHandOp(enum.IntEnum):
    SET = 1
    ADJUST = 2

class NodeStatus(enum.IntEnum):
    ENABLED = 1
    DRAIN = 2
    DISABLED = 3

ITEM_STATUS: dict[str, int]
COMMAND_KIND: dict[str, int]
UNAVAILABLE_REASON: dict[str, int]
SAFETY_STOCK_SCOPE: dict[str, int]
SUPPLY_KIND: dict[str, int]
RETURN_DISPOSITION: dict[str, int]
RESERVATION_STATE: dict[str, int]
COMMAND_RESULT: dict[str, int]
ON_HAND_OP: dict[str, int]
NODE_STATUS: dict[str, int]
SAFETY_STOCK_CLEAR: int
SUPPLY_ALL_KINDS: int
EARLIEST: dict[str, int]
RESERVATIONS_INITIAL: int
BUCKETS: tuple[str, ...]
SUPPLY_RECORD_DTYPE: np.dtype[np.void]
SUPPLY_TABLES: tuple[str, ...]
GROWN_TABLES: tuple[tuple[str, int, bool], ...]

def indices_of(index: dict[_Key, int], ids: Collection[_Key], unknown: int = -1) -> npt.NDArray[np.int32]: ...
def int64_column(values: Collection[int]) -> npt.NDArray[np.int64]: ...

@disjoint_base
class Command:
    def __init__(
        self,
        kind: int,
        log_time_ns: int,
        sku: npt.ArrayLike = (),
        node: npt.ArrayLike = (),
        quantity: npt.ArrayLike = (),
        op: npt.ArrayLike | None = None,
        all_or_nothing: bool = False,
        reservation: int = -1,
        deadline_ns: int = 0,
        line: npt.ArrayLike | None = None,
        time_ns: npt.ArrayLike | None = None,
        ref: npt.ArrayLike | None = None,
        floor: npt.ArrayLike | None = None,
    ) -> None: ...
    def __len__(self) -> int: ...
    @property
    def kind(self) -> int: ...
    @property
    def log_time_ns(self) -> int: ...
    @property
    def all_or_nothing(self) -> bool: ...
    @property
    def sku(self) -> npt.NDArray[np.int32]: ...
    @property
    def node(self) -> npt.NDArray[np.int32]: ...
    @property
    def quantity(self) -> npt.NDArray[np.int64]: ...
    @property
    def op(self) -> npt.NDArray[np.int8]: ...
    @property
    def line(self) -> npt.NDArray[np.int32]: ...
    @property
    def time_ns(self) -> npt.NDArray[np.int64]: ...
    @property
    def ref(self) -> npt.NDArray[np.int64]: ...
    @property
    def floor(self) -> npt.NDArray[np.int64]: ...
    @property
    def status(self) -> npt.NDArray[np.int8]: ...
    @property
    def on_hand_after(self) -> npt.NDArray[np.int64]: ...
    @property
    def available_after(self) -> npt.NDArray[np.int64]: ...
    @property
    def applied_count(self) -> int: ...
    @property
    def log_position(self) -> int: ...
    @property
    def reservation(self) -> int: ...
    @property
    def deadline_ns(self) -> int: ...
    @property
    def result(self) -> int: ...
    @property
    def filled(self) -> npt.NDArray[np.int64]: ...

@final
class Core:
    def __init__(
        self, node_count: int, sku_count: int, node_status: npt.ArrayLike | None = None, _positions: bool = True
    ) -> None: ...
    @property
    def node_count(self) -> int: ...
    @property
    def sku_count(self) -> int: ...
    @property
    def sku_capacity(self) -> int: ...
    @property
    def log_time_ns(self) -> int: ...
    @property
    def log_position(self) -> int: ...
    @property
    def reason_count(self) -> int: ...
    @property
    def reservation_count(self) -> int: ...
    @property
    def supply_count(self) -> int: ...
    def apply(self, command: Command, advance: bool = True) -> int: ...
    # reads
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
    def bucket_array(self, name: str) -> npt.NDArray[np.int64]: ...
    def take_changed_skus(self) -> npt.NDArray[np.int32]: ...
    # positions and nodes
    def net_on_hand(self, sku: int, node: int) -> int: ...
    def sellable_nodes(self) -> npt.NDArray[np.int32]: ...
    def node_status_of(self, node: int) -> int: ...
    # future supply and backorders
    def supply(self, supply: int) -> tuple[int, int, int, int, int, int] | None: ...
    def position_plan(
        self, sku: int, node: int
    ) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, int]]]: ...
    def lay_out_supplies(self) -> None: ...
    def supply_layout(self) -> npt.NDArray[np.int64]: ...
    # reservations
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
    def reservation_state_counts(self) -> npt.NDArray[np.int64]: ...
    # growth, snapshots, checks
    def add_skus(self, count: int) -> int: ...
    def prepare_rows(self, count: int) -> object | None: ...
    def install_rows(self, prepared: object) -> list[object] | None: ...
    def export_state(self) -> dict[str, _StateArray]: ...
    @staticmethod
    def from_state(state: Mapping[str, _StateArray], adopt: bool = False) -> Core: ...
    def digest(self) -> str: ...
    def check_invariants(self) -> bool: ...
