"""The promise engine: delivery options for an order, with sourcing plans and EDTs.

Given order lines, a destination (a delivery zone, or a store to collect
from) and an as-of time, it finds, for every sellable node, what the node can
supply (now, or from future supply by its ETA), which routes reach the
destination (a direct lane per carrier service, a transfer lane to a hub and
onward, click-and-collect), and when each would deliver (dompromise.promise.edt).
From these it builds options: single-node shipments, split plans under a
shipment cap, partial fills when the order allows them; ranks them by a
weighted score; and explains why every other node lost.

A read: it never changes state, so it runs on any replica. The plan of each
option can be reserved exactly (see promise_token.py and the reservation
service).

The single-node part, which is nearly every answer, runs in the compiled
kernel (dompromise/_core/promise.pyx): from the gathered (line x node)
matrix it works out what each node fills and when, classifies the nodes,
evaluates every allowed route with the EDT tables, keeps each node's fastest
and cheapest route, scores and ranks them; Python builds dataclasses only for
the options it returns and the candidates' reasons. Consolidation, line-level
sourcing and splits stay in Python over the same matrix.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dompromise import limits
from dompromise._core.promise import (
    COLUMN_CODE,
    COLUMN_OUTCOME,
    INFO_FIELD,
    ROW_FIELD,
    SCAN_STATUS,
    PromiseKernel,
    RouteTable,
    short_texts,
)
from dompromise._core.transport import NEVER
from dompromise.inventory.capacity import CAPACITY_LOOKAHEAD_DAYS
from dompromise.inventory.engine import EARLIEST_NEVER, EARLIEST_NOW, SUPPLY_ALL_KINDS, Engine
from dompromise.model.attributes import Attributes
from dompromise.model.network import NodeType
from dompromise.model.views import DEFAULT_RANKING, RankingWeights
from dompromise.promise.edt import EdtCalculator, EdtStatus
from dompromise.promise.ranking import Destination, node_penalties, weights_for

NS_PER_HOUR = 3_600 * 10**9


class Method(enum.IntEnum):
    """How goods reach the customer (proto: dompromise.v1.DeliveryMethod)."""

    SHIP = 1
    PICKUP = 2
    DROP_SHIP = 3


class FillPolicy(enum.IntEnum):
    """How much of the order an option must carry (proto: dompromise.v1.FillPolicy)."""

    FILL_OR_KILL = 1  # every unit of every line, in up to max_shipments shipments
    SHIP_COMPLETE = 2  # every unit, in one shipment (one node, or consolidated at a hub)
    PARTIAL = 3  # at least min_fill_percent of the units


class Sourcing(enum.IntEnum):
    """How lines are spread over nodes (proto: dompromise.v1.SourcingMode)."""

    ORDER_LEVEL = 1  # one node for the whole order when one can; split only when none can
    LINE_LEVEL = 2  # each line from its own best node


class Reason(enum.IntEnum):
    """Why a candidate node is not (or is) in the answer (proto: dompromise.v1.CandidateReason)."""

    USED = 1
    NODE_NOT_SELLABLE = 2
    SHORT = 3
    NO_LANE = 4
    NO_DELIVERY = 5
    OUTRANKED = 6
    TOO_LATE = 7
    CAPACITY = 8


# Ranking weights (lower score is better): the network's `ranking:` config, or a
# view's; see views.RankingWeights for the score and ranking.py for its node terms.
Weights = RankingWeights
DEFAULT_WEIGHTS = DEFAULT_RANKING
# Engines kept per distinct weights (one per view with its own ranking, usually a handful).
WEIGHTED_ENGINES_MAX = 64


@dataclass(frozen=True)
class PromiseRequest:
    sku_ids: tuple[str, ...]
    quantities: tuple[int, ...]
    as_of_ns: int
    zone_id: str | None = None  # ship / drop-ship destination
    pickup_node_id: str | None = None  # click-and-collect store
    methods: frozenset[Method] = frozenset(Method)
    fill_policy: FillPolicy = FillPolicy.FILL_OR_KILL
    min_fill_percent: int = 100
    max_shipments: int = 1
    sourcing: Sourcing = Sourcing.ORDER_LEVEL
    allow_future_supply: bool = True
    deliver_after_ns: int = 0  # requested window; 0 = none
    deliver_before_ns: int = 0
    max_options: int = 5
    customer_tier: str = ""  # exclusive lanes (Lane.tiers) are offered to their tiers only
    channel_view_id: str = ""  # promise through this channel view ("": none)
    customer_segment: str = ""  # the requester's segment within the view (its protected stock)
    # (sku_id, attribute values) for SKUs whose lines require attribute values: planned
    # from matching variants' stock on hand only (future supply carries no attributes).
    required_attributes: tuple[tuple[str, Attributes], ...] = ()
    split_lines: bool = False  # a split may take a line's units from several nodes


@dataclass(frozen=True)
class PlannedLine:
    sku_id: str
    quantity: int
    ready_ns: int  # when the units are at the shipping node (as_of for its stock on hand)
    source_node_id: str = ""  # where the units are reserved, when not the shipping node (consolidation)
    source_ready_ns: int = 0  # when they are at the source node (as_of, or a supply ETA)


@dataclass(frozen=True)
class Shipment:
    node_id: str
    method: Method
    service: str  # carrier service; "collect" for click-and-collect
    lines: tuple[PlannedLine, ...]
    earliest_ns: int
    latest_ns: int
    departure_ns: int | None
    cost_minor: int
    via_node_id: str = ""  # the hub of a transfer + onward route


@dataclass(frozen=True)
class Option:
    method: Method
    shipments: tuple[Shipment, ...]
    fill_percent: float
    earliest_ns: int  # the whole order: the latest shipment's window
    latest_ns: int
    cost_minor: int
    score: float
    short_lines: tuple[tuple[str, int], ...] = ()  # (sku_id, units not planned)


@dataclass(frozen=True)
class Candidate:
    node_id: str
    reason: Reason
    detail: str


@dataclass(frozen=True)
class PromiseAnswer:
    options: tuple[Option, ...]
    candidates: tuple[Candidate, ...]
    log_position: int
    sku_ids: tuple[str, ...]  # the order's SKUs after summing duplicates
    quantities: tuple[int, ...]


@dataclass
class _Route:
    """One way from a node to the destination: a lane, or a transfer lane plus onward."""

    method: Method
    service: str
    lane: int
    via_node_id: str = ""
    onward_lane: int = -1
    tiers: frozenset[str] = frozenset()  # empty: every customer; else only these tiers


@dataclass
class _NodePlan:
    """What one node can do for the order: per line, units and their ready time."""

    index: int
    node_id: str
    node_type: NodeType
    filled: np.ndarray  # int64[lines]
    ready_ns: np.ndarray  # int64[lines]
    routes: list[_Route] = field(default_factory=list)
    full: bool = False  # fills every line
    any_filled: bool = False  # fills some of some line


class _Destination:
    """Routes from every node of the network to one destination (a zone, or a store to
    collect from): the kernel's table, the same routes as objects, and which of them
    each (methods, customer tier) may use."""

    ALLOWED_KEPT = 64  # (methods, tier) masks kept per destination; tiers are open-ended strings

    def __init__(self, routes_by_node: list[list[_Route]], node_index: dict[str, int], lane_count: int):
        self.routes: list[_Route] = [route for routes in routes_by_node for route in routes]
        starts = np.zeros(len(routes_by_node) + 1, dtype=np.int32)
        starts[1:] = np.cumsum([len(routes) for routes in routes_by_node])
        services: dict[str, int] = {}
        self.table = RouteTable(
            starts,
            [r.lane for r in self.routes],
            [r.onward_lane for r in self.routes],
            [int(r.method) for r in self.routes],
            [services.setdefault(r.service, len(services)) for r in self.routes],
            [node_index[r.via_node_id] if r.via_node_id else -1 for r in self.routes],
            lane_count,
        )
        self.starts = starts.tolist()
        self._allowed: dict[tuple[frozenset[Method], str], np.ndarray] = {}

    def allowed(self, methods: frozenset[Method], tier: str) -> np.ndarray:
        """uint8 per route: 1 if the request's methods and tier may use it."""
        key = (methods, tier)
        found = self._allowed.get(key)
        if found is None:
            if len(self._allowed) >= self.ALLOWED_KEPT:
                self._allowed.clear()
            found = self._allowed[key] = np.array(
                [route.method in methods and (not route.tiers or tier in route.tiers) for route in self.routes],
                dtype=np.uint8,
            )
        return found

    def node_routes(self, node: int, allowed: np.ndarray) -> list[_Route]:
        low, high = self.starts[node], self.starts[node + 1]
        return [self.routes[r] for r in range(low, high) if allowed[r]]


