"""Type stubs for the compiled EDT tables (dompromise/_core/transport.pyx)."""

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

EDT_STATUS: dict[str, int]
EDT_FLAG: dict[str, int]
NEVER: int

@disjoint_base
class TransportTables:
    def __init__(
        self,
        ready_start_ns: int,
        ready_end_ns: int,
        horizon_ns: int,
        *,
        open_ns: npt.ArrayLike,
        close_ns: npt.ArrayLike,
        set_start: npt.ArrayLike,
        lane_work_set: npt.ArrayLike,
        lane_accept_set: npt.ArrayLike,
        lane_receive_set: npt.ArrayLike,
        lane_processing_ns: npt.ArrayLike,
        lane_transit_ns: npt.ArrayLike,
        lane_spread_ns: npt.ArrayLike,
        departure_start: npt.ArrayLike,
        departure_ns: npt.ArrayLike,
        cutoff_ns: npt.ArrayLike,
        arrival_ns: npt.ArrayLike,
    ) -> None: ...
    @property
    def ready_start_ns(self) -> int: ...
    @property
    def ready_end_ns(self) -> int: ...
    @property
    def horizon_ns(self) -> int: ...
    @property
    def lane_count(self) -> int: ...
    @property
    def interval_set_count(self) -> int: ...
    @property
    def departure_count(self) -> int: ...
    @property
    def interval_count(self) -> int: ...
    def edt(self, lane: int, ready_ns: int) -> tuple[int, int, int, int, int, int, int, int]: ...
    def edt_many(
        self,
        lanes: npt.NDArray[np.int32],
        ready_ns: npt.NDArray[np.int64],
        status: npt.NDArray[np.int8],
        flags: npt.NDArray[np.int8],
        departure_ns: npt.NDArray[np.int64],
        earliest_ns: npt.NDArray[np.int64],
        latest_ns: npt.NDArray[np.int64],
    ) -> None: ...
    def next_departures(self, lane: int, at_ns: npt.NDArray[np.int64], out_index: npt.NDArray[np.int32]) -> None: ...
    def departures(self, lane: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
