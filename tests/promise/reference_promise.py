"""The promise engine before the Cython kernel (commit 038db32), kept verbatim as the
reference the kernel-backed engine is compared against (test_promise_kernel.py).
Not used by the package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dompromise import limits
from dompromise.inventory.engine import EARLIEST_NEVER, EARLIEST_NOW, Engine
from dompromise.model.network import NodeType
from dompromise.promise.edt import EdtCalculator, EdtStatus

NS_PER_HOUR = 3_600 * 10**9


from dompromise.promise.types import (  # noqa: E402  the public types are shared, so answers compare equal
    DEFAULT_WEIGHTS,
    Candidate,
    FillPolicy,
    Method,
    Option,
    PlannedLine,
    PromiseAnswer,
    PromiseRequest,
    Reason,
    Shipment,
    Sourcing,
    Weights,
)


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


class ReferencePromiseEngine:
    """Delivery options over one engine and one transport network."""

    def __init__(self, engine: Engine, edt: EdtCalculator, weights: Weights = DEFAULT_WEIGHTS):
        self._engine = engine
        self._edt = edt
        self._weights = weights
        self._node_types = {node.node_id: node.node_type for node in engine.network.nodes}
        self._node_order = {node.node_id: i for i, node in enumerate(engine.network.nodes)}
        self._routes_cache: dict[tuple[str, str, str], list[_Route]] = {}
        # Transfer lanes into each node: hub -> [(feeder node, lane index, cost)].
        self._inbound: dict[str, list[tuple[str, int, int]]] = {}
        for core_lane in edt.lanes:
            if core_lane.lane is not None and core_lane.lane.to_node_id is not None:
                self._inbound.setdefault(core_lane.lane.to_node_id, []).append(
                    (core_lane.node_id, core_lane.index, core_lane.cost_minor)
                )
        # EDTs of this promise call by (lane, onward lane, ready time): the same
        # route and ready time recur across single, split and partial plans.
        # One promise at a time per engine (the service runs on one event loop).
        self._memo: dict[tuple[int, int, int], tuple | None] = {}

    # ---- the answer ---------------------------------------------------------

    def promise(self, request: PromiseRequest) -> PromiseAnswer:
        self._memo = {}
        sku_ids, quantities = _summed(request.sku_ids, request.quantities)
        engine = self._engine
        wanted = np.asarray(quantities, dtype=np.int64)
        sellable = engine.node_selection()
        plans = self._node_plans(request, sku_ids, wanted, sellable)
        selling = set(sellable.tolist())
        candidates: dict[str, Candidate] = {
            node.node_id: Candidate(node.node_id, Reason.NODE_NOT_SELLABLE, "node is not enabled")
            for i, node in enumerate(engine.network.nodes)
            if i not in selling
        }
        options = self._options(request, plans, sku_ids, wanted, candidates)
        options = self._in_window(request, options, candidates)
        options.sort(key=lambda option: (option.score, option.earliest_ns, option.cost_minor))
        kept = _distinct(options)[: request.max_options]
        _mark_used(kept, options, candidates)
        ordered = sorted(candidates.values(), key=lambda c: self._node_order[c.node_id])
        return PromiseAnswer(tuple(kept), tuple(ordered), engine.log_position, tuple(sku_ids), tuple(quantities))

    # ---- what each node can supply -------------------------------------------

    def _node_plans(
        self, request: PromiseRequest, sku_ids: list[str], wanted: np.ndarray, sellable: np.ndarray
    ) -> list[_NodePlan]:
        engine = self._engine
        answer = engine.availability(sku_ids, sellable)
        now = answer.cells.reshape(len(sku_ids), len(sellable))
        filled = np.minimum(now, wanted[:, None])
        ready = np.full(now.shape, request.as_of_ns, dtype=np.int64)
        if request.allow_future_supply:
            horizon = np.array([request.as_of_ns + limits.PROMISE_HORIZON_DAYS * 24 * NS_PER_HOUR], np.int64)
            phased = engine.phased_availability(answer.sku_index, sellable, horizon, wanted=wanted, with_cells=False)
            earliest = phased.earliest_ns
            later = (now < wanted[:, None]) & (earliest != EARLIEST_NEVER) & (earliest != EARLIEST_NOW)
            filled = np.where(later, wanted[:, None], filled)
            ready = np.where(later, np.maximum(earliest, request.as_of_ns), ready)
        nodes = engine.network.nodes
        full = (filled >= wanted[:, None]).all(axis=0).tolist()
        any_filled = (filled > 0).any(axis=0).tolist()
        return [
            _NodePlan(
                int(j),
                nodes[j].node_id,
                nodes[j].node_type,
                filled[:, column],
                ready[:, column],
                self._routes(nodes[j].node_id, request),
                full[column],
                any_filled[column],
            )
            for column, j in enumerate(sellable.tolist())
        ]

    def _routes(self, node_id: str, request: PromiseRequest) -> list[_Route]:
        key = (node_id, request.zone_id or "", request.pickup_node_id or "")
        if key not in self._routes_cache:
            self._routes_cache[key] = self._find_routes(node_id, request)
        allowed, tier = request.methods, request.customer_tier
        return [
            route
            for route in self._routes_cache[key]
            if route.method in allowed and (not route.tiers or tier in route.tiers)
        ]

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

    # ---- options ---------------------------------------------------------------

    def _options(
        self,
        request: PromiseRequest,
        plans: list[_NodePlan],
        sku_ids: list[str],
        wanted: np.ndarray,
        candidates: dict[str, Candidate],
    ) -> list[Option]:
        options: list[Option] = []
        full_nodes: list[_NodePlan] = []
        for plan in plans:
            reason = self._unusable(plan, wanted, request)
            if reason is not None:
                candidates[plan.node_id] = reason
                continue
            if plan.full:
                mine = self._single_node_options(request, plan, sku_ids, plan.filled, wanted)
                if mine:
                    full_nodes.append(plan)  # a split is tried only when no single node delivers it all
                else:
                    candidates[plan.node_id] = Candidate(
                        plan.node_id,
                        Reason.NO_DELIVERY,
                        f"no route delivers within {limits.TRANSPORT_HORIZON_DAYS} days of the goods being ready",
                    )
                options += mine
        by_node = {plan.node_id: plan for plan in plans if plan.node_id not in candidates}
        for hub in by_node.values():
            if not hub.full:
                options += self._consolidated_options(request, hub, by_node, sku_ids, wanted)
        splits_allowed = request.fill_policy != FillPolicy.SHIP_COMPLETE and request.max_shipments > 1
        if splits_allowed and request.sourcing == Sourcing.LINE_LEVEL:
            line_level = self._line_level_option(request, plans, sku_ids, wanted, candidates)
            if line_level is not None:
                options.append(line_level)
        if splits_allowed and not full_nodes:
            split = self._split_option(request, plans, sku_ids, wanted, candidates)
            if split is not None:
                options.append(split)
        if request.fill_policy == FillPolicy.PARTIAL and not any(o.fill_percent >= 100 for o in options):
            for plan in plans:
                if plan.node_id not in candidates or candidates[plan.node_id].reason == Reason.SHORT:
                    options += self._partial_options(request, plan, sku_ids, wanted)
        for plan in plans:
            if plan.node_id not in candidates and not plan.full:
                candidates[plan.node_id] = Candidate(plan.node_id, Reason.SHORT, _short_text(plan, sku_ids, wanted))
        return options

    def _consolidated_options(
        self,
        request: PromiseRequest,
        hub: _NodePlan,
        by_node: dict[str, _NodePlan],
        sku_ids: list[str],
        wanted: np.ndarray,
    ) -> list[Option]:
        """The hub ships the whole order in one shipment: its own lines, plus each
        missing line transferred in from the node whose transfer lane gets it there first."""
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
            if best is None:
                return []
            arrival_ns, feeder = best
            lines.append(PlannedLine(sku_ids[i], int(wanted[i]), arrival_ns, feeder.node_id, int(feeder.ready_ns[i])))
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

    def _transfer_cost(self, from_node_id: str, hub_id: str) -> int:
        return min((cost for feeder, _, cost in self._inbound.get(hub_id, ()) if feeder == from_node_id), default=0)

    def _unusable(self, plan: _NodePlan, wanted: np.ndarray, request: PromiseRequest) -> Candidate | None:
        if not plan.routes:
            where = f"zone {request.zone_id}" if request.zone_id else f"store {request.pickup_node_id}"
            return Candidate(plan.node_id, Reason.NO_LANE, f"no lane to {where} for the allowed methods")
        if not plan.any_filled:
            return Candidate(plan.node_id, Reason.SHORT, "has none of the order's SKUs")
        return None

    def _single_node_options(
        self, request: PromiseRequest, plan: _NodePlan, sku_ids: list[str], filled: np.ndarray, wanted: np.ndarray
    ) -> list[Option]:
        """The node's fastest and its cheapest route (one option if they are the same)."""
        shipments = self._shipments(plan, sku_ids, filled, request)
        if not shipments:
            return []
        fastest = min(shipments, key=lambda s: (s.earliest_ns, s.cost_minor))
        cheapest = min(shipments, key=lambda s: (s.cost_minor, s.earliest_ns))
        chosen = [fastest] if cheapest is fastest else [fastest, cheapest]
        return [self._option((shipment,), wanted, sku_ids, request) for shipment in chosen]

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

    def _split_option(
        self,
        request: PromiseRequest,
        plans: list[_NodePlan],
        sku_ids: list[str],
        wanted: np.ndarray,
        candidates: dict[str, Candidate],
    ) -> Option | None:
        """Each line from one node: greedily the node that completes the most
        remaining lines (earliest delivery breaks ties), up to max_shipments."""
        usable = [p for p in plans if p.node_id not in candidates]
        remaining = np.ones(len(wanted), dtype=bool)
        chosen: list[tuple[_NodePlan, np.ndarray, Shipment]] = []
        while remaining.any() and len(chosen) < request.max_shipments:
            best = None
            for plan in usable:
                covers = remaining & (plan.filled >= wanted)
                if not covers.any():
                    continue
                shipments = self._shipments(plan, sku_ids, np.where(covers, wanted, 0), request)
                if not shipments:
                    continue
                shipment = min(shipments, key=lambda s: (s.earliest_ns, s.cost_minor))
                key = (-int(covers.sum()), shipment.earliest_ns, shipment.cost_minor)
                if best is None or key < best[0]:
                    best = (key, plan, covers, shipment)
            if best is None:
                break
            _, plan, covers, shipment = best
            chosen.append((plan, covers, shipment))
            remaining &= ~covers
            usable = [p for p in usable if p is not plan]
        if not chosen or (remaining.any() and request.fill_policy != FillPolicy.PARTIAL):
            return None
        option = self._option(tuple(shipment for _, _, shipment in chosen), wanted, sku_ids, request)
        return option if option.fill_percent >= request.min_fill_percent else None

    def _line_level_option(
        self,
        request: PromiseRequest,
        plans: list[_NodePlan],
        sku_ids: list[str],
        wanted: np.ndarray,
        candidates: dict[str, Candidate],
    ) -> Option | None:
        """Each line from the node that delivers it first (cheaper breaks ties); lines
        of one node ship together. None if some line has no node, or over max_shipments."""
        usable = [p for p in plans if p.node_id not in candidates]
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

    def _partial_options(
        self, request: PromiseRequest, plan: _NodePlan, sku_ids: list[str], wanted: np.ndarray
    ) -> list[Option]:
        filled = np.minimum(plan.filled, wanted)
        if 100.0 * filled.sum() / wanted.sum() < request.min_fill_percent or not (filled > 0).any():
            return []
        return self._single_node_options(request, plan, sku_ids, filled, wanted)

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
        return Option(method, shipments, fill, earliest, latest, cost, round(score, 3), short)

    def _in_window(
        self, request: PromiseRequest, options: list[Option], candidates: dict[str, Candidate]
    ) -> list[Option]:
        if not request.deliver_before_ns:
            return options
        kept = []
        for option in options:
            if option.earliest_ns <= request.deliver_before_ns:
                kept.append(option)
                continue
            for shipment in option.shipments:
                candidates.setdefault(
                    shipment.node_id,
                    Candidate(shipment.node_id, Reason.TOO_LATE, "cannot deliver by the requested latest time"),
                )
        return kept


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


def _short_text(plan: _NodePlan, sku_ids: list[str], wanted: np.ndarray) -> str:
    missing = [f"{sku_ids[i]} {int(plan.filled[i])}/{int(wanted[i])}" for i in np.flatnonzero(plan.filled < wanted)[:5]]
    return "short: " + ", ".join(missing)


def _distinct(options: list[Option]) -> list[Option]:
    """Drops options whose plan and timing repeat a better-ranked one."""
    seen, kept = set(), []
    for option in options:
        key = tuple((s.node_id, s.service, s.via_node_id, s.earliest_ns) for s in option.shipments)
        if key not in seen:
            seen.add(key)
            kept.append(option)
    return kept


def _mark_used(kept: list[Option], options: list[Option], candidates: dict[str, Candidate]) -> None:
    used = {s.node_id for option in kept for s in option.shipments}
    for node_id in used:
        candidates[node_id] = Candidate(node_id, Reason.USED, "in a returned option")
    for option in options:
        for shipment in option.shipments:
            if shipment.node_id not in candidates:
                candidates[shipment.node_id] = Candidate(
                    shipment.node_id, Reason.OUTRANKED, "had an option, ranked below the ones returned"
                )