_CODE_FULL = COLUMN_CODE["FULL"]
_CODE_SHORT_NONE = COLUMN_CODE["SHORT_NONE"]
_CODE_NO_LANE = COLUMN_CODE["NO_LANE"]
_CODE_NO_DELIVERY = COLUMN_CODE["NO_DELIVERY"]
_CODE_PARTIAL = COLUMN_CODE["PARTIAL"]
_OUTCOME_USED = COLUMN_OUTCOME["USED"]
_OUTCOME_OUTRANKED = COLUMN_OUTCOME["OUTRANKED"]
_OUTCOME_TOO_LATE = COLUMN_OUTCOME["TOO_LATE"]
_INFO_CODE = INFO_FIELD["CODE"]
_INFO_OUTCOME = INFO_FIELD["OUTCOME"]
_INFO_FILLED_SUM = INFO_FIELD["FILLED_SUM"]
_INFO_READY_MAX = INFO_FIELD["READY_MAX"]
_NEEDS_TABLES = SCAN_STATUS["NEEDS_TABLES"]
assert [ROW_FIELD[name] for name in ("COLUMN", "ROUTE", "EARLIEST", "LATEST", "DEPARTURE", "COST")] == list(range(6))
_NO_DELIVERY_TEXT = f"no route delivers within {limits.TRANSPORT_HORIZON_DAYS} days of the goods being ready"
# A column whose node's daily capacity is used up every day it could ship on: set in
# Python after the scan (the kernel skips it), a number no kernel code or outcome has.
_CODE_CAPACITY = 64
assert _CODE_CAPACITY not in COLUMN_CODE.values() and _CODE_CAPACITY not in COLUMN_OUTCOME.values()
_CAPACITY_TEXT = (
    f"daily capacity used up on every working day within {CAPACITY_LOOKAHEAD_DAYS} days of the goods being ready"
)


class _Call:
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
    )

    def __init__(self, request, sku_ids, quantities, wanted, sellable, destination, allowed, scan):
        self.request = request
        self.sku_ids = sku_ids
        self.quantities = quantities
        self.wanted = wanted
        self.wanted_sum = sum(quantities)
        self.sellable = sellable
        self.destination = destination
        self.allowed = allowed
        self.scan = scan
        self.columns = sellable.tolist()  # column -> node index
        self.plan_columns: list[int] = []  # the column of each of _plans()


