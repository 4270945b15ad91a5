"""The EDT calculator: when goods ready at a node arrive at a zone or node.

`EdtCalculator(network)` answers "if node N ships these goods, ready at T,
by carrier service S, when are they delivered in zone Z?" with an earliest
and a latest delivery instant (UTC ns) and their local dates. It never reads
a clock: the as-of time is an argument.

How: edt_tables.py expands the network's calendars, cut-offs and timetables
into sorted int64 UTC-ns arrays for a window of TRANSPORT_WINDOW_DAYS
(resolving time zones, DST and holidays with zoneinfo, there and only there),
and `_core/transport.pyx` answers each EDT with a few binary searches. When
a ready time falls outside the window the tables are rebuilt around it; the
answers never depend on where the window starts (see `TableLayout.build`).

One EDT, step by step (docs/config.md, "Transport", says the same for
operators):

1. ready = max(as_of, supply ETA).
2. accepted = the first instant >= ready in the node's working time on a
   day before the service's cut-off (an order after the cut-off, or on a
   non-working day, is taken when the node next opens).
3. dock = accepted + processing_minutes of the node's working time.
4. departure = the lane's first departure at or after dock whose own
   cut-off is not before `accepted` (timetable or daily pickup), or dock
   itself for an on-demand lane. A later departure that arrives sooner wins.
5. arrival = the timetable's arrival, or departure + transit (hours, or
   working days of the destination calendar at the lane's arrival time).
6. earliest = the first instant >= arrival in the destination's receiving
   calendar; latest = the same for arrival + transit_spread_hours.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from dompromise._core.transport import EDT_FLAG, EDT_STATUS, NEVER, TransportTables
from dompromise.model.network import Network
from dompromise.model.transport import ZoneIndex
from dompromise.promise.edt_tables import CoreLane, TableLayout, local_datetime, window_base_date


class EdtStatus(enum.IntEnum):
    """Outcome of one EDT (numbers equal the core's EdtStatus)."""

    OK = EDT_STATUS["OK"]
    # Nothing is delivered within TRANSPORT_HORIZON_DAYS of the ready time.
    NO_DELIVERY = EDT_STATUS["NO_DELIVERY"]


_STATUSES = {int(status): status for status in EdtStatus}
_OUT_OF_WINDOW = EDT_STATUS["OUT_OF_WINDOW"]
_STATUS_OK = int(EdtStatus.OK)
_FLAG_ORDER_CUTOFF = EDT_FLAG["ORDER_CUTOFF_MISSED"]
_FLAG_DEPARTURE_CUTOFF = EDT_FLAG["DEPARTURE_CUTOFF_MISSED"]


class Edt(NamedTuple):
    """One delivery estimate. Instants are UTC ns; None when not delivered.

    `legs` holds the transfer and onward answers of `EdtCalculator.edt_via`.
    A NamedTuple rather than a frozen dataclass: built on every promise, and
    five times cheaper to build.
    """

    status: EdtStatus
    lane_index: int
    ready_ns: int
    accepted_ns: int | None
    departure_ns: int | None
    earliest_ns: int | None
    latest_ns: int | None
    timezone: str  # the destination's
    order_cutoff_missed: bool
    departure_cutoff_missed: bool
    cost_minor: int
    legs: tuple[Edt, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == EdtStatus.OK

    @property
    def earliest_local_date(self) -> dt.date | None:
        """The earliest delivery's date where it is delivered."""
        return None if self.earliest_ns is None else local_datetime(self.earliest_ns, self.timezone).date()

    @property
    def latest_local_date(self) -> dt.date | None:
        return None if self.latest_ns is None else local_datetime(self.latest_ns, self.timezone).date()


@dataclass(frozen=True)
class EdtBatch:
    """Answers of `EdtCalculator.edt_many`, one entry per item (NEVER when not delivered)."""

    status: npt.NDArray[np.int8]  # EdtStatus
    flags: npt.NDArray[np.int8]  # bits: 1 order cut-off missed, 2 departure cut-off missed
    departure_ns: npt.NDArray[np.int64]
    earliest_ns: npt.NDArray[np.int64]
    latest_ns: npt.NDArray[np.int64]


def _known(at_ns: int) -> int | None:
    return None if at_ns == NEVER else at_ns


class EdtCalculator:
    """EDTs over one network's transport section; deterministic, never reads a clock.

    Not thread-safe for concurrent rebuilds, but a rebuild only swaps in a
    new immutable table, so concurrent readers see old or new, both right.
    """

    # Tables kept for distinct windows, so alternating past and present
    # queries do not rebuild every time.
    TABLES_KEPT = 3

    def __init__(self, network: Network):
        self._layout = TableLayout(network)
        self._zone_index = ZoneIndex(self._layout.transport.zones)
        self._tables: dict[dt.date, TransportTables] = {}
        self._last: TransportTables | None = None  # the one used last: most queries are "now"

    # ---- lookups ----------------------------------------------------------

    @property
    def lanes(self) -> tuple[CoreLane, ...]:
        """Every core lane, index order: the configured lanes, then click-and-collect."""
        return tuple(self._layout.lanes)

    def lane_index(
        self, node_id: str, service: str, *, zone_id: str | None = None, to_node_id: str | None = None
    ) -> int:
        """The core lane of (node, service, destination); KeyError if there is none."""
        if (zone_id is None) == (to_node_id is None):
            raise ValueError("give exactly one of zone_id and to_node_id")
        if zone_id is not None:
            return self._layout.lane_by_key[(node_id, "zone", zone_id, service)]
        assert to_node_id is not None, "checked above: exactly one is given"
        return self._layout.lane_by_key[(node_id, "node", to_node_id, service)]

    def collect_lane_index(self, node_id: str) -> int:
        """The click-and-collect lane of a node; KeyError if it offers none."""
        return self._layout.collect_lane_by_node[node_id]

    def lanes_from(self, node_id: str) -> list[CoreLane]:
        return [core_lane for core_lane in self._layout.lanes if core_lane.node_id == node_id]

    def zone_for_postal_code(self, postal_code: str, country_code: str = "") -> str | None:
        return self._zone_index.zone_for_postal_code(postal_code, country_code)

    def zone_for_region(self, region: str, country_code: str = "") -> str | None:
        return self._zone_index.zone_for_region(region, country_code)

    # ---- EDT --------------------------------------------------------------

    def edt(
        self,
        node_id: str,
        service: str,
        *,
        as_of_ns: int,
        zone_id: str | None = None,
        to_node_id: str | None = None,
        supply_eta_ns: int | None = None,
    ) -> Edt:
        """EDT of goods at `node_id` shipped by `service` to a zone or a node."""
        lane = self.lane_index(node_id, service, zone_id=zone_id, to_node_id=to_node_id)
        return self.edt_lane(lane, as_of_ns=as_of_ns, supply_eta_ns=supply_eta_ns)

    def collect_edt(self, node_id: str, *, as_of_ns: int, supply_eta_ns: int | None = None) -> Edt:
        """When goods at `node_id` (or arriving there at supply_eta_ns) can be collected there."""
        return self.edt_lane(self.collect_lane_index(node_id), as_of_ns=as_of_ns, supply_eta_ns=supply_eta_ns)

    def edt_lane(self, lane_index: int, *, as_of_ns: int, supply_eta_ns: int | None = None) -> Edt:
        ready_ns = as_of_ns if supply_eta_ns is None else max(as_of_ns, supply_eta_ns)
        status, flags, accepted_ns, _, departure_ns, _, earliest_ns, latest_ns = self.tables_for(ready_ns).edt(
            lane_index, ready_ns
        )
        assert status != _OUT_OF_WINDOW, "tables_for covers the ready time"
        core_lane = self._layout.lanes[lane_index]
        delivered = status == EdtStatus.OK
        return Edt(
            _STATUSES[status],
            lane_index,
            ready_ns,
            _known(accepted_ns),
            _known(departure_ns),
            earliest_ns if delivered else None,
            latest_ns if delivered else None,
            core_lane.timezone,
            bool(flags & _FLAG_ORDER_CUTOFF),
            bool(flags & _FLAG_DEPARTURE_CUTOFF),
            core_lane.cost_minor,
        )

    def window(self, lane_index: int, ready_ns: int) -> tuple[int, int, int | None, int] | None:
        """(earliest, latest, departure or None, cost) of goods ready at `ready_ns` (at least as_of: the
        caller's max) on a lane; None when it does not deliver. edt_lane's numbers without its Edt (the
        multi-node planner asks for a few per promise and reads nothing else)."""
        status, _, _, _, departure_ns, _, earliest_ns, latest_ns = self.tables_for(ready_ns).edt(lane_index, ready_ns)
        assert status != _OUT_OF_WINDOW, "tables_for covers the ready time"
        if status != _STATUS_OK:
            return None
        return earliest_ns, latest_ns, _known(departure_ns), self._layout.lanes[lane_index].cost_minor

    def edt_via(
        self,
        node_id: str,
        transfer_service: str,
        hub_node_id: str,
        service: str,
        *,
        as_of_ns: int,
        zone_id: str | None = None,
        to_node_id: str | None = None,
        supply_eta_ns: int | None = None,
    ) -> Edt:
        """A transfer lane to `hub_node_id`, then onward by `service`: the hub's
        cut-off, processing and departures apply to the goods once they arrive.

        Earliest follows the transfer's earliest arrival; latest follows its latest.
        """
        transfer = self.edt(
            node_id, transfer_service, to_node_id=hub_node_id, as_of_ns=as_of_ns, supply_eta_ns=supply_eta_ns
        )
        if not transfer.ok:
            return _with_legs(transfer, (transfer,))
        onward_lane = self.lane_index(hub_node_id, service, zone_id=zone_id, to_node_id=to_node_id)
        onward = self.edt_lane(onward_lane, as_of_ns=as_of_ns, supply_eta_ns=transfer.earliest_ns)
        onward_late = self.edt_lane(onward_lane, as_of_ns=as_of_ns, supply_eta_ns=transfer.latest_ns)
        if not (onward.ok and onward_late.ok):
            return _with_legs(onward if not onward.ok else onward_late, (transfer, onward))
        return Edt(
            status=EdtStatus.OK,
            lane_index=onward_lane,
            ready_ns=transfer.ready_ns,
            accepted_ns=transfer.accepted_ns,
            departure_ns=transfer.departure_ns,
            earliest_ns=onward.earliest_ns,
            latest_ns=onward_late.latest_ns,
            timezone=onward.timezone,
            order_cutoff_missed=transfer.order_cutoff_missed or onward.order_cutoff_missed,
            departure_cutoff_missed=transfer.departure_cutoff_missed or onward.departure_cutoff_missed,
            cost_minor=transfer.cost_minor + onward.cost_minor,
            legs=(transfer, onward),
        )

    def edt_many(self, lanes: npt.ArrayLike, as_of_ns: int, supply_eta_ns: npt.ArrayLike | None = None) -> EdtBatch:
        """EDTs of many (lane, supply ETA) items at one as-of time, in one core call per window."""
        lanes = np.ascontiguousarray(lanes, dtype=np.int32)
        ready_ns = np.full(len(lanes), as_of_ns, dtype=np.int64)
        if supply_eta_ns is not None:
            ready_ns = np.maximum(ready_ns, np.asarray(supply_eta_ns, dtype=np.int64))
        batch = EdtBatch(
            status=np.empty(len(lanes), dtype=np.int8),
            flags=np.empty(len(lanes), dtype=np.int8),
            departure_ns=np.empty(len(lanes), dtype=np.int64),
            earliest_ns=np.empty(len(lanes), dtype=np.int64),
            latest_ns=np.empty(len(lanes), dtype=np.int64),
        )
        pending = np.arange(len(lanes))
        while len(pending):
            # Items whose ready time is past this window get their own (rare: far-off ETAs).
            tables = self.tables_for(int(ready_ns[pending[0]]))
            in_window = (ready_ns[pending] >= tables.ready_start_ns) & (ready_ns[pending] < tables.ready_end_ns)
            chosen = pending[in_window]
            columns: tuple[npt.NDArray[np.int8] | npt.NDArray[np.int64], ...] = (
                batch.status,
                batch.flags,
                batch.departure_ns,
                batch.earliest_ns,
                batch.latest_ns,
            )
            outputs = [np.empty(len(chosen), dtype=array.dtype) for array in columns]
            tables.edt_many(np.ascontiguousarray(lanes[chosen]), np.ascontiguousarray(ready_ns[chosen]), *outputs)
            for target, output in zip(columns, outputs):
                target[chosen] = output
            pending = pending[~in_window]
        return batch

    # ---- tables -----------------------------------------------------------

    def tables_for(self, ready_ns: int) -> TransportTables:
        """Tables whose window holds `ready_ns`, built on first need."""
        last = self._last
        if last is not None and last.ready_start_ns <= ready_ns < last.ready_end_ns:
            return last
        for tables in self._tables.values():
            if tables.ready_start_ns <= ready_ns < tables.ready_end_ns:
                self._last = tables
                return tables
        base_date = window_base_date(ready_ns)
        tables = self._layout.build(base_date)
        if len(self._tables) >= self.TABLES_KEPT:
            self._tables.pop(next(iter(self._tables)))
        self._tables[base_date] = tables
        self._last = tables
        return tables


def _with_legs(edt: Edt, legs: tuple[Edt, ...]) -> Edt:
    return edt._replace(legs=legs)
