"""Options that draw on more than one node, built in Python over the kernel's matrix.

Consolidation (a hub ships the whole order, the lines it lacks transferred in
from feeder nodes), line-level sourcing (each line from the node that
delivers it first) and splits (lines, or with split_lines units, from several
nodes under the shipment cap). The kernel builds every single-node option;
these are the rest, scored as the kernel scores (views.RankingWeights).

Consolidations are planned in the kernel (_core/promise_consolidation.pxi:
sources, arrivals, route and score, nothing built for a hub that fails); this
module builds the options found. A hub whose line must be split over feeders
(split_lines), or whose times reach past the tables a scan holds, is planned
here (_consolidated_options), as every hub once was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dompromise._core.promise import HUB_FIELD, HUB_STATUS_CODE, Consolidations, TransferTable
from dompromise._core.transport import NEVER
from dompromise.model.network import Network, NodeType
from dompromise.promise.call import CODE_FULL, CODE_PARTIAL, INFO_CODE, Call, RouteEdt, until_tables
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.routes import Route
from dompromise.promise.types import (
    NS_PER_HOUR,
    FillPolicy,
    Method,
    Option,
    PlannedLine,
    Shipment,
    Sourcing,
    Weights,
)

Int64s = npt.NDArray[np.int64]
# A NamedTuple made from the tuple of its fields: tuple.__new__ without the class's Python-level __new__ (~0.1 us
# where the call costs ~0.3; a consolidation makes one per order line). The fields it is given, in order:
_new = tuple.__new__
assert PlannedLine._fields == ("sku_id", "quantity", "ready_ns", "source_node_id", "source_ready_ns")
assert Shipment._fields == (
    "node_id",
    "method",
    "service",
    "lines",
    "earliest_ns",
    "latest_ns",
    "departure_ns",
    "cost_minor",
    "via_node_id",
)
assert Option._fields == (
    "method",
    "shipments",
    "fill_percent",
    "earliest_ns",
    "latest_ns",
    "cost_minor",
    "score",
    "short_lines",
)
HUB_OPTION = HUB_STATUS_CODE["OPTION"]
assert [HUB_FIELD[name] for name in ("COLUMN", "STATUS", "ROUTE", "EARLIEST", "LATEST", "DEPARTURE", "COST")] == list(
    range(7)
)


@dataclass
class NodePlan:
    """What one node can do for the order: per line, units and their ready time."""

    index: int
    node_id: str
    node_type: NodeType
    routes: list[Route] = field(default_factory=list)
    full: bool = False  # fills every line
    any_filled: bool = False  # fills some of some line
    # Per line, its units and their ready time: lists, read item by item (a numpy item costs ~0.1 us, and a
    # column's view per node cost more than the rows' one tolist()).
    filled_list: list[int] = field(default_factory=list)
    ready_list: list[int] = field(default_factory=list)


class MultiNodeOptions:
    """The options only Python builds, for one network, transport and ranking weights."""

    def __init__(self, network: Network, edt: EdtCalculator, weights: Weights):
        self._edt = edt
        self._weights = weights
        nodes = network.nodes
        self._node_ids = [node.node_id for node in nodes]
        # A planned line's source node by the kernel's LINE_SOURCE: a node index, or -1 (the hub's own: "").
        self._source_names = [*self._node_ids, ""]
        self._node_order = {node.node_id: i for i, node in enumerate(nodes)}
        self._node_types = {node.node_id: node.node_type for node in nodes}
        # Transfer lanes into each node: hub -> [(feeder node, lane index, cost)].
        self._inbound: dict[str, list[tuple[str, int, int]]] = {}
        for core_lane in edt.lanes:
            if core_lane.lane is not None and core_lane.lane.to_node_id is not None:
                self._inbound.setdefault(core_lane.lane.to_node_id, []).append(
                    (core_lane.node_id, core_lane.index, core_lane.cost_minor)
                )
        # (feeder, hub) -> the cheapest transfer lane's cost; a transfer lane -> its route (made once).
        self._transfer_costs: dict[tuple[str, str], int] = {}
        self._transfer_routes: dict[int, Route] = {}
        for hub_id, feeders in self._inbound.items():
            for feeder_id, lane, cost in feeders:
                known = self._transfer_costs.get((feeder_id, hub_id))
                self._transfer_costs[feeder_id, hub_id] = cost if known is None else min(known, cost)
                self._transfer_routes[lane] = Route(Method.SHIP, "", lane)
        # The same lanes for the kernel: by hub node index, in lane order, each with its pair's cheapest cost.
        starts: list[int] = [0]
        feeder_nodes: list[int] = []
        lanes: list[int] = []
        costs: list[int] = []
        for node in nodes:
            for feeder_id, lane, _ in self._inbound.get(node.node_id, []):
                feeder_nodes.append(self._node_order[feeder_id])
                lanes.append(lane)
                costs.append(self._transfer_costs[feeder_id, node.node_id])
            starts.append(len(lanes))
        self._transfers = TransferTable(starts, feeder_nodes, lanes, costs, len(edt.lanes))

    def options(self, call: Call) -> list[Option] | None:
        """The options only Python builds, in the order PromiseEngine always added them;
        None when there are none (the kernel ranks its rows alone). Asks the kernel for
        the partial fills when they are needed."""
        request, scan = call.request, call.scan
        codes = scan.info[:, INFO_CODE].tolist()
        has_full = scan.full_row_count > 0
        splits_allowed = request.fill_policy != FillPolicy.SHIP_COMPLETE and request.max_shipments > 1
        line_level = splits_allowed and request.sourcing == Sourcing.LINE_LEVEL
        split = splits_allowed and not has_full
        # A hub is a PARTIAL column with transfer lanes in: the kernel finds them.
        options, plans = self.consolidations(call, codes) if self._inbound and CODE_PARTIAL in codes else ([], None)
        if line_level or split:
            if plans is None:
                plans = self._plans(call, codes)
            if line_level:
                option = self._line_level_option(call, plans)
                if option is not None:
                    options.append(option)
            if split:
                option = self._split_option(call, plans)
                if option is not None:
                    options.append(option)
        if (
            request.fill_policy == FillPolicy.PARTIAL
            and not has_full
            and not any(o.fill_percent >= 100 for o in options)
        ):
            until_tables(self._edt, scan, scan.partial_options, request.min_fill_percent)
        return options or None

    def consolidations(self, call: Call, codes: list[int]) -> tuple[list[Option], list[NodePlan] | None]:
        """Every hub's consolidated option, in column order (codes: the scan's column codes), and the plans
        when a hub had to be planned here (else None: made only when needed)."""
        options: list[Option] = []
        plans: list[NodePlan] | None = None
        found = Consolidations(call.scan, self._transfers, call.request.split_lines)
        until_tables(self._edt, call.scan, found.run)
        if not found.count:
            return options, plans
        scores: list[float] = found.score[: found.count].tolist()
        lines_of: list[list[list[int]]] = found.lines[: found.count].tolist()
        for k, hub in enumerate(found.plans[: found.count].tolist()):
            if hub[1] == HUB_OPTION:
                options.append(self._consolidation(call, hub, lines_of[k], scores[k]))
                continue
            if plans is None:  # planned here: a line split over feeders, or times past the scan's tables
                plans = self._plans(call, codes)
                by_node = {plan.node_id: plan for plan in plans}
            options += self._consolidated_options(call, by_node[self._node_ids[call.columns[hub[0]]]], by_node)
        return options, plans

    def _consolidation(self, call: Call, plan: list[int], lines_of: list[list[int]], score: float) -> Option:
        """The option of a hub the kernel consolidated (plan: a row of Consolidations.plans; lines_of: its
        lines, LINE_FIELD by line): _consolidated_options's, its tuples made without their Python __new__."""
        column, _, route_index, earliest, latest, departure, cost = plan
        names = self._source_names
        sources, ready, source_ready = lines_of
        lines = tuple(
            [
                _new(PlannedLine, (sku, w, at, names[source], source_at))
                for sku, w, source, at, source_at in zip(call.sku_ids, call.quantities, sources, ready, source_ready)
            ]
        )
        route = call.destination.routes[route_index]
        shipment = _new(
            Shipment,
            (
                self._node_ids[call.columns[column]],
                route.method,
                route.service,
                lines,
                earliest,
                latest,
                None if departure == NEVER else departure,
                cost,
                "",
            ),
        )
        fill = 100.0 * call.wanted_sum / float(call.wanted_sum)  # every unit: _option's arithmetic
        return _new(Option, (route.method, (shipment,), fill, earliest, latest, cost, score, ()))

    def _plans(self, call: Call, codes: list[int]) -> list[NodePlan]:
        """Every node with a route and some of the order (full or partial), in node order."""
        scan, plans = call.scan, []
        call.plan_columns = []
        filled_by_column: list[list[int]] = scan.filled.T.tolist()
        ready_by_column: list[list[int]] = scan.ready_ns.T.tolist()
        for column, code in enumerate(codes):
            if code == CODE_FULL or code == CODE_PARTIAL:
                call.plan_columns.append(column)
                node = call.columns[column]
                node_id = self._node_ids[node]
                plans.append(
                    NodePlan(
                        node,
                        node_id,
                        self._node_types[node_id],
                        call.destination.node_routes(node, call.allowed),
                        code == CODE_FULL,
                        True,
                        filled_by_column[column],
                        ready_by_column[column],
                    )
                )
        return plans

    # ---- consolidation at a hub -------------------------------------------------

    def _consolidated_options(self, call: Call, hub: NodePlan, by_node: dict[str, NodePlan]) -> list[Option]:
        """The hub ships the whole order in one shipment: its own lines, plus each
        missing line transferred in from the node whose transfer lane gets it there first
        (with request.split_lines, when no one node has it all: the hub's own units and
        the rest from several feeders, earliest arrival first)."""
        if hub.node_id not in self._inbound:
            return []
        direct = [route for route in hub.routes if route.onward_lane < 0 and route.method != Method.DROP_SHIP]
        if not direct:
            return []
        request, sku_ids, wanted = call.request, call.sku_ids, call.quantities
        hub_id, hub_filled, hub_ready = hub.node_id, hub.filled_list, hub.ready_list
        # The lines in order form (sku_ids are distinct: summed), each the hub's own or transferred in.
        lines: list[PlannedLine] = []
        for i, w in enumerate(wanted):
            if hub_filled[i] >= w:
                lines.append(PlannedLine(sku_ids[i], w, hub_ready[i]))
                continue
            best = self._best_transfer(call, hub_id, by_node, i, w)
            if best is not None:
                arrival_ns, feeder = best
                lines.append(PlannedLine(sku_ids[i], w, arrival_ns, feeder.node_id, feeder.ready_list[i]))
                continue
            parts = self._split_transfers(call, hub, by_node, i, sku_ids[i], w) if request.split_lines else None
            if parts is None:
                return []
            lines += parts
        ready_ns = max([line.ready_ns for line in lines])
        transfer_cost = sum([self._transfer_cost(line.source_node_id, hub_id) for line in lines if line.source_node_id])
        # The route delivering first (cheaper breaks ties; the first of equals), its option alone built.
        best_route: tuple[Route, RouteEdt] | None = None
        for route in direct:
            timing = self._route_edt(call, route, ready_ns)
            if timing is None:
                continue
            if best_route is None or (timing[0], timing[3]) < (best_route[1][0], best_route[1][3]):
                best_route = (route, timing)
        if best_route is None:
            return []
        route, (earliest, latest, departure, cost) = best_route
        shipment = Shipment(
            hub_id,
            route.method,
            route.service,
            tuple(lines),
            earliest,
            latest,
            departure,
            cost + transfer_cost,
            via_node_id="",
        )
        return [self._option(call, (shipment,))]

    def _best_transfer(
        self, call: Call, hub_id: str, by_node: dict[str, NodePlan], line: int, quantity: int
    ) -> tuple[int, NodePlan] | None:
        """(arrival at the hub, feeder) of the earliest transfer of one line, or None."""
        best = None
        for feeder_id, lane, _ in self._inbound.get(hub_id, ()):
            feeder = by_node.get(feeder_id)
            if feeder is None or feeder.filled_list[line] < quantity:
                continue
            timing = self._route_edt(call, self._transfer_routes[lane], feeder.ready_list[line])
            if timing is not None and (best is None or timing[0] < best[0]):
                best = (timing[0], feeder)
        return best

    def _split_transfers(
        self,
        call: Call,
        hub: NodePlan,
        by_node: dict[str, NodePlan],
        line: int,
        sku_id: str,
        quantity: int,
    ) -> list[PlannedLine] | None:
        """One line's units at the hub: its own, then from feeders by earliest arrival; None
        if they do not add up to `quantity`."""
        own = min(hub.filled_list[line], quantity)
        parts = [PlannedLine(sku_id, own, hub.ready_list[line])] if own > 0 else []
        arrivals = []
        for feeder_id, lane, _ in self._inbound.get(hub.node_id, ()):
            feeder = by_node.get(feeder_id)
            if feeder is None or feeder.filled_list[line] <= 0:
                continue
            timing = self._route_edt(call, Route(Method.SHIP, "", lane), feeder.ready_list[line])
            if timing is not None:
                arrivals.append((timing[0], feeder_id, feeder))
        left = quantity - own
        for arrival_ns, _, feeder in sorted(arrivals, key=lambda arrival: arrival[:2]):
            if left <= 0:
                break
            taken = min(feeder.filled_list[line], left)
            parts.append(PlannedLine(sku_id, taken, arrival_ns, feeder.node_id, feeder.ready_list[line]))
            left -= taken
        return parts if left <= 0 else None

    def _transfer_cost(self, from_node_id: str, hub_id: str) -> int:
        return self._transfer_costs.get((from_node_id, hub_id), 0)

    # ---- routes' delivery times -------------------------------------------------

    def _shipments(self, call: Call, plan: NodePlan, filled: Int64s) -> list[Shipment]:
        """One shipment per route of the node for the filled lines, ready when the last line is."""
        sku_ids = call.sku_ids
        take = filled > 0
        ready = plan.ready_list
        taken: list[int] = np.flatnonzero(take).tolist()
        ready_ns = max([ready[i] for i in taken])
        lines = tuple([PlannedLine(sku_ids[i], int(filled[i]), ready[i]) for i in taken])
        shipments = []
        for route in plan.routes:
            timing = self._route_edt(call, route, ready_ns)
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

    def _route_edt(self, call: Call, route: Route, ready_ns: int) -> RouteEdt | None:
        key = (route.lane, route.onward_lane, ready_ns)
        memo = call.memo
        if key in memo:
            return memo[key]
        found = memo[key] = self._compute_route_edt(route, call.request.as_of_ns, ready_ns)
        return found

    def _compute_route_edt(self, route: Route, as_of_ns: int, ready_ns: int) -> RouteEdt | None:
        window = self._edt.window
        first = window(route.lane, max(as_of_ns, ready_ns))
        if first is None or route.onward_lane < 0:
            return first
        earliest_ns, latest_ns, departure_ns, cost = first
        onward = window(route.onward_lane, max(as_of_ns, earliest_ns))
        onward_late = window(route.onward_lane, max(as_of_ns, latest_ns))
        if onward is None or onward_late is None:
            return None
        return onward[0], onward_late[1], departure_ns, cost + onward[3]

    # ---- splits and line-level sourcing -----------------------------------------

    def _split_option(self, call: Call, plans: list[NodePlan]) -> Option | None:
        """Each line from one node: greedily the node that completes the most
        remaining lines (earliest delivery breaks ties), up to max_shipments.
        With request.split_lines, the node that gives the most remaining units, a
        line's units coming from as many nodes as it takes.

        Per round, every node's cover and ready time come from one pass over the
        matrix and every node's fastest route from one kernel call; a shipment is
        built only for the node chosen."""
        request, sku_ids, wanted, scan = call.request, call.sku_ids, call.wanted, call.scan
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
        chosen: list[tuple[NodePlan, npt.NDArray[np.bool_], Shipment]] = []
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
            until_tables(
                self._edt,
                scan,
                scan.fastest_routes,
                np.ascontiguousarray(columns[candidates]),
                np.ascontiguousarray(ready_max[candidates]),
                fastest,
            )
            best: tuple[tuple[int, int, int], int, int, RouteEdt] | None = None
            count_list = counts[candidates].tolist()
            for k, count, (route, first_ns, last_ns, leaves_ns, route_cost) in zip(
                candidates.tolist(), count_list, fastest.tolist()
            ):
                if route < 0:
                    continue
                key = (-count, first_ns, route_cost)
                if best is None or key < best[0]:
                    best = (key, k, route, (first_ns, last_ns, None if leaves_ns == NEVER else leaves_ns, route_cost))
            if best is None:
                break
            _, k, route_index, timing = best
            plan, chosen_route = usable[k], routes[route_index]
            given = gives[:, k]
            lines = tuple(
                PlannedLine(sku_ids[i], int(given[i]), plan.ready_list[i]) for i in np.flatnonzero(given > 0).tolist()
            )
            earliest, latest, departure, cost = timing
            shipment = Shipment(
                plan.node_id,
                chosen_route.method,
                chosen_route.service,
                lines,
                earliest,
                latest,
                departure,
                cost,
                chosen_route.via_node_id,
            )
            chosen.append((plan, given > 0, shipment))
            left -= given
            remaining = left > 0
            alive[k] = False
        if not chosen or (remaining.any() and request.fill_policy != FillPolicy.PARTIAL):
            return None
        option = self._option(call, tuple(shipment for _, _, shipment in chosen))
        return option if option.fill_percent >= request.min_fill_percent else None

    def _line_level_option(self, call: Call, plans: list[NodePlan]) -> Option | None:
        """Each line from the node that delivers it first (cheaper breaks ties); lines
        of one node ship together. None if some line has no node, or over max_shipments."""
        wanted = call.wanted
        usable = plans
        chosen: dict[str, tuple[NodePlan, Int64s]] = {}
        for i in range(len(wanted)):
            only = np.zeros(len(wanted), dtype=np.int64)
            only[i] = wanted[i]
            best: tuple[tuple[int, int], NodePlan] | None = None
            for plan in usable:
                if plan.filled_list[i] < wanted[i]:
                    continue
                for shipment in self._shipments(call, plan, only):
                    key = (shipment.earliest_ns, shipment.cost_minor)
                    if best is None or key < best[0]:
                        best = (key, plan)
            if best is None:
                return None
            plan = best[1]
            chosen.setdefault(plan.node_id, (plan, np.zeros(len(wanted), dtype=np.int64)))[1][i] = wanted[i]
        if len(chosen) > call.request.max_shipments:
            return None
        shipments = []
        for plan, lines in chosen.values():
            shipments.append(min(self._shipments(call, plan, lines), key=lambda s: (s.earliest_ns, s.cost_minor)))
        return self._option(call, tuple(shipments))

    def _option(self, call: Call, shipments: tuple[Shipment, ...]) -> Option:
        request = call.request
        planned: dict[str, int] = {}
        get = planned.get
        for shipment in shipments:
            for line in shipment.lines:
                planned[line.sku_id] = get(line.sku_id, 0) + line.quantity
        short = tuple([(sku, w - get(sku, 0)) for sku, w in zip(call.sku_ids, call.quantities) if get(sku, 0) < w])
        fill = 100.0 * sum(planned.values()) / float(call.wanted_sum)
        if len(shipments) == 1:  # one shipment (every consolidation): its window, cost and method
            only = shipments[0]
            earliest, latest, cost, method = only.earliest_ns, only.latest_ns, only.cost_minor, only.method
        else:
            earliest = max(s.earliest_ns for s in shipments)
            latest = max(s.latest_ns for s in shipments)
            cost = sum(s.cost_minor for s in shipments)
            methods = {s.method for s in shipments}
            method = methods.pop() if len(methods) == 1 else Method.SHIP
        weights = self._weights
        waited_ns: float = earliest - request.as_of_ns
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
        penalty = call.penalty
        if penalty is not None:
            for shipment in shipments:  # the same additions, in the same order, as the kernel's
                score = score + float(penalty[self._node_order[shipment.node_id]])
        return Option(method, shipments, fill, earliest, latest, cost, round(score, 3), short)