class PromiseEngine:
    """Delivery options over one engine and one transport network."""

    CANDIDATE_TABLES_KEPT = 256  # (reason, explanation) -> a Candidate per node, reused: they are immutable

    def __init__(self, engine: Engine, edt: EdtCalculator, weights: Weights | None = None):
        """weights: None ranks every promise by its channel view's weights, else the
        network's (ranking.weights_for); given, they rank every promise (tests, benchmarks)."""
        self._engine = engine
        self._edt = edt
        self._configured = weights is None
        self._weights = weights if weights is not None else engine.network.ranking
        self._weighted: dict[Weights, PromiseEngine] = {}
        nodes = engine.network.nodes
        self._node_types = {node.node_id: node.node_type for node in nodes}
        self._node_order = {node.node_id: i for i, node in enumerate(nodes)}
        self._node_ids = [node.node_id for node in nodes]
        self._routes_cache: dict[tuple[str, str, str], list[_Route]] = {}
        # Route tables by destination (zone, pickup store): the network of an engine never changes.
        self._destinations: dict[tuple[str, str], _Destination] = {}
        # Transfer lanes into each node: hub -> [(feeder node, lane index, cost)].
        self._inbound: dict[str, list[tuple[str, int, int]]] = {}
        for core_lane in edt.lanes:
            if core_lane.lane is not None and core_lane.lane.to_node_id is not None:
                self._inbound.setdefault(core_lane.lane.to_node_id, []).append(
                    (core_lane.node_id, core_lane.index, core_lane.cost_minor)
                )
        self._has_inbound = [node.node_id in self._inbound for node in nodes]
        self._kernel = PromiseKernel(
            [core_lane.cost_minor for core_lane in edt.lanes],
            self._weights.per_hour_to_delivery,
            self._weights.per_currency_unit,
            self._weights.per_extra_shipment,
            self._weights.per_missing_percent,
            self._weights.drop_ship,
            EARLIEST_NOW,
            EARLIEST_NEVER,
        )
        self._fixed_candidates: dict[tuple[Reason, str], list[Candidate]] = {}
        self._reasons_by_destination: dict[tuple[str | None, str | None], dict[int, list[Candidate]]] = {}
        # EDTs of this promise call by (lane, onward lane, ready time): the same
        # route and ready time recur across single, split and partial plans.
        # One promise at a time per engine (the service runs on one event loop).
        self._memo: dict[tuple[int, int, int], tuple | None] = {}
        self._penalty: np.ndarray | None = None
        # Columns of the nodes with a daily capacity, as (column, node), for the selection last seen.
        self._limited_for: np.ndarray | None = None
        self._limited: list[tuple[int, int]] = []

    # ---- the answer ---------------------------------------------------------

    def promise(self, request: PromiseRequest, node_penalty: np.ndarray | None = None) -> PromiseAnswer:
        """The answer to one order. node_penalty: float64 per network node, added to the
        score of every option once per shipment from that node (None: the weights' node
        terms, priority and distance, see ranking.py)."""
        if self._configured:
            weights = weights_for(self._engine.network, request.channel_view_id)
            if weights != self._weights:
                return self._with_weights(weights).promise(request, node_penalty)
        if node_penalty is None:
            node_penalty = self._node_terms(request)
        self._memo = {}
        self._penalty = _checked_penalty(node_penalty, len(self._node_ids))
        sku_ids, quantities = _summed(request.sku_ids, request.quantities)
        engine = self._engine
        channel = engine.channel(request.channel_view_id, request.customer_segment) if request.channel_view_id else None
        sellable = engine.node_selection()
        if channel is not None:
            sellable = sellable[channel.view.node_mask[sellable]]
        call = self._scan(request, sku_ids, quantities, sellable, channel)
        python_options = self._python_options(call)
        if python_options is None:
            kept, candidates = self._kernel_ranked(call)
        else:
            kept, candidates = self._python_ranked(call, python_options)
        if channel is not None:
            candidates = self._outside_view(candidates, channel)
        return PromiseAnswer(tuple(kept), tuple(candidates), engine.log_position, tuple(sku_ids), tuple(quantities))

    def _with_weights(self, weights: Weights) -> PromiseEngine:
        """The engine that ranks by `weights` (a view's own ranking), made once."""
        found = self._weighted.get(weights)
        if found is None:
            if len(self._weighted) >= WEIGHTED_ENGINES_MAX:
                self._weighted.clear()
            found = self._weighted[weights] = PromiseEngine(self._engine, self._edt, weights)
        return found

    def _node_terms(self, request: PromiseRequest) -> np.ndarray | None:
        """Per node: priority and distance to the destination, weighted (None when both
        weights are 0). The kernel adds the drop-ship term itself, once per option.
        Distance is to the zone when a request has a zone and a pickup store."""
        weights = self._weights
        if not (weights.per_priority_step or weights.per_100_km):
            return None
        destination = (
            Destination.zone(request.zone_id) if request.zone_id else Destination.pickup(request.pickup_node_id)
        )
        return node_penalties(weights, self._engine.network, destination, include_drop_ship=False)

    def _outside_view(self, candidates: list[Candidate], channel) -> list[Candidate]:
        """Nodes the view does not name are not sellable through it, whatever else they are."""
        outside = self._fixed(Reason.NODE_NOT_SELLABLE, f"not in channel view {channel.view.view_id!r}")
        in_view = channel.view.node_mask
        return [candidate if in_view[node] else outside[node] for node, candidate in enumerate(candidates)]

    # ---- the matrix: what each node can supply, and its single-node options ----

    def _scan(
        self, request: PromiseRequest, sku_ids: list[str], quantities: list[int], sellable: np.ndarray, channel=None
    ) -> _Call:
        """Through a channel: its view's stock (less what it protects for other segments,
        its safety stock, capped) and the future supply kinds and horizon it counts."""
        engine = self._engine
        wanted = np.array(quantities, dtype=np.int64)
        destination = self._destination(request)
        allowed = destination.allowed(request.methods, request.customer_tier)
        answer = engine.availability(sku_ids, sellable, channel=channel)
        cells, attributed = answer.cells, None
        if request.required_attributes:
            cells, attributed = self._attributed_cells(request, sku_ids, sellable, channel, cells)
        earliest = None
        if request.allow_future_supply:
            horizon = np.array([request.as_of_ns + limits.PROMISE_HORIZON_DAYS * 24 * NS_PER_HOUR], np.int64)
            if channel is None:
                phased = engine.phased_availability(
                    answer.sku_index, sellable, horizon, wanted=wanted, with_cells=False
                )
            else:
                phased = engine.channel_phased_availability(
                    answer.sku_index,
                    sellable,
                    horizon,
                    SUPPLY_ALL_KINDS,
                    wanted,
                    False,
                    channel,
                    channel.horizon_end_ns(request.as_of_ns),
                )
            earliest = np.array(phased.earliest_ns, dtype=np.int64).reshape(len(sku_ids), -1)
            if attributed is not None:
                earliest[attributed] = EARLIEST_NEVER
            earliest = earliest.reshape(-1)
        scan = self._kernel.scan(
            destination.table,
            allowed,
            (self._edt.tables_for(request.as_of_ns),),
            sellable,
            cells,
            earliest,
            wanted,
            request.as_of_ns,
            request.allow_future_supply,
            self._penalty,
        )
        if engine.capacity.enabled:
            self._capacity_delays(scan, sellable)
        self._until_tables(scan, scan.full_options)
        return _Call(request, sku_ids, quantities, wanted, sellable, destination, allowed, scan)

    def _attributed_cells(
        self, request: PromiseRequest, sku_ids: list[str], sellable: np.ndarray, channel, cells: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The cells of lines requiring attribute values from their matching variants (one
        gather per distinct set of values), and which lines those are."""
        required = dict(request.required_attributes)
        cells = cells.reshape(len(sku_ids), len(sellable)).copy()
        groups: dict[Attributes, list[int]] = {}
        for line, sku_id in enumerate(sku_ids):
            if required.get(sku_id):
                groups.setdefault(required[sku_id], []).append(line)
        for values, lines in groups.items():
            part = self._engine.availability([sku_ids[i] for i in lines], sellable, channel=channel, required=values)
            cells[lines] = part.cells.reshape(len(lines), len(sellable))
        attributed = np.zeros(len(sku_ids), dtype=bool)
        attributed[[line for lines in groups.values() for line in lines]] = True
        return cells.reshape(-1), attributed

    def _capacity_delays(self, scan, sellable: np.ndarray) -> None:
        """Daily capacity (capacity.py), before any route is evaluated: each line a node
        with a capacity fills is ready no earlier than the node can take the order (the
        opening of its next working day with room, when the day it is ready is full); a
        node that has no such day gets code CAPACITY. O(limited nodes x distinct ready
        times); nothing for a network without capacities."""
        capacity = self._engine.capacity
        if self._limited_for is not sellable:  # the default selection is one array, reused
            self._limited_for = sellable
            self._limited = [
                (column, int(sellable[column])) for column in np.flatnonzero(capacity.mask[sellable]).tolist()
            ]
        if not self._limited:
            return
        info, ready, filled = scan.info, scan.ready_ns, scan.filled
        codes = info[:, _INFO_CODE].tolist()
        ready_ns = capacity.ready_ns
        for column, node in self._limited:
            code = codes[column]
            if code != _CODE_FULL and code != _CODE_PARTIAL:
                continue
            if len(filled) == 1:  # one line: it is filled (the node is FULL or PARTIAL)
                at_ns = int(ready[0, column])
                moved = {at_ns: ready_ns(node, at_ns)}
            else:
                moved = {at_ns: ready_ns(node, at_ns) for at_ns in set(ready[filled[:, column] > 0, column].tolist())}
            if None in moved.values():
                info[column, _INFO_CODE] = _CODE_CAPACITY
                continue
            if all(later == at_ns for at_ns, later in moved.items()):
                continue  # the day has room
            lines = np.flatnonzero(filled[:, column] > 0)
            ready[lines, column] = [moved[at_ns] for at_ns in ready[lines, column].tolist()]
            info[column, _INFO_READY_MAX] = max(moved.values())

    def _until_tables(self, scan, step, *arguments) -> None:
        """Runs a kernel step, adding the EDT tables of any ready time it reaches outside them."""
        while step(*arguments) == _NEEDS_TABLES:
            scan.add_tables(self._edt.tables_for(scan.missing_ns))

    def _destination(self, request: PromiseRequest) -> _Destination:
        key = (request.zone_id or "", request.pickup_node_id or "")
        found = self._destinations.get(key)
        if found is None:
            if len(self._destinations) >= 1_024:  # an unknown zone id per request must not grow it forever
                self._destinations.clear()
            routes = [self._cached_routes(node_id, request) for node_id in self._node_ids]
            found = self._destinations[key] = _Destination(routes, self._node_order, len(self._edt.lanes))
        return found

    def _cached_routes(self, node_id: str, request: PromiseRequest) -> list[_Route]:
        key = (node_id, request.zone_id or "", request.pickup_node_id or "")
        if key not in self._routes_cache:
            if len(self._routes_cache) >= 65_536:
                self._routes_cache.clear()
            self._routes_cache[key] = self._find_routes(node_id, request)
        return self._routes_cache[key]

    def _find_routes(self, node_id: str, request: PromiseRequest) -> list[_Route]:
        """Direct lanes to the zone; transfer to a hub with a lane on; click-and-collect."""
        edt, routes = self._edt, []
        method = Method.DROP_SHIP if self._node_types[node_id] == NodeType.SUPPLIER_DROP_SHIP else Method.SHIP
        if request.zone_id:
            for lane in edt.lanes_from(node_id):
                if lane.lane is not None and lane.lane.to_zone_id == request.zone_id:
                    routes.append(_Route(method, lane.service, lane.index, tiers=frozenset(lane.lane.tiers)))
            for lane in edt.lanes_from(node_id):
                hub = lane.lane.to_node_id if lane.lane is not None else None
                for onward in edt.lanes_from(hub) if hub else ():
                    if onward.lane is not None and onward.lane.to_zone_id == request.zone_id:
                        routes.append(
                            _Route(
                                Method.SHIP,
                                onward.service,
                                lane.index,
                                hub,
                                onward.index,
                                _both(lane.lane.tiers, onward.lane.tiers),
                            )
                        )
        if request.pickup_node_id:
            store = request.pickup_node_id
            try:
                collect = edt.collect_lane_index(store)
            except KeyError:
                return routes
            if node_id == store:
                routes.append(_Route(Method.PICKUP, "collect", collect))
            for lane in edt.lanes_from(node_id):
                if lane.lane is not None and lane.lane.to_node_id == store:
                    routes.append(_Route(Method.PICKUP, "collect", lane.index, store, collect))
        return routes

    # ---- options built in Python: consolidation, line-level, splits ------------

    def _python_options(self, call: _Call) -> list[Option] | None:
        """The options only Python builds, in the order PromiseEngine always added them;
        None when there are none (the kernel ranks its rows alone). Asks the kernel for
        the partial fills when they are needed."""
        request, scan = call.request, call.scan
        codes = scan.info[:, _INFO_CODE].tolist()
        has_full = scan.full_row_count > 0
        splits_allowed = request.fill_policy != FillPolicy.SHIP_COMPLETE and request.max_shipments > 1
        line_level = splits_allowed and request.sourcing == Sourcing.LINE_LEVEL
        split = splits_allowed and not has_full
        hubs = (
            [c for c, code in enumerate(codes) if code == _CODE_PARTIAL and self._has_inbound[call.columns[c]]]
            if self._inbound
            else []
        )
        options: list[Option] = []
        if hubs or line_level or split:
            plans = self._plans(call, codes)
            by_node = {plan.node_id: plan for plan in plans}
            for hub in plans:
                if not hub.full:
                    options += self._consolidated_options(request, hub, by_node, call.sku_ids, call.wanted)
            if line_level:
                option = self._line_level_option(request, plans, call.sku_ids, call.wanted)
                if option is not None:
                    options.append(option)
            if split:
                option = self._split_option(request, plans, call)
                if option is not None:
                    options.append(option)
        if (
            request.fill_policy == FillPolicy.PARTIAL
            and not has_full
            and not any(o.fill_percent >= 100 for o in options)
        ):
            self._until_tables(scan, scan.partial_options, request.min_fill_percent)
        return options or None

    def _plans(self, call: _Call, codes: list[int]) -> list[_NodePlan]:
        """Every node with a route and some of the order (full or partial), in node order."""
        scan, plans = call.scan, []
        call.plan_columns = []
        for column, code in enumerate(codes):
            if code == _CODE_FULL or code == _CODE_PARTIAL:
                call.plan_columns.append(column)
                node = call.columns[column]
                node_id = self._node_ids[node]
                plans.append(
                    _NodePlan(
                        node,
                        node_id,
                        self._node_types[node_id],
                        scan.filled[:, column],
                        scan.ready_ns[:, column],
                        call.destination.node_routes(node, call.allowed),
                        code == _CODE_FULL,
                        True,
                    )
                )
        return plans

    def _consolidated_options(
        self,
        request: PromiseRequest,
        hub: _NodePlan,
        by_node: dict[str, _NodePlan],
        sku_ids: list[str],
        wanted: np.ndarray,
    ) -> list[Option]:
        """The hub ships the whole order in one shipment: its own lines, plus each
        missing line transferred in from the node whose transfer lane gets it there first
        (with request.split_lines, when no one node has it all: the hub's own units and
        the rest from several feeders, earliest arrival first)."""
        if hub.node_id not in self._inbound:
            return []
        direct = [route for route in hub.routes if route.onward_lane < 0 and route.method != Method.DROP_SHIP]
        if not direct:
            return []
        lines = [
            PlannedLine(sku_ids[i], int(wanted[i]), int(hub.ready_ns[i])) for i in np.flatnonzero(hub.filled >= wanted)
        ]
        for i in np.flatnonzero(hub.filled < wanted):
            best = self._best_transfer(request, hub.node_id, by_node, i, int(wanted[i]))
            if best is not None:
                arrival_ns, feeder = best
                lines.append(
                    PlannedLine(sku_ids[i], int(wanted[i]), arrival_ns, feeder.node_id, int(feeder.ready_ns[i]))
                )
                continue
            parts = (
                self._split_transfers(request, hub, by_node, i, sku_ids[i], int(wanted[i]))
                if request.split_lines
                else None
            )
            if parts is None:
                return []
            lines += parts
        ready_ns = max(line.ready_ns for line in lines)
        order = {sku: position for position, sku in enumerate(sku_ids)}
        lines.sort(key=lambda line: order[line.sku_id])
        options = []
        for route in direct:
            timing = self._route_edt(route, request.as_of_ns, ready_ns)
            if timing is None:
                continue
            earliest, latest, departure, cost = timing
            cost += sum(self._transfer_cost(line.source_node_id, hub.node_id) for line in lines if line.source_node_id)
            shipment = Shipment(
                hub.node_id,
                route.method,
                route.service,
                tuple(lines),
                earliest,
                latest,
                departure,
                cost,
                via_node_id="",
            )
            options.append(self._option((shipment,), wanted, sku_ids, request))
        return [min(options, key=lambda o: (o.earliest_ns, o.cost_minor))] if options else []

    def _best_transfer(
        self, request: PromiseRequest, hub_id: str, by_node: dict[str, _NodePlan], line: int, quantity: int
    ) -> tuple[int, _NodePlan] | None:
        """(arrival at the hub, feeder) of the earliest transfer of one line, or None."""
        best = None
        for feeder_id, lane, _ in self._inbound.get(hub_id, ()):
            feeder = by_node.get(feeder_id)
            if feeder is None or feeder.filled[line] < quantity:
                continue
            timing = self._route_edt(_Route(Method.SHIP, "", lane), request.as_of_ns, int(feeder.ready_ns[line]))
            if timing is not None and (best is None or timing[0] < best[0]):
                best = (timing[0], feeder)
        return best

    def _split_transfers(
        self,
        request: PromiseRequest,
        hub: _NodePlan,
        by_node: dict[str, _NodePlan],
        line: int,
        sku_id: str,
        quantity: int,
    ) -> list[PlannedLine] | None:
        """One line's units at the hub: its own, then from feeders by earliest arrival; None
        if they do not add up to `quantity`."""
        own = min(int(hub.filled[line]), quantity)
        parts = [PlannedLine(sku_id, own, int(hub.ready_ns[line]))] if own > 0 else []
        arrivals = []
        for feeder_id, lane, _ in self._inbound.get(hub.node_id, ()):
            feeder = by_node.get(feeder_id)
            if feeder is None or feeder.filled[line] <= 0:
                continue
            timing = self._route_edt(_Route(Method.SHIP, "", lane), request.as_of_ns, int(feeder.ready_ns[line]))
            if timing is not None:
                arrivals.append((timing[0], feeder_id, feeder))
        left = quantity - own
        for arrival_ns, _, feeder in sorted(arrivals, key=lambda arrival: arrival[:2]):
            if left <= 0:
                break
            taken = min(int(feeder.filled[line]), left)
            parts.append(PlannedLine(sku_id, taken, arrival_ns, feeder.node_id, int(feeder.ready_ns[line])))
            left -= taken
        return parts if left <= 0 else None

    def _transfer_cost(self, from_node_id: str, hub_id: str) -> int:
        return min((cost for feeder, _, cost in self._inbound.get(hub_id, ()) if feeder == from_node_id), default=0)

    def _shipments(
        self, plan: _NodePlan, sku_ids: list[str], filled: np.ndarray, request: PromiseRequest
    ) -> list[Shipment]:
        """One shipment per route of the node for the filled lines, ready when the last line is."""
        take = filled > 0
        ready_ns = int(plan.ready_ns[take].max())
        lines = tuple(PlannedLine(sku_ids[i], int(filled[i]), int(plan.ready_ns[i])) for i in np.flatnonzero(take))
        shipments = []
        for route in plan.routes:
            timing = self._route_edt(route, request.as_of_ns, ready_ns)
            if timing is not None:
                earliest, latest, departure, cost = timing
                shipments.append(
                    Shipment(
                        plan.node_id,
                        route.method,
                        route.service,
                        lines,
                        earliest,
                        latest,
                        departure,
                        cost,
                        route.via_node_id,
                    )
                )
        return shipments

    def _route_edt(self, route: _Route, as_of_ns: int, ready_ns: int) -> tuple[int, int, int | None, int] | None:
        key = (route.lane, route.onward_lane, ready_ns)
        if key not in self._memo:
            self._memo[key] = self._compute_route_edt(route, as_of_ns, ready_ns)
        return self._memo[key]

    def _compute_route_edt(self, route: _Route, as_of_ns: int, ready_ns: int) -> tuple | None:
        edt = self._edt
        first = edt.edt_lane(route.lane, as_of_ns=as_of_ns, supply_eta_ns=ready_ns)
        if first.status != EdtStatus.OK:
            return None
        if route.onward_lane < 0:
            return first.earliest_ns, first.latest_ns, first.departure_ns, first.cost_minor
        onward = edt.edt_lane(route.onward_lane, as_of_ns=as_of_ns, supply_eta_ns=first.earliest_ns)
        onward_late = edt.edt_lane(route.onward_lane, as_of_ns=as_of_ns, supply_eta_ns=first.latest_ns)
        if onward.status != EdtStatus.OK or onward_late.status != EdtStatus.OK:
            return None
        return onward.earliest_ns, onward_late.latest_ns, first.departure_ns, first.cost_minor + onward.cost_minor

    def _split_option(self, request: PromiseRequest, plans: list[_NodePlan], call: _Call) -> Option | None:
        """Each line from one node: greedily the node that completes the most
        remaining lines (earliest delivery breaks ties), up to max_shipments.
        With request.split_lines, the node that gives the most remaining units, a
        line's units coming from as many nodes as it takes.

        Per round, every node's cover and ready time come from one pass over the
        matrix and every node's fastest route from one kernel call; a shipment is
        built only for the node chosen."""
        sku_ids, wanted, scan = call.sku_ids, call.wanted, call.scan
        usable = list(plans)
        if not usable:
            return None
        columns = np.array(call.plan_columns, dtype=np.int64)
        units = np.minimum(scan.filled[:, columns], wanted[:, None])  # [lines, usable]
        if not request.split_lines:
            units = np.where(units >= wanted[:, None], units, 0)  # whole lines only
        ready = scan.ready_ns[:, columns]
        left = wanted.copy()  # units of each line not planned yet
        remaining = left > 0
        chosen: list[tuple[_NodePlan, np.ndarray, Shipment]] = []
        alive = np.ones(len(usable), dtype=bool)
        routes = call.destination.routes
        while remaining.any() and len(chosen) < request.max_shipments:
            gives = np.minimum(units, left[:, None])
            taken = gives > 0
            # Whole lines: the node completing most lines; split lines: most units.
            counts = gives.sum(axis=0) if request.split_lines else taken.sum(axis=0)
            ready_max = np.where(taken, ready, np.iinfo(np.int64).min).max(axis=0)
            candidates = np.flatnonzero(alive & (counts > 0))
            if not len(candidates):
                break
            fastest = np.empty((len(candidates), 5), dtype=np.int64)
            self._until_tables(
                scan,
                scan.fastest_routes,
                np.ascontiguousarray(columns[candidates]),
                np.ascontiguousarray(ready_max[candidates]),
                fastest,
            )
            best = None
            count_list = counts[candidates].tolist()
            for k, count, (route, earliest, latest, departure, cost) in zip(
                candidates.tolist(), count_list, fastest.tolist()
            ):
                if route < 0:
                    continue
                key = (-count, earliest, cost)
                if best is None or key < best[0]:
                    best = (key, k, route, (earliest, latest, None if departure == NEVER else departure, cost))
            if best is None:
                break
            _, k, route_index, timing = best
            plan, route = usable[k], routes[route_index]
            given = gives[:, k]
            lines = tuple(
                PlannedLine(sku_ids[i], int(given[i]), int(plan.ready_ns[i])) for i in np.flatnonzero(given > 0)
            )
            earliest, latest, departure, cost = timing
            shipment = Shipment(
                plan.node_id, route.method, route.service, lines, earliest, latest, departure, cost, route.via_node_id
            )
            chosen.append((plan, given > 0, shipment))
            left -= given
            remaining = left > 0
            alive[k] = False
        if not chosen or (remaining.any() and request.fill_policy != FillPolicy.PARTIAL):
            return None
        option = self._option(tuple(shipment for _, _, shipment in chosen), wanted, sku_ids, request)
        return option if option.fill_percent >= request.min_fill_percent else None

    def _line_level_option(
        self, request: PromiseRequest, plans: list[_NodePlan], sku_ids: list[str], wanted: np.ndarray
    ) -> Option | None:
        """Each line from the node that delivers it first (cheaper breaks ties); lines
        of one node ship together. None if some line has no node, or over max_shipments."""
        usable = plans
        chosen: dict[str, tuple[_NodePlan, np.ndarray]] = {}
        for i in range(len(wanted)):
            only = np.zeros(len(wanted), dtype=np.int64)
            only[i] = wanted[i]
            best = None
            for plan in usable:
                if plan.filled[i] < wanted[i]:
                    continue
                for shipment in self._shipments(plan, sku_ids, only, request):
                    key = (shipment.earliest_ns, shipment.cost_minor)
                    if best is None or key < best[0]:
                        best = (key, plan)
            if best is None:
                return None
            plan = best[1]
            chosen.setdefault(plan.node_id, (plan, np.zeros(len(wanted), dtype=np.int64)))[1][i] = wanted[i]
        if len(chosen) > request.max_shipments:
            return None
        shipments = []
        for plan, lines in chosen.values():
            shipments.append(
                min(self._shipments(plan, sku_ids, lines, request), key=lambda s: (s.earliest_ns, s.cost_minor))
            )
        return self._option(tuple(shipments), wanted, sku_ids, request)

    def _option(
        self, shipments: tuple[Shipment, ...], wanted: np.ndarray, sku_ids: list[str], request: PromiseRequest
    ) -> Option:
        planned: dict[str, int] = {}
        for shipment in shipments:
            for line in shipment.lines:
                planned[line.sku_id] = planned.get(line.sku_id, 0) + line.quantity
        short = tuple(
            (sku, int(w) - planned.get(sku, 0)) for sku, w in zip(sku_ids, wanted.tolist()) if planned.get(sku, 0) < w
        )
        fill = 100.0 * sum(planned.values()) / float(wanted.sum())
        earliest = max(s.earliest_ns for s in shipments)
        latest = max(s.latest_ns for s in shipments)
        cost = sum(s.cost_minor for s in shipments)
        methods = {s.method for s in shipments}
        method = methods.pop() if len(methods) == 1 else Method.SHIP
        weights = self._weights
        waited_ns = earliest - request.as_of_ns
        if request.sourcing == Sourcing.LINE_LEVEL:
            # Lines ship as they are ready: what counts is when units arrive on average.
            units = [(line.quantity, s.earliest_ns) for s in shipments for line in s.lines]
            waited_ns = sum(q * (t - request.as_of_ns) for q, t in units) / max(sum(q for q, _ in units), 1)
        score = (
            weights.per_hour_to_delivery * waited_ns / NS_PER_HOUR
            + weights.per_currency_unit * cost / 100
            + weights.per_extra_shipment * (len(shipments) - 1)
            + weights.per_missing_percent * (100.0 - fill)
            + (weights.drop_ship if method == Method.DROP_SHIP else 0.0)
        )
        if self._penalty is not None:
            for shipment in shipments:  # the same additions, in the same order, as the kernel's
                score = score + float(self._penalty[self._node_order[shipment.node_id]])
        return Option(method, shipments, fill, earliest, latest, cost, round(score, 3), short)

    # ---- ranking and explanations ---------------------------------------------

    def _row_options(self, call: _Call, rows: list[int]) -> list[Option]:
        """The Options of kernel rows, each one shipment of what its node fills: the
        arrays read once for all of them, a node's lines shared by its options."""
        scan = call.scan
        values = scan.rows[rows].tolist()
        scores = scan.score[rows].tolist()
        columns = [value[0] for value in values]
        if len(call.wanted) == 1:  # one line: no need to gather columns
            filled_all, ready_all = scan.filled[0].tolist(), scan.ready_ns[0].tolist()
            filled_by_row = [[filled_all[column]] for column in columns]
            ready_by_row = [[ready_all[column]] for column in columns]
        else:
            filled_by_row = scan.filled[:, columns].T.tolist()
            ready_by_row = scan.ready_ns[:, columns].T.tolist()
        filled_sums = scan.info[columns, _INFO_FILLED_SUM].tolist()
        sku_ids, quantities, wanted_sum = call.sku_ids, call.quantities, call.wanted_sum
        routes, node_ids, nodes = call.destination.routes, self._node_ids, call.columns
        lines_of: dict[int, tuple[PlannedLine, ...]] = {}
        options = []
        for k, (column, route_index, earliest, latest, departure, cost) in enumerate(values):
            filled = filled_by_row[k]
            lines = lines_of.get(column)
            if lines is None:
                ready = ready_by_row[k]
                lines = lines_of[column] = tuple(
                    [PlannedLine(sku_ids[i], f, ready[i]) for i, f in enumerate(filled) if f > 0]
                )
            route = routes[route_index]
            shipment = Shipment(
                node_ids[nodes[column]],
                route.method,
                route.service,
                lines,
                earliest,
                latest,
                None if departure == NEVER else departure,
                cost,
                route.via_node_id,
            )
            filled_sum = filled_sums[k]
            short = (
                ()
                if filled_sum == wanted_sum
                else tuple(
                    [(sku_ids[i], w - max(f, 0)) for i, (w, f) in enumerate(zip(quantities, filled)) if max(f, 0) < w]
                )
            )
            options.append(
                Option(
                    route.method,
                    (shipment,),
                    100.0 * filled_sum / float(wanted_sum),
                    earliest,
                    latest,
                    cost,
                    scores[k],
                    short,
                )
            )
        return options

    def _kernel_ranked(self, call: _Call) -> tuple[list[Option], list[Candidate]]:
        """Every option is a kernel row: the kernel ranks them and says how each node fared."""
        request, scan = call.request, call.scan
        kept_count = scan.rank(request.deliver_before_ns, request.max_options)
        kept = self._row_options(call, scan.order[:kept_count].tolist()) if kept_count else []
        # A reason per node: the kernel's outcome (USED, OUTRANKED, TOO_LATE: Reason's numbers),
        # else its column code; NODE_NOT_SELLABLE where no column.
        info = scan.info
        final = np.where(info[:, _INFO_OUTCOME] != 0, info[:, _INFO_OUTCOME], info[:, _INFO_CODE])
        by_node = np.full(len(self._node_ids), int(Reason.NODE_NOT_SELLABLE), dtype=np.int64)
        by_node[call.sellable] = final
        tables = self._reason_tables(call.request)
        reasons = by_node.tolist()
        if _CODE_PARTIAL not in reasons:
            return kept, [tables[reason][node] for node, reason in enumerate(reasons)]
        partial = np.flatnonzero(final == _CODE_PARTIAL)
        texts = dict(zip([call.columns[column] for column in partial.tolist()], self._short_candidates(call, partial)))
        return kept, [
            tables[reason][node] if reason != _CODE_PARTIAL else texts[node] for node, reason in enumerate(reasons)
        ]

    def _reason_tables(self, request: PromiseRequest) -> dict[int, list[Candidate]]:
        """Every node's Candidate for each reason whose explanation does not depend on the
        order (built once; NO_LANE's names the destination)."""
        key = (request.zone_id, request.pickup_node_id)
        found = self._reasons_by_destination.get(key)
        if found is not None:
            return found
        if len(self._reasons_by_destination) >= self.CANDIDATE_TABLES_KEPT:
            self._reasons_by_destination.clear()
        where = f"zone {request.zone_id}" if request.zone_id else f"store {request.pickup_node_id}"
        found = self._reasons_by_destination[key] = {
            int(Reason.USED): self._fixed(Reason.USED, "in a returned option"),
            int(Reason.NODE_NOT_SELLABLE): self._fixed(Reason.NODE_NOT_SELLABLE, "node is not enabled"),
            _CODE_SHORT_NONE: self._fixed(Reason.SHORT, "has none of the order's SKUs"),
            _CODE_NO_LANE: self._fixed(Reason.NO_LANE, f"no lane to {where} for the allowed methods"),
            _CODE_NO_DELIVERY: self._fixed(Reason.NO_DELIVERY, _NO_DELIVERY_TEXT),
            int(Reason.OUTRANKED): self._fixed(Reason.OUTRANKED, "had an option, ranked below the ones returned"),
            int(Reason.TOO_LATE): self._fixed(Reason.TOO_LATE, "cannot deliver by the requested latest time"),
            _CODE_CAPACITY: self._fixed(Reason.CAPACITY, _CAPACITY_TEXT),
        }
        return found

    def _fixed(self, reason: Reason, detail: str) -> list[Candidate]:
        key = (reason, detail)
        found = self._fixed_candidates.get(key)
        if found is None:
            if len(self._fixed_candidates) >= self.CANDIDATE_TABLES_KEPT:  # one NO_LANE table per destination
                self._fixed_candidates.clear()
            found = self._fixed_candidates[key] = [Candidate(node_id, reason, detail) for node_id in self._node_ids]
        return found

    def _candidate(self, node: int, reason: Reason, detail: str) -> Candidate:
        return self._fixed(reason, detail)[node]

    def _short_candidates(self, call: _Call, columns: np.ndarray) -> list[Candidate]:
        """SHORT, naming the first lines each node lacks: "short: SKU filled/wanted, ..."."""
        node_ids, nodes, short = self._node_ids, call.columns, Reason.SHORT
        columns = columns.astype(np.int64, copy=False)
        texts = short_texts(call.sku_ids, call.quantities, call.scan, columns)
        return [Candidate(node_ids[nodes[column]], short, text) for column, text in zip(columns.tolist(), texts)]

    def _python_ranked(self, call: _Call, python_options: list[Option]) -> tuple[list[Option], list[Candidate]]:
        """Kernel rows and Python's options together, ranked as PromiseEngine always did:
        window, sort by (score, earliest, cost) in the order they were made, distinct,
        max_options; USED / TOO_LATE / OUTRANKED as before."""
        request, scan = call.request, call.scan
        codes = scan.info[:, _INFO_CODE].tolist()
        tables = self._reason_tables(request)
        candidates: dict[int, Candidate] = {}
        for column, node in enumerate(call.columns):
            if codes[column] != _CODE_FULL and codes[column] != _CODE_PARTIAL:
                candidates[node] = tables[codes[column]][node]
        partial = np.flatnonzero(scan.info[:, _INFO_CODE] == _CODE_PARTIAL)
        for column, candidate in zip(partial.tolist(), self._short_candidates(call, partial)):
            candidates[call.columns[column]] = candidate
        rows = scan.rows[: scan.row_count].tolist()
        scores = scan.score[: scan.row_count].tolist()
        routes = call.destination.routes
        # (score, earliest, cost, made, nodes, distinct key, row or option); rows: full, python, partial.
        entries = []
        for row in range(scan.full_row_count):
            entries.append(self._row_entry(call, row, rows[row], scores[row], routes))
        for option in python_options:
            entries.append(
                (
                    option.score,
                    option.earliest_ns,
                    option.cost_minor,
                    len(entries),
                    [self._node_order[s.node_id] for s in option.shipments],
                    tuple((s.node_id, s.service, s.via_node_id, s.earliest_ns) for s in option.shipments),
                    option,
                )
            )
        for row in range(scan.full_row_count, scan.row_count):
            entries.append(self._row_entry(call, row, rows[row], scores[row], routes))
        if request.deliver_before_ns:
            in_window = []
            for entry in entries:
                if entry[1] <= request.deliver_before_ns:
                    in_window.append(entry)
                    continue
                for node in entry[4]:
                    candidates.setdefault(
                        node, self._candidate(node, Reason.TOO_LATE, "cannot deliver by the requested latest time")
                    )
            entries = in_window
        entries.sort(key=lambda entry: entry[:3])  # stable: ties keep the order the options were made
        seen, distinct = set(), []
        for entry in entries:
            if entry[5] not in seen:
                seen.add(entry[5])
                distinct.append(entry)
        kept_entries = distinct[: request.max_options]
        for entry in kept_entries:
            for node in entry[4]:
                candidates[node] = self._candidate(node, Reason.USED, "in a returned option")
        for entry in entries:
            for node in entry[4]:
                if node not in candidates:
                    candidates[node] = self._candidate(
                        node, Reason.OUTRANKED, "had an option, ranked below the ones returned"
                    )
        rows_kept = [entry[6] for entry in kept_entries if not isinstance(entry[6], Option)]
        built = iter(self._row_options(call, rows_kept) if rows_kept else ())
        kept = [entry[6] if isinstance(entry[6], Option) else next(built) for entry in kept_entries]
        ordered = [
            candidates.get(node) or self._candidate(node, Reason.NODE_NOT_SELLABLE, "node is not enabled")
            for node in range(len(self._node_ids))
        ]
        return kept, ordered

    def _row_entry(self, call: _Call, row: int, values: list[int], score: float, routes: list[_Route]):
        column, route_index, earliest, _, _, cost = values
        node = call.columns[column]
        route = routes[route_index]
        return (
            score,
            earliest,
            cost,
            row,
            [node],
            ((self._node_ids[node], route.service, route.via_node_id, earliest),),
            row,
        )


def _checked_penalty(node_penalty, node_count: int) -> np.ndarray | None:
    if node_penalty is None:
        return None
    penalty = np.ascontiguousarray(node_penalty, dtype=np.float64)
    if penalty.shape != (node_count,):
        raise ValueError(f"node_penalty must have one entry per node ({node_count})")
    if not np.isfinite(penalty).all():
        raise ValueError("node_penalty must be finite")
    return penalty


def _both(first: tuple[str, ...], second: tuple[str, ...]) -> frozenset[str]:
    """Tiers allowed on a route of two legs: both legs must allow the tier."""
    if not first or not second:
        return frozenset(first or second)
    # No tier may use both legs: a set no tier id can match (ids are printable).
    return (frozenset(first) & frozenset(second)) or frozenset({"\x00"})


def _summed(sku_ids: Sequence[str], quantities: Sequence[int]) -> tuple[list[str], list[int]]:
    """The same SKU twice in a request is one line of the summed quantity (first position kept)."""
    totals: dict[str, int] = {}
    for sku_id, quantity in zip(sku_ids, quantities):
        totals[sku_id] = totals.get(sku_id, 0) + quantity
    return list(totals), list(totals.values())
