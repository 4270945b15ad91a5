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
option can be reserved exactly (see token.py and the reservation
service).

The single-node part, which is nearly every answer, runs in the compiled
kernel (dompromise/_core/promise.pyx): from the gathered (line x node)
matrix it works out what each node fills and when, classifies the nodes,
evaluates every allowed route with the EDT tables, keeps each node's fastest
and cheapest route, scores and ranks them; Python builds dataclasses only for
the options it returns and the candidates' reasons (answer.py).
A hub's consolidation is planned by the kernel too (promise_consolidation.pxi),
Python building only the options it finds; line-level sourcing, splits and the
rare consolidation the kernel hands back stay in Python over the same matrix
(multi_node.py). The request and answer types are in types.py, the
routes to each destination in routes.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from dompromise import limits
from dompromise._core.promise import PromiseKernel, PromiseScan
from dompromise.inventory.capacity import CapacityCounts
from dompromise.inventory.channels import Channel
from dompromise.inventory.engine import EARLIEST_NEVER, EARLIEST_NOW, SUPPLY_ALL_KINDS, Engine
from dompromise.model.attributes import Attributes
from dompromise.promise.answer import AnswerBuilder, RowAnswer
from dompromise.promise.call import (
    CODE_CAPACITY,
    INFO_CODE,
    INFO_READY_MAX,
    Call,
    until_tables,
)
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.multi_node import MultiNodeOptions
from dompromise.promise.ranking import Destination, node_penalties, weights_for
from dompromise.promise.routes import Routes
from dompromise.promise.types import NS_PER_HOUR, Option, PromiseAnswer, PromiseRequest, Weights

# Destinations whose node terms an engine keeps (a zone or store id is the client's text: bounded).
NODE_TERMS_KEPT = 1_024
# Engines kept per distinct weights (one per view with its own ranking, usually a handful).
WEIGHTED_ENGINES_MAX = 64

Int32s = npt.NDArray[np.int32]
Int64s = npt.NDArray[np.int64]
Penalty = npt.NDArray[np.float64]


