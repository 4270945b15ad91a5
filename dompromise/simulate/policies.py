"""How each policy turns an order into shipments: our promise engine, and the baselines it is measured against.

A plan is what the policy would reserve: per shipment, its node, lane (None for
click-and-collect), the lines (sku, node to hold at, quantity, backorder date
ns or 0), its planned departure and its promised window. Every policy plans on
the same replica state it reserves from, so what differs is only the choice.

- `promise`: PromiseEngine with future supply (B2B may split into up to 3 shipments);
- `on_hand_only`: the same engine, stock on hand only;
- `greedy_nearest`: each line from the nearest enabled node whose stock on hand covers it;
- `first_with_stock`: each line from the first node (network order) whose stock on hand covers it.
The two greedy baselines serve click-and-collect from the store's own shelf only, and
take each line's earliest delivering lane from the node they chose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dompromise.inventory.engine import AvailabilityAnswer, Engine
from dompromise.model.network import NodeStatus
from dompromise.model.transport import Centroid
from dompromise.promise.edt import Edt, EdtCalculator
from dompromise.promise.engine import PromiseEngine
from dompromise.promise.types import FillPolicy, Method, PromiseRequest, Sourcing
from dompromise.simulate.options import POLICIES

B2B_SHIPMENTS_MAX = 3


@dataclass(frozen=True)
class PlannedShipment:
    node_id: str
    lane_index: int  # the EdtCalculator's lane (click-and-collect has one too)
    lines: tuple[tuple[str, str, int, int], ...]  # (sku_id, hold node_id, quantity, backorder_by_ns)
    departure_ns: int  # when it leaves (pickup: when it is ready to collect)
    earliest_ns: int
    latest_ns: int


@dataclass(frozen=True)
class Plan:
    shipments: tuple[PlannedShipment, ...]
    units: int  # planned units (fill)


class Planner:
    """Plans orders for one policy over one engine."""

    def __init__(self, policy: str, engine: Engine, edt: EdtCalculator) -> None:
        assert policy in POLICIES, policy
        self.policy = policy
        self._engine = engine
        self._edt = edt
        self._promise = PromiseEngine(engine, edt)
        self._node_ids = [node.node_id for node in engine.network.nodes]
        transport = engine.network.transport
        assert transport is not None, "a network without transport has nothing to promise"
        self._ship_lanes: dict[tuple[str, str], list[int]] = {}
        for core_lane in edt.lanes:
            lane = core_lane.lane
            if lane is not None and lane.to_zone_id is not None and not lane.tiers:
                self._ship_lanes.setdefault((core_lane.node_id, lane.to_zone_id), []).append(core_lane.index)
        centroids = {zone.zone_id: zone.location for zone in transport.zones}
        # Per zone, the nodes nearest first (no location: last).
        self._nearest: dict[str, list[str]] = {}
        for zone_id, centroid in centroids.items():
            self._nearest[zone_id] = sorted(self._node_ids, key=lambda node_id: _distance_km(engine, node_id, centroid))

    def zone_for(self, postal_code: str) -> str | None:
        return self._edt.zone_for_postal_code(postal_code)

    def plan(
        self, sku_ids: tuple[str, ...], quantities: tuple[int, ...], zone_id: str | None, pickup: str, now_ns: int
    ) -> Plan | None:
        if self.policy in ("promise", "on_hand_only"):
            return self._engine_plan(sku_ids, quantities, zone_id, pickup, now_ns)
        return self._greedy_plan(sku_ids, quantities, zone_id, pickup, now_ns)

    def _engine_plan(
        self, sku_ids: tuple[str, ...], quantities: tuple[int, ...], zone_id: str | None, pickup: str, now_ns: int
    ) -> Plan | None:
        request = PromiseRequest(
            sku_ids=sku_ids,
            quantities=quantities,
            as_of_ns=now_ns,
            zone_id=None if pickup else zone_id,
            pickup_node_id=pickup or None,
            # A shipped order may come from a supplier's drop-ship lane too, as the greedy baselines' may.
            methods=frozenset({Method.PICKUP} if pickup else {Method.SHIP, Method.DROP_SHIP}),
            fill_policy=FillPolicy.PARTIAL,
            min_fill_percent=1,
            max_shipments=B2B_SHIPMENTS_MAX if len(sku_ids) > 1 else 1,
            sourcing=Sourcing.ORDER_LEVEL,
            allow_future_supply=self.policy == "promise",
            max_options=1,
        )
        answer = self._promise.promise(request)
        if not answer.options:
            return None
        option = answer.options[0]
        shipments = []
        for shipment in option.shipments:
            lane_index = self._lane_of(shipment.node_id, shipment.service, shipment.via_node_id, zone_id, pickup)
            lines = tuple(
                (
                    line.sku_id,
                    line.source_node_id or shipment.node_id,
                    line.quantity,
                    _backorder_ns(line.source_ready_ns if line.source_node_id else line.ready_ns, now_ns),
                )
                for line in shipment.lines
            )
            departure_ns = shipment.departure_ns if shipment.departure_ns is not None else shipment.earliest_ns
            shipments.append(
                PlannedShipment(
                    shipment.node_id, lane_index, lines, departure_ns, shipment.earliest_ns, shipment.latest_ns
                )
            )
        return Plan(tuple(shipments), sum(line[2] for s in shipments for line in s.lines))

    def _lane_of(self, node_id: str, service: str, via_node_id: str, zone_id: str | None, pickup: str) -> int:
        """The shipment's lane, or -1 when it travels by transfer (a hub, or a store
        collecting another node's goods): such a shipment is followed by its promised times."""
        if via_node_id or (pickup and node_id != pickup) or (not pickup and zone_id is None):
            return -1
        if pickup:
            return self._edt.collect_lane_index(node_id)
        return self._edt.lane_index(node_id, service, zone_id=zone_id)

    def _greedy_plan(
        self, sku_ids: tuple[str, ...], quantities: tuple[int, ...], zone_id: str | None, pickup: str, now_ns: int
    ) -> Plan | None:
        if pickup:
            candidates = [pickup]
        elif self.policy == "greedy_nearest" and zone_id is not None:
            candidates = self._nearest.get(zone_id, self._node_ids)
        else:
            candidates = self._node_ids
        statuses = self._engine.node_statuses()
        candidates = [n for n in candidates if statuses[n] == NodeStatus.ENABLED]
        if not candidates:
            return None
        answer = self._engine.availability(list(sku_ids), self._engine.node_indices(candidates))
        by_node: dict[str, list[tuple[str, str, int, int]]] = {}
        for row, (sku_id, quantity) in enumerate(zip(sku_ids, quantities)):
            available = _cells(answer, row, len(candidates))
            for column, node_id in enumerate(candidates):
                if available[column] >= quantity and (pickup or self._ship_lanes.get((node_id, zone_id or ""))):
                    by_node.setdefault(node_id, []).append((sku_id, node_id, quantity, 0))
                    break
        shipments = []
        for node_id, lines in by_node.items():
            edt = self._best_edt(node_id, zone_id, pickup, now_ns)
            if edt is None or edt.earliest_ns is None or edt.latest_ns is None:
                continue
            departure_ns = edt.departure_ns if edt.departure_ns is not None else edt.earliest_ns
            shipments.append(
                PlannedShipment(node_id, edt.lane_index, tuple(lines), departure_ns, edt.earliest_ns, edt.latest_ns)
            )
        if not shipments:
            return None
        return Plan(tuple(shipments), sum(line[2] for s in shipments for line in s.lines))

    def _best_edt(self, node_id: str, zone_id: str | None, pickup: str, now_ns: int) -> Edt | None:
        if pickup:
            edt = self._edt.collect_edt(node_id, as_of_ns=now_ns)
            return edt if edt.ok else None
        best: Edt | None = None
        for lane_index in self._ship_lanes.get((node_id, zone_id or ""), ()):
            edt = self._edt.edt_lane(lane_index, as_of_ns=now_ns)
            if edt.ok and edt.earliest_ns is not None and (best is None or edt.earliest_ns < (best.earliest_ns or 0)):
                best = edt
        return best

    def arrival_ns(self, shipment: PlannedShipment, shipped_ns: int) -> int:
        """When a shipment that left (or was ready) at `shipped_ns` arrives, by its lane's schedule."""
        if shipped_ns <= shipment.departure_ns or shipment.lane_index < 0:
            return shipment.earliest_ns + max(0, shipped_ns - shipment.departure_ns)
        edt = self._edt.edt_lane(shipment.lane_index, as_of_ns=shipped_ns)
        if edt.earliest_ns is None:
            return shipment.earliest_ns + (shipped_ns - shipment.departure_ns)
        return max(edt.earliest_ns, shipment.earliest_ns)


def _backorder_ns(ready_ns: int, now_ns: int) -> int:
    return ready_ns if ready_ns > now_ns else 0


def _cells(answer: AvailabilityAnswer, row: int, columns: int) -> list[int]:
    """Available units of the answer's SKU `row` at each selected node (cells are row-major)."""
    return [int(value) for value in answer.cells[row * columns : (row + 1) * columns]]


def _distance_km(engine: Engine, node_id: str, centroid: Centroid | None) -> float:
    node = engine.node(node_id)
    if node is None or node.location is None or centroid is None:
        return math.inf
    lat1, lon1 = math.radians(node.location.latitude_degrees), math.radians(node.location.longitude_degrees)
    lat2, lon2 = math.radians(centroid.latitude_degrees), math.radians(centroid.longitude_degrees)
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371 * math.asin(math.sqrt(a))
