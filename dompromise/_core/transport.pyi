"""Type stubs for the compiled EDT tables (dompromise/_core/transport.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

EDT_STATUS: dict[str, int]
EDT_FLAG: dict[str, int]
NEVER: int

class TransportTables:
    ready_start_ns: int
    ready_end_ns: int
    horizon_ns: int
    lane_count: int
    interval_set_count: int
    departure_count: int
    interval_count: int
    def __init__(
        self,
        ready_start_ns: int,
        ready_end_ns: int,
        horizon_ns: int,
        *,
        open_ns: Any,
        close_ns: Any,
        set_start: Any,
        lane_work_set: Any,
        lane_accept_set: Any,
        lane_receive_set: Any,
        lane_processing_ns: Any,
        lane_transit_ns: Any,
        lane_spread_ns: Any,
        departure_start: Any,
        departure_ns: Any,
        cutoff_ns: Any,
        arrival_ns: Any,
    ) -> None: ...
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
