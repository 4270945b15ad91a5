"""Ways from each node to a destination: direct lanes, a transfer to a hub and onward, click-and-collect.

Found once per (node, destination) from the transport network (edt.py) and
kept: the network of an engine never changes. For a destination, the routes
of every node become one kernel table (RouteTable) beside the same routes as
objects, and which of them each (methods, customer tier) may use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dompromise._core.promise import RouteTable
from dompromise.model.network import Network, NodeType
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.types import Method, PromiseRequest

# Destinations kept (zone, pickup store): an unknown zone id per request must not grow them forever.
DESTINATIONS_KEPT = 1_024
# Routes kept per (node, zone, pickup store), for the same reason.
NODE_ROUTES_KEPT = 65_536


@dataclass
class Route:
    """One way from a node to the destination: a lane, or a transfer lane plus onward."""

    method: Method
    service: str
    lane: int
    via_node_id: str = ""
    onward_lane: int = -1
    tiers: frozenset[str] = frozenset()  # empty: every customer; else only these tiers


class DestinationRoutes:
    """Routes from every node of the network to one destination (a zone, or a store to
    collect from): the kernel's table, the same routes as objects, and which of them
    each (methods, customer tier) may use."""

    ALLOWED_KEPT = 64  # (methods, tier) masks kept per destination; tiers are open-ended strings

    def __init__(self, routes_by_node: list[list[Route]], node_index: dict[str, int], lane_count: int):
        self.routes: list[Route] = [route for routes in routes_by_node for route in routes]
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
        self.starts: list[int] = starts.tolist()
        self._allowed: dict[tuple[frozenset[Method], str], npt.NDArray[np.uint8]] = {}
        # id(an allowed mask) -> (the mask, each node's routes it allows): node_routes is asked for every
        # node with stock of a multi-line order, and reading a mask item by item costs ~0.2 us an item.
        self._node_routes: dict[int, tuple[npt.NDArray[np.uint8], list[list[Route]]]] = {}

    def allowed(self, methods: frozenset[Method], tier: str) -> npt.NDArray[np.uint8]:
        """1 per route if the request's methods and tier may use it, else 0."""
        key = (methods, tier)
        found = self._allowed.get(key)
        if found is None:
            if len(self._allowed) >= self.ALLOWED_KEPT:
                self._allowed.clear()
                self._node_routes.clear()
            found = self._allowed[key] = np.array(
                [route.method in methods and (not route.tiers or tier in route.tiers) for route in self.routes],
                dtype=np.uint8,
            )
        return found

    def node_routes(self, node: int, allowed: npt.NDArray[np.uint8]) -> list[Route]:
        """The node's routes the mask allows (a list shared between calls: not to be changed)."""
        found = self._node_routes.get(id(allowed))
        if found is None or found[0] is not allowed:  # an id is only reused once its mask is gone
            if len(self._node_routes) >= self.ALLOWED_KEPT:
                self._node_routes.clear()
            flags, starts, routes = allowed.tolist(), self.starts, self.routes
            by_node = [[routes[r] for r in range(starts[j], starts[j + 1]) if flags[r]] for j in range(len(starts) - 1)]
            found = self._node_routes[id(allowed)] = (allowed, by_node)
        return found[1][node]


class Routes:
    """Every node's routes to each destination asked for, found once and kept."""

    def __init__(self, network: Network, edt: EdtCalculator):
        self._edt = edt
        self._node_ids = [node.node_id for node in network.nodes]
        self._node_order = {node.node_id: i for i, node in enumerate(network.nodes)}
        self._node_types = {node.node_id: node.node_type for node in network.nodes}
        self._routes_cache: dict[tuple[str, str, str], list[Route]] = {}
        # Route tables by destination (zone, pickup store).
        self._destinations: dict[tuple[str, str], DestinationRoutes] = {}

    def destination(self, request: PromiseRequest) -> DestinationRoutes:
        key = (request.zone_id or "", request.pickup_node_id or "")
        found = self._destinations.get(key)
        if found is None:
            if len(self._destinations) >= DESTINATIONS_KEPT:
                self._destinations.clear()
            routes = [self._cached_routes(node_id, request) for node_id in self._node_ids]
            found = self._destinations[key] = DestinationRoutes(routes, self._node_order, len(self._edt.lanes))
        return found

    def _cached_routes(self, node_id: str, request: PromiseRequest) -> list[Route]:
        key = (node_id, request.zone_id or "", request.pickup_node_id or "")
        if key not in self._routes_cache:
            if len(self._routes_cache) >= NODE_ROUTES_KEPT:
                self._routes_cache.clear()
            self._routes_cache[key] = self._find_routes(node_id, request)
        return self._routes_cache[key]

    def _find_routes(self, node_id: str, request: PromiseRequest) -> list[Route]:
        """Direct lanes to the zone; transfer to a hub with a lane on; click-and-collect."""
        edt, routes = self._edt, []
        method = Method.DROP_SHIP if self._node_types[node_id] == NodeType.SUPPLIER_DROP_SHIP else Method.SHIP
        if request.zone_id:
            for lane in edt.lanes_from(node_id):
                if lane.lane is not None and lane.lane.to_zone_id == request.zone_id:
                    routes.append(Route(method, lane.service, lane.index, tiers=frozenset(lane.lane.tiers)))
            for lane in edt.lanes_from(node_id):
                first = lane.lane
                hub = first.to_node_id if first is not None else None
                if first is None or not hub:
                    continue
                for onward in edt.lanes_from(hub):
                    if onward.lane is not None and onward.lane.to_zone_id == request.zone_id:
                        routes.append(
                            Route(
                                Method.SHIP,
                                onward.service,
                                lane.index,
                                hub,
                                onward.index,
                                _both(first.tiers, onward.lane.tiers),
                            )
                        )
        if request.pickup_node_id:
            store = request.pickup_node_id
            try:
                collect = edt.collect_lane_index(store)
            except KeyError:
                return routes
            if node_id == store:
                routes.append(Route(Method.PICKUP, "collect", collect))
            for lane in edt.lanes_from(node_id):
                if lane.lane is not None and lane.lane.to_node_id == store:
                    routes.append(Route(Method.PICKUP, "collect", lane.index, store, collect))
        return routes


def _both(first: tuple[str, ...], second: tuple[str, ...]) -> frozenset[str]:
    """Tiers allowed on a route of two legs: both legs must allow the tier."""
    if not first or not second:
        return frozenset(first or second)
    # No tier may use both legs: a set no tier id can match (ids are printable).
    return (frozenset(first) & frozenset(second)) or frozenset({"\x00"})