class PromiseEngine:
    """Delivery options over one engine and one transport network."""

    def __init__(self, engine: Engine, edt: EdtCalculator, weights: Weights | None = None):
        """weights: None ranks every promise by its channel view's weights, else the
        network's (ranking.weights_for); given, they rank every promise (tests, benchmarks)."""
        self._engine = engine
        self._edt = edt
        self._configured = weights is None
        self._weights = weights if weights is not None else engine.network.ranking
        self._weighted: dict[Weights, PromiseEngine] = {}
        self._node_count = len(engine.network.nodes)
        self._node_ids = [node.node_id for node in engine.network.nodes]
        self._routes = Routes(engine.network, edt)
        self._multi_node = MultiNodeOptions(engine.network, edt, self._weights)
        self._answers = AnswerBuilder(engine.network)
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
        # (zone, pickup store) -> the weights' node terms there (read-only arrays from ranking.py).
        self._terms: dict[tuple[str | None, str | None], Penalty] = {}
        # Columns of the nodes with a daily capacity, as (column, node), for the selection last seen.
        self._limited_for: Int32s | None = None
        # The selection's node indexes as a list (Call.columns), made once per selection array.
        self._columns_for: Int32s | None = None
        self._columns: list[int] = []
        self._limited: list[tuple[int, int]] = []

    # ---- the answer ---------------------------------------------------------

    def promise(self, request: PromiseRequest, node_penalty: Penalty | None = None) -> PromiseAnswer:
        """The answer to one order. node_penalty: float64 per network node, added to the
        score of every option once per shipment from that node (None: the weights' node
        terms, priority and distance, see ranking.py)."""
        if self._configured:
            weights = weights_for(self._engine.network, request.channel_view_id)
            if weights is not self._weights and weights != self._weights:  # nearly always the same object
                return self._with_weights(weights).promise(request, node_penalty)
        call, channel, python_options = self._call(request, node_penalty)
        if python_options is None:
            kept, candidates = self._answers.kernel_ranked(call)
        else:
            kept, candidates = self._answers.python_ranked(call, python_options)
        if channel is not None:
            candidates = self._answers.outside_view(candidates, channel)
        return PromiseAnswer(
            tuple(kept), tuple(candidates), self._engine.log_position, tuple(call.sku_ids), tuple(call.quantities)
        )

    def promise_rows(self, request: PromiseRequest) -> RowAnswer:
        """promise(request), its kernel rows not built as Options: the wire encoder writes them from the
        scan's arrays (nearly every option is one)."""
        if self._configured:
            weights = weights_for(self._engine.network, request.channel_view_id)
            if weights is not self._weights and weights != self._weights:  # nearly always the same object
                return self._with_weights(weights).promise_rows(request)
        call, channel, python_options = self._call(request, None)
        kept: list[int | Option]
        if python_options is None:
            kept_count, candidates = self._answers.kernel_rows(call)
            kept = call.scan.order[:kept_count].tolist()
        else:
            kept, candidates = self._answers.python_rows(call, python_options)
        if channel is not None:
            candidates = self._answers.outside_view(candidates, channel)
        return RowAnswer(call, kept, candidates, self._engine.log_position, self._node_ids)

    def _call(
        self, request: PromiseRequest, node_penalty: Penalty | None
    ) -> tuple[Call, Channel | None, list[Option] | None]:
        """The scanned call, its channel, and the options only Python builds (None: none)."""
        # The weights' own terms are checked where they are made (ranking.py: one per node, finite).
        penalty = (
            self._node_terms(request) if node_penalty is None else _checked_penalty(node_penalty, self._node_count)
        )
        sku_ids, quantities = _summed(request.sku_ids, request.quantities)
        engine = self._engine
        channel = engine.channel(request.channel_view_id, request.customer_segment) if request.channel_view_id else None
        sellable = engine.node_selection()
        if channel is not None and channel.view is not None:
            sellable = sellable[channel.view.node_mask[sellable]]
        call = self._scan(request, sku_ids, quantities, sellable, channel, penalty)
        return call, channel, self._multi_node.options(call)

    def _with_weights(self, weights: Weights) -> PromiseEngine:
        """The engine that ranks by `weights` (a view's own ranking), made once."""
        found = self._weighted.get(weights)
        if found is None:
            if len(self._weighted) >= WEIGHTED_ENGINES_MAX:
                self._weighted.clear()
            found = self._weighted[weights] = PromiseEngine(self._engine, self._edt, weights)
        return found

    def _node_terms(self, request: PromiseRequest) -> Penalty | None:
        """Per node: priority and distance to the destination, weighted (None when both
        weights are 0). The kernel adds the drop-ship term itself, once per option.
        Distance is to the zone when a request has a zone and a pickup store."""
        weights = self._weights
        if not (weights.per_priority_step or weights.per_100_km):
            return None
        key = (request.zone_id, request.pickup_node_id)
        found = self._terms.get(key)
        if found is None:  # kept here too: ranking.py's cache is keyed by a Destination, made and locked per call
            if len(self._terms) >= NODE_TERMS_KEPT:
                self._terms.clear()
            destination = (
                Destination.zone(request.zone_id)
                if request.zone_id
                else Destination(pickup_node_id=request.pickup_node_id)
            )
            found = self._terms[key] = node_penalties(weights, self._engine.network, destination, False)
        return found

    # ---- the matrix: what each node can supply, and its single-node options ----

    def _scan(
        self,
        request: PromiseRequest,
        sku_ids: list[str],
        quantities: list[int],
        sellable: Int32s,
        channel: Channel | None,
        penalty: Penalty | None,
    ) -> Call:
        """Through a channel: its view's stock (less what it protects for other segments,
        its safety stock, capped) and the future supply kinds and horizon it counts."""
        engine = self._engine
        wanted = np.array(quantities, dtype=np.int64)
        destination = self._routes.destination(request)
        allowed = destination.allowed(request.methods, request.customer_tier)
        horizon_ns = request.as_of_ns + limits.PROMISE_HORIZON_DAYS * 24 * NS_PER_HOUR
        earliest: Int64s | None
        plain = (
            engine.promise_cells(sku_ids, sellable, wanted, horizon_ns if request.allow_future_supply else None)
            if channel is None and not request.required_attributes
            else None
        )
        if plain is not None:  # nearly every promise: both gathers in one call
            cells, earliest = plain
        else:
            cells, earliest = self._gathered(request, sku_ids, sellable, channel, wanted, horizon_ns)
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
            penalty,
        )
        capacity = engine.capacity  # a property that brings the counts up to date: read once
        if capacity.enabled:
            self._capacity_delays(scan, sellable, capacity)
        until_tables(self._edt, scan, scan.full_options)
        if self._columns_for is not sellable:  # the default selection is one array, reused (a new one on refresh)
            self._columns_for, self._columns = sellable, sellable.tolist()
        return Call(request, sku_ids, quantities, wanted, sellable, self._columns, destination, allowed, scan, penalty)

    def _gathered(
        self,
        request: PromiseRequest,
        sku_ids: list[str],
        sellable: Int32s,
        channel: Channel | None,
        wanted: Int64s,
        horizon_ns: int,
    ) -> tuple[Int64s, Int64s | None]:
        """The cells and earliest times (None without future supply) of lines with variants, attributes
        required, or through a channel."""
        engine = self._engine
        answer = engine.availability(sku_ids, sellable, channel=channel)
        cells, attributed = answer.cells, None
        if request.required_attributes:
            cells, attributed = self._attributed_cells(request, sku_ids, sellable, channel, cells)
        if not request.allow_future_supply:
            return cells, None
        horizon = np.array([horizon_ns], np.int64)
        if channel is None:
            phased = engine.phased_availability(answer.sku_index, sellable, horizon, wanted=wanted, with_cells=False)
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
        # The gather's own array (the kernel only reads it); a copy where attributed lines are masked.
        by_line = np.asarray(phased.earliest_ns, dtype=np.int64).reshape(len(sku_ids), -1)
        if attributed is not None:
            by_line = by_line.copy()
            by_line[attributed] = EARLIEST_NEVER
        return cells, by_line.reshape(-1)

    def _attributed_cells(
        self,
        request: PromiseRequest,
        sku_ids: list[str],
        sellable: Int32s,
        channel: Channel | None,
        cells: Int64s,
    ) -> tuple[Int64s, npt.NDArray[np.bool_]]:
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

    def _capacity_delays(self, scan: PromiseScan, sellable: Int32s, capacity: CapacityCounts) -> None:
        """Daily capacity (capacity.py), before any route is evaluated: each line a node
        with a capacity fills is ready no earlier than the node can take the order (the
        opening of its next working day with room, when the day it is ready is full); a
        node that has no such day gets code CAPACITY. O(limited nodes x distinct ready
        times); nothing for a network without capacities."""
        if self._limited_for is not sellable:  # the default selection is one array, reused
            self._limited_for = sellable
            self._limited = [
                (column, int(sellable[column])) for column in np.flatnonzero(capacity.mask[sellable]).tolist()
            ]
        if not self._limited:
            return
        found = scan.filled_ready(self._limited)
        if capacity.all_have_room(found):  # nearly always: nothing waits
            return
        ready_ns = capacity.ready_ns
        for column, node, times in found:
            moved: dict[int, int] = {}  # a filled line's ready time -> a later one, where its day is full
            latest_ns = None
            for at_ns in times:
                later = ready_ns(node, at_ns)
                if later is None:
                    scan.info[column, INFO_CODE] = CODE_CAPACITY
                    break
                if later != at_ns:
                    moved[at_ns] = later
                if latest_ns is None or later > latest_ns:
                    latest_ns = later
            else:
                if moved:  # else every day has room
                    assert latest_ns is not None, "a moved ready time was looked up"
                    filled_column: list[int] = scan.filled[:, column].tolist()
                    ready_column: list[int] = scan.ready_ns[:, column].tolist()
                    scan.ready_ns[:, column] = [
                        moved.get(at_ns, at_ns) if f > 0 else at_ns for f, at_ns in zip(filled_column, ready_column)
                    ]
                    scan.info[column, INFO_READY_MAX] = latest_ns


def _checked_penalty(node_penalty: npt.ArrayLike | None, node_count: int) -> Penalty | None:
    if node_penalty is None:
        return None
    penalty = np.ascontiguousarray(node_penalty, dtype=np.float64)
    if penalty.shape != (node_count,):
        raise ValueError(f"node_penalty must have one entry per node ({node_count})")
    if not np.isfinite(penalty).all():
        raise ValueError("node_penalty must be finite")
    return penalty


def _summed(sku_ids: Sequence[str], quantities: Sequence[int]) -> tuple[list[str], list[int]]:
    """The same SKU twice in a request is one line of the summed quantity (first position kept)."""
    if len(sku_ids) == 1 or len(set(sku_ids)) == len(sku_ids):  # nearly every order: each SKU once
        return list(sku_ids), list(quantities)
    totals: dict[str, int] = {}
    for sku_id, quantity in zip(sku_ids, quantities):
        totals[sku_id] = totals.get(sku_id, 0) + quantity
    return list(totals), list(totals.values())
